#include "core/time_zone.h"

#include <algorithm>
#include <array>

namespace homeline::core {

namespace {

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

bool IsLeap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// Days since the epoch of a rule date in year y.
std::int64_t RuleDay(const PosixTz::Date& d, std::int64_t y) {
  const std::int64_t jan1 = DaysFromCivil(y, 1, 1);
  switch (d.kind) {
    case PosixTz::Date::kJulianNoLeap:
      return jan1 + d.day - 1 + ((IsLeap(y) && d.day >= 60) ? 1 : 0);
    case PosixTz::Date::kJulianZero:
      return jan1 + d.day;
    case PosixTz::Date::kMonthWeekDay: {
      const unsigned m = static_cast<unsigned>(std::clamp(d.month, 1, 12));
      const std::int64_t first = DaysFromCivil(y, m, 1);
      const std::int64_t next = m == 12 ? DaysFromCivil(y + 1, 1, 1) : DaysFromCivil(y, m + 1, 1);
      const std::int64_t first_wd = ((first % 7) + 7 + 4) % 7;  // 1970-01-01 was a Thursday
      std::int64_t day = first + (d.weekday - first_wd + 7) % 7 + (std::clamp(d.week, 1, 5) - 1) * 7;
      while (day >= next) day -= 7;  // week 5: the last one
      return day;
    }
  }
  return jan1;
}

struct RuleEvent {
  std::int64_t at_s;
  bool dst;
};

// The rule's changes in years y-2 .. y+2, in time order (a start and an end falling on the
// same instant keep the order they are listed in: the later one wins).
std::array<RuleEvent, 10> RuleEvents(const PosixTz& r, std::int64_t y) {
  std::array<RuleEvent, 10> out{};
  int n = 0;
  for (std::int64_t year = y - 2; year <= y + 2; ++year) {
    out[n++] = {RuleDay(r.start, year) * 86400 + r.start.time_s - r.std_offset_s, true};
    out[n++] = {RuleDay(r.end, year) * 86400 + r.end.time_s - r.dst_offset_s, false};
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const RuleEvent& a, const RuleEvent& b) { return a.at_s < b.at_s; });
  return out;
}

std::int64_t YearOf(std::int64_t seconds_local) {
  std::int64_t y;
  unsigned m, d;
  CivilFromDays(FloorDiv(seconds_local, 86400), &y, &m, &d);
  return y;
}

}  // namespace

std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's algorithm.
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void CivilFromDays(std::int64_t days, std::int64_t* y, unsigned* m, unsigned* d) {
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<std::int64_t>(yoe) + era * 400 + (*m <= 2);
}

TimeZone::TimeZone(std::string name, std::int32_t initial_offset_s,
                   std::vector<Transition> transitions, std::optional<PosixTz> rule)
    : name_(std::move(name)),
      initial_offset_s_(initial_offset_s),
      transitions_(std::move(transitions)),
      rule_(std::move(rule)) {}

std::shared_ptr<const TimeZone> TimeZone::Fixed(std::string name, DurationMs offset) {
  return std::make_shared<const TimeZone>(std::move(name), static_cast<std::int32_t>(offset / kSecond),
                                          std::vector<Transition>{}, std::nullopt);
}

const std::shared_ptr<const TimeZone>& TimeZone::Utc() {
  static const std::shared_ptr<const TimeZone> utc = Fixed("UTC", 0);
  return utc;
}

TimeZone::Transition TimeZone::RuleAt(TimeMs t) const {
  const PosixTz& r = *rule_;
  if (!r.has_dst) return {0, r.std_offset_s, false};
  const std::int64_t s = FloorDiv(t, kSecond);
  const auto events = RuleEvents(r, YearOf(s + r.std_offset_s));
  // Before the earliest event listed (two years back) the year's end had passed: standard.
  Transition out{0, r.std_offset_s, false};
  for (const RuleEvent& e : events) {
    if (e.at_s > s) break;
    out = {e.at_s * kSecond, e.dst ? r.dst_offset_s : r.std_offset_s, e.dst};
  }
  return out;
}

std::optional<TimeZone::Transition> TimeZone::RuleNext(TimeMs t) const {
  const PosixTz& r = *rule_;
  if (!r.has_dst) return std::nullopt;
  const std::int64_t s = FloorDiv(t, kSecond);
  Transition state = RuleAt(t);
  for (std::int64_t y = YearOf(s + r.std_offset_s);; ++y) {
    for (const RuleEvent& e : RuleEvents(r, y)) {
      if (e.at_s <= s) continue;
      const std::int32_t off = e.dst ? r.dst_offset_s : r.std_offset_s;
      if (off == state.offset_s && e.dst == state.dst) continue;  // changes nothing
      return Transition{e.at_s * kSecond, off, e.dst};
    }
    // A rule whose events all coincide changes nothing, ever; stop rather than loop.
    if (y > YearOf(s + r.std_offset_s) + 2) return std::nullopt;
  }
}

DurationMs TimeZone::OffsetAt(TimeMs t) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t,
                             [](TimeMs v, const Transition& x) { return v < x.at; });
  if (it == transitions_.begin() && !transitions_.empty()) return initial_offset_s_ * kSecond;
  if (it == transitions_.end() && rule_) return RuleAt(t).offset_s * kSecond;
  if (transitions_.empty()) return initial_offset_s_ * kSecond;
  return std::prev(it)->offset_s * kSecond;
}

bool TimeZone::IsDst(TimeMs t) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t,
                             [](TimeMs v, const Transition& x) { return v < x.at; });
  if (it == transitions_.end() && rule_) return RuleAt(t).dst;
  if (it == transitions_.begin()) return false;
  return std::prev(it)->dst;
}

std::optional<TimeZone::Transition> TimeZone::NextTransition(TimeMs t) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t,
                             [](TimeMs v, const Transition& x) { return v < x.at; });
  if (it != transitions_.end()) return *it;
  if (rule_) return RuleNext(t);
  return std::nullopt;
}

TimeMs TimeZone::ToUtc(TimeMs local) const {
  // Walk the offsets' segments in UTC order from well before the answer (offsets are under 27
  // hours): the first segment whose local times reach `local` holds it, or, when the clocks
  // jumped over it, that segment's start is the answer.
  TimeMs s = local - 27 * kHour;
  DurationMs o = OffsetAt(s);
  for (int i = 0; i < 64; ++i) {
    if (local < s + o) return s;  // in a gap
    const auto next = NextTransition(s);
    if (!next || local < next->at + o) return local - o;
    s = next->at;
    o = next->offset_s * kSecond;
  }
  return local - o;
}

std::int64_t TimeZone::LocalDay(TimeMs t) const { return FloorDiv(ToLocal(t), kDay); }

std::optional<DurationMs> ParseFixedOffset(std::string_view s) {
  if (s == "Z") return 0;
  if (s.substr(0, 3) == "UTC" || s.substr(0, 3) == "GMT") s.remove_prefix(3);
  if (s.empty()) return 0;
  if (s[0] != '+' && s[0] != '-') return std::nullopt;
  const int sign = s[0] == '-' ? -1 : 1;
  s.remove_prefix(1);
  auto digits = [&](std::size_t max, int* out) {
    std::size_t n = 0;
    *out = 0;
    while (n < s.size() && n < max && s[n] >= '0' && s[n] <= '9') *out = *out * 10 + (s[n++] - '0');
    s.remove_prefix(n);
    return n;
  };
  int h = 0, m = 0;
  const std::size_t hd = digits(2, &h);
  if (hd == 0) return std::nullopt;
  if (!s.empty()) {
    if (s[0] == ':') s.remove_prefix(1);
    else if (hd != 2) return std::nullopt;  // "+0530" needs two hour digits
    if (digits(2, &m) != 2 || !s.empty()) return std::nullopt;
  }
  if (h > 18 || m > 59 || (h == 18 && m > 0)) return std::nullopt;
  return sign * (h * kHour + m * kMinute);
}

std::shared_ptr<const TimeZone> ResolveZone(std::string_view name, const ZoneLookup& lookup) {
  if (auto fixed = ParseFixedOffset(name)) {
    if (*fixed == 0 && (name == "UTC" || name.empty())) return TimeZone::Utc();
    return TimeZone::Fixed(std::string(name), *fixed);
  }
  if (lookup) return lookup(name);
  return nullptr;
}

}  // namespace homeline::core
