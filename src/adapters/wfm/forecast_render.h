#pragma once
// A forecast as JSON (the API's shape, also `homeline forecast --format json`) and as CSV
// (the export planners open in a spreadsheet: `?format=csv`, `--format csv`).

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/wfm/forecast.h"

namespace homeline::wfmio {

// "YYYY-MM-DDTHH:MM" of a forecast interval (local time).
std::string IntervalStart(core::wfm::Day day, int slot, int interval_min);

// {"interval_min","first_day","days","level","weekday_factors":{"Sun":…},
//  "intervals":[{"start","volume","aht_s","multiplier"}]}
nlohmann::json ForecastJson(const core::wfm::Forecast& forecast);

// Header interval_start,volume,aht_s,multiplier then one row per interval.
std::string ForecastCsv(const core::wfm::Forecast& forecast);

}  // namespace homeline::wfmio
