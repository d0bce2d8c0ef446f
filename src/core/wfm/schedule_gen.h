#pragma once
// A synthetic but plausible weekly planning problem of any size, for tests, the benchmark and
// demos: a contact center open 06:00–22:00 on weekdays and 08:00–20:00 at weekends, with a
// morning and an afternoon peak; early, late (evening, +10 %), weekend (+25 %) and 4-hour
// part-time templates with breaks and an unpaid lunch; ~70 % employees (32–40 h guaranteed)
// and ~30 % contractors; availability gaps and preferences. The requirement is scaled so that
// the agents' hours cover it with some slack. Deterministic for a given seed (own generator,
// not <random>'s distributions, whose output differs between standard libraries).

#include <cstdint>

#include "core/wfm/schedule.h"

namespace homeline::core::wfm {

struct GenOptions {
  int agents = 200;
  std::uint64_t seed = 1;
  double load = 0.8;        // required agent-hours / hours the agents can give (at their max)
  TimeMs week_start = 1795996800000;  // Monday 2026-11-30 00:00 UTC
};

ScheduleProblem GenerateProblem(const GenOptions& o);

}  // namespace homeline::core::wfm
