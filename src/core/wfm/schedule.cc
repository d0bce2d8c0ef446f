#include "core/wfm/schedule.h"

namespace homeline::core::wfm {

const char* Name(Contract c) { return c == Contract::kContractor ? "contractor" : "employee"; }

std::optional<Contract> ParseContract(std::string_view s) {
  if (s == "employee") return Contract::kEmployee;
  if (s == "contractor") return Contract::kContractor;
  return std::nullopt;
}

const char* Name(SegmentKind k) { return k == SegmentKind::kLunch ? "lunch" : "break"; }

const char* Name(SolveStatus s) { return s == SolveStatus::kOptimal ? "optimal" : "time_limit"; }

Activity ActivityAt(const AgentSchedule& a, TimeMs t) {
  for (const Shift& s : a.shifts) {
    if (t < s.start || t >= s.end) continue;
    for (const Segment& g : s.segments)
      if (t >= g.start && t < g.end) return Activity::kBreak;
    return Activity::kWork;
  }
  return Activity::kOff;
}

}  // namespace homeline::core::wfm
