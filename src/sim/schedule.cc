#include "sim/schedule.h"

#include <algorithm>

namespace homeline::sim {

std::vector<Shift> WorkingTime(const core::wfm::AgentSchedule& a, TimeMs day_one) {
  std::vector<Shift> out;
  auto add = [&](TimeMs from, TimeMs to) {
    from = std::max(from, day_one);
    if (to > from) out.push_back({from - day_one, to - day_one});
  };
  for (const core::wfm::Shift& s : a.shifts) {
    std::vector<core::wfm::Segment> segments = s.segments;
    std::sort(segments.begin(), segments.end(),
              [](const auto& x, const auto& y) { return x.start < y.start; });
    TimeMs at = s.start;
    for (const core::wfm::Segment& g : segments) {
      add(at, std::min(g.start, s.end));
      at = std::max(at, g.end);
    }
    add(at, s.end);
  }
  std::sort(out.begin(), out.end(), [](const Shift& x, const Shift& y) { return x.start < y.start; });
  return out;
}

}  // namespace homeline::sim
