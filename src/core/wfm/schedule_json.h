#pragma once
// JSON for schedules: the planning problem as planners write it (the body of
// POST /api/v1/tenants/{t}/schedules and the file of `homeline schedule`), and the solved
// schedule with its report (the API's answer, `homeline schedule --json`, and the payload the
// event store keeps: one shape for all three, so what was shown is what is replayed).
//
// Problem:
//   {"week_start": "2026-11-30T00:00:00Z",          // UTC instant of the first interval
//    "required": [672 integers],                     // agents per 15-minute interval
//    "min_rest_hours": 11, "weights": {"under": 1000, "over": 1},
//    "templates": [{"id": "early", "length_min": 510, "days": ["mon", …] | [0, …],
//                   "starts": ["06:00", …] | {"from": "06:00", "to": "10:00", "every_min": 30},
//                   "breaks": [{"name": "lunch", "length_min": 30, "earliest_min": 210,
//                               "latest_min": 300, "paid": false}],
//                   "pay_factor": 1.1}],
//    "agents": [{"id": "alice", "name": "Alice", "contract": "employee" | "contractor",
//                "min_hours": 32, "max_hours": 40, "hourly_rate": 21.5,
//                "templates": ["early"],
//                "availability": [{"day": "mon", "from": "08:00", "to": "18:00"}],
//                "preferences": {"days": ["mon"], "start_from": "08:00", "start_to": "10:00",
//                                "penalty": 10}}]}
// Days are names ("mon".."sun", the weekday of that date in UTC) or numbers 0..6 counted from
// week_start's day. An availability span whose "to" is not after "from" runs past midnight
// ("22:00" to "06:00"); "24:00" is the end of the day. Unknown fields and wrong types are
// kBadRequest naming the field; ranges are checked by Validate (schedule.h).
//
// Pure functions; nothing throws.

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "common/time.h"
#include "core/wfm/schedule.h"

namespace homeline::core::wfm {

[[nodiscard]] Result<ScheduleProblem> ProblemFromJson(const nlohmann::json& j);

// {"week_start","status","objective","bound","gap","seconds","labour_cost",
//  "preference_penalty","variables","constraints",
//  "coverage":{"interval_min","required","scheduled","under","over","under_total","over_total"},
//  "agents":[{"id","name","contract","hourly_rate","paid_hours","cost","preference_penalty",
//             "shifts":[{"template","start","end","paid_hours","cost",
//                        "segments":[{"name","start","end","paid"}]}]}]}
// Instants as "YYYY-MM-DDTHH:MM:SSZ".
nlohmann::json ToJson(const ScheduleResult& r);
// The solve's report alone, without coverage and agents: {"week_start","status","objective",
// "bound","gap","seconds","labour_cost","preference_penalty"} (the fields of ToJson(r) that a
// list of schedules shows).
nlohmann::json ReportJson(const ScheduleResult& r);
nlohmann::json ToJson(const AgentSchedule& a);
[[nodiscard]] Result<ScheduleResult> ResultFromJson(const nlohmann::json& j);

// "2026-11-30T08:00:00Z" ↔ TimeMs (whole seconds; "Z" only).
std::string IsoUtc(TimeMs t);
[[nodiscard]] Result<TimeMs> ParseIsoUtc(const std::string& s);

}  // namespace homeline::core::wfm
