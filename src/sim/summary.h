#pragma once
// Replications of a scenario and what a planner reads from them: per queue and interval, and
// in total, the mean of each figure over the replications with a 95 % confidence interval
// (Student's t on the replication means: the replications are independent, while contacts
// within one run are not).
//
// Pure. Cost: the replications' runs; summarising is linear in queues × intervals.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "sim/scenario.h"
#include "sim/simulator.h"

namespace homeline::sim {

// The mean over the replications that have a value (a ratio over no contacts has none), and
// the half-width of its 95 % confidence interval: NaN with fewer than two values.
struct Estimate {
  double mean = 0;
  double ci95 = 0;
  int n = 0;
};

struct Row {
  Estimate offered, answered, abandoned, unfinished;
  Estimate service_level;           // Figures::ServiceLevel (the wallboard's)
  Estimate service_level_offered;   // Figures::ServiceLevelOfOffered (Erlang A's)
  Estimate service_level_answered;  // Figures::ServiceLevelOfAnswered (the bank records')
  Estimate asa_s, abandon_rate, aht_s;
  Estimate occupancy, agents;       // all agents: only in Summary::all (and a lone queue)
};

struct QueueSummary {
  std::string name;
  double sl_threshold_s = 0;
  std::vector<Row> intervals;
  Row total;
};

struct Summary {
  int replications = 0;
  std::vector<QueueSummary> queues;
  QueueSummary all;
  std::uint64_t events = 0;         // over all replications
  std::uint64_t engine_events = 0;
};

// Two-sided 95 % quantile of Student's t with `df` degrees of freedom (df ≥ 1).
double StudentT95(int df);

Summary Summarize(const Scenario& s, const std::vector<RunResult>& runs);

// Runs replications 0..n-1 and summarises them. kBadRequest for a bad scenario or n outside
// 1..1000.
[[nodiscard]] Result<Summary> Replicate(const Scenario& s, int replications);

}  // namespace homeline::sim
