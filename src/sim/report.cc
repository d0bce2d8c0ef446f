#include "sim/report.h"

#include <cmath>

#include <fmt/format.h>

namespace homeline::sim {
namespace {

// Start of interval k as HH:MM in its day, and its day (1-based).
std::string HhMm(const Scenario& s, std::size_t k) {
  const DurationMs in_day = static_cast<DurationMs>(k) * s.interval % kDay;
  return fmt::format("{:02}:{:02}", in_day / kHour, in_day % kHour / kMinute);
}
int DayOf(const Scenario& s, std::size_t k) {
  return static_cast<int>(static_cast<DurationMs>(k) * s.interval / kDay) + 1;
}
std::string Clock(const Scenario& s, std::size_t k) {
  if (s.days > 1) return fmt::format("d{} {}", DayOf(s, k), HhMm(s, k));
  return HhMm(s, k);
}

// Names are the scenario's; a comma or quote in one must not shift the columns.
std::string CsvField(const std::string& v) {
  if (v.find_first_of(",\"\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string Pct(const Estimate& e, bool ci) {
  if (e.n == 0 || std::isnan(e.mean)) return "-";
  if (ci && !std::isnan(e.ci95)) return fmt::format("{:.1f}±{:.1f}%", e.mean * 100, e.ci95 * 100);
  return fmt::format("{:.1f}%", e.mean * 100);
}

std::string Num(const Estimate& e, bool ci, int decimals) {
  if (e.n == 0 || std::isnan(e.mean)) return "-";
  if (ci && !std::isnan(e.ci95)) return fmt::format("{:.{}f}±{:.{}f}", e.mean, decimals, e.ci95, decimals);
  return fmt::format("{:.{}f}", e.mean, decimals);
}

void Table(std::string& out, const Scenario& s, const QueueSummary& q, bool agents, int reps) {
  const bool ci = reps > 1;
  const int w = ci ? 13 : 8;
  out += fmt::format("{:<9} {:>9} {:>9} {:>9} {:>{}} {:>{}} {:>{}}", "interval", "offered", "answered",
                     "abandoned", "SL", w, "ASA s", w, "abandon", w);
  if (agents) out += fmt::format(" {:>{}} {:>{}}", "occupancy", w, "agents", w);
  out += "\n";
  const int counts = reps > 1 ? 1 : 0;
  auto row = [&](const std::string& label, const Row& r) {
    out += fmt::format("{:<9} {:>9} {:>9} {:>9} {:>{}} {:>{}} {:>{}}", label, Num(r.offered, false, counts),
                       Num(r.answered, false, counts), Num(r.abandoned, false, counts),
                       Pct(r.service_level, ci), w, Num(r.asa_s, ci, 1), w, Pct(r.abandon_rate, ci), w);
    if (agents) out += fmt::format(" {:>{}} {:>{}}", Pct(r.occupancy, ci), w, Num(r.agents, ci, 1), w);
    out += "\n";
  };
  const QueueSummary* staff = agents ? &q : nullptr;
  for (std::size_t k = 0; k < q.intervals.size(); ++k) {
    const Row& r = q.intervals[k];
    const bool busy = r.offered.mean > 0 || (staff != nullptr && r.agents.mean > 0);
    if (busy) row(Clock(s, k), r);
  }
  row("total", q.total);
}

nlohmann::json J(const Estimate& e) {
  nlohmann::json j;
  j["mean"] = std::isnan(e.mean) ? nlohmann::json() : nlohmann::json(e.mean);
  j["ci95"] = std::isnan(e.ci95) || e.n < 2 ? nlohmann::json() : nlohmann::json(e.ci95);
  return j;
}

nlohmann::json J(const Row& r, bool agents) {
  nlohmann::json j = {{"offered", J(r.offered)},
                      {"answered", J(r.answered)},
                      {"abandoned", J(r.abandoned)},
                      {"unfinished", J(r.unfinished)},
                      {"service_level", J(r.service_level)},
                      {"service_level_offered", J(r.service_level_offered)},
                      {"service_level_answered", J(r.service_level_answered)},
                      {"asa_s", J(r.asa_s)},
                      {"abandon_rate", J(r.abandon_rate)},
                      {"aht_s", J(r.aht_s)}};
  if (agents) {
    j["occupancy"] = J(r.occupancy);
    j["agents"] = J(r.agents);
  }
  return j;
}

nlohmann::json J(const Scenario& s, const QueueSummary& q, bool agents) {
  nlohmann::json rows = nlohmann::json::array();
  for (std::size_t k = 0; k < q.intervals.size(); ++k) {
    nlohmann::json r = J(q.intervals[k], agents);
    r["day"] = DayOf(s, k);
    r["start"] = HhMm(s, k);
    rows.push_back(std::move(r));
  }
  return {{"name", q.name}, {"intervals", std::move(rows)}, {"total", J(q.total, agents)}};
}

std::string Cell(double v) { return std::isnan(v) ? std::string() : fmt::format("{:.6g}", v); }

}  // namespace

std::string TextReport(const Scenario& s, const Summary& sum) {
  std::string out = fmt::format(
      "homeline sim: {} day{}, {}-minute intervals, {} replication{} (seed {}); {} events "
      "through the engine\n",
      s.days, s.days > 1 ? "s" : "", s.interval / kMinute, sum.replications,
      sum.replications > 1 ? "s" : "", s.seed, sum.events);
  if (sum.replications > 1) out += "± is the half-width of a 95% confidence interval over the replications\n";
  const bool lone = s.queues.size() == 1;
  for (std::size_t i = 0; i < sum.queues.size(); ++i) {
    out += fmt::format("\nqueue {} (SL: answered within {:g} s)\n", sum.queues[i].name,
                       sum.queues[i].sl_threshold_s);
    // A lone queue's agents are all the agents: its table shows their figures too.
    Table(out, s, lone ? sum.all : sum.queues[i], lone, sum.replications);
  }
  if (!lone) {
    out += "\nall queues\n";
    Table(out, s, sum.all, true, sum.replications);
  }
  const Row& t = sum.all.total;
  if (t.unfinished.mean > 0)
    out += fmt::format("\n{:.1f} contacts were still waiting or in hand when the run stopped\n", t.unfinished.mean);
  if (!s.observed.empty()) {
    out += "\nrecorded in history (scenario [observed]) vs simulated (all queues, total):\n";
    for (const auto& [key, value] : s.observed) {
      const Estimate* e = key == "service_level" ? &t.service_level
                        : key == "service_level_answered" ? &t.service_level_answered
                        : key == "service_level_offered" ? &t.service_level_offered
                        : key == "abandon_rate" ? &t.abandon_rate
                        : key == "asa_s" ? &t.asa_s
                        : key == "occupancy" ? &t.occupancy
                        : key == "aht_s" ? &t.aht_s
                        : key == "offered" ? &t.offered : nullptr;
      out += fmt::format("  {:<24} {:>10.4g}   simulated {}\n", key, value,
                         e ? Num(*e, sum.replications > 1, 4) : std::string("-"));
    }
  }
  return out;
}

nlohmann::json JsonReport(const Scenario& s, const Summary& sum) {
  nlohmann::json queues = nlohmann::json::array();
  for (const QueueSummary& q : sum.queues) {
    nlohmann::json j = J(s, q, false);
    j["sl_threshold_s"] = q.sl_threshold_s;
    queues.push_back(std::move(j));
  }
  nlohmann::json out = {{"seed", s.seed},
                        {"replications", sum.replications},
                        {"days", s.days},
                        {"interval_s", s.interval / kSecond},
                        {"events", sum.events},
                        {"engine_events", sum.engine_events},
                        {"queues", std::move(queues)},
                        {"all", J(s, sum.all, true)}};
  if (!s.observed.empty()) out["observed"] = s.observed;
  return out;
}

std::string CsvReport(const Scenario& s, const Summary& sum) {
  static const char* kNames[] = {"offered", "answered", "abandoned", "unfinished", "service_level",
                                 "service_level_offered", "service_level_answered", "asa_s",
                                 "abandon_rate", "aht_s", "occupancy", "agents"};
  auto fields = [](const Row& r) {
    return std::vector<const Estimate*>{&r.offered, &r.answered, &r.abandoned, &r.unfinished,
                                        &r.service_level, &r.service_level_offered,
                                        &r.service_level_answered, &r.asa_s, &r.abandon_rate,
                                        &r.aht_s, &r.occupancy, &r.agents};
  };
  const bool ci = sum.replications > 1;
  std::string out = "queue,day,interval";
  for (const char* n : kNames) {
    out += fmt::format(",{}", n);
    if (ci) out += fmt::format(",{}_ci95", n);
  }
  out += "\n";
  auto line = [&](const std::string& queue, const std::string& day, const std::string& when,
                  const Row& r, bool agents) {
    out += fmt::format("{},{},{}", queue, day, when);
    int i = 0;
    for (const Estimate* e : fields(r)) {
      const bool staff = i++ >= 10;
      const bool have = !staff || agents;
      out += "," + (have ? Cell(e->mean) : std::string());
      if (ci) out += "," + (have ? Cell(e->ci95) : std::string());
    }
    out += "\n";
  };
  auto table = [&](const QueueSummary& q, bool agents) {
    for (std::size_t k = 0; k < q.intervals.size(); ++k) {
      line(CsvField(q.name), std::to_string(DayOf(s, k)), HhMm(s, k), q.intervals[k], agents);
    }
    line(CsvField(q.name), "", "total", q.total, agents);
  };
  for (const QueueSummary& q : sum.queues) table(q, false);
  table(sum.all, true);
  return out;
}

}  // namespace homeline::sim
