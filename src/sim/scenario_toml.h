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
#include "sim/scenario.h"

namespace homeline::sim {

[[nodiscard]] Result<Scenario> ParseScenario(std::string_view toml, std::string_view source = "scenario",
                                             const std::string& base_dir = ".");
[[nodiscard]] Result<Scenario> LoadScenario(const std::string& path);

}  // namespace homeline::sim
