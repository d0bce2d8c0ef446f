#pragma once
// Reads a simulation scenario from TOML (the format is documented in docs/wfm.md ("Simulator"), with a
// sample in examples/sim/). Unknown keys are errors, so a typo does not silently change a run.
//
// A [schedule] table names a solved schedule (`homeline schedule --json`, core/wfm/
// schedule_json.h), read relative to `base_dir` (LoadScenario: the scenario's folder); its
// agents' working time (shifts minus breaks and lunch) becomes their shifts.
//
// Errors: kBadRequest with the file name and what is wrong (TOML syntax with its line), then
// everything Validate (scenario.h) checks. Reads the given file and the schedule it names.

#include <string>
#include <string_view>

#include "common/result.h"
#include "core/wfm/schedule.h"
#include "sim/scenario.h"

namespace homeline::sim {

// Where a [schedule] table's schedule comes from.
struct ParseOptions {
  std::string base_dir = ".";  // `file` is read relative to this folder
  // false: a `file` key is refused (the API: a request never reads the server's files).
  bool allow_files = true;
  // A schedule given in memory (the API's schedule_id): [schedule] takes it instead of a file
  // (`file` is then refused), and a scenario without [schedule] gets an empty one.
  const core::wfm::ScheduleResult* schedule = nullptr;
  // Checked before anything is expanded per day (profiles, daily shifts), so a bounded caller
  // (the API) never builds a year of intervals it will refuse.
  int max_days = 366;
};

[[nodiscard]] Result<Scenario> ParseScenario(std::string_view toml, std::string_view source,
                                             const ParseOptions& options);
[[nodiscard]] Result<Scenario> ParseScenario(std::string_view toml, std::string_view source = "scenario",
                                             const std::string& base_dir = ".");
[[nodiscard]] Result<Scenario> LoadScenario(const std::string& path);

}  // namespace homeline::sim
