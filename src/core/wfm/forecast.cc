#include "core/wfm/forecast.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>

namespace homeline::core::wfm {

namespace {

std::unexpected<Error> Bad(const std::string& what) { return Fail(ErrorCode::kBadRequest, what); }

bool ValidInterval(int m) { return m >= 5 && m <= 60 && 1440 % m == 0 && m % 5 == 0; }

// How far back a window may reach for its observations (a year): older data describes another
// business.
constexpr Day kMaxLookbackDays = 371;

// Observations of one weekday (or of every day, for the level), newest first, with weights.
struct Obs {
  Day day;
  double weight;
  double scale;  // 1 for a clean day; 1/multiplier for an event day used as a fallback
};

// The newest `count` days before `origin` that pass `want`, clean days only; when there is
// none, the newest event-covered days (multiplier > 0), de-scaled.
template <typename Want>
std::vector<Obs> Collect(const History& h, std::span<const CalendarEvent> events, Day origin,
                         int count, Day step, Want want, double half_life, Day age_unit) {
  std::vector<Obs> out;
  const Day stop = std::max(h.first_day, origin - kMaxLookbackDays);
  auto gather = [&](bool events_allowed) {
    for (Day d = origin - 1; d >= stop && static_cast<int>(out.size()) < count; d -= step) {
      if (!h.Known(d) || !want(d)) continue;
      const double m = MultiplierOn(events, d);
      bool covered = false;
      for (const CalendarEvent& e : events) covered = covered || e.Covers(d);
      if (covered != events_allowed) continue;
      if (events_allowed && m <= 0) continue;
      const double age = static_cast<double>((origin - 1 - d) / age_unit);
      out.push_back(Obs{d, std::exp2(-age / half_life), events_allowed ? 1 / m : 1.0});
    }
  };
  gather(false);
  if (out.empty()) gather(true);
  return out;
}

double DayTotal(const History& h, Day d) {
  double t = 0;
  for (const IntervalTotals& c : h.DayCells(d)) t += c.offered;
  return t;
}

// The newest day before `origin` with the same weekday as d, known to the history, stepping
// back whole weeks from d.
std::optional<Day> SameWeekdayBefore(const History& h, Day d, Day origin) {
  Day k = d - 7;
  while (k >= origin) k -= 7;
  for (; k >= h.first_day && k >= origin - kMaxLookbackDays; k -= 7)
    if (h.Known(k)) return k;
  return std::nullopt;
}

struct Tally {
  double abs_err = 0, actual = 0, aht_err = 0, handle = 0;
  int days = 0;
  void Add(const History& actual_h, const Forecast& f, std::span<const CalendarEvent> skip) {
    assert(actual_h.interval_min == f.interval_min);
    const int slots = actual_h.SlotsPerDay();
    for (int k = 0; k < f.days; ++k) {
      const Day d = f.first_day + k;
      if (!actual_h.Known(d)) continue;
      bool covered = false;
      for (const CalendarEvent& e : skip) covered = covered || e.Covers(d);
      if (covered) continue;
      ++days;
      auto cells = actual_h.DayCells(d);
      for (int i = 0; i < slots; ++i) {
        const ForecastInterval& p = f.intervals[static_cast<std::size_t>(k) * slots + i];
        const IntervalTotals& a = cells[i];
        abs_err += std::abs(a.offered - p.volume);
        actual += a.offered;
        if (a.handled > 0) {
          aht_err += a.handled * std::abs(p.aht_s - a.handle_s / a.handled);
          handle += a.handle_s;
        }
      }
    }
  }
  Accuracy Result() const {
    return Accuracy{.wape = actual > 0 ? abs_err / actual : 0,
                    .aht_wape = handle > 0 ? aht_err / handle : 0,
                    .actual = actual,
                    .days = days};
  }
};

}  // namespace

// ---- dates (Howard Hinnant's civil-date algorithms) ------------------------------------------

Day DayFromCivil(int year, int month, int day) {
  const int y = year - (month <= 2);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned mp = static_cast<unsigned>(month > 2 ? month - 3 : month + 9);
  const unsigned doy = (153 * mp + 2) / 5 + static_cast<unsigned>(day) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<Day>(era) * 146097 + static_cast<Day>(doe) - 719468;
}

namespace {
void CivilFromDay(Day z, int& y, int& m, int& d) {
  z += 719468;
  const Day era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(static_cast<Day>(yoe) + era * 400 + (m <= 2));
}
}  // namespace

std::optional<Day> ParseDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  int v[3] = {0, 0, 0};
  const int start[3] = {0, 5, 8}, len[3] = {4, 2, 2};
  for (int f = 0; f < 3; ++f) {
    for (int i = 0; i < len[f]; ++i) {
      const char c = s[start[f] + i];
      if (c < '0' || c > '9') return std::nullopt;
      v[f] = v[f] * 10 + (c - '0');
    }
  }
  if (v[0] < 1900 || v[1] < 1 || v[1] > 12 || v[2] < 1) return std::nullopt;
  const Day day = DayFromCivil(v[0], v[1], v[2]);
  int y, m, d;
  CivilFromDay(day, y, m, d);
  if (y != v[0] || m != v[1] || d != v[2]) return std::nullopt;  // 2023-02-30
  return day;
}

std::string FormatDate(Day day) {
  int y, m, d;
  CivilFromDay(day, y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

int Weekday(Day day) { return static_cast<int>(((day % 7) + 7 + 4) % 7); }  // 1970-01-01: Thu

const char* WeekdayName(int w) {
  static const char* const kNames[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  return kNames[((w % 7) + 7) % 7];
}

// ---- history --------------------------------------------------------------------------------

std::span<const IntervalTotals> History::DayCells(Day d) const {
  assert(Known(d));
  const std::size_t n = static_cast<std::size_t>(SlotsPerDay());
  return {cells.data() + static_cast<std::size_t>(d - first_day) * n, n};
}

std::span<IntervalTotals> History::MutableDay(Day d) {
  const std::size_t n = static_cast<std::size_t>(SlotsPerDay());
  if (known.empty()) first_day = d;
  if (d < first_day) {
    const std::size_t grow = static_cast<std::size_t>(first_day - d);
    known.insert(known.begin(), grow, 0);
    cells.insert(cells.begin(), grow * n, IntervalTotals{});
    first_day = d;
  }
  if (d >= EndDay()) {
    known.resize(static_cast<std::size_t>(d - first_day) + 1, 0);
    cells.resize(known.size() * n);
  }
  known[d - first_day] = 1;
  return {cells.data() + static_cast<std::size_t>(d - first_day) * n, n};
}

Result<History> Regrid(const History& h, int interval_min) {
  if (!ValidInterval(interval_min) || interval_min % h.interval_min != 0)
    return Bad("interval must be a multiple of the history's (" +
               std::to_string(h.interval_min) + " min) that divides a day");
  History out;
  out.interval_min = interval_min;
  out.first_day = h.first_day;
  out.known = h.known;
  const int ratio = interval_min / h.interval_min;
  out.cells.resize(out.known.size() * static_cast<std::size_t>(out.SlotsPerDay()));
  for (std::size_t i = 0; i < h.cells.size(); ++i) {
    IntervalTotals& c = out.cells[i / static_cast<std::size_t>(ratio)];
    c.offered += h.cells[i].offered;
    c.handled += h.cells[i].handled;
    c.handle_s += h.cells[i].handle_s;
  }
  return out;
}

// ---- calendar -------------------------------------------------------------------------------

Status Validate(const CalendarEvent& e) {
  if (!std::isfinite(e.multiplier) || e.multiplier <= 0 || e.multiplier > 100)
    return Bad("multiplier must be in (0, 100]");
  if (e.last_day < e.first_day) return Bad("the event ends before it starts");
  if (e.last_day - e.first_day >= 366) return Bad("an event lasts at most 366 days");
  return {};
}

double MultiplierOn(std::span<const CalendarEvent> events, Day d) {
  double m = 1;
  for (const CalendarEvent& e : events)
    if (e.Covers(d)) m *= e.multiplier;
  return m;
}

// ---- the model ------------------------------------------------------------------------------

Result<Forecast> MakeForecast(const History& h, std::span<const CalendarEvent> events,
                              const ForecastOptions& o) {
  if (!ValidInterval(h.interval_min)) return Bad("history interval must divide a day");
  if (o.days < 1 || o.days > kMaxForecastDays)
    return Bad("weeks must be 1.." + std::to_string(kMaxForecastDays / 7));
  if (o.level_days < 1 || o.weekday_weeks < 1 || o.shape_weeks < 1 ||
      !(o.level_half_life_days > 0) || !(o.weekday_half_life_weeks > 0) ||
      !(o.shape_half_life_weeks > 0) || !(o.aht_prior_contacts >= 0))
    return Bad("forecast windows and half-lives must be positive");
  const Day origin = o.first_day;
  const int slots = h.SlotsPerDay();
  bool any = false;
  for (Day d = std::max(h.first_day, origin - kMaxLookbackDays); d < origin && !any; ++d)
    any = h.Known(d);
  if (!any) return Bad("no history before " + FormatDate(origin) + " (in the last year)");

  Forecast f;
  f.interval_min = h.interval_min;
  f.first_day = origin;
  f.days = o.days;

  // Weekday totals, shapes and handle times.
  double total[7] = {};
  bool have[7] = {};
  std::vector<double> shape(7 * static_cast<std::size_t>(slots), 0.0);
  std::vector<double> aht_h(7 * static_cast<std::size_t>(slots), 0.0);
  std::vector<double> aht_n(7 * static_cast<std::size_t>(slots), 0.0);
  double all_h = 0, all_n = 0;
  double day_h[7] = {}, day_n[7] = {};
  for (int w = 0; w < 7; ++w) {
    auto is_w = [w](Day d) { return Weekday(d) == w; };
    const auto tot = Collect(h, events, origin, o.weekday_weeks, 1, is_w,
                             o.weekday_half_life_weeks, 7);
    double sw = 0, st = 0;
    for (const Obs& ob : tot) {
      sw += ob.weight;
      st += ob.weight * DayTotal(h, ob.day) * ob.scale;
    }
    if (sw > 0) {
      have[w] = true;
      total[w] = st / sw;
    }
    const auto shp = Collect(h, events, origin, o.shape_weeks, 1, is_w,
                             o.shape_half_life_weeks, 7);
    double* s = &shape[static_cast<std::size_t>(w) * slots];
    double* ah = &aht_h[static_cast<std::size_t>(w) * slots];
    double* an = &aht_n[static_cast<std::size_t>(w) * slots];
    double mass = 0;
    for (const Obs& ob : shp) {
      auto cells = h.DayCells(ob.day);
      for (int i = 0; i < slots; ++i) {
        s[i] += ob.weight * cells[i].offered;
        mass += ob.weight * cells[i].offered;
        ah[i] += ob.weight * cells[i].handle_s;
        an[i] += ob.weight * cells[i].handled;
        day_h[w] += ob.weight * cells[i].handle_s;
        day_n[w] += ob.weight * cells[i].handled;
      }
    }
    if (mass > 0)
      for (int i = 0; i < slots; ++i) s[i] /= mass;
    all_h += day_h[w];
    all_n += day_n[w];
  }

  // A weekday never seen takes the mean day and the pooled shape of the others.
  double mean = 0;
  int seen = 0;
  for (int w = 0; w < 7; ++w)
    if (have[w]) mean += total[w], ++seen;
  mean = seen > 0 ? mean / seen : 0;
  std::vector<double> pooled(static_cast<std::size_t>(slots), 0.0);
  for (int w = 0; w < 7; ++w)
    for (int i = 0; i < slots; ++i)
      pooled[i] += total[w] * shape[static_cast<std::size_t>(w) * slots + i];
  const double pooled_mass = [&] {
    double m = 0;
    for (double v : pooled) m += v;
    return m;
  }();
  for (int w = 0; w < 7; ++w) {
    if (have[w]) continue;
    total[w] = mean;
    for (int i = 0; i < slots; ++i)
      shape[static_cast<std::size_t>(w) * slots + i] =
          pooled_mass > 0 ? pooled[i] / pooled_mass : 1.0 / slots;
  }
  for (int w = 0; w < 7; ++w) f.weekday_factor[w] = mean > 0 ? total[w] / mean : 0;

  // Level: recent days, each over its weekday factor (closed weekdays say nothing about it).
  const auto recent = Collect(
      h, events, origin, o.level_days, 1,
      [&](Day d) { return f.weekday_factor[Weekday(d)] > 1e-6; }, o.level_half_life_days, 1);
  double sw = 0, sl = 0;
  for (const Obs& ob : recent) {
    sw += ob.weight;
    sl += ob.weight * DayTotal(h, ob.day) * ob.scale / f.weekday_factor[Weekday(ob.day)];
  }
  f.level = sw > 0 ? sl / sw : mean;

  const double overall_aht = all_n > 0 ? all_h / all_n : 0;
  const double m = o.aht_prior_contacts;
  f.intervals.reserve(static_cast<std::size_t>(o.days) * slots);
  for (int k = 0; k < o.days; ++k) {
    const Day d = origin + k;
    const int w = Weekday(d);
    const double mult = MultiplierOn(events, d);
    const double day_volume = f.level * f.weekday_factor[w] * mult;
    const double weekday_aht =
        (day_n[w] + m) > 0 ? (day_h[w] + m * overall_aht) / (day_n[w] + m) : overall_aht;
    for (int i = 0; i < slots; ++i) {
      const std::size_t c = static_cast<std::size_t>(w) * slots + i;
      const double n = aht_n[c];
      const double aht = (n + m) > 0 ? (aht_h[c] + m * weekday_aht) / (n + m) : weekday_aht;
      f.intervals.push_back(ForecastInterval{
          .day = d, .slot = i, .volume = day_volume * shape[c], .aht_s = aht, .multiplier = mult});
    }
  }
  return f;
}

Result<Forecast> SeasonalNaive(const History& h, Day first_day, int days) {
  if (days < 1 || days > kMaxForecastDays)
    return Bad("weeks must be 1.." + std::to_string(kMaxForecastDays / 7));
  const int slots = h.SlotsPerDay();
  Forecast f;
  f.interval_min = h.interval_min;
  f.first_day = first_day;
  f.days = days;
  f.intervals.reserve(static_cast<std::size_t>(days) * slots);
  for (int k = 0; k < days; ++k) {
    const Day d = first_day + k;
    const auto src = SameWeekdayBefore(h, d, first_day);
    double dh = 0, dn = 0;
    if (src)
      for (const IntervalTotals& c : h.DayCells(*src)) dh += c.handle_s, dn += c.handled;
    for (int i = 0; i < slots; ++i) {
      ForecastInterval p{.day = d, .slot = i};
      if (src) {
        const IntervalTotals& c = h.DayCells(*src)[i];
        p.volume = c.offered;
        p.aht_s = c.handled > 0 ? c.handle_s / c.handled : (dn > 0 ? dh / dn : 0);
      }
      f.intervals.push_back(p);
    }
  }
  return f;
}

Accuracy Score(const History& actual, const Forecast& forecast,
               std::span<const CalendarEvent> skip_days_of) {
  Tally t;
  t.Add(actual, forecast, skip_days_of);
  return t.Result();
}

Result<Backtest> RunBacktest(const History& h, std::span<const CalendarEvent> events,
                             std::span<const Day> origins, int horizon_days,
                             const ForecastOptions& options) {
  Tally model, naive;
  for (const Day origin : origins) {
    ForecastOptions o = options;
    o.first_day = origin;
    o.days = horizon_days;
    auto fc = MakeForecast(h, events, o);
    if (!fc) return std::unexpected(fc.error());
    auto nv = SeasonalNaive(h, origin, horizon_days);
    if (!nv) return std::unexpected(nv.error());
    model.Add(h, *fc, events);
    naive.Add(h, *nv, events);
  }
  return Backtest{.model = model.Result(), .naive = naive.Result(),
                  .origins = static_cast<int>(origins.size())};
}

}  // namespace homeline::core::wfm
