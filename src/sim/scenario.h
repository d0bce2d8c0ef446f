#pragma once
// What the simulator runs: queues with their demand (time-varying Poisson arrivals, handle-time
// and patience distributions, wrap-up) and the agents who serve them (skills, capacity, shifts or
// a count per interval). Plain values; scenario_toml.h reads them from a file.
//
// Times inside a scenario are offsets from its start, which is 00:00 of its first day; interval
// k covers [k·interval, (k+1)·interval). The horizon is `days` days.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "core/types.h"

namespace homeline::sim {

enum class Distribution : std::uint8_t { kLogNormal, kExponential, kFixed };
const char* Name(Distribution d);

// A positive random duration, in seconds. Lognormal by its mean and standard deviation (the
// loader converts a `sigma` of log-duration into sd); exponential and fixed by their mean.
struct DurationDist {
  Distribution kind = Distribution::kLogNormal;
  double mean_s = 0;
  double sd_s = 0;
};

struct QueueSpec {
  std::string name;
  core::Channel channel = core::Channel::kVoice;
  std::map<std::string, int> skills;  // required skill → minimum proficiency (1..10)
  core::Strategy strategy = core::Strategy::kBestProficiency;
  // Expected contacts per interval of the horizon (Poisson, constant rate within an interval).
  // Shorter than the horizon: no arrivals after it.
  std::vector<double> arrivals;
  DurationDist handle;       // talk time
  double patience_s = 0;     // mean of an exponential patience; 0: nobody abandons
  double wrapup_s = 0;       // after-contact work, fixed; the engine's wrap-up timer ends it
  double sl_threshold_s = 20;  // the Y of "X % answered within Y s"
  int priority = 0;
  // A share of the contacts (e.g. premium customers) comes with priority `high_priority`
  // instead; each priority point is worth priority_step_s of waiting (the engine's rule).
  double high_priority_share = 0;
  int high_priority = 1;
  double priority_step_s = 60;
};

struct Shift {
  DurationMs start = 0;  // from the scenario's start
  DurationMs end = 0;    // > start
};

struct AgentSpec {
  std::string name;
  std::map<std::string, int> skills;  // skill → proficiency (1..10)
  core::Capacity capacity;
  std::vector<Shift> shifts;  // logged in during each; sorted, not overlapping (Validate)
};

// A pool of identical agents of whom agents[k] are logged in during interval k (calibration
// from history, or a requirement to test). Agents leaving finish the contacts in hand first.
struct StaffingGroup {
  std::string name;
  std::map<std::string, int> skills;
  core::Capacity capacity;
  std::vector<int> agents;  // per interval of the horizon; past its end: none
};

struct Scenario {
  std::uint64_t seed = 1;
  DurationMs interval = 30 * kMinute;  // report interval; divides a day
  int days = 1;
  // Contacts arriving before this are simulated but not counted (steady-state experiments).
  DurationMs warmup = 0;
  // After the horizon, contacts still in hand or waiting may finish during this much more time
  // (agents whose shift ended stay until their contacts are done); whatever is left then counts
  // as unfinished.
  DurationMs drain = 4 * kHour;
  std::vector<QueueSpec> queues;
  std::vector<AgentSpec> agents;
  std::vector<StaffingGroup> groups;
  // Figures recorded in history for the same demand, shown next to the simulated ones
  // (e.g. {"service_level_answered": 0.55}). Not used by the simulation.
  std::map<std::string, double> observed;

  int intervals() const { return static_cast<int>(days * kDay / interval); }
  DurationMs horizon() const { return days * kDay; }
};

// Every rule a scenario must meet before it runs: kBadRequest naming the first one broken.
[[nodiscard]] Status Validate(const Scenario& s);

}  // namespace homeline::sim
