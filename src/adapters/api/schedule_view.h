#pragma once
// Schedules as the API shows them (routes under /api/v1/tenants/{tenant}/schedules and
// .../me/shifts): a stored schedule's summary, the whole schedule, and an agent's own shifts.
// The schedule's own shape is core/wfm/schedule_json.h.

#include <vector>

#include <nlohmann/json.hpp>

#include "core/schedules.h"

namespace homeline::api {

// {"id","name","state","week_start","created_at","created_by","published_at","published_by",
//  "status","objective","bound","gap","seconds","labour_cost","preference_penalty",
//  "under_total","over_total","agents","shifts"}
nlohmann::json ScheduleSummaryJson(const core::StoredSchedule& s);

// The summary's fields plus the schedule's ("coverage", "agents" with their shifts, ...).
nlohmann::json ScheduleFullJson(const core::StoredSchedule& s);

// The shifts of `user` in the published schedules, in time order, as one AgentSchedule (for
// JSON and iCalendar); the schedule id of each shift in `from`.
core::wfm::AgentSchedule ShiftsOf(const std::vector<const core::StoredSchedule*>& schedules,
                                  core::UserId user, std::vector<core::ScheduleId>* from);

// {"shifts":[{"schedule","template","start","end","paid_hours","segments":[...]}]}
nlohmann::json MyShiftsJson(const core::wfm::AgentSchedule& a,
                            const std::vector<core::ScheduleId>& from);

}  // namespace homeline::api
