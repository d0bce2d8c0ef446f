#pragma once
// Reads a simulation scenario from TOML (the format is documented in docs/wfm.md ("Simulator"), with a
// sample in examples/sim/). Unknown keys are errors, so a typo does not silently change a run.
//
// Errors: kBadRequest with the file name and what is wrong (TOML syntax with its line), then
// everything Validate (scenario.h) checks. Reads only the given file.

#include <string>
#include <string_view>

#include "common/result.h"
#include "sim/scenario.h"

namespace homeline::sim {

[[nodiscard]] Result<Scenario> ParseScenario(std::string_view toml, std::string_view source = "scenario");
[[nodiscard]] Result<Scenario> LoadScenario(const std::string& path);

}  // namespace homeline::sim
