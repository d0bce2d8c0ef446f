#include "sim/scenario_toml.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "core/wfm/schedule_json.h"
#include "sim/schedule.h"

namespace homeline::sim {
namespace {

// Reads values and remembers the first problem; later reads return defaults, and Parse reports
// that one problem (one clear message rather than a cascade).
class Reader {
 public:
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  void Bad(const std::string& where, const std::string& what) {
    if (error_.empty()) error_ = where + ": " + what;
  }

  // Errors on keys outside `allowed`.
  void Keys(const toml::table& t, const std::string& where, std::initializer_list<const char*> allowed) {
    for (const auto& [key, node] : t) {
      const std::string_view k = key.str();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; }))
        Bad(where, "unknown key '" + std::string(k) + "'");
    }
  }

  double Number(const toml::table& t, const std::string& where, const char* key, double fallback) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return fallback;
    if (auto v = n->value<double>(); v && (n->is_integer() || n->is_floating_point())) return *v;
    Bad(where, std::string("'") + key + "' must be a number");
    return fallback;
  }

  std::int64_t Integer(const toml::table& t, const std::string& where, const char* key, std::int64_t fallback) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return fallback;
    if (auto v = n->value_exact<std::int64_t>()) return *v;
    Bad(where, std::string("'") + key + "' must be an integer");
    return fallback;
  }

  std::string String(const toml::table& t, const std::string& where, const char* key, std::string fallback) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return fallback;
    if (auto v = n->value_exact<std::string>()) return *v;
    Bad(where, std::string("'") + key + "' must be a string");
    return fallback;
  }

  bool Bool(const toml::table& t, const std::string& where, const char* key, bool fallback) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return fallback;
    if (auto v = n->value_exact<bool>()) return *v;
    Bad(where, std::string("'") + key + "' must be true or false");
    return fallback;
  }

  const toml::table* Table(const toml::table& t, const std::string& where, const char* key) {
    const toml::node* n = t.get(key);
    if (n == nullptr) return nullptr;
    if (const toml::table* v = n->as_table()) return v;
    Bad(where, std::string("'") + key + "' must be a table, e.g. { a = 1 }");
    return nullptr;
  }

  // "HH:MM" → ms after midnight; "24:00" allowed (the end of a day).
  DurationMs Clock(const std::string& where, const std::string& text) {
    int h = -1, m = -1;
    char colon = 0;
    std::istringstream in(text);
    in >> h >> colon >> m;
    if (!in || colon != ':' || !in.eof() || h < 0 || m < 0 || m > 59 || h * 60 + m > 24 * 60 || text.size() != 5) {
      Bad(where, "time '" + text + "' must be HH:MM");
      return 0;
    }
    return h * kHour + m * kMinute;
  }

  std::map<std::string, int> Skills(const toml::table& t, const std::string& where) {
    std::map<std::string, int> out;
    const toml::table* s = Table(t, where, "skills");
    if (s == nullptr) return out;
    for (const auto& [key, node] : *s) {
      auto v = node.value_exact<std::int64_t>();
      if (!v) Bad(where, "skill '" + std::string(key.str()) + "' needs a proficiency 1-10");
      else out[std::string(key.str())] = static_cast<int>(*v);
    }
    return out;
  }

  core::Capacity Capacity(const toml::table& t, const std::string& where) {
    core::Capacity c;
    const toml::table* s = Table(t, where, "capacity");
    if (s == nullptr) return c;
    for (const auto& [key, node] : *s) {
      auto ch = core::ParseChannel(key.str());
      auto v = node.value_exact<std::int64_t>();
      if (!ch) Bad(where, "capacity: unknown channel '" + std::string(key.str()) + "'");
      else if (!v || *v < 0 || *v > core::kMaxSlots) Bad(where, "capacity: slots must be 0-50");
      else c.slots[static_cast<int>(*ch)] = static_cast<std::uint8_t>(*v);
    }
    return c;
  }

  // A per-interval profile: { start = "HH:MM", per_interval = [...], repeat_daily = true },
  // laid over the horizon's intervals.
  template <typename T>
  std::vector<T> Profile(const toml::table& p, const std::string& where, const Scenario& s) {
    const DurationMs start = Clock(where, String(p, where, "start", "00:00"));
    const bool daily = Bool(p, where, "repeat_daily", true);
    std::vector<T> values;
    const toml::node* n = p.get("per_interval");
    const toml::array* a = n ? n->as_array() : nullptr;
    if (a == nullptr) {
      Bad(where, "'per_interval' must be a list of numbers, one per interval");
      return {};
    }
    for (const toml::node& v : *a) {
      if constexpr (std::is_integral_v<T>) {
        auto x = v.value_exact<std::int64_t>();
        if (!x) { Bad(where, "per_interval: whole numbers only"); return {}; }
        values.push_back(static_cast<T>(*x));
      } else {
        auto x = v.value<double>();
        if (!x || !(v.is_integer() || v.is_floating_point())) { Bad(where, "per_interval: numbers only"); return {}; }
        values.push_back(*x);
      }
    }
    if (start % s.interval != 0) {
      Bad(where, "'start' must fall on an interval boundary");
      return {};
    }
    const std::size_t first = static_cast<std::size_t>(start / s.interval);
    const std::size_t per_day = static_cast<std::size_t>(kDay / s.interval);
    const std::size_t total = static_cast<std::size_t>(s.intervals());
    if (daily && first + values.size() > per_day) {
      Bad(where, "per_interval runs past midnight (" + std::to_string(values.size()) +
                     " intervals from " + String(p, where, "start", "00:00") +
                     "); set repeat_daily = false for a profile over several days");
      return {};
    }
    if (!daily && first + values.size() > total) {
      Bad(where, "per_interval runs past the horizon");
      return {};
    }
    std::vector<T> out(std::min(total, daily ? total : first + values.size()), T{});
    for (std::size_t day = 0; day < (daily ? static_cast<std::size_t>(s.days) : 1); ++day)
      for (std::size_t i = 0; i < values.size(); ++i) out[day * per_day + first + i] = values[i];
    return out;
  }

 private:
  std::string error_;
};

std::optional<core::Strategy> Strategy(const std::string& s) { return core::ParseStrategy(s); }

Result<core::wfm::ScheduleResult> ReadSchedule(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kBadRequest, "cannot read " + path);
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Fail(ErrorCode::kBadRequest, path + ": not JSON");
  auto r = core::wfm::ResultFromJson(j);
  if (!r) return Fail(ErrorCode::kBadRequest, path + ": " + r.error().message);
  return r;
}

}  // namespace

Result<Scenario> ParseScenario(std::string_view text, std::string_view source,
                               const std::string& base_dir) {
  return ParseScenario(text, source, ParseOptions{.base_dir = base_dir});
}

Result<Scenario> ParseScenario(std::string_view text, std::string_view source,
                               const ParseOptions& options) {
  const std::string& base_dir = options.base_dir;
  const std::string file(source);
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Fail(ErrorCode::kBadRequest, file + ":" + std::to_string(e.source().begin.line) + ": " +
                                            std::string(e.description()));
  }
  if (options.schedule != nullptr && !root.contains("schedule")) root.insert("schedule", toml::table{});
  Reader r;
  Scenario s;
  const std::string top = "top level";
  r.Keys(root, top, {"seed", "days", "interval_minutes", "warmup_minutes", "drain_minutes", "queue",
                      "agent", "shift", "schedule", "staffing", "observed"});
  s.seed = static_cast<std::uint64_t>(r.Integer(root, top, "seed", 1));
  s.days = static_cast<int>(r.Integer(root, top, "days", 1));
  const double interval_min = r.Number(root, top, "interval_minutes", 30);
  s.interval = static_cast<DurationMs>(std::llround(interval_min * kMinute));
  s.warmup = static_cast<DurationMs>(std::llround(r.Number(root, top, "warmup_minutes", 0) * kMinute));
  s.drain = static_cast<DurationMs>(std::llround(r.Number(root, top, "drain_minutes", 240) * kMinute));
  if (s.interval <= 0 || kDay % s.interval != 0) r.Bad(top, "interval_minutes must divide a day (15, 30, 60)");
  if (s.days < 1 || s.days > options.max_days) r.Bad(top, "days must be 1-" + std::to_string(options.max_days));
  if (!r.ok()) return Fail(ErrorCode::kBadRequest, file + ": " + r.error());

  auto tables = [&](const char* key) {
    std::vector<const toml::table*> out;
    const toml::node* n = root.get(key);
    if (n == nullptr) return out;
    const toml::array* a = n->as_array();
    if (a == nullptr || !a->is_array_of_tables()) {
      r.Bad(top, std::string("'") + key + "' must be written [[" + key + "]]");
      return out;
    }
    for (const toml::node& t : *a) out.push_back(t.as_table());
    return out;
  };

  for (const toml::table* t : tables("queue")) {
    QueueSpec q;
    q.name = r.String(*t, "[[queue]]", "name", "");
    const std::string where = "queue '" + q.name + "'";
    r.Keys(*t, where, {"name", "channel", "skills", "strategy", "sl_seconds", "priority", "priority_step",
                       "high_priority", "handle_time", "patience", "wrapup", "arrivals"});
    if (auto c = core::ParseChannel(r.String(*t, where, "channel", "voice"))) q.channel = *c;
    else r.Bad(where, "channel must be voice, chat, email, callback or task");
    if (auto st = Strategy(r.String(*t, where, "strategy", "best_proficiency"))) q.strategy = *st;
    else r.Bad(where, "unknown strategy");
    q.skills = r.Skills(*t, where);
    q.sl_threshold_s = r.Number(*t, where, "sl_seconds", 20);
    q.priority = static_cast<int>(r.Integer(*t, where, "priority", 0));
    q.priority_step_s = r.Number(*t, where, "priority_step", 60);
    if (const toml::table* h = r.Table(*t, where, "high_priority")) {
      r.Keys(*h, where + " high_priority", {"share", "priority"});
      q.high_priority_share = r.Number(*h, where, "share", 0);
      q.high_priority = static_cast<int>(r.Integer(*h, where, "priority", 1));
    }
    q.patience_s = r.Number(*t, where, "patience", 0);
    q.wrapup_s = r.Number(*t, where, "wrapup", 0);
    if (const toml::table* h = r.Table(*t, where, "handle_time")) {
      const std::string hw = where + " handle_time";
      r.Keys(*h, hw, {"mean", "sd", "sigma", "distribution"});
      const std::string kind = r.String(*h, hw, "distribution", "lognormal");
      q.handle.mean_s = r.Number(*h, hw, "mean", 0);
      if (kind == "lognormal") {
        q.handle.kind = Distribution::kLogNormal;
        const bool sd = h->contains("sd"), sigma = h->contains("sigma");
        if (sd == sigma) r.Bad(hw, "a lognormal needs either sd (seconds) or sigma (of log seconds)");
        if (sd) q.handle.sd_s = r.Number(*h, hw, "sd", 0);
        // sd = mean·√(e^{σ²} − 1) for a lognormal of that mean.
        if (sigma) q.handle.sd_s = q.handle.mean_s * std::sqrt(std::expm1(std::pow(r.Number(*h, hw, "sigma", 0), 2)));
      } else if (kind == "exponential") {
        q.handle.kind = Distribution::kExponential;
      } else if (kind == "fixed") {
        q.handle.kind = Distribution::kFixed;
      } else {
        r.Bad(hw, "distribution must be lognormal, exponential or fixed");
      }
    } else {
      r.Bad(where, "handle_time = { mean = ..., sd = ... } is required");
    }
    if (const toml::table* a = r.Table(*t, where, "arrivals")) {
      r.Keys(*a, where + " arrivals", {"start", "per_interval", "repeat_daily"});
      q.arrivals = r.Profile<double>(*a, where + " arrivals", s);
    }
    s.queues.push_back(std::move(q));
  }

  std::map<std::string, std::size_t> agent_index;
  for (const toml::table* t : tables("agent")) {
    const std::string name = r.String(*t, "[[agent]]", "name", "");
    const std::string where = "agent '" + name + "'";
    r.Keys(*t, where, {"name", "count", "skills", "capacity", "shifts", "always"});
    AgentSpec a;
    a.skills = r.Skills(*t, where);
    a.capacity = r.Capacity(*t, where);
    if (r.Bool(*t, where, "always", false)) a.shifts.push_back({0, s.horizon() + s.drain});
    if (const toml::node* n = t->get("shifts")) {
      const toml::array* list = n->as_array();
      if (list == nullptr || !list->is_array_of_tables()) {
        r.Bad(where, "shifts must be a list of { start = \"HH:MM\", end = \"HH:MM\", day = N }");
      } else {
        for (const toml::node& e : *list) {
          const toml::table& sh = *e.as_table();
          r.Keys(sh, where + " shift", {"start", "end", "day"});
          const DurationMs start = r.Clock(where, r.String(sh, where, "start", ""));
          DurationMs end = r.Clock(where, r.String(sh, where, "end", ""));
          if (end <= start) end += kDay;  // crosses midnight
          const std::int64_t day = r.Integer(sh, where, "day", 0);
          if (day < 0 || day > s.days) r.Bad(where, "shift day must be 1-" + std::to_string(s.days));
          for (int d = 0; d < s.days; ++d)
            if (day == 0 || day == d + 1) a.shifts.push_back({d * kDay + start, d * kDay + end});
        }
      }
    }
    const std::int64_t count = r.Integer(*t, where, "count", 1);
    if (count < 1 || count > 100000) r.Bad(where, "count must be 1-100000");
    for (std::int64_t k = 0; k < count && r.ok(); ++k) {
      a.name = count == 1 ? name : name + "-" + std::to_string(k + 1);
      agent_index[a.name] = s.agents.size();
      s.agents.push_back(a);
    }
  }

  // The schedule: one entry per shift, as a scheduler publishes it.
  for (const toml::table* t : tables("shift")) {
    const std::string agent = r.String(*t, "[[shift]]", "agent", "");
    const std::string where = "shift of '" + agent + "'";
    r.Keys(*t, where, {"agent", "day", "start", "end"});
    auto it = agent_index.find(agent);
    if (it == agent_index.end()) {
      r.Bad(where, "no [[agent]] named '" + agent + "'");
      continue;
    }
    const DurationMs start = r.Clock(where, r.String(*t, where, "start", ""));
    DurationMs end = r.Clock(where, r.String(*t, where, "end", ""));
    if (end <= start) end += kDay;
    const std::int64_t day = r.Integer(*t, where, "day", 0);
    if (day < 0 || day > s.days) r.Bad(where, "day must be 1-" + std::to_string(s.days));
    for (int d = 0; d < s.days; ++d)
      if (day == 0 || day == d + 1) s.agents[it->second].shifts.push_back({d * kDay + start, d * kDay + end});
  }
  // A published schedule (`homeline schedule --json`): its agents' working time, as shifts.
  if (const toml::table* t = r.Table(root, top, "schedule")) {
    const std::string where = "[schedule]";
    r.Keys(*t, where, {"file", "first_day", "skills", "capacity"});
    const std::string name = r.String(*t, where, "file", "");
    Result<core::wfm::ScheduleResult> schedule;
    if (options.schedule != nullptr || !options.allow_files) {
      if (t->contains("file"))
        r.Bad(where, options.schedule != nullptr
                         ? "'file' is not allowed here: the schedule is the one given (schedule_id)"
                         : "'file' is not allowed here (name a stored schedule instead)");
      else if (options.schedule == nullptr)
        r.Bad(where, "needs a schedule (schedule_id)");
      else
        schedule = *options.schedule;
    } else {
      if (name.empty()) r.Bad(where, "'file' (a `homeline schedule --json` result) is required");
      const std::string path = !name.empty() && name[0] == '/' ? name : base_dir + "/" + name;
      if (r.ok()) schedule = ReadSchedule(path);
    }
    if (r.ok() && !schedule) r.Bad(where, schedule.error().message);
    if (r.ok()) {
      TimeMs day_one = schedule->week_start - ((schedule->week_start % kDay) + kDay) % kDay;
      if (t->contains("first_day")) {
        auto d = core::wfm::ParseIsoUtc(r.String(*t, where, "first_day", "") + "T00:00:00Z");
        if (d) day_one = *d;
        else r.Bad(where, "first_day must be YYYY-MM-DD");
      }
      AgentSpec unlisted;
      unlisted.skills = r.Skills(*t, where);
      unlisted.capacity = r.Capacity(*t, where);
      for (const core::wfm::AgentSchedule& a : schedule->agents) {
        auto it = agent_index.find(a.agent_id);
        if (it == agent_index.end()) {
          if (!t->contains("skills")) {
            r.Bad(where, "agent '" + a.agent_id + "' of the schedule has no [[agent]] entry (or give [schedule] skills)");
            break;
          }
          agent_index[a.agent_id] = s.agents.size();
          s.agents.push_back(unlisted);
          s.agents.back().name = a.agent_id;
          it = agent_index.find(a.agent_id);
        }
        for (const Shift& sh : WorkingTime(a, day_one)) s.agents[it->second].shifts.push_back(sh);
      }
    }
  }

  for (AgentSpec& a : s.agents)
    std::sort(a.shifts.begin(), a.shifts.end(), [](const Shift& x, const Shift& y) { return x.start < y.start; });

  for (const toml::table* t : tables("staffing")) {
    StaffingGroup g;
    g.name = r.String(*t, "[[staffing]]", "name", "");
    const std::string where = "staffing '" + g.name + "'";
    r.Keys(*t, where, {"name", "skills", "capacity", "start", "per_interval", "repeat_daily"});
    g.skills = r.Skills(*t, where);
    g.capacity = r.Capacity(*t, where);
    g.agents = r.Profile<int>(*t, where, s);
    s.groups.push_back(std::move(g));
  }

  if (const toml::table* o = r.Table(root, top, "observed")) {
    for (const auto& [key, node] : *o) {
      auto v = node.value<double>();
      if (!v || !(node.is_integer() || node.is_floating_point())) r.Bad(top, "observed values must be numbers");
      else s.observed[std::string(key.str())] = *v;
    }
  }

  if (!r.ok()) return Fail(ErrorCode::kBadRequest, file + ": " + r.error());
  if (auto st = Validate(s); !st) return Fail(ErrorCode::kBadRequest, file + ": " + st.error().message);
  return s;
}

Result<Scenario> LoadScenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kBadRequest, "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  // A scenario is a page of text; anything this large is not one.
  if (text.str().size() > 16 * 1024 * 1024) return Fail(ErrorCode::kBadRequest, path + ": larger than 16 MiB");
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return ParseScenario(text.str(), path, dir.empty() ? "." : dir);
}

}  // namespace homeline::sim
