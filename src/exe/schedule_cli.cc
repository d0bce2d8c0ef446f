#include "exe/schedule_cli.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "adapters/solver/cbc_solver.h"
#include "adapters/wfm/schedule_render.h"
#include "core/wfm/schedule.h"
#include "core/wfm/schedule_json.h"

namespace homeline::cli {

namespace wfm = core::wfm;

namespace {

int Usage(const std::string& message) {
  std::fprintf(stderr, "homeline schedule: %s\n", message.c_str());
  return 2;
}

constexpr std::size_t kMaxFile = 64 << 20;

}  // namespace

int Schedule(const ScheduleArgs& a) {
  const int formats = a.json + a.csv + a.coverage_csv + !a.ics_agent.empty();
  if (formats > 1) return Usage("choose one of --json, --csv, --coverage-csv, --ics");
  std::ifstream in(a.problem, std::ios::binary);
  if (!in) return Usage("cannot read " + a.problem);
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxFile) return Usage("problem file larger than 64 MiB");
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Usage(a.problem + " is not valid JSON");
  auto problem = wfm::ProblemFromJson(j);
  if (!problem) return Usage(problem.error().message);
  if (!a.ics_agent.empty()) {
    bool known = false;
    for (const auto& ag : problem->agents) known = known || ag.id == a.ics_agent;
    if (!known) return Usage("no agent '" + a.ics_agent + "' in the problem");
  }
  solver::CbcSolver cbc;
  auto r = wfm::SolveSchedule(*problem, cbc, {.time_limit_s = a.time_limit_s});
  if (!r) {
    const bool input = r.error().code == ErrorCode::kBadRequest;
    std::fprintf(stderr, "homeline schedule: %s\n", r.error().message.c_str());
    return input ? 2 : 1;
  }
  if (a.json) {
    std::puts(wfm::ToJson(*r).dump(1).c_str());
    return 0;
  }
  if (a.csv) {
    std::fputs(wfmio::ShiftsCsv(*r).c_str(), stdout);
    return 0;
  }
  if (a.coverage_csv) {
    std::fputs(wfmio::CoverageCsv(*r).c_str(), stdout);
    return 0;
  }
  if (!a.ics_agent.empty()) {
    for (const auto& ag : r->agents)
      if (ag.agent_id == a.ics_agent) {
        // DTSTAMP: when this calendar was made. The CLI is the edge that may read the clock.
        const TimeMs now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
        std::fputs(wfmio::AgentIcs(ag, "cli", now).c_str(), stdout);
      }
    return 0;
  }
  // Text: the figures, a line per day, a line per agent.
  fmt::print("week of {}: {} agents, {} variables, {} constraints\n", wfm::IsoUtc(r->week_start),
             r->agents.size(), r->variables, r->constraints);
  fmt::print("status {}  objective {:.2f}  bound {:.2f}  gap {:.2f} %  solved in {:.1f} s\n",
             wfm::Name(r->status), r->objective, r->bound, 100 * r->gap, r->seconds);
  fmt::print("labour cost {:.2f}  preference penalty {:.2f}  under {} / over {} agent-intervals\n",
             r->labour_cost, r->preference_penalty, r->coverage.under_total, r->coverage.over_total);
  fmt::print("{:<12} {:>9} {:>9} {:>6} {:>6}\n", "day", "required", "scheduled", "under", "over");
  for (int d = 0; d < wfm::kDaysPerWeek; ++d) {
    long req = 0, sch = 0, un = 0, ov = 0;
    for (int i = d * wfm::kIntervalsPerDay; i < (d + 1) * wfm::kIntervalsPerDay; ++i) {
      req += r->coverage.required[i];
      sch += r->coverage.scheduled[i];
      un += r->coverage.under[i];
      ov += r->coverage.over[i];
    }
    // Agent-hours: four 15-minute intervals to the hour.
    fmt::print("{:<12} {:>9.2f} {:>9.2f} {:>6.2f} {:>6.2f}\n",
               wfm::IsoUtc(r->week_start + d * kDay).substr(0, 10), req / 4.0, sch / 4.0, un / 4.0,
               ov / 4.0);
  }
  fmt::print("(agent-hours per day)\n");
  fmt::print("{:<16} {:<10} {:>6} {:>7} {:>9} {:>6}\n", "agent", "contract", "rate", "hours", "cost",
             "shifts");
  for (const auto& ag : r->agents)
    fmt::print("{:<16} {:<10} {:>6.2f} {:>7.2f} {:>9.2f} {:>6}\n", ag.agent_id, wfm::Name(ag.contract),
               ag.hourly_rate, ag.paid_hours, ag.cost, ag.shifts.size());
  return 0;
}

}  // namespace homeline::cli
