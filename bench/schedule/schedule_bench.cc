// Weekly schedule solve time and quality: a generated week (core/wfm/schedule_gen.h) for N
// agents at 15-minute intervals, solved by CBC under a time limit. Prints the model size, time,
// objective, the bound and the gap, and the under/over-staffing left.
//
//   build/release/bench/schedule/bench_schedule [agents=500] [time_limit_s=60] [seed=1]

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "adapters/solver/cbc_solver.h"
#include "core/wfm/schedule.h"
#include "core/wfm/schedule_gen.h"

using namespace homeline;
using namespace homeline::core::wfm;

int main(int argc, char** argv) {
  const int agents = argc > 1 ? std::atoi(argv[1]) : 500;
  const double limit = argc > 2 ? std::atof(argv[2]) : 60;
  const std::uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  const ScheduleProblem p = GenerateProblem({.agents = agents, .seed = seed});
  long req = 0;
  for (int r : p.required) req += r;
  solver::CbcSolver cbc;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = SolveSchedule(p, cbc, {.time_limit_s = limit, .relative_gap = 0.005});
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r) {
    fmt::print(stderr, "error: {}\n", r.error().message);
    return 1;
  }
  int shifts = 0;
  for (const auto& a : r->agents) shifts += static_cast<int>(a.shifts.size());
  fmt::print("agents {}  seed {}  required agent-intervals {}  variables {}  constraints {}\n",
             agents, seed, req, r->variables, r->constraints);
  fmt::print("time {:.1f} s (solver {:.1f} s, limit {:g} s)  status {}\n", s, r->seconds, limit,
             Name(r->status));
  fmt::print("objective {:.2f}  bound {:.2f}  gap {:.3f} %\n", r->objective, r->bound,
             100 * r->gap);
  fmt::print("shifts {}  labour cost {:.2f}  preference penalty {:.2f}  under {}  over {} "
             "(agent-intervals)\n",
             shifts, r->labour_cost, r->preference_penalty, r->coverage.under_total,
             r->coverage.over_total);
  return 0;
}
