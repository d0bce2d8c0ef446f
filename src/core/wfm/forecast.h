#pragma once
// Demand forecast for one queue: contacts and average handle time per 15- or 30-minute interval
// for the coming weeks, from the queue's history, with weekly and daily seasonality and
// calendar events (holidays, Black Friday, a season) that raise or lower demand.
//
// The model is multiplicative (docs/wfm.md explains it for planners):
//
//   volume(day d, interval i) = level × weekday_factor[wd(d)] × shape[wd(d)][i] × M(d)
//
//  - level: contacts per day of an average weekday, from the last `level_days` days
//    (exponentially weighted, half-life `level_half_life_days`), each day's total divided by
//    its weekday factor: follows the recent level quickly.
//  - weekday_factor[w]: the weighted mean daily total of weekday w over the last
//    `weekday_weeks` weeks, divided by the mean over weekdays (a mean of 1).
//  - shape[w][i]: the share of weekday w's contacts that fall in interval i, pooled over the
//    last `shape_weeks` weeks (weighted): the slowest-moving part, so it is estimated from
//    the most data (per-interval counts are noisy; a seasonal-naive copy of last week carries
//    all of that noise into the forecast).
//  - M(d): the product of the multipliers of the calendar events that cover d.
//  - AHT per (weekday, interval): the weighted handle-time sum over the weighted count of
//    handled contacts in the shape window, shrunk towards the weekday's AHT by
//    `aht_prior_contacts` pseudo-contacts (a quiet interval's few contacts say little).
// Days covered by a calendar event are left out of every estimate (a past holiday must not
// pollute the normal-week profile); a weekday that only has event days in its window uses
// them divided by their multiplier. Days without data (History::known) are skipped, not read
// as zero.
//
// Parameter defaults were chosen on the bank data (tests/data/bank, docs/wfm.md): the figures
// there are reproduced by `homeline forecast --csv ... --backtest`.
//
// Pure, no I/O, thread-safe. Cost: O(history days in the windows × intervals per day + output).
// Dates are local civil dates of the tenant (days since 1970-01-01), intervals local too.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace homeline::core::wfm {

// A local civil date as days since 1970-01-01.
using Day = std::int64_t;

Day DayFromCivil(int year, int month, int day);
// "YYYY-MM-DD" (a real date, years 1900..9999); anything else is nullopt.
std::optional<Day> ParseDate(std::string_view text);
std::string FormatDate(Day day);
// 0 = Sunday … 6 = Saturday.
int Weekday(Day day);
const char* WeekdayName(int weekday);  // "Sun" … "Sat"

// Contacts that arrived in one interval, and the handle time of those that were handled
// (counted in the interval they arrived in).
struct IntervalTotals {
  double offered = 0;
  double handled = 0;
  double handle_s = 0;  // sum of handle times of the handled ones, seconds
};

// One queue's history on a grid of local days × intervals.
struct History {
  int interval_min = 30;  // 5, 10, 15, 30 or 60
  Day first_day = 0;
  // Per day from first_day: whether it was observed. A day with no data (the server was not
  // running, a gap in an export) is not a day with no contacts.
  std::vector<std::uint8_t> known;
  std::vector<IntervalTotals> cells;  // day-major: known.size() × SlotsPerDay()

  int SlotsPerDay() const { return 1440 / interval_min; }
  Day EndDay() const { return first_day + static_cast<Day>(known.size()); }  // exclusive
  bool Known(Day d) const { return d >= first_day && d < EndDay() && known[d - first_day]; }
  // The day's intervals; the day must be Known.
  std::span<const IntervalTotals> DayCells(Day d) const;
  // The day's intervals, growing the grid to hold it and marking it known.
  std::span<IntervalTotals> MutableDay(Day d);
};

// Sums intervals into longer ones (30 → 60, 5 → 30, …). interval_min must be a multiple of
// the history's and divide 1440, else kBadRequest.
[[nodiscard]] Result<History> Regrid(const History& history, int interval_min);

// A named date range (inclusive, local dates) whose demand is `multiplier` times a normal
// day's: 0.3 for a holiday, 1.8 for Black Friday, 1.2 for a season. Overlapping events
// multiply.
struct CalendarEvent {
  std::uint64_t id = 0;
  std::string name;
  Day first_day = 0;
  Day last_day = 0;
  double multiplier = 1;
  bool Covers(Day d) const { return d >= first_day && d <= last_day; }
};
// Multipliers: (0, 100]. Ranges: first ≤ last, at most 366 days.
[[nodiscard]] Status Validate(const CalendarEvent& event);
double MultiplierOn(std::span<const CalendarEvent> events, Day d);

struct ForecastOptions {
  Day first_day = 0;  // the first forecast day; history from this day on is not used
  int days = 28;      // 1..kMaxForecastDays
  int level_days = 14;
  double level_half_life_days = 7;
  int weekday_weeks = 8;
  double weekday_half_life_weeks = 4;
  int shape_weeks = 12;
  double shape_half_life_weeks = 6;
  double aht_prior_contacts = 20;
};
inline constexpr int kMaxForecastDays = 7 * 26;

struct ForecastInterval {
  Day day = 0;
  int slot = 0;         // interval of the day: starts at slot × interval_min minutes
  double volume = 0;    // expected contacts
  double aht_s = 0;     // expected handle time; 0 when nothing is known about handle times
  double multiplier = 1;  // calendar events' product on this day
};

struct Forecast {
  int interval_min = 30;
  Day first_day = 0;
  int days = 0;
  double level = 0;  // contacts per average weekday
  double weekday_factor[7] = {};
  std::vector<ForecastInterval> intervals;  // days × slots, day-major
};

// kBadRequest when the history holds no observed day before options.first_day, or options
// are out of range.
[[nodiscard]] Result<Forecast> MakeForecast(const History& history,
                                            std::span<const CalendarEvent> events,
                                            const ForecastOptions& options);

// Seasonal naive: each interval as the same interval of the same weekday in the latest
// observed week before first_day (last week's, repeated over the horizon). No calendar.
[[nodiscard]] Result<Forecast> SeasonalNaive(const History& history, Day first_day, int days);

// Weighted absolute percentage error: Σ|actual − forecast| / Σ actual over the intervals of
// the forecast's days that the history knows (and, with skip, that no event covers).
struct Accuracy {
  double wape = 0;      // volume
  double aht_wape = 0;  // AHT, each interval weighted by its actual handled contacts
  double actual = 0;    // Σ actual contacts scored
  int days = 0;         // days scored
};
Accuracy Score(const History& actual, const Forecast& forecast,
               std::span<const CalendarEvent> skip_days_of = {});

// Forecast and seasonal naive from each origin over horizon_days, scored on the held-out days
// that no event covers; the WAPEs are over all scored intervals together.
struct Backtest {
  Accuracy model;
  Accuracy naive;
  int origins = 0;
};
[[nodiscard]] Result<Backtest> RunBacktest(const History& history,
                                           std::span<const CalendarEvent> events,
                                           std::span<const Day> origins, int horizon_days,
                                           const ForecastOptions& options);

}  // namespace homeline::core::wfm
