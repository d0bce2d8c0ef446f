#pragma once
// A solved shift schedule (core/wfm/schedule.h, what `homeline schedule` publishes) as the
// simulator's shifts, so a schedule is tested before it is published.
//
// Pure.

#include <vector>

#include "common/time.h"
#include "core/wfm/schedule.h"
#include "sim/scenario.h"

namespace homeline::sim {

// The agent's working time in scenario time (`day_one` is the UTC instant of the scenario's
// 00:00 on day 1): each shift minus its breaks and lunch, so the agent logs out for a segment
// (finishing a contact in hand first) and back in after it. Pieces before day_one are cut off;
// empty pieces dropped. In time order.
std::vector<Shift> WorkingTime(const core::wfm::AgentSchedule& a, TimeMs day_one);

}  // namespace homeline::sim
