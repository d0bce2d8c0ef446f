#include "core/wfm/schedule_json.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <optional>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace homeline::core::wfm {

using nlohmann::json;

namespace {

// Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void CivilFromDays(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Reads fields of one JSON object, remembering the first error with its path.
class Reader {
 public:
  Reader(const json& j, std::string path, std::optional<Error>& err)
      : j_(j), path_(std::move(path)), err_(err) {
    if (!j_.is_object()) Bad("", "must be an object");
  }
  bool ok() const { return !err_; }
  void Bad(const std::string& key, const std::string& what) {
    if (err_) return;
    std::string where = path_;
    if (!key.empty()) where += where.empty() ? key : "." + key;
    err_ = Error{ErrorCode::kBadRequest, fmt::format("{}: {}", where.empty() ? "problem" : where, what)};
  }
  std::string At(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const json* Find(const char* key) const {
    if (!j_.is_object()) return nullptr;
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  void Only(std::initializer_list<const char*> keys) {
    if (!j_.is_object()) return;
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      bool known = false;
      for (const char* k : keys) known = known || it.key() == k;
      if (!known) Bad(it.key(), "unknown field");
    }
  }
  template <typename T>
  bool Number(const char* key, T* out, bool required = false) {
    const json* v = Find(key);
    if (!v) {
      if (required) Bad(key, "missing");
      return false;
    }
    if constexpr (std::is_integral_v<T>) {
      if (!v->is_number_integer()) return Bad(key, "must be an integer"), false;
      const auto x = v->get<std::int64_t>();
      if (x < std::numeric_limits<T>::min() / 2 || x > std::numeric_limits<T>::max() / 2)
        return Bad(key, "out of range"), false;
      *out = static_cast<T>(x);
    } else {
      if (!v->is_number()) return Bad(key, "must be a number"), false;
      *out = v->get<double>();
    }
    return true;
  }
  bool String(const char* key, std::string* out, bool required = false, std::size_t max = 200) {
    const json* v = Find(key);
    if (!v) {
      if (required) Bad(key, "missing");
      return false;
    }
    if (!v->is_string()) return Bad(key, "must be a string"), false;
    *out = v->get<std::string>();
    if (out->size() > max) return Bad(key, fmt::format("longer than {} characters", max)), false;
    return true;
  }
  bool Bool(const char* key, bool* out) {
    const json* v = Find(key);
    if (!v) return false;
    if (!v->is_boolean()) return Bad(key, "must be true or false"), false;
    *out = v->get<bool>();
    return true;
  }
  const json* Array(const char* key, bool required = false, std::size_t max = 100000) {
    const json* v = Find(key);
    if (!v) {
      if (required) Bad(key, "missing");
      return nullptr;
    }
    if (!v->is_array()) return Bad(key, "must be an array"), nullptr;
    if (v->size() > max) return Bad(key, fmt::format("at most {} entries", max)), nullptr;
    return v;
  }

 private:
  const json& j_;
  std::string path_;
  std::optional<Error>& err_;
};

constexpr std::array<std::string_view, 7> kDayNames{"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

// Weekday of a UTC instant, 0 = Monday.
int WeekdayOf(TimeMs t) {
  const std::int64_t days = FloorDiv(t, kDay);
  return static_cast<int>(((days % 7) + 7 + 3) % 7);  // 1970-01-01 was a Thursday
}

// "HH:MM" (00:00..24:00) → minutes.
std::optional<int> ParseClock(const json& v) {
  if (!v.is_string()) return std::nullopt;
  const std::string s = v.get<std::string>();
  int h = 0, m = 0;
  char extra = 0;
  if (s.size() < 4 || s.size() > 5 || std::sscanf(s.c_str(), "%d:%d%c", &h, &m, &extra) != 2)
    return std::nullopt;
  if (h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

// A day as a name (weekday of the date) or a number 0..6 from week_start.
std::optional<int> ParseDay(const json& v, int first_weekday) {
  if (v.is_number_integer()) {
    const auto d = v.get<std::int64_t>();
    if (d < 0 || d > 6) return std::nullopt;
    return static_cast<int>(d);
  }
  if (!v.is_string()) return std::nullopt;
  std::string s = v.get<std::string>();
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s.size() > 3) s.resize(3);  // "monday" → "mon"
  for (int i = 0; i < 7; ++i)
    if (kDayNames[i] == s) return (i - first_weekday + 7) % 7;
  return std::nullopt;
}

void ReadDays(Reader& r, const char* key, int first_weekday, std::vector<int>* out) {
  const json* a = r.Array(key, false, 7);
  if (!a) return;
  for (std::size_t i = 0; i < a->size(); ++i) {
    auto d = ParseDay((*a)[i], first_weekday);
    if (!d) return r.Bad(fmt::format("{}[{}]", key, i), "must be a day: mon..sun or 0..6");
    out->push_back(*d);
  }
}

void ReadBreak(const json& j, const std::string& path, std::optional<Error>& err, BreakRule* b) {
  Reader r(j, path, err);
  r.Only({"name", "length_min", "earliest_min", "latest_min", "paid"});
  r.String("name", &b->name, false, 32);
  r.Number("length_min", &b->length_min, true);
  r.Number("earliest_min", &b->earliest_min, true);
  r.Number("latest_min", &b->latest_min, true);
  r.Bool("paid", &b->paid);
}

void ReadTemplate(const json& j, const std::string& path, int first_weekday,
                  std::optional<Error>& err, ShiftTemplate* t) {
  Reader r(j, path, err);
  r.Only({"id", "length_min", "days", "starts", "breaks", "pay_factor"});
  r.String("id", &t->id, true, 64);
  r.Number("length_min", &t->length_min, true);
  ReadDays(r, "days", first_weekday, &t->days);
  r.Number("pay_factor", &t->pay_factor);
  const json* starts = r.Find("starts");
  if (!starts) {
    r.Bad("starts", "missing");
  } else if (starts->is_array()) {
    if (starts->size() > static_cast<std::size_t>(kIntervalsPerDay)) return r.Bad("starts", "at most 96");
    for (std::size_t i = 0; i < starts->size(); ++i) {
      auto m = ParseClock((*starts)[i]);
      if (!m || *m >= kMinutesPerDay) return r.Bad(fmt::format("starts[{}]", i), "must be a time \"HH:MM\"");
      t->starts_min.push_back(*m);
    }
  } else if (starts->is_object()) {
    Reader w(*starts, r.At("starts"), err);
    w.Only({"from", "to", "every_min"});
    int every = 0;
    w.Number("every_min", &every, true);
    const json* from = w.Find("from");
    const json* to = w.Find("to");
    auto f = from ? ParseClock(*from) : std::nullopt;
    auto e = to ? ParseClock(*to) : std::nullopt;
    if (!f || !e || *f > *e || *e >= kMinutesPerDay) return w.Bad("", "needs \"from\" ≤ \"to\" as \"HH:MM\" within a day");
    if (every < kIntervalMin || every % kIntervalMin != 0) return w.Bad("every_min", "must be a multiple of 15");
    for (int m = *f; m <= *e; m += every) t->starts_min.push_back(m);
  } else {
    r.Bad("starts", "must be a list of \"HH:MM\" or {\"from\",\"to\",\"every_min\"}");
  }
  if (const json* bs = r.Array("breaks", false, 8))
    for (std::size_t i = 0; i < bs->size() && !err; ++i) {
      BreakRule b;
      ReadBreak((*bs)[i], fmt::format("{}.breaks[{}]", path, i), err, &b);
      t->breaks.push_back(std::move(b));
    }
}

void ReadAgent(const json& j, const std::string& path, TimeMs week_start, std::optional<Error>& err,
               Agent* a) {
  const int first = WeekdayOf(week_start);
  Reader r(j, path, err);
  r.Only({"id", "name", "contract", "min_hours", "max_hours", "hourly_rate", "templates",
          "availability", "preferences"});
  r.String("id", &a->id, true, 64);
  r.String("name", &a->name);
  std::string contract;
  if (r.String("contract", &contract)) {
    auto c = ParseContract(contract);
    if (!c) return r.Bad("contract", "must be \"employee\" or \"contractor\"");
    a->contract = *c;
  }
  r.Number("min_hours", &a->min_hours);
  r.Number("max_hours", &a->max_hours);
  r.Number("hourly_rate", &a->hourly_rate, true);
  if (const json* ts = r.Array("templates", false, 100))
    for (std::size_t i = 0; i < ts->size(); ++i) {
      if (!(*ts)[i].is_string()) return r.Bad(fmt::format("templates[{}]", i), "must be a template id");
      a->templates.push_back((*ts)[i].get<std::string>());
    }
  if (const json* av = r.Array("availability", false, 100))
    for (std::size_t i = 0; i < av->size() && !err; ++i) {
      Reader w((*av)[i], fmt::format("{}.availability[{}]", path, i), err);
      w.Only({"day", "from", "to"});
      const json* day = w.Find("day");
      auto d = day ? ParseDay(*day, first) : std::nullopt;
      const json* from = w.Find("from");
      const json* to = w.Find("to");
      auto f = from ? ParseClock(*from) : std::nullopt;
      auto e = to ? ParseClock(*to) : std::nullopt;
      if (!d) return w.Bad("day", "must be a day: mon..sun or 0..6");
      if (!f || !e || *f >= kMinutesPerDay) return w.Bad("", "needs \"from\" and \"to\" as \"HH:MM\"");
      const int start = *d * kMinutesPerDay + *f;
      int end = *d * kMinutesPerDay + (*e > *f ? *e : *e + kMinutesPerDay);
      a->availability.push_back({start, std::min(end, kMinutesPerWeek)});
    }
  if (const json* pj = r.Find("preferences")) {
    Reader w(*pj, r.At("preferences"), err);
    w.Only({"days", "start_from", "start_to", "penalty"});
    ReadDays(w, "days", first, &a->preferences.days);
    w.Number("penalty", &a->preferences.penalty);
    const json* from = w.Find("start_from");
    const json* to = w.Find("start_to");
    if (from || to) {
      auto f = from ? ParseClock(*from) : std::nullopt;
      auto e = to ? ParseClock(*to) : std::nullopt;
      if (!f || !e) return w.Bad("", "start_from and start_to go together, as \"HH:MM\"");
      a->preferences.earliest_start_min = *f;
      a->preferences.latest_start_min = *e;
    }
  }
}

json SegmentJson(const Segment& g) {
  return {{"name", g.name}, {"start", IsoUtc(g.start)}, {"end", IsoUtc(g.end)}, {"paid", g.paid}};
}

// Numbers read back from a stored schedule: checked, since a double out of int's range
// converted to int is undefined behaviour. A bad value throws json's type_error, as at() does.
int IntAt(const json& v) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < std::numeric_limits<int>::min() ||
      v.get<std::int64_t>() > std::numeric_limits<int>::max())
    throw json::type_error::create(302, "expected an integer within range", &v);
  return static_cast<int>(v.get<std::int64_t>());
}
int IntOr(const json& j, const char* key, int def) {
  auto it = j.find(key);
  return it == j.end() ? def : IntAt(*it);
}
double NumOr(const json& j, const char* key, double def) {
  auto it = j.find(key);
  if (it == j.end()) return def;
  if (!it->is_number()) throw json::type_error::create(302, "expected a number", &*it);
  return it->get<double>();
}
std::vector<int> Ints(const json& a) {
  if (!a.is_array()) throw json::type_error::create(302, "expected an array", &a);
  std::vector<int> out;
  out.reserve(a.size());
  for (const json& v : a) out.push_back(IntAt(v));
  return out;
}

Result<TimeMs> Instant(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string())
    return Fail(ErrorCode::kBadRequest, fmt::format("{}: must be a time \"YYYY-MM-DDTHH:MM:SSZ\"", key));
  return ParseIsoUtc(it->get<std::string>());
}

}  // namespace

std::string IsoUtc(TimeMs t) {
  const std::int64_t days = FloorDiv(t, kDay);
  const std::int64_t s = (t - days * kDay) / 1000;
  std::int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", y, m, d, s / 3600, s / 60 % 60, s % 60);
}

Result<TimeMs> ParseIsoUtc(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  char z = 0, extra = 0;
  const int n = std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c%c", &y, &mo, &d, &h, &mi, &se, &z, &extra);
  if (s.size() != 20 || n != 7 || z != 'Z' || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 ||
      d > 31 || h > 23 || mi > 59 || se > 59)
    return Fail(ErrorCode::kBadRequest,
                fmt::format("'{}' is not a UTC time \"YYYY-MM-DDTHH:MM:SSZ\"", s.substr(0, 40)));
  const std::int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return days * kDay + ((h * 60 + mi) * 60 + se) * kSecond;
}

Result<ScheduleProblem> ProblemFromJson(const json& j) {
  try {
    std::optional<Error> err;
    ScheduleProblem p;
    Reader r(j, "", err);
    r.Only({"week_start", "required", "min_rest_hours", "weights", "templates", "agents",
            "interval_min"});
    int interval = kIntervalMin;
    r.Number("interval_min", &interval);
    if (interval != kIntervalMin) r.Bad("interval_min", "only 15-minute intervals are supported");
    std::string ws;
    if (r.String("week_start", &ws, true, 40)) {
      auto t = ParseIsoUtc(ws);
      if (!t) return Fail(ErrorCode::kBadRequest, "week_start: " + t.error().message);
      p.week_start = *t;
    }
    if (const json* req = r.Array("required", true, kIntervalsPerWeek * 2)) {
      p.required.reserve(req->size());
      for (std::size_t i = 0; i < req->size(); ++i) {
        const json& v = (*req)[i];
        if (!v.is_number_integer()) {
          r.Bad(fmt::format("required[{}]", i), "must be an integer");
          break;
        }
        const auto x = v.get<std::int64_t>();
        p.required.push_back(static_cast<int>(std::clamp<std::int64_t>(x, -1, 2'000'000)));
      }
    }
    double rest_h = p.min_rest_min / 60.0;
    if (r.Number("min_rest_hours", &rest_h)) {
      if (!std::isfinite(rest_h) || rest_h < 0 || rest_h > 48) r.Bad("min_rest_hours", "must be 0..48");
      else p.min_rest_min = static_cast<int>(std::lround(rest_h * 60));
    }
    if (const json* w = r.Find("weights")) {
      Reader wr(*w, "weights", err);
      wr.Only({"under", "over"});
      wr.Number("under", &p.weights.under);
      wr.Number("over", &p.weights.over);
    }
    const int first = WeekdayOf(p.week_start);
    if (const json* ts = r.Array("templates", true, 100))
      for (std::size_t i = 0; i < ts->size() && !err; ++i) {
        ShiftTemplate t;
        ReadTemplate((*ts)[i], fmt::format("templates[{}]", i), first, err, &t);
        p.templates.push_back(std::move(t));
      }
    if (const json* as = r.Array("agents", true, 5000))
      for (std::size_t i = 0; i < as->size() && !err; ++i) {
        Agent a;
        ReadAgent((*as)[i], fmt::format("agents[{}]", i), p.week_start, err, &a);
        p.agents.push_back(std::move(a));
      }
    if (err) return std::unexpected(*err);
    return p;
  } catch (const json::exception& e) {
    return Fail(ErrorCode::kBadRequest, std::string("problem: ") + e.what());
  }
}

json ToJson(const AgentSchedule& a) {
  json shifts = json::array();
  for (const Shift& s : a.shifts) {
    json segs = json::array();
    for (const Segment& g : s.segments) segs.push_back(SegmentJson(g));
    shifts.push_back({{"template", s.template_id},
                      {"start", IsoUtc(s.start)},
                      {"end", IsoUtc(s.end)},
                      {"paid_hours", s.paid_hours},
                      {"cost", s.cost},
                      {"segments", std::move(segs)}});
  }
  return {{"id", a.agent_id},
          {"name", a.name},
          {"contract", Name(a.contract)},
          {"hourly_rate", a.hourly_rate},
          {"paid_hours", a.paid_hours},
          {"cost", a.cost},
          {"preference_penalty", a.preference_penalty},
          {"shifts", std::move(shifts)}};
}

json ReportJson(const ScheduleResult& r) {
  return {{"week_start", IsoUtc(r.week_start)},
          {"status", Name(r.status)},
          {"objective", r.objective},
          {"bound", r.bound},
          {"gap", r.gap},
          {"seconds", r.seconds},
          {"labour_cost", r.labour_cost},
          {"preference_penalty", r.preference_penalty}};
}

json ToJson(const ScheduleResult& r) {
  json agents = json::array();
  for (const AgentSchedule& a : r.agents) agents.push_back(ToJson(a));
  const Coverage& c = r.coverage;
  json j = ReportJson(r);
  j["variables"] = r.variables;
  j["constraints"] = r.constraints;
  j["coverage"] = {{"interval_min", kIntervalMin},
                   {"required", c.required},
                   {"scheduled", c.scheduled},
                   {"under", c.under},
                   {"over", c.over},
                   {"under_total", c.under_total},
                   {"over_total", c.over_total}};
  j["agents"] = std::move(agents);
  return j;
}

Result<ScheduleResult> ResultFromJson(const json& j) {
  try {
    if (!j.is_object()) return Fail(ErrorCode::kBadRequest, "schedule: must be an object");
    ScheduleResult r;
    auto ws = Instant(j, "week_start");
    if (!ws) return std::unexpected(ws.error());
    r.week_start = *ws;
    r.status = j.at("status").get<std::string>() == "optimal" ? SolveStatus::kOptimal
                                                              : SolveStatus::kTimeLimit;
    r.objective = NumOr(j, "objective", 0);
    r.bound = NumOr(j, "bound", 0);
    r.gap = NumOr(j, "gap", 0);
    r.seconds = NumOr(j, "seconds", 0);
    r.labour_cost = NumOr(j, "labour_cost", 0);
    r.preference_penalty = NumOr(j, "preference_penalty", 0);
    r.variables = IntOr(j, "variables", 0);
    r.constraints = IntOr(j, "constraints", 0);
    const json& c = j.at("coverage");
    r.coverage.required = Ints(c.at("required"));
    r.coverage.scheduled = Ints(c.at("scheduled"));
    r.coverage.under = Ints(c.at("under"));
    r.coverage.over = Ints(c.at("over"));
    const std::size_t n = r.coverage.scheduled.size();
    if (r.coverage.required.size() != n || r.coverage.under.size() != n || r.coverage.over.size() != n)
      return Fail(ErrorCode::kBadRequest, "schedule: coverage arrays differ in length");
    r.coverage.under_total = IntOr(c, "under_total", 0);
    r.coverage.over_total = IntOr(c, "over_total", 0);
    for (const json& aj : j.at("agents")) {
      AgentSchedule a;
      a.agent_id = aj.at("id").get<std::string>();
      a.name = aj.value("name", "");
      a.contract = ParseContract(aj.value("contract", "employee")).value_or(Contract::kEmployee);
      a.hourly_rate = NumOr(aj, "hourly_rate", 0);
      a.paid_hours = NumOr(aj, "paid_hours", 0);
      a.cost = NumOr(aj, "cost", 0);
      a.preference_penalty = NumOr(aj, "preference_penalty", 0);
      for (const json& sj : aj.at("shifts")) {
        Shift s;
        s.template_id = sj.value("template", "");
        auto st = Instant(sj, "start");
        auto en = Instant(sj, "end");
        if (!st || !en) return Fail(ErrorCode::kBadRequest, "schedule: bad shift time");
        s.start = *st;
        s.end = *en;
        s.paid_hours = NumOr(sj, "paid_hours", 0);
        s.cost = NumOr(sj, "cost", 0);
        for (const json& gj : sj.at("segments")) {
          auto gs = Instant(gj, "start");
          auto ge = Instant(gj, "end");
          if (!gs || !ge) return Fail(ErrorCode::kBadRequest, "schedule: bad segment time");
          s.segments.push_back({gj.value("name", ""), *gs, *ge, gj.value("paid", true)});
        }
        a.shifts.push_back(std::move(s));
      }
      r.agents.push_back(std::move(a));
    }
    return r;
  } catch (const json::exception& e) {
    return Fail(ErrorCode::kBadRequest, std::string("schedule: ") + e.what());
  }
}

}  // namespace homeline::core::wfm
