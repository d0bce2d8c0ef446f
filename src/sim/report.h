#pragma once
// What `homeline sim` prints: a table per queue (and for all queues) of the summarised figures
// per interval and in total, as text for a planner, JSON, or CSV. Pure: returns strings.

#include <string>

#include <nlohmann/json.hpp>

#include "sim/scenario.h"
#include "sim/summary.h"

namespace homeline::sim {

// Text tables; intervals with no contacts and no agents are left out. With replications, each
// ratio shows its 95 % confidence half-width ("81.2±1.4").
std::string TextReport(const Scenario& s, const Summary& sum);

// Every figure as {"mean": x, "ci95": y} (null where undefined), every interval included.
nlohmann::json JsonReport(const Scenario& s, const Summary& sum);

// One row per queue and interval, then a "total" row per queue; queue "all" sums the queues
// and carries the agents' figures. Columns: see docs/wfm.md ("Simulator").
std::string CsvReport(const Scenario& s, const Summary& sum);

}  // namespace homeline::sim
