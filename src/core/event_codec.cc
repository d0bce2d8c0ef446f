#include "core/event_codec.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/wfm/schedule_json.h"

namespace homeline::core {

namespace {

constexpr std::array<const char*, 3> kOfferResultNames{"rejected", "expired", "withdrawn"};

}  // namespace

const char* Name(OfferResult r) {
  const auto i = static_cast<std::size_t>(r);
  return i < kOfferResultNames.size() ? kOfferResultNames[i] : "unknown";
}

std::optional<OfferResult> ParseOfferResult(std::string_view s) {
  for (std::size_t i = 0; i < kOfferResultNames.size(); ++i) {
    if (s == kOfferResultNames[i]) return static_cast<OfferResult>(i);
  }
  return std::nullopt;
}

namespace {

using nlohmann::json;

// Store: durations in ms, secrets included, ranges trusted. Api: durations in seconds, ranges
// checked, unknown fields refused.
enum class Shape { kStore, kApi };

// ---- Scalar conversions. Each returns "" on success, else what the value must be. ----

std::string Convert(const json& v, bool* out) {
  if (!v.is_boolean()) return "must be a boolean";
  *out = v.get<bool>();
  return {};
}

std::string Convert(const json& v, std::string* out) {
  if (!v.is_string()) return "must be a string";
  *out = v.get_ref<const std::string&>();
  return {};
}

std::string Convert(const json& v, std::uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<std::uint64_t>();
    return {};
  }
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
    *out = static_cast<std::uint64_t>(v.get<std::int64_t>());
    return {};
  }
  return "must be a non-negative integer";
}

std::string Convert(const json& v, std::int64_t* out) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return "must be a 64-bit integer";
    }
    *out = static_cast<std::int64_t>(u);
    return {};
  }
  if (v.is_number_integer()) {
    *out = v.get<std::int64_t>();
    return {};
  }
  return "must be an integer";
}

std::string Convert(const json& v, int* out) {
  std::int64_t wide = 0;
  if (!Convert(v, &wide).empty() || wide < std::numeric_limits<int>::min() ||
      wide > std::numeric_limits<int>::max()) {
    return "must be a 32-bit integer";
  }
  *out = static_cast<int>(wide);
  return {};
}

std::string Convert(const json& v, std::uint8_t* out) {
  std::uint64_t wide = 0;
  if (!Convert(v, &wide).empty() || wide > 255) return "must be an integer 0..255";
  *out = static_cast<std::uint8_t>(wide);
  return {};
}

std::string Convert(const json& v, double* out) {
  if (!v.is_number()) return "must be a number";
  *out = v.get<double>();
  return {};
}

std::string Convert(const json& v, std::vector<std::string>* out) {
  if (!v.is_array()) return "must be an array of strings";
  std::vector<std::string> items;
  for (const json& item : v) {
    if (!item.is_string()) return "must be an array of strings";
    items.push_back(item.get<std::string>());
  }
  *out = std::move(items);
  return {};
}

// Skill id -> proficiency, as {"12": 7}: JSON keys are strings.
std::string Convert(const json& v, std::map<SkillId, int>* out) {
  constexpr const char* kWhat = "must be an object of skill id to integer proficiency";
  if (!v.is_object()) return kWhat;
  std::map<SkillId, int> items;
  for (const auto& [key, value] : v.items()) {
    SkillId id = 0;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
    int proficiency = 0;
    if (key.empty() || ec != std::errc() || end != key.data() + key.size() ||
        !Convert(value, &proficiency).empty()) {
      return kWhat;
    }
    items[id] = proficiency;
  }
  *out = std::move(items);
  return {};
}

template <typename E, int N, typename ParseFn, typename NameFn>
std::string ConvertEnum(const json& v, E* out, ParseFn parse, NameFn name) {
  if (v.is_string()) {
    if (auto e = parse(v.get_ref<const std::string&>())) {
      *out = *e;
      return {};
    }
  }
  std::string what = "must be one of";
  for (int i = 0; i < N; ++i) what += std::string(i == 0 ? " " : ", ") + name(static_cast<E>(i));
  return what;
}

std::string Convert(const json& v, Role* out) {
  return ConvertEnum<Role, 3>(v, out, ParseRole, [](Role e) { return Name(e); });
}
std::string Convert(const json& v, Channel* out) {
  return ConvertEnum<Channel, kChannelCount>(v, out, ParseChannel,
                                             [](Channel e) { return Name(e); });
}
std::string Convert(const json& v, Presence* out) {
  return ConvertEnum<Presence, 4>(v, out, ParsePresence, [](Presence e) { return Name(e); });
}
std::string Convert(const json& v, Strategy* out) {
  return ConvertEnum<Strategy, 6>(v, out, ParseStrategy, [](Strategy e) { return Name(e); });
}
std::string Convert(const json& v, ChatSender* out) {
  return ConvertEnum<ChatSender, 3>(v, out, ParseChatSender, [](ChatSender e) { return Name(e); });
}
std::string Convert(const json& v, OfferResult* out) {
  return ConvertEnum<OfferResult, 3>(v, out, ParseOfferResult,
                                     [](OfferResult e) { return Name(e); });
}

std::string Convert(const json& v, SipTransport* out) {
  if (v.is_string()) {
    if (auto t = ParseSipTransport(v.get_ref<const std::string&>())) {
      *out = *t;
      return {};
    }
  }
  return "must be one of udp, tcp";
}

std::string Convert(const json& v, CdrRole* out) {
  return ConvertEnum<CdrRole, 4>(v, out, ParseCdrRole, [](CdrRole e) { return Name(e); });
}
std::string Convert(const json& v, CdrResult* out) {
  return ConvertEnum<CdrResult, 5>(v, out, ParseCdrResult, [](CdrResult e) { return Name(e); });
}
std::string Convert(const json& v, CdrParty* out) {
  return ConvertEnum<CdrParty, 6>(v, out, ParseCdrParty, [](CdrParty e) { return Name(e); });
}
std::string Convert(const json& v, MonitorMode* out) {
  return ConvertEnum<MonitorMode, 3>(v, out, ParseMonitorMode, [](MonitorMode e) { return Name(e); });
}

// A web origin as browsers send it: "http" or "https", "://", a host of letters, digits, '-'
// and '.' (or a bracketed IPv6 address), an optional ":port"; no path, no trailing slash.
bool IsOrigin(std::string_view o) {
  std::string_view rest;
  if (o.starts_with("https://")) rest = o.substr(8);
  else if (o.starts_with("http://")) rest = o.substr(7);
  else return false;
  if (rest.empty() || rest.size() > 253 + 6) return false;
  std::size_t i = 0;
  if (rest[0] == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char c : rest.substr(1, close - 1))
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    i = close + 1;
  } else {
    while (i < rest.size() && (std::isalnum(static_cast<unsigned char>(rest[i])) ||
                               rest[i] == '-' || rest[i] == '.'))
      ++i;
    if (i == 0) return false;
  }
  if (i == rest.size()) return true;
  if (rest[i] != ':' || i + 1 == rest.size() || rest.size() - i - 1 > 5) return false;
  for (char c : rest.substr(i + 1))
    if (c < '0' || c > '9') return false;
  return true;
}

// ---- Reader: walks one JSON object, keeping the first error. ----

struct ReadContext {
  std::string where;  // event type ("queue.set") or entity ("queue"), first word of errors
  Shape shape = Shape::kStore;
  std::optional<Error> error;
};

class Reader {
 public:
  Reader(ReadContext* ctx, const json& obj, std::string path)
      : ctx_(ctx), obj_(obj), path_(std::move(path)) {}

  bool api() const { return ctx_->shape == Shape::kApi; }
  bool failed() const { return ctx_->error.has_value(); }
  const json& object() const { return obj_; }

  void Fail(const std::string& key, const std::string& what) {
    if (failed()) return;
    ctx_->error = Error{ErrorCode::kBadRequest,
                        ctx_->where + ": field '" + path_ + key + "' " + what};
  }

  // Range checks apply to API input only: the store replays what was committed.
  void Check(bool ok, const std::string& key, const std::string& what) {
    if (api() && !ok) Fail(key, what);
  }

  // Reads obj[key] into *out when present; true if it did. Missing and required is an error.
  template <typename T>
  bool Get(const std::string& key, T* out, bool required = false) {
    const json* v = Find(key, required);
    if (v == nullptr) return false;
    if (std::string why = Convert(*v, out); !why.empty()) {
      Fail(key, why);
      return false;
    }
    return true;
  }
  template <typename T>
  bool Req(const std::string& key, T* out) {
    return Get(key, out, /*required=*/true);
  }

  // Durations: "<name>_ms" integer ms in the store, "<name>_s" seconds (maybe fractional) in
  // the API. positive: 0 is refused too.
  bool Duration(const std::string& name, DurationMs* out, bool positive = false) {
    if (!api()) return Get(name + "_ms", out);
    const std::string key = name + "_s";
    const json* v = Find(key, false);
    if (v == nullptr) return false;
    constexpr double kMaxSeconds = kMaxApiDuration / kSecond;
    const std::string range = std::string(positive ? "must be > 0" : "must be >= 0") +
                              " and <= " + std::to_string(kMaxApiDuration / kSecond) +
                              " seconds";
    if (!v->is_number()) {
      Fail(key, "must be a number of seconds");
      return false;
    }
    const double seconds = v->get<double>();
    if (!(seconds >= 0 && seconds <= kMaxSeconds) || (positive && seconds <= 0)) {
      Fail(key, range);
      return false;
    }
    const auto ms = static_cast<DurationMs>(std::llround(seconds * kSecond));
    if (positive && ms == 0) {
      Fail(key, range);
      return false;
    }
    *out = ms;
    return true;
  }

  // Calls fn(Reader&) on the object at key, when present.
  template <typename Fn>
  bool Object(const std::string& key, Fn&& fn, bool required = false) {
    const json* v = Find(key, required);
    if (v == nullptr) return false;
    if (!v->is_object()) {
      Fail(key, "must be an object");
      return false;
    }
    Reader sub(ctx_, *v, path_ + key + ".");
    fn(sub);
    sub.Finish();
    return !failed();
  }

  // Calls fn(Reader&) on each element of the array of objects at key, when present.
  template <typename Fn>
  bool Array(const std::string& key, Fn&& fn) {
    const json* v = Find(key, false);
    if (v == nullptr) return false;
    if (!v->is_array()) {
      Fail(key, "must be an array of objects");
      return false;
    }
    for (std::size_t i = 0; i < v->size() && !failed(); ++i) {
      const std::string item = key + "[" + std::to_string(i) + "]";
      if (!(*v)[i].is_object()) {
        Fail(item, "must be an object");
        break;
      }
      Reader sub(ctx_, (*v)[i], path_ + item + ".");
      fn(sub);
      sub.Finish();
    }
    return !failed();
  }

  // Calls fn(key, Reader&) on each member of the object of objects at key, when present.
  template <typename Fn>
  bool Members(const std::string& key, Fn&& fn) {
    const json* v = Find(key, false);
    if (v == nullptr) return false;
    if (!v->is_object()) {
      Fail(key, "must be an object of objects");
      return false;
    }
    for (const auto& [k, value] : v->items()) {
      if (failed()) break;
      const std::string item = key + "." + k;
      if (!value.is_object()) {
        Fail(item, "must be an object");
        break;
      }
      Reader sub(ctx_, value, path_ + item + ".");
      fn(k, sub);
      sub.Finish();
    }
    return !failed();
  }

  // Accepted and ignored (API: ids come from the URL, not the body).
  void Ignore(const std::string& key) { seen_.insert(key); }

  // API input: a field nobody read is a mistake, e.g. "offer_timeout_ms" for "offer_timeout_s".
  void Finish() {
    if (!api() || failed()) return;
    for (const auto& [key, value] : obj_.items()) {
      if (!seen_.contains(key)) {
        Fail(key, "is not a known field");
        return;
      }
    }
  }

 private:
  const json* Find(const std::string& key, bool required) {
    seen_.insert(key);
    if (failed()) return nullptr;
    const auto it = obj_.find(key);
    if (it == obj_.end()) {
      if (required) Fail(key, "is missing");
      return nullptr;
    }
    return &*it;
  }

  ReadContext* ctx_;
  const json& obj_;
  std::string path_;  // "queue.steps[2]." before the key in errors
  std::set<std::string> seen_;
};

// ---- Helpers shared by the shapes ----

void PutDuration(json& j, Shape shape, const std::string& name, DurationMs v) {
  if (shape == Shape::kStore) {
    j[name + "_ms"] = v;
  } else if (v % kSecond == 0) {
    j[name + "_s"] = v / kSecond;
  } else {
    j[name + "_s"] = static_cast<double>(v) / kSecond;
  }
}

bool IsDate(const std::string& s) {
  auto digits = [&](std::size_t from, std::size_t n, int* out) {
    int v = 0;
    for (std::size_t i = from; i < from + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int y = 0, m = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !digits(0, 4, &y) || !digits(5, 2, &m) ||
      !digits(8, 2, &d)) {
    return false;
  }
  if (m < 1 || m > 12 || d < 1) return false;
  constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

// Store shape reads the ids; the API ignores them (they come from the URL).
template <typename Id>
void ReadIds(Reader& r, Id* id, TenantId* tenant) {
  if (r.api()) {
    r.Ignore("id");
    r.Ignore("tenant");
  } else {
    r.Req("id", id);
    r.Get("tenant", tenant);
  }
}

// ---- Entities: writers ----

json CapacityJson(const Capacity& c) {
  json j = json::object();
  for (int i = 0; i < kChannelCount; ++i) j[Name(static_cast<Channel>(i))] = c.slots[i];
  return j;
}

json SettingsJson(const TenantSettings& s, Shape shape) {
  json j = json::object();
  j["break_reasons"] = s.break_reasons;
  j["max_missed_offers"] = s.max_missed_offers;
  PutDuration(j, shape, "presence_lease", s.presence_lease);
  j["timezone"] = s.timezone;
  j["allowed_origins"] = s.allowed_origins;
  j["chat_queue"] = s.chat_queue;
  return j;
}

json TenantJson(const Tenant& t, Shape shape) {
  return {{"id", t.id}, {"slug", t.slug}, {"name", t.name},
          {"settings", SettingsJson(t.settings, shape)}};
}

json UserJson(const User& u, bool with_password_hash) {
  json j = {{"id", u.id},
            {"login", u.login},
            {"name", u.name},
            {"platform_admin", u.platform_admin},
            {"disabled", u.disabled}};
  if (with_password_hash) j["password_hash"] = u.password_hash;
  return j;
}

json SkillJson(const Skill& s) { return {{"id", s.id}, {"tenant", s.tenant}, {"name", s.name}}; }

json DispositionJson(const Disposition& d) {
  return {{"id", d.id}, {"tenant", d.tenant}, {"code", d.code}, {"name", d.name}};
}

json CustomerJson(const Customer& c) {
  return {{"name", c.name}, {"phone", c.phone}, {"email", c.email}};
}

json QueueJson(const Queue& q, Shape shape) {
  json skills = json::array();
  for (const SkillRequirement& s : q.skills) {
    skills.push_back({{"skill", s.skill}, {"min_proficiency", s.min_proficiency}});
  }
  json steps = json::array();
  for (const RelaxStep& s : q.steps) {
    json step = {{"min_proficiency", s.min_proficiency}, {"overflow_to", s.overflow_to}};
    PutDuration(step, shape, "after", s.after);
    steps.push_back(std::move(step));
  }
  json j = {{"id", q.id},
            {"tenant", q.tenant},
            {"name", q.name},
            {"skills", std::move(skills)},
            {"steps", std::move(steps)},
            {"strategy", Name(q.strategy)},
            {"sl_target", q.sl_target},
            {"hours", q.hours}};
  PutDuration(j, shape, "sl_threshold", q.sl_threshold);
  PutDuration(j, shape, "offer_timeout", q.offer_timeout);
  PutDuration(j, shape, "wrapup", q.wrapup);
  PutDuration(j, shape, "wrapup_max_extension", q.wrapup_max_extension);
  PutDuration(j, shape, "priority_step", q.priority_step);
  return j;
}

json HoursJson(const BusinessHours& h) {
  json ranges = json::array();
  for (const WeeklyRange& w : h.ranges) {
    ranges.push_back({{"day", w.day}, {"start_min", w.start_min}, {"end_min", w.end_min}});
  }
  return {{"id", h.id},
          {"tenant", h.tenant},
          {"name", h.name},
          {"ranges", std::move(ranges)},
          {"closed_dates", h.closed_dates},
          {"timezone", h.timezone}};
}

json MemberJson(const Membership& m) {
  json skills = json::object();
  for (const auto& [skill, proficiency] : m.skills) skills[std::to_string(skill)] = proficiency;
  return {{"role", Name(m.role)}, {"skills", std::move(skills)},
          {"capacity", CapacityJson(m.capacity)}};
}

// ---- Entities: readers (onto an existing value; only present fields change) ----

void ReadCapacity(Reader& r, Capacity* c) {
  for (const auto& [key, value] : r.object().items()) {
    const std::optional<Channel> channel = ParseChannel(key);
    if (!channel) {
      r.Fail(key, "is not a channel (voice, chat, email, callback, task)");
      return;
    }
    std::uint8_t& slots = c->slots[static_cast<int>(*channel)];
    if (!r.Get(key, &slots)) return;
    if (IsExclusive(*channel)) {
      r.Check(slots <= 1, key, "must be 0 or 1 (the channel takes the whole agent)");
    } else {
      r.Check(slots <= kMaxSlots, key, "must be 0.." + std::to_string(kMaxSlots));
    }
  }
}

void ReadCustomer(Reader& r, Customer* c) {
  r.Get("name", &c->name);
  r.Get("phone", &c->phone);
  r.Get("email", &c->email);
}

void ReadSettings(Reader& r, TenantSettings* s) {
  if (r.Get("break_reasons", &s->break_reasons)) {
    for (const std::string& reason : s->break_reasons) {
      r.Check(!reason.empty(), "break_reasons", "must not contain empty strings");
    }
  }
  if (r.Get("max_missed_offers", &s->max_missed_offers)) {
    r.Check(s->max_missed_offers >= 1 && s->max_missed_offers <= 100, "max_missed_offers",
            "must be 1..100");
  }
  r.Duration("presence_lease", &s->presence_lease, /*positive=*/true);
  if (r.Get("timezone", &s->timezone)) {
    r.Check(!s->timezone.empty() && s->timezone.size() <= 128, "timezone",
            "must be 1-128 characters (an IANA name such as \"Europe/Berlin\", or \"+02:00\")");
  }
  if (r.Get("allowed_origins", &s->allowed_origins)) {
    r.Check(s->allowed_origins.size() <= 50, "allowed_origins", "must hold at most 50 origins");
    for (const std::string& o : s->allowed_origins) {
      r.Check(IsOrigin(o), "allowed_origins",
              "must hold origins like \"https://www.example.com\" (scheme://host[:port], no path)");
    }
  }
  r.Get("chat_queue", &s->chat_queue);
}

void ReadTenant(Reader& r, Tenant* t) {
  r.Req("id", &t->id);
  r.Get("slug", &t->slug);
  r.Get("name", &t->name);
  r.Object("settings", [&](Reader& s) { ReadSettings(s, &t->settings); });
}

void ReadUser(Reader& r, User* u) {
  r.Req("id", &u->id);
  r.Get("login", &u->login);
  r.Get("name", &u->name);
  r.Get("password_hash", &u->password_hash);
  r.Get("platform_admin", &u->platform_admin);
  r.Get("disabled", &u->disabled);
}

void ReadSkill(Reader& r, Skill* s) {
  ReadIds(r, &s->id, &s->tenant);
  r.Get("name", &s->name);
}

void ReadDisposition(Reader& r, Disposition* d) {
  ReadIds(r, &d->id, &d->tenant);
  r.Get("code", &d->code);
  r.Get("name", &d->name);
}

void CheckProficiency(Reader& r, int p) {
  r.Check(p >= 1 && p <= 10, "min_proficiency", "must be 1..10");
}

void ReadQueue(Reader& r, Queue* q) {
  ReadIds(r, &q->id, &q->tenant);
  r.Get("name", &q->name);
  std::vector<SkillRequirement> skills;
  if (r.Array("skills", [&](Reader& e) {
        SkillRequirement& s = skills.emplace_back();
        if (e.Req("skill", &s.skill)) e.Check(s.skill != 0, "skill", "must be a skill id");
        if (e.Get("min_proficiency", &s.min_proficiency)) CheckProficiency(e, s.min_proficiency);
        for (std::size_t i = 0; i + 1 < skills.size(); ++i) {
          e.Check(skills[i].skill != s.skill, "skill", "is listed twice");
        }
      })) {
    q->skills = std::move(skills);
  }
  std::vector<RelaxStep> steps;
  if (r.Array("steps", [&](Reader& e) {
        RelaxStep& s = steps.emplace_back();
        if (e.Duration("after", &s.after) && steps.size() > 1) {
          e.Check(s.after >= steps[steps.size() - 2].after, "after_s",
                  "must not be less than the previous step's");
        }
        if (e.Get("min_proficiency", &s.min_proficiency)) CheckProficiency(e, s.min_proficiency);
        if (e.Get("overflow_to", &s.overflow_to)) {
          e.Check(q->id == 0 || s.overflow_to != q->id, "overflow_to",
                  "must not be the queue itself");
        }
      })) {
    q->steps = std::move(steps);
  }
  r.Get("strategy", &q->strategy);
  if (r.Get("sl_target", &q->sl_target)) {
    r.Check(q->sl_target >= 0 && q->sl_target <= 1, "sl_target", "must be 0..1");
  }
  r.Duration("sl_threshold", &q->sl_threshold);
  r.Duration("offer_timeout", &q->offer_timeout, /*positive=*/true);
  r.Duration("wrapup", &q->wrapup);
  r.Duration("wrapup_max_extension", &q->wrapup_max_extension);
  r.Duration("priority_step", &q->priority_step);
  r.Get("hours", &q->hours);
  r.Check(!q->name.empty(), "name", "must not be empty");
}

void ReadHours(Reader& r, BusinessHours* h) {
  ReadIds(r, &h->id, &h->tenant);
  r.Get("name", &h->name);
  std::vector<WeeklyRange> ranges;
  if (r.Array("ranges", [&](Reader& e) {
        WeeklyRange& w = ranges.emplace_back();
        if (e.Get("day", &w.day)) e.Check(w.day >= 0 && w.day <= 6, "day", "must be 0..6");
        if (e.Get("start_min", &w.start_min)) {
          e.Check(w.start_min >= 0 && w.start_min <= 1440, "start_min", "must be 0..1440");
        }
        if (e.Get("end_min", &w.end_min)) {
          e.Check(w.end_min >= 0 && w.end_min <= 1440, "end_min", "must be 0..1440");
        }
        e.Check(w.start_min < w.end_min, "end_min", "must be after start_min");
      })) {
    h->ranges = std::move(ranges);
  }
  if (r.Get("closed_dates", &h->closed_dates)) {
    for (const std::string& date : h->closed_dates) {
      r.Check(IsDate(date), "closed_dates", "must hold dates as YYYY-MM-DD, not '" + date + "'");
    }
  }
  if (r.Get("timezone", &h->timezone)) {
    r.Check(h->timezone.size() <= 128, "timezone", "must be at most 128 characters");
  }
  r.Check(!h->name.empty(), "name", "must not be empty");
}

void ReadMember(Reader& r, Membership* m) {
  r.Get("role", &m->role);
  r.Get("skills", &m->skills);
  r.Object("capacity", [&](Reader& c) { ReadCapacity(c, &m->capacity); });
}

// ---- Events (store shape). Ids naming what the event is about are required. ----

void Write(json& j, const TenantSet& e) { j["tenant"] = TenantJson(*e.tenant, Shape::kStore); }
void Read(Reader& r, TenantSet* e) {
  r.Object("tenant", [&](Reader& s) { ReadTenant(s, e->tenant.get()); }, true);
}

void Write(json& j, const UserSet& e) { j["user"] = UserJson(*e.user, /*with_password_hash=*/true); }
void Read(Reader& r, UserSet* e) {
  r.Object("user", [&](Reader& s) { ReadUser(s, e->user.get()); }, true);
}

void Write(json& j, const UserSipSet& e) {
  j["user"] = e.user;
  j["ha1"] = e.ha1;
}
void Read(Reader& r, UserSipSet* e) {
  r.Req("user", &e->user);
  r.Req("ha1", &e->ha1);
}

void Write(json& j, const MemberSet& e) {
  j["tenant"] = e.tenant;
  j["user"] = e.user;
  j["member"] = MemberJson(*e.member);
}
void Read(Reader& r, MemberSet* e) {
  r.Req("tenant", &e->tenant);
  r.Req("user", &e->user);
  r.Object("member", [&](Reader& s) { ReadMember(s, e->member.get()); });
}

void Write(json& j, const MemberRemoved& e) {
  j["tenant"] = e.tenant;
  j["user"] = e.user;
}
void Read(Reader& r, MemberRemoved* e) {
  r.Req("tenant", &e->tenant);
  r.Req("user", &e->user);
}

void Write(json& j, const SkillSet& e) { j["skill"] = SkillJson(e.skill); }
void Read(Reader& r, SkillSet* e) {
  r.Object("skill", [&](Reader& s) { ReadSkill(s, &e->skill); }, true);
}

void Write(json& j, const SkillDeleted& e) {
  j["tenant"] = e.tenant;
  j["skill"] = e.skill;
}
void Read(Reader& r, SkillDeleted* e) {
  r.Get("tenant", &e->tenant);
  r.Req("skill", &e->skill);
}

void Write(json& j, const QueueSet& e) { j["queue"] = QueueJson(*e.queue, Shape::kStore); }
void Read(Reader& r, QueueSet* e) {
  r.Object("queue", [&](Reader& s) { ReadQueue(s, e->queue.get()); }, true);
}

void Write(json& j, const QueueDeleted& e) {
  j["tenant"] = e.tenant;
  j["queue"] = e.queue;
}
void Read(Reader& r, QueueDeleted* e) {
  r.Get("tenant", &e->tenant);
  r.Req("queue", &e->queue);
}

void Write(json& j, const HoursSet& e) { j["hours"] = HoursJson(*e.hours); }
void Read(Reader& r, HoursSet* e) {
  r.Object("hours", [&](Reader& s) { ReadHours(s, e->hours.get()); }, true);
}

void Write(json& j, const HoursDeleted& e) {
  j["tenant"] = e.tenant;
  j["hours"] = e.hours;
}
void Read(Reader& r, HoursDeleted* e) {
  r.Get("tenant", &e->tenant);
  r.Req("hours", &e->hours);
}

void Write(json& j, const DispositionSet& e) { j["disposition"] = DispositionJson(*e.disposition); }
void Read(Reader& r, DispositionSet* e) {
  r.Object("disposition", [&](Reader& s) { ReadDisposition(s, e->disposition.get()); }, true);
}

void Write(json& j, const DispositionDeleted& e) {
  j["tenant"] = e.tenant;
  j["disposition"] = e.disposition;
}
void Read(Reader& r, DispositionDeleted* e) {
  r.Get("tenant", &e->tenant);
  r.Req("disposition", &e->disposition);
}

void Write(json& j, const SessionCreated& e) {
  j["token_hash"] = e.token_hash;
  j["user"] = e.user;
  j["expires"] = e.expires;
}
void Read(Reader& r, SessionCreated* e) {
  r.Req("token_hash", &e->token_hash);
  r.Req("user", &e->user);
  r.Get("expires", &e->expires);
}

void Write(json& j, const SessionRevoked& e) { j["token_hash"] = e.token_hash; }
void Read(Reader& r, SessionRevoked* e) { r.Req("token_hash", &e->token_hash); }

void Write(json& j, const PresenceChanged& e) {
  j["user"] = e.user;
  j["tenant"] = e.tenant;
  j["presence"] = Name(e.presence);
  j["reason"] = e.reason;
}
void Read(Reader& r, PresenceChanged* e) {
  r.Req("user", &e->user);
  r.Get("tenant", &e->tenant);
  r.Get("presence", &e->presence);
  r.Get("reason", &e->reason);
}

void Write(json& j, const InteractionCreated& e) {
  j["id"] = e.id;
  j["tenant"] = e.tenant;
  j["channel"] = Name(e.channel);
  j["queue"] = e.queue;
  j["priority"] = e.priority;
  j["enqueued_at"] = e.enqueued_at;
  j["customer"] = CustomerJson(e.customer());
  j["subject"] = e.subject();
  j["data"] = e.data();  // kept as text: opaque to the engine, and byte-exact on replay
  j["origin"] = e.origin;
  if (e.directed != 0) j["directed"] = e.directed;
  if (e.consult) j["consult"] = true;
}
void Read(Reader& r, InteractionCreated* e) {
  r.Req("id", &e->id);
  r.Get("tenant", &e->tenant);
  r.Get("channel", &e->channel);
  r.Get("queue", &e->queue);
  r.Get("priority", &e->priority);
  r.Get("enqueued_at", &e->enqueued_at);
  ContactText text;
  r.Object("customer", [&](Reader& c) { ReadCustomer(c, &text.customer); });
  r.Get("subject", &text.subject);
  r.Get("data", &text.data);
  r.Get("origin", &e->origin);
  r.Get("directed", &e->directed);
  r.Get("consult", &e->consult);
  e->text = MakeText(std::move(text));
}

void Write(json& j, const InteractionMoved& e) {
  j["id"] = e.id;
  j["queue"] = e.queue;
  j["reason"] = e.reason;
}
void Read(Reader& r, InteractionMoved* e) {
  r.Req("id", &e->id);
  r.Req("queue", &e->queue);
  r.Get("reason", &e->reason);
}

void Write(json& j, const InteractionStepped& e) {
  j["id"] = e.id;
  j["step"] = e.step;
}
void Read(Reader& r, InteractionStepped* e) {
  r.Req("id", &e->id);
  r.Req("step", &e->step);
}

void Write(json& j, const Offered& e) {
  j["id"] = e.id;
  j["agent"] = e.agent;
  j["expires"] = e.expires;
}
void Read(Reader& r, Offered* e) {
  r.Req("id", &e->id);
  r.Req("agent", &e->agent);
  r.Get("expires", &e->expires);
}

void Write(json& j, const OfferEnded& e) {
  j["id"] = e.id;
  j["agent"] = e.agent;
  j["result"] = Name(e.result);
}
void Read(Reader& r, OfferEnded* e) {
  r.Req("id", &e->id);
  r.Req("agent", &e->agent);
  r.Get("result", &e->result);
}

void Write(json& j, const Accepted& e) {
  j["id"] = e.id;
  j["agent"] = e.agent;
}
void Read(Reader& r, Accepted* e) {
  r.Req("id", &e->id);
  r.Req("agent", &e->agent);
}

void Write(json& j, const ContactEnded& e) {
  j["id"] = e.id;
  j["reason"] = e.reason;
}
void Read(Reader& r, ContactEnded* e) {
  r.Req("id", &e->id);
  r.Get("reason", &e->reason);
}

void Write(json& j, const WrapUpExtended& e) {
  j["id"] = e.id;
  j["until"] = e.until;
}
void Read(Reader& r, WrapUpExtended* e) {
  r.Req("id", &e->id);
  r.Get("until", &e->until);
}

void Write(json& j, const Completed& e) {
  j["id"] = e.id;
  j["disposition"] = e.disposition;
  j["notes"] = e.notes;
  j["forced_by"] = e.forced_by;
  j["timed_out"] = e.timed_out;
}
void Read(Reader& r, Completed* e) {
  r.Req("id", &e->id);
  r.Get("disposition", &e->disposition);
  r.Get("notes", &e->notes);
  r.Get("forced_by", &e->forced_by);
  r.Get("timed_out", &e->timed_out);
}

void Write(json& j, const Abandoned& e) { j["id"] = e.id; }
void Read(Reader& r, Abandoned* e) { r.Req("id", &e->id); }

void Write(json& j, const Closed& e) {
  j["id"] = e.id;
  j["reason"] = e.reason;
}
void Read(Reader& r, Closed* e) {
  r.Req("id", &e->id);
  r.Get("reason", &e->reason);
}

void Write(json& j, const ChatStarted& e) {
  j["id"] = e.id;
  j["token_hash"] = e.token_hash;
}
void Read(Reader& r, ChatStarted* e) {
  r.Req("id", &e->id);
  r.Get("token_hash", &e->token_hash);
}

void Write(json& j, const ChatMessage& e) {
  j["id"] = e.id;
  j["seq"] = e.seq;
  j["sender"] = Name(e.sender);
  j["agent"] = e.agent;
  j["client_id"] = e.client_id;
  j["text"] = e.text;
}
void Read(Reader& r, ChatMessage* e) {
  r.Req("id", &e->id);
  r.Req("seq", &e->seq);
  r.Get("sender", &e->sender);
  r.Get("agent", &e->agent);
  r.Get("client_id", &e->client_id);
  r.Get("text", &e->text);
}

// ---- schedules (WFM) ----

void Write(json& j, const ScheduleStored& e) {
  const StoredSchedule& s = *e.schedule;
  j["id"] = s.id;
  j["tenant"] = s.tenant;
  j["name"] = s.name;
  j["created_by"] = s.created_by;
  j["created_at"] = s.created_at;
  j["users"] = s.users;
  j["result"] = wfm::ToJson(s.result);  // the API's shape (schedule_json.h)
}
void Read(Reader& r, ScheduleStored* e) {
  StoredSchedule& s = *e->schedule;
  r.Req("id", &s.id);
  r.Req("tenant", &s.tenant);
  r.Get("name", &s.name);
  r.Get("created_by", &s.created_by);
  r.Get("created_at", &s.created_at);
  const json& o = r.object();
  if (r.failed()) return;
  if (auto it = o.find("users"); it != o.end()) {
    if (!it->is_array()) return r.Fail("users", "must be an array of user ids");
    for (const json& u : *it) {
      if (!u.is_number_unsigned()) return r.Fail("users", "must be an array of user ids");
      s.users.push_back(u.get<UserId>());
    }
  }
  auto it = o.find("result");
  if (it == o.end()) return r.Fail("result", "is missing");
  auto result = wfm::ResultFromJson(*it);
  if (!result) return r.Fail("result", result.error().message);
  s.result = std::move(*result);
  if (s.users.size() != s.result.agents.size())
    r.Fail("users", "must have one entry per agent of the result");
}

void Write(json& j, const SchedulePublished& e) {
  j["tenant"] = e.tenant;
  j["schedule"] = e.schedule;
  j["by"] = e.by;
}
void Read(Reader& r, SchedulePublished* e) {
  r.Req("tenant", &e->tenant);
  r.Req("schedule", &e->schedule);
  r.Get("by", &e->by);
}

// ---- workforce management: forecast calendar ----

json CalendarJson(const CalendarEntry& c) {
  return {{"id", c.id},         {"tenant", c.tenant},         {"name", c.name},
          {"first_day", c.first_day}, {"last_day", c.last_day}, {"multiplier", c.multiplier},
          {"queue", c.queue}};
}
void ReadCalendar(Reader& r, CalendarEntry* c) {
  ReadIds(r, &c->id, &c->tenant);
  r.Get("name", &c->name, r.api());
  r.Get("first_day", &c->first_day, r.api());
  r.Get("last_day", &c->last_day, r.api());
  r.Get("multiplier", &c->multiplier, r.api());
  r.Get("queue", &c->queue);
}
void Write(json& j, const CalendarEventSet& e) { j["event"] = CalendarJson(*e.event); }
void Read(Reader& r, CalendarEventSet* e) {
  r.Object("event", [&](Reader& s) { ReadCalendar(s, e->event.get()); }, true);
}
void Write(json& j, const CalendarEventDeleted& e) {
  j["tenant"] = e.tenant;
  j["id"] = e.id;
}
void Read(Reader& r, CalendarEventDeleted* e) {
  r.Get("tenant", &e->tenant);
  r.Req("id", &e->id);
}

// ---- voice (core/voice.h) ----
// Trunks: flat in the store (secrets included); in the API, "inbound" and "outbound" objects
// whose passwords are write-only ("password_set" shows whether one is stored).

json TrunkStoreJson(const Trunk& t) {
  return {{"id", t.id},
          {"tenant", t.tenant},
          {"name", t.name},
          {"sources", t.sources},
          {"inbound_user", t.inbound_user},
          {"inbound_password", t.inbound_password},
          {"outbound_host", t.outbound_host},
          {"outbound_port", t.outbound_port},
          {"outbound_transport", Name(t.outbound_transport)},
          {"outbound_user", t.outbound_user},
          {"outbound_password", t.outbound_password},
          {"caller_id", t.caller_id},
          {"outbound_priority", t.outbound_priority},
          {"dial_timeout_ms", t.dial_timeout}};
}
void ReadTrunkStore(Reader& r, Trunk* t) {
  r.Req("id", &t->id);
  r.Get("tenant", &t->tenant);
  r.Get("name", &t->name);
  r.Get("sources", &t->sources);
  r.Get("inbound_user", &t->inbound_user);
  r.Get("inbound_password", &t->inbound_password);
  r.Get("outbound_host", &t->outbound_host);
  r.Get("outbound_port", &t->outbound_port);
  r.Get("outbound_transport", &t->outbound_transport);
  r.Get("outbound_user", &t->outbound_user);
  r.Get("outbound_password", &t->outbound_password);
  r.Get("caller_id", &t->caller_id);
  r.Get("outbound_priority", &t->outbound_priority);  // absent before failover: 0
  r.Duration("dial_timeout", &t->dial_timeout);
}
json TrunkApiJson(const Trunk& t) {
  return {{"id", t.id},
          {"tenant", t.tenant},
          {"name", t.name},
          {"inbound",
           {{"sources", t.sources},
            {"username", t.inbound_user},
            {"password_set", !t.inbound_password.empty()}}},
          {"outbound",
           {{"host", t.outbound_host},
            {"port", t.outbound_port},
            {"transport", Name(t.outbound_transport)},
            {"username", t.outbound_user},
            {"password_set", !t.outbound_password.empty()},
            {"caller_id", t.caller_id},
            {"priority", t.outbound_priority},
            {"dial_timeout_s", t.dial_timeout / kSecond}}}};
}
void ReadTrunkApi(Reader& r, Trunk* t) {
  ReadIds(r, &t->id, &t->tenant);
  r.Get("name", &t->name);
  r.Object("inbound", [&](Reader& in) {
    in.Get("sources", &t->sources);
    in.Get("username", &t->inbound_user);
    in.Get("password", &t->inbound_password);
    in.Ignore("password_set");
  });
  r.Object("outbound", [&](Reader& out) {
    out.Get("host", &t->outbound_host);
    out.Get("port", &t->outbound_port);
    out.Get("transport", &t->outbound_transport);
    out.Get("username", &t->outbound_user);
    out.Get("password", &t->outbound_password);
    out.Get("caller_id", &t->caller_id);
    out.Get("priority", &t->outbound_priority);
    out.Duration("dial_timeout", &t->dial_timeout, /*positive=*/true);
    out.Ignore("password_set");
  });
}
void Write(json& j, const TrunkSet& e) { j["trunk"] = TrunkStoreJson(*e.trunk); }
void Read(Reader& r, TrunkSet* e) {
  r.Object("trunk", [&](Reader& s) { ReadTrunkStore(s, e->trunk.get()); }, true);
}
void Write(json& j, const TrunkDeleted& e) {
  j["tenant"] = e.tenant;
  j["id"] = e.id;
}
void Read(Reader& r, TrunkDeleted* e) {
  r.Get("tenant", &e->tenant);
  r.Req("id", &e->id);
}

json NumberJson(const PhoneNumber& n) {
  return {{"id", n.id},     {"tenant", n.tenant}, {"number", n.e164}, {"name", n.name},
          {"queue", n.queue}, {"ivr", n.ivr},     {"trunk", n.trunk}};
}
void ReadNumber(Reader& r, PhoneNumber* n) {
  ReadIds(r, &n->id, &n->tenant);
  r.Get("number", &n->e164);
  r.Get("name", &n->name);
  r.Get("queue", &n->queue);
  r.Get("ivr", &n->ivr);
  r.Get("trunk", &n->trunk);
}
void Write(json& j, const NumberSet& e) { j["number"] = NumberJson(*e.number); }
void Read(Reader& r, NumberSet* e) {
  r.Object("number", [&](Reader& s) { ReadNumber(s, e->number.get()); }, true);
}
void Write(json& j, const NumberDeleted& e) {
  j["tenant"] = e.tenant;
  j["id"] = e.id;
}
void Read(Reader& r, NumberDeleted* e) {
  r.Get("tenant", &e->tenant);
  r.Req("id", &e->id);
}

json QueueVoiceJson(const QueueVoice& v, Shape shape) {
  json j = {{"queue", v.queue},
            {"tenant", v.tenant},
            {"greeting_text", v.greeting_text},
            {"greeting_file", v.greeting_file},
            {"moh_file", v.moh_file},
            {"record", v.record}};
  PutDuration(j, shape, "position_interval", v.position_interval);
  return j;
}
void ReadQueueVoice(Reader& r, QueueVoice* v) {
  if (r.api()) {
    r.Ignore("queue");
    r.Ignore("tenant");
  } else {
    r.Req("queue", &v->queue);
    r.Get("tenant", &v->tenant);
  }
  r.Get("greeting_text", &v->greeting_text);
  r.Get("greeting_file", &v->greeting_file);
  r.Get("moh_file", &v->moh_file);
  r.Duration("position_interval", &v->position_interval);
  r.Get("record", &v->record);
}
void Write(json& j, const QueueVoiceSet& e) { j["voice"] = QueueVoiceJson(*e.voice, Shape::kStore); }
void Read(Reader& r, QueueVoiceSet* e) {
  r.Object("voice", [&](Reader& s) { ReadQueueVoice(s, e->voice.get()); }, true);
}

// IVR menus: the same shape in the store and the API (timeout in ms / s). An action is an
// object with one of "queue": id, "menu": id, "number": "+...", "repeat": true, "hangup": true.
json IvrActionJson(const IvrAction& a) {
  switch (a.kind) {
    case IvrActionKind::kQueue: return {{"queue", a.id}};
    case IvrActionKind::kMenu: return {{"menu", a.id}};
    case IvrActionKind::kNumber: return {{"number", a.number}};
    case IvrActionKind::kRepeat: return {{"repeat", true}};
    case IvrActionKind::kHangUp: return {{"hangup", true}};
    case IvrActionKind::kNone: break;
  }
  return json::object();
}
void ReadIvrAction(Reader& r, IvrAction* a) {
  IvrAction out;
  int kinds = 0;
  std::uint64_t id = 0;
  if (r.Get("queue", &id)) {
    out = IvrAction{IvrActionKind::kQueue, id, {}};
    ++kinds;
  }
  if (r.Get("menu", &id)) {
    out = IvrAction{IvrActionKind::kMenu, id, {}};
    ++kinds;
  }
  std::string number;
  if (r.Get("number", &number)) {
    out = IvrAction{IvrActionKind::kNumber, 0, number};
    ++kinds;
  }
  bool flag = false;
  if (r.Get("repeat", &flag)) {
    r.Check(flag, "repeat", "must be true");
    out = IvrAction{IvrActionKind::kRepeat, 0, {}};
    ++kinds;
  }
  if (r.Get("hangup", &flag)) {
    r.Check(flag, "hangup", "must be true");
    out = IvrAction{IvrActionKind::kHangUp, 0, {}};
    ++kinds;
  }
  r.Check(kinds <= 1, "", "must name one of queue, menu, number, repeat, hangup");
  *a = out;
}
json IvrMenuJson(const IvrMenu& m, Shape shape) {
  json options = json::object();
  for (const auto& [key, action] : m.options) options[std::string(1, key)] = IvrActionJson(action);
  json j = {{"id", m.id},
            {"tenant", m.tenant},
            {"name", m.name},
            {"prompt_text", m.prompt_text},
            {"prompt_file", m.prompt_file},
            {"options", options},
            {"max_retries", m.max_retries},
            {"on_failure", IvrActionJson(m.on_failure)}};
  PutDuration(j, shape, "timeout", m.timeout);
  return j;
}
void ReadIvrMenu(Reader& r, IvrMenu* m) {
  ReadIds(r, &m->id, &m->tenant);
  r.Get("name", &m->name);
  r.Get("prompt_text", &m->prompt_text);
  r.Get("prompt_file", &m->prompt_file);
  std::map<char, IvrAction> options;
  if (r.Members("options", [&](const std::string& key, Reader& sub) {
        if (key.size() != 1) return sub.Fail("", "is not one key (0-9, *, #)");
        IvrAction a;
        ReadIvrAction(sub, &a);
        options[key[0]] = a;
      })) {
    m->options = std::move(options);
  }
  r.Duration("timeout", &m->timeout, /*positive=*/true);
  r.Get("max_retries", &m->max_retries);
  r.Object("on_failure", [&](Reader& sub) { ReadIvrAction(sub, &m->on_failure); });
}
void Write(json& j, const IvrMenuSet& e) { j["menu"] = IvrMenuJson(*e.menu, Shape::kStore); }
void Read(Reader& r, IvrMenuSet* e) {
  r.Object("menu", [&](Reader& s) { ReadIvrMenu(s, e->menu.get()); }, true);
}
void Write(json& j, const IvrMenuDeleted& e) {
  j["tenant"] = e.tenant;
  j["id"] = e.id;
}
void Read(Reader& r, IvrMenuDeleted* e) {
  r.Get("tenant", &e->tenant);
  r.Req("id", &e->id);
}

// Call detail records (store only; the API's CDR view is adapters/api/cdr_view).
void Write(json& j, const CdrLegStarted& e) {
  const CdrLegStart& s = *e.start;
  j["leg"] = e.leg;
  j["tenant"] = s.tenant;
  j["call"] = s.call;
  j["interaction"] = s.interaction;
  j["role"] = Name(s.role);
  j["outbound"] = s.outbound;
  j["from"] = s.from;
  j["to"] = s.to;
  j["agent"] = s.agent;
  j["queue"] = s.queue;
  j["trunk"] = s.trunk;
}
void Read(Reader& r, CdrLegStarted* e) {
  CdrLegStart& s = *e->start;
  r.Req("leg", &e->leg);
  r.Get("tenant", &s.tenant);
  r.Get("call", &s.call);
  r.Get("interaction", &s.interaction);
  r.Get("role", &s.role);
  r.Get("outbound", &s.outbound);
  r.Get("from", &s.from);
  r.Get("to", &s.to);
  r.Get("agent", &s.agent);
  r.Get("queue", &s.queue);
  r.Get("trunk", &s.trunk);
}
void Write(json& j, const CdrLegAnswered& e) { j["leg"] = e.leg; }
void Read(Reader& r, CdrLegAnswered* e) { r.Req("leg", &e->leg); }
void Write(json& j, const CdrLegEnded& e) {
  j["leg"] = e.leg;
  j["interaction"] = e.interaction;
  j["result"] = Name(e.result);
  j["cause"] = e.cause;
  j["hung_up_by"] = Name(e.hung_up_by);
}
void Read(Reader& r, CdrLegEnded* e) {
  r.Req("leg", &e->leg);
  r.Get("interaction", &e->interaction);
  r.Get("result", &e->result);
  r.Get("cause", &e->cause);
  r.Get("hung_up_by", &e->hung_up_by);
}

// Recordings (store; the API's shape is ToJson(Recording)).
void Write(json& j, const RecordingStarted& e) {
  j["id"] = e.id;
  j["tenant"] = e.tenant;
  j["interaction"] = e.interaction;
  j["path"] = e.path;
}
void Read(Reader& r, RecordingStarted* e) {
  r.Req("id", &e->id);
  r.Get("tenant", &e->tenant);
  r.Get("interaction", &e->interaction);
  r.Get("path", &e->path);
}
void Write(json& j, const RecordingPaused& e) {
  j["id"] = e.id;
  j["paused"] = e.paused;
}
void Read(Reader& r, RecordingPaused* e) {
  r.Req("id", &e->id);
  r.Get("paused", &e->paused);
}
void Write(json& j, const RecordingEnded& e) {
  j["id"] = e.id;
  j["reason"] = e.reason;
}
void Read(Reader& r, RecordingEnded* e) {
  r.Req("id", &e->id);
  r.Get("reason", &e->reason);
}

// Supervisor monitoring (store; the API's shape is ToJson(Monitor)).
void Write(json& j, const MonitorStarted& e) {
  j["tenant"] = e.tenant;
  j["interaction"] = e.interaction;
  j["supervisor"] = e.supervisor;
  j["mode"] = Name(e.mode);
}
void Read(Reader& r, MonitorStarted* e) {
  r.Get("tenant", &e->tenant);
  r.Req("interaction", &e->interaction);
  r.Req("supervisor", &e->supervisor);
  r.Get("mode", &e->mode);
}
void Write(json& j, const MonitorChanged& e) {
  j["interaction"] = e.interaction;
  j["mode"] = Name(e.mode);
}
void Read(Reader& r, MonitorChanged* e) {
  r.Req("interaction", &e->interaction);
  r.Get("mode", &e->mode);
}
void Write(json& j, const MonitorEnded& e) {
  j["interaction"] = e.interaction;
  j["reason"] = e.reason;
}
void Read(Reader& r, MonitorEnded* e) {
  r.Req("interaction", &e->interaction);
  r.Get("reason", &e->reason);
}
void Write(json& j, const CallHold& e) {
  j["tenant"] = e.tenant;
  j["interaction"] = e.interaction;
  j["on"] = e.on;
}
void Read(Reader& r, CallHold* e) {
  r.Get("tenant", &e->tenant);
  r.Req("interaction", &e->interaction);
  r.Get("on", &e->on);
}
void Write(json& j, const OutboundStarted& e) {
  j["id"] = e.id;
  j["tenant"] = e.tenant;
  j["queue"] = e.queue;
  j["agent"] = e.agent;
  j["customer"] = CustomerJson(e.customer());
  j["subject"] = e.subject();
}
void Read(Reader& r, OutboundStarted* e) {
  r.Req("id", &e->id);
  r.Get("tenant", &e->tenant);
  r.Req("queue", &e->queue);
  r.Req("agent", &e->agent);
  ContactText text;
  r.Object("customer", [&](Reader& c) { ReadCustomer(c, &text.customer); });
  r.Get("subject", &text.subject);
  e->text = MakeText(std::move(text));
}
void Write(json& j, const NumberConsultStarted& e) {
  j["tenant"] = e.tenant;
  j["interaction"] = e.interaction;
  j["trunk"] = e.trunk;
  j["number"] = e.number;
}
void Read(Reader& r, NumberConsultStarted* e) {
  r.Get("tenant", &e->tenant);
  r.Req("interaction", &e->interaction);
  r.Get("trunk", &e->trunk);
  r.Req("number", &e->number);
}
void Write(json& j, const NumberConsultAnswered& e) {
  j["interaction"] = e.interaction;
  j["trunk"] = e.trunk;
}
void Read(Reader& r, NumberConsultAnswered* e) {
  r.Req("interaction", &e->interaction);
  r.Get("trunk", &e->trunk);
}
void Write(json& j, const NumberConsultEnded& e) {
  j["interaction"] = e.interaction;
  j["result"] = e.result;
  j["status"] = e.status;
}
void Read(Reader& r, NumberConsultEnded* e) {
  r.Req("interaction", &e->interaction);
  r.Get("result", &e->result);
  r.Get("status", &e->status);
}

// ---- Dispatch by type name ----

constexpr std::size_t kEventTypes = std::variant_size_v<EventBody>;
using Decoder = EventBody (*)(Reader&);

template <std::size_t I>
EventBody DecodeAs(Reader& r) {
  std::variant_alternative_t<I, EventBody> e;
  Read(r, &e);
  return EventBody(std::in_place_index<I>, std::move(e));
}

template <std::size_t... I>
constexpr std::array<Decoder, kEventTypes> MakeDecoders(std::index_sequence<I...>) {
  return {&DecodeAs<I>...};
}
constexpr auto kDecoders = MakeDecoders(std::make_index_sequence<kEventTypes>{});

// The names live in names.cc (TypeName); ask it once per alternative.
template <std::size_t... I>
std::array<std::string_view, kEventTypes> MakeTypeNames(std::index_sequence<I...>) {
  return {TypeName(EventBody(std::in_place_index<I>))...};
}

std::optional<std::size_t> EventIndex(std::string_view type) {
  static const auto names = MakeTypeNames(std::make_index_sequence<kEventTypes>{});
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == type) return i;
  }
  return std::nullopt;
}

std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

template <typename T, typename ReadFn>
Result<T> ParseApi(const json& j, const T& base, const char* what, ReadFn read) {
  try {
    if (!j.is_object()) {
      return Fail(ErrorCode::kBadRequest, std::string(what) + ": must be a JSON object");
    }
    ReadContext ctx{what, Shape::kApi, std::nullopt};
    Reader r(&ctx, j, "");
    T out = base;
    read(r, &out);
    r.Finish();
    if (ctx.error) return std::unexpected(std::move(*ctx.error));
    return out;
  } catch (const json::exception& e) {
    return Fail(ErrorCode::kBadRequest, std::string(what) + ": " + e.what());
  }
}

}  // namespace

std::string EncodePayload(const EventBody& body) {
  json j = json::object();
  std::visit([&](const auto& e) { Write(j, e); }, body);
  return Dump(j);
}

Result<EventBody> DecodePayload(std::string_view type, std::string_view payload) {
  const std::string where(type);
  try {
    const std::optional<std::size_t> index = EventIndex(type);
    if (!index) return Fail(ErrorCode::kBadRequest, "unknown event type '" + where + "'");
    const json j = json::parse(payload, /*cb=*/nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      return Fail(ErrorCode::kBadRequest, where + ": payload is not valid JSON");
    }
    if (!j.is_object()) {
      return Fail(ErrorCode::kBadRequest, where + ": payload must be a JSON object");
    }
    ReadContext ctx{where, Shape::kStore, std::nullopt};
    Reader r(&ctx, j, "");
    EventBody body = kDecoders[*index](r);
    if (ctx.error) return std::unexpected(std::move(*ctx.error));
    return body;
  } catch (const json::exception& e) {
    return Fail(ErrorCode::kBadRequest, where + ": " + e.what());
  }
}

json ToJson(const Tenant& tenant) { return TenantJson(tenant, Shape::kApi); }
json ToJson(const TenantSettings& settings) { return SettingsJson(settings, Shape::kApi); }
json ToJson(const User& user) { return UserJson(user, /*with_password_hash=*/false); }
json ToJson(const Skill& skill) { return SkillJson(skill); }
json ToJson(const Queue& queue) { return QueueJson(queue, Shape::kApi); }
json ToJson(const BusinessHours& hours) { return HoursJson(hours); }
json ToJson(const Disposition& disposition) { return DispositionJson(disposition); }
json ToJson(const Customer& customer) { return CustomerJson(customer); }
json ToJson(const Capacity& capacity) { return CapacityJson(capacity); }

Result<Queue> FromJson(const json& j, const Queue& base) {
  return ParseApi(j, base, "queue", ReadQueue);
}
Result<BusinessHours> FromJson(const json& j, const BusinessHours& base) {
  return ParseApi(j, base, "hours", ReadHours);
}
Result<TenantSettings> FromJson(const json& j, const TenantSettings& base) {
  return ParseApi(j, base, "settings", ReadSettings);
}
Result<Capacity> FromJson(const json& j, const Capacity& base) {
  return ParseApi(j, base, "capacity", ReadCapacity);
}
Result<Customer> FromJson(const json& j, const Customer& base) {
  return ParseApi(j, base, "customer", ReadCustomer);
}

json ToJson(const CalendarEntry& c) { return CalendarJson(c); }
Result<CalendarEntry> FromJson(const json& j, const CalendarEntry& base) {
  return ParseApi(j, base, "calendar event", ReadCalendar);
}


// voice
json ToJson(const Trunk& t) { return TrunkApiJson(t); }
Result<Trunk> FromJson(const json& j, const Trunk& base) {
  return ParseApi(j, base, "trunk", ReadTrunkApi);
}
json ToJson(const PhoneNumber& n) { return NumberJson(n); }
Result<PhoneNumber> FromJson(const json& j, const PhoneNumber& base) {
  return ParseApi(j, base, "number", ReadNumber);
}
json ToJson(const QueueVoice& v) { return QueueVoiceJson(v, Shape::kApi); }
Result<QueueVoice> FromJson(const json& j, const QueueVoice& base) {
  return ParseApi(j, base, "queue voice", ReadQueueVoice);
}
json ToJson(const Recording& r) {
  json paused = json::array();
  for (const PausedSpan& p : r.paused)
    paused.push_back({{"start", p.start}, {"end", p.end == 0 ? json(nullptr) : json(p.end)}});
  return {{"id", r.id},
          {"tenant", r.tenant},
          {"interaction", r.interaction},
          {"path", r.path},
          {"started", r.started},
          {"ended", r.ended == 0 ? json(nullptr) : json(r.ended)},
          {"end_reason", r.end_reason},
          {"paused", paused}};
}
json ToJson(const Monitor& m) {
  return {{"supervisor", m.supervisor},
          {"mode", Name(m.mode)},
          {"started", m.started},
          {"mode_since", m.mode_since}};
}
json ToJson(const IvrMenu& m) { return IvrMenuJson(m, Shape::kApi); }
Result<IvrMenu> FromJson(const json& j, const IvrMenu& base) {
  return ParseApi(j, base, "ivr menu", ReadIvrMenu);
}

}  // namespace homeline::core
