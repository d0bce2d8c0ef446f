#include "sim/scenario.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace homeline::sim {

const char* Name(Distribution d) {
  switch (d) {
    case Distribution::kLogNormal: return "lognormal";
    case Distribution::kExponential: return "exponential";
    case Distribution::kFixed: return "fixed";
  }
  return "?";
}

namespace {

Status Bad(std::string message) { return Fail(ErrorCode::kBadRequest, std::move(message)); }

bool Finite(double v) { return std::isfinite(v); }

Status CheckSkills(const std::string& who, const std::map<std::string, int>& skills) {
  for (const auto& [name, level] : skills) {
    if (name.empty()) return Bad(who + ": empty skill name");
    if (level < 1 || level > 10)
      return Bad(who + ": proficiency of '" + name + "' must be 1-10");
  }
  return {};
}

Status CheckCapacity(const std::string& who, const core::Capacity& c) {
  for (std::uint8_t slots : c.slots)
    if (slots > core::kMaxSlots) return Bad(who + ": capacity above " + std::to_string(core::kMaxSlots));
  return {};
}

}  // namespace

Status Validate(const Scenario& s) {
  if (s.interval <= 0 || kDay % s.interval != 0 || s.interval % kSecond != 0)
    return Bad("interval must be a whole number of seconds dividing a day (e.g. 15 or 30 minutes)");
  // Bounds keep one run within memory and a planner's patience (a year of 15-minute intervals).
  if (s.days < 1 || s.days > 366) return Bad("days must be 1-366");
  if (s.warmup < 0 || s.warmup >= s.horizon()) return Bad("warmup must lie within the horizon");
  if (s.drain < 0 || s.drain > 7 * kDay) return Bad("drain must be 0-7 days");
  if (s.queues.empty()) return Bad("a scenario needs at least one queue");
  if (s.agents.empty() && s.groups.empty()) return Bad("a scenario needs agents or staffing");
  const int n = s.intervals();
  std::set<std::string> names;
  for (const QueueSpec& q : s.queues) {
    const std::string who = "queue '" + q.name + "'";
    if (q.name.empty()) return Bad("a queue needs a name");
    if (!names.insert(q.name).second) return Bad(who + " appears twice");
    if (auto st = CheckSkills(who, q.skills); !st) return st;
    if (static_cast<int>(q.arrivals.size()) > n)
      return Bad(who + ": " + std::to_string(q.arrivals.size()) + " arrival intervals, the horizon has " +
                 std::to_string(n));
    for (double a : q.arrivals)
      if (!Finite(a) || a < 0 || a > 1e7) return Bad(who + ": arrivals must be 0-1e7 per interval");
    const DurationDist& h = q.handle;
    if (!Finite(h.mean_s) || h.mean_s <= 0 || h.mean_s > 86400)
      return Bad(who + ": handle time mean must be > 0 and at most a day");
    if (h.kind == Distribution::kLogNormal && (!Finite(h.sd_s) || h.sd_s <= 0 || h.sd_s > 100 * h.mean_s))
      return Bad(who + ": lognormal handle time needs sd > 0 (or sigma > 0)");
    if (!Finite(q.patience_s) || q.patience_s < 0) return Bad(who + ": patience must be >= 0 seconds");
    if (!Finite(q.wrapup_s) || q.wrapup_s < 0 || q.wrapup_s > 3600)
      return Bad(who + ": wrapup must be 0-3600 seconds");
    if (!Finite(q.sl_threshold_s) || q.sl_threshold_s < 0)
      return Bad(who + ": the service level threshold must be >= 0 seconds");
    if (q.priority < 0 || q.priority > 100 || q.high_priority < 0 || q.high_priority > 100)
      return Bad(who + ": priority must be 0-100");
    if (!Finite(q.high_priority_share) || q.high_priority_share < 0 || q.high_priority_share > 1)
      return Bad(who + ": the high-priority share must be 0-1");
    if (!Finite(q.priority_step_s) || q.priority_step_s < 0 || q.priority_step_s > 86400)
      return Bad(who + ": priority_step must be 0-86400 seconds");
  }
  std::set<std::string> agents;
  for (const AgentSpec& a : s.agents) {
    const std::string who = "agent '" + a.name + "'";
    if (a.name.empty()) return Bad("an agent needs a name");
    if (!agents.insert(a.name).second) return Bad(who + " appears twice");
    if (auto st = CheckSkills(who, a.skills); !st) return st;
    if (auto st = CheckCapacity(who, a.capacity); !st) return st;
    for (std::size_t i = 0; i < a.shifts.size(); ++i) {
      const Shift& sh = a.shifts[i];
      if (sh.start < 0 || sh.end <= sh.start) return Bad(who + ": a shift must end after it starts");
      if (i > 0 && sh.start < a.shifts[i - 1].end) return Bad(who + ": shifts overlap or are not in order");
    }
  }
  for (const StaffingGroup& g : s.groups) {
    const std::string who = "staffing '" + g.name + "'";
    if (g.name.empty()) return Bad("a staffing group needs a name");
    if (!agents.insert(g.name).second) return Bad(who + ": name taken by an agent or another group");
    if (auto st = CheckSkills(who, g.skills); !st) return st;
    if (auto st = CheckCapacity(who, g.capacity); !st) return st;
    if (static_cast<int>(g.agents.size()) > n) return Bad(who + ": more intervals than the horizon");
    for (int c : g.agents)
      if (c < 0 || c > 100000) return Bad(who + ": agents per interval must be 0-100000");
  }
  return {};
}

}  // namespace homeline::sim
