// Staffing solves (Erlang C and Erlang A): one large queue, and a day of intervals for many
// queues. Plain main, prints figures to compare between runs (docs/benchmarks.md, "Staffing").
// Build in Release: cmake -DCMAKE_BUILD_TYPE=Release …; ninja bench_wfm; ./bench/wfm/bench_wfm
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "core/wfm/staffing.h"

namespace wfm = homeline::core::wfm;
using Clock = std::chrono::steady_clock;

namespace {

long sink = 0;  // printed at the end, so the solves are not optimised away

// Median over `rounds` of the time of `reps` calls of f, per call, in microseconds.
template <typename F>
double MedianMicros(int rounds, int reps, F&& f) {
  std::vector<double> t;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = Clock::now();
    for (int i = 0; i < reps; ++i) f();
    t.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / reps);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

wfm::StaffingInput Classic(double erlangs, double patience) {
  return wfm::StaffingInput{.contacts = erlangs * 1800 / 180, .interval_s = 1800, .aht_s = 180,
                            .target_sl = 0.8, .answer_within_s = 20, .patience_s = patience,
                            .shrinkage = 0.3};
}

void One(const char* label, const wfm::StaffingInput& in, int reps) {
  const auto r = wfm::SolveStaffing(in);
  if (!r) {
    std::printf("%s: %s\n", label, r.error().message.c_str());
    return;
  }
  const double us = MedianMicros(15, reps, [&] { sink += wfm::SolveStaffing(in)->agents; });
  std::printf("%-44s %8.2f us/solve  (agents %d, SL %.4f)\n", label, us, r->agents,
              r->metrics.service_level);
}

// 100 queues × 96 quarter-hours: each queue has its own size (1 to 300 Erlangs at the peak)
// and AHT, with a two-peak daily profile; some chat queues with concurrency 3.
std::vector<wfm::StaffingInput> Day(double patience) {
  std::vector<wfm::StaffingInput> out;
  for (int q = 0; q < 100; ++q) {
    const double peak = 1 + 299.0 * (q * 37 % 100) / 99.0;  // Erlangs at the busiest interval
    const double aht = 120 + 3.0 * (q * 53 % 100);
    for (int i = 0; i < 96; ++i) {
      const double h = i / 4.0;
      const double shape = std::exp(-std::pow((h - 10.5) / 2.5, 2)) +
                           0.8 * std::exp(-std::pow((h - 15) / 2.0, 2)) + 0.02;
      const double erlangs = peak * std::min(1.0, shape);
      out.push_back(wfm::StaffingInput{.contacts = erlangs * 900 / aht, .interval_s = 900,
                                       .aht_s = aht, .target_sl = 0.8, .answer_within_s = 20,
                                       .patience_s = patience, .shrinkage = 0.35,
                                       .max_occupancy = 0.9, .concurrency = q % 10 == 9 ? 3 : 1});
    }
  }
  return out;
}

void DayBench(const char* label, double patience) {
  const std::vector<wfm::StaffingInput> day = Day(patience);
  long agents = 0;
  for (const auto& in : day) agents += wfm::SolveStaffing(in)->agents;
  const double us = MedianMicros(7, 1, [&] {
    for (const auto& in : day) sink += wfm::SolveStaffing(in)->agents;
  });
  std::printf("%-44s %8.3f ms/day    (%zu solves, %.2f us each, %ld agent-intervals)\n", label,
              us / 1000, day.size(), us / day.size(), agents);
}

}  // namespace

int main() {
  std::printf("Staffing solves, 80%% in 20 s, AHT 180 s, 30-minute intervals (median of 15)\n");
  One("Erlang C, A = 10 Erlangs (the classic)", Classic(10, 0), 20000);
  One("Erlang C, A = 300 Erlangs", Classic(300, 0), 5000);
  One("Erlang C, A = 3,000 Erlangs", Classic(3000, 0), 1000);
  One("Erlang C, A = 30,000 Erlangs", Classic(30000, 0), 100);
  One("Erlang A, A = 10 Erlangs, patience 180 s", Classic(10, 180), 5000);
  One("Erlang A, A = 300 Erlangs, patience 180 s", Classic(300, 180), 1000);
  One("Erlang A, A = 3,000 Erlangs, patience 180 s", Classic(3000, 180), 200);
  One("Erlang A, A = 3,000 Erlangs, patience 900 s", Classic(3000, 900), 100);
  std::printf("A day: 96 quarter-hours x 100 queues (1-300 Erlangs at peak; median of 7)\n");
  DayBench("Erlang C", 0);
  DayBench("Erlang A, patience 120 s", 120);
  std::printf("(checksum %ld)\n", sink);
  return 0;
}
