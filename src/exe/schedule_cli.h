#pragma once
// `homeline schedule problem.json`: solves a weekly shift schedule (core/wfm/schedule.h) with
// CBC and prints a summary (text), the whole result (--json), every shift (--csv), the
// per-interval coverage (--coverage-csv) or one agent's shifts as iCalendar (--ics AGENT).
// See docs/wfm.md.

#include <string>

namespace homeline::cli {

struct ScheduleArgs {
  std::string problem;      // JSON file (core/wfm/schedule_json.h)
  double time_limit_s = 60;
  bool json = false;
  bool csv = false;
  bool coverage_csv = false;
  std::string ics_agent;    // agent id
};

// Exit status: 0; 2 on bad input or a problem no schedule can meet (message on stderr); 1 when
// no schedule was found in time or the solver failed.
int Schedule(const ScheduleArgs& args);

}  // namespace homeline::cli
