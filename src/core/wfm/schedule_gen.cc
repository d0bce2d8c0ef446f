#include "core/wfm/schedule_gen.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <fmt/format.h>

namespace homeline::core::wfm {

namespace {

struct Rng {
  std::uint64_t s;
  std::uint64_t Next() {  // splitmix64
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  int Int(int lo, int hi) { return lo + static_cast<int>(Next() % static_cast<std::uint64_t>(hi - lo + 1)); }
};

std::vector<int> Starts(int from_h, int to_h, int step_min) {
  std::vector<int> s;
  for (int m = from_h * 60; m <= to_h * 60; m += step_min) s.push_back(m);
  return s;
}

}  // namespace

ScheduleProblem GenerateProblem(const GenOptions& o) {
  Rng rng{o.seed};
  ScheduleProblem p;
  p.week_start = o.week_start;
  const std::vector<int> weekdays{0, 1, 2, 3, 4}, weekend{5, 6};
  p.templates.push_back({.id = "early",
                         .length_min = 510,
                         .days = weekdays,
                         .starts_min = Starts(6, 10, 30),
                         .breaks = {{"break", 15, 90, 150, true},
                                    {"lunch", 30, 210, 300, false},
                                    {"break", 15, 360, 420, true}}});
  p.templates.push_back({.id = "late",
                         .length_min = 510,
                         .days = weekdays,
                         .starts_min = Starts(12, 14, 30),
                         .breaks = {{"break", 15, 90, 150, true},
                                    {"lunch", 30, 210, 300, false},
                                    {"break", 15, 360, 420, true}},
                         .pay_factor = 1.1});
  p.templates.push_back({.id = "weekend",
                         .length_min = 510,
                         .days = weekend,
                         .starts_min = Starts(8, 12, 60),
                         .breaks = {{"break", 15, 90, 150, true},
                                    {"lunch", 30, 210, 300, false},
                                    {"break", 15, 360, 420, true}},
                         .pay_factor = 1.25});
  p.templates.push_back({.id = "part",
                         .length_min = 240,
                         .days = {},
                         .starts_min = Starts(8, 18, 60),
                         .breaks = {{"break", 15, 90, 150, true}}});

  double capacity_h = 0;
  for (int i = 0; i < o.agents; ++i) {
    Agent a;
    a.id = fmt::format("a{:04}", i + 1);
    a.name = fmt::format("Agent {}", i + 1);
    const bool employee = rng.Uniform() < 0.7;
    if (employee) {
      a.contract = Contract::kEmployee;
      a.min_hours = rng.Uniform() < 0.5 ? 32 : 40;
      a.max_hours = 40;
      a.hourly_rate = 18 + rng.Int(0, 14) * 0.5;
      a.templates = {"early", "late", "weekend"};
      // Most work any time; some not at weekends, some only mornings.
      const double r = rng.Uniform();
      if (r < 0.2) {
        a.availability.push_back({0, 5 * kMinutesPerDay});
      } else if (r < 0.3) {
        for (int d = 0; d < kDaysPerWeek; ++d)
          a.availability.push_back({d * kMinutesPerDay + 5 * 60, d * kMinutesPerDay + 19 * 60});
      }
    } else {
      a.contract = Contract::kContractor;
      a.min_hours = 0;
      a.max_hours = 16 + 4 * rng.Int(0, 4);
      a.hourly_rate = 22 + rng.Int(0, 16) * 0.5;
      a.templates = {"part", "early", "late", "weekend"};
      // Available on 3 to 7 random days, at a random part of the day.
      const int from = rng.Int(6, 12), to = std::min(24, from + rng.Int(8, 12));
      for (int d = 0; d < kDaysPerWeek; ++d)
        if (rng.Uniform() < 0.7)
          a.availability.push_back({d * kMinutesPerDay + from * 60, d * kMinutesPerDay + to * 60});
      if (a.availability.empty()) a.availability.push_back({0, kMinutesPerWeek});
    }
    if (rng.Uniform() < 0.5) {
      const int off = rng.Int(0, 6);
      for (int d = 0; d < kDaysPerWeek; ++d)
        if (d != off && d != (off + 1) % 7) a.preferences.days.push_back(d);
    }
    if (rng.Uniform() < 0.3) {
      a.preferences.earliest_start_min = rng.Int(6, 9) * 60;
      a.preferences.latest_start_min = a.preferences.earliest_start_min + 180;
    }
    a.preferences.penalty = 5 + rng.Int(0, 10);
    capacity_h += employee ? (a.min_hours + a.max_hours) / 2 : a.max_hours * 0.6;
    p.agents.push_back(std::move(a));
  }

  // Demand shape: two peaks (10:30 and 15:00) on weekdays, one lower at weekends.
  std::vector<double> shape(kIntervalsPerWeek, 0);
  double total = 0;
  for (int d = 0; d < kDaysPerWeek; ++d) {
    const bool we = d >= 5;
    const double open = we ? 8 : 6, close = we ? 20 : 22;
    for (int q = 0; q < kIntervalsPerDay; ++q) {
      const double h = q / 4.0 + 0.125;
      if (h < open || h > close) continue;
      const double v = (we ? 0.6 : 1.0) *
                       (0.35 + std::exp(-std::pow((h - 10.5) / 2.0, 2)) +
                        0.8 * std::exp(-std::pow((h - 15) / 2.5, 2)));
      shape[d * kIntervalsPerDay + q] = v;
      total += v;
    }
  }
  // Work hours (paid time less paid breaks) the agents give at this load, spread by the shape.
  const double agent_intervals = capacity_h * 4 * 0.93 * o.load;
  p.required.resize(kIntervalsPerWeek);
  for (int i = 0; i < kIntervalsPerWeek; ++i)
    p.required[i] = static_cast<int>(std::lround(shape[i] / total * agent_intervals));
  return p;
}

}  // namespace homeline::core::wfm
