// The demand forecast: dates, the history grid, generated data with known seasonality and
// holidays, and accuracy on the bank's real records against seasonal naive.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "adapters/wfm/history_csv.h"
#include "core/wfm/forecast.h"

namespace homeline::core::wfm {
namespace {

TEST(Dates, CivilRoundTripAndWeekdays) {
  EXPECT_EQ(DayFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(Weekday(0), 4);  // Thursday
  EXPECT_EQ(FormatDate(*ParseDate("1999-10-31")), "1999-10-31");
  EXPECT_EQ(Weekday(*ParseDate("1999-10-31")), 0);  // a Sunday
  EXPECT_EQ(Weekday(*ParseDate("2024-02-29")), 4);
  EXPECT_EQ(*ParseDate("2000-03-01") - *ParseDate("2000-02-28"), 2);  // 2000 was a leap year
  for (const char* bad : {"2023-02-29", "1999-13-01", "1999-00-10", "1999-1-10", "19991010",
                          "1999-10-3a", "", "1899-12-31"})
    EXPECT_FALSE(ParseDate(bad)) << bad;
}

TEST(History, GrowsBothWaysAndRegrids) {
  History h;
  h.interval_min = 15;
  h.MutableDay(10)[0].offered = 1;
  h.MutableDay(8)[3].offered = 2;  // before the first day: the grid grows at the front
  h.MutableDay(8)[2].offered = 5;
  EXPECT_EQ(h.first_day, 8);
  EXPECT_EQ(h.EndDay(), 11);
  EXPECT_TRUE(h.Known(8));
  EXPECT_FALSE(h.Known(9));  // a gap, not a day of zeros
  EXPECT_EQ(h.DayCells(10)[0].offered, 1);
  auto half = Regrid(h, 30);
  ASSERT_TRUE(half);
  EXPECT_EQ(half->DayCells(8)[1].offered, 7);
  EXPECT_FALSE(half->Known(9));
  EXPECT_FALSE(Regrid(h, 20));  // not a multiple of 15
  EXPECT_FALSE(Regrid(*half, 15));  // finer than the data
}

TEST(Calendar, ValidatesAndMultiplies) {
  CalendarEvent a{.name = "season", .first_day = 10, .last_day = 20, .multiplier = 1.2};
  CalendarEvent b{.name = "holiday", .first_day = 15, .last_day = 15, .multiplier = 0.5};
  EXPECT_TRUE(Validate(a));
  const CalendarEvent both[] = {a, b};
  EXPECT_DOUBLE_EQ(MultiplierOn(both, 15), 0.6);
  EXPECT_DOUBLE_EQ(MultiplierOn(both, 9), 1);
  EXPECT_FALSE(Validate(CalendarEvent{.name = "x", .first_day = 3, .last_day = 2, .multiplier = 1}));
  EXPECT_FALSE(Validate(CalendarEvent{.name = "x", .first_day = 3, .last_day = 3, .multiplier = 0}));
  EXPECT_FALSE(Validate(CalendarEvent{.name = "x", .first_day = 3, .last_day = 3, .multiplier = NAN}));
  EXPECT_FALSE(Validate(CalendarEvent{.name = "x", .first_day = 0, .last_day = 400, .multiplier = 2}));
}

// ---- generated data with known seasonality -------------------------------------------------

// Weekday factors (Sun..Sat), a two-peaked intraday profile from 08:00 to 20:00, a handle time
// longer in the afternoon, Poisson arrivals: the truth is known, so the forecast can be checked
// against it rather than only against the noise.
constexpr double kWeekday[7] = {0.3, 1.25, 1.1, 1.0, 1.0, 0.9, 0.45};
constexpr double kLevel = 1500;  // contacts on a factor-1 day

double Profile(int slot) {  // 30-minute slots; mass 1 over the day
  static const std::vector<double> p = [] {
    std::vector<double> v(48, 0.0);
    double s = 0;
    for (int i = 16; i < 40; ++i) {
      const double t = i / 2.0;
      v[i] = std::exp(-0.5 * std::pow((t - 10.5) / 1.5, 2)) +
             0.8 * std::exp(-0.5 * std::pow((t - 15) / 2, 2)) + 0.1;
      s += v[i];
    }
    for (double& x : v) x /= s;
    return v;
  }();
  return p[slot];
}
double TrueAht(int slot) { return slot < 26 ? 240 : 320; }

struct Generated {
  History history;
  std::vector<CalendarEvent> past, future;  // holidays before and inside the held-out weeks
  Day origin = 0;
};

Generated Generate(int weeks, int held_out_weeks, std::uint32_t seed) {
  Generated g;
  std::mt19937_64 rng(seed);
  g.history.interval_min = 30;
  const Day start = *ParseDate("2024-01-07");  // a Sunday
  g.origin = start + 7 * (weeks - held_out_weeks);
  // One holiday the week before the origin (a Monday), one in the held-out weeks (a Wednesday).
  g.past.push_back(CalendarEvent{.id = 1, .name = "past holiday", .first_day = g.origin - 6,
                                 .last_day = g.origin - 6, .multiplier = 0.3});
  g.future.push_back(CalendarEvent{.id = 2, .name = "holiday", .first_day = g.origin + 10,
                                   .last_day = g.origin + 10, .multiplier = 0.3});
  for (Day d = start; d < start + 7 * weeks; ++d) {
    double mult = 1;
    for (const auto* list : {&g.past, &g.future}) mult *= MultiplierOn(*list, d);
    auto cells = g.history.MutableDay(d);
    for (int i = 0; i < 48; ++i) {
      const double mean = kLevel * kWeekday[Weekday(d)] * Profile(i) * mult;
      if (mean <= 0) continue;
      const double n = static_cast<double>(std::poisson_distribution<int>(mean)(rng));
      std::gamma_distribution<double> handle(std::max(n, 1.0), TrueAht(i));
      cells[i] = IntervalTotals{.offered = n, .handled = n, .handle_s = n > 0 ? handle(rng) : 0};
    }
  }
  return g;
}

std::vector<CalendarEvent> Join(const std::vector<CalendarEvent>& a,
                                const std::vector<CalendarEvent>& b) {
  std::vector<CalendarEvent> out = a;
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

double DayVolume(const Forecast& f, Day d) {
  double s = 0;
  for (const ForecastInterval& p : f.intervals)
    if (p.day == d) s += p.volume;
  return s;
}

class ForecastSeeds : public ::testing::TestWithParam<std::uint32_t> {};

TEST_P(ForecastSeeds, RecoversSeasonalityAndBeatsSeasonalNaive) {
  const Generated g = Generate(20, 4, GetParam());
  const auto events = Join(g.past, g.future);
  ForecastOptions o{.first_day = g.origin, .days = 28};
  auto f = MakeForecast(g.history, events, o);
  ASSERT_TRUE(f) << f.error().message;
  ASSERT_EQ(f->intervals.size(), 28u * 48);

  // Weekday factors and level: within a few percent of the truth (mean of kWeekday is 0.857).
  double mean_factor = 0;
  for (double w : kWeekday) mean_factor += w / 7;
  for (int w = 0; w < 7; ++w)
    EXPECT_NEAR(f->weekday_factor[w], kWeekday[w] / mean_factor, 0.04 * kWeekday[w] / mean_factor)
        << WeekdayName(w);
  EXPECT_NEAR(f->level, kLevel * mean_factor, 0.03 * kLevel * mean_factor);

  // The intraday profile and handle times, on a Monday of the horizon.
  const Day monday = g.origin + 1;
  for (const ForecastInterval& p : f->intervals) {
    if (p.day != monday || Profile(p.slot) < 0.02) continue;
    const double truth = kLevel * kWeekday[1] * Profile(p.slot);
    // The shape is pooled over about 6 full weeks' worth of contacts (weighted): sampling
    // error about 1/√(6·volume), plus the level's few percent.
    EXPECT_NEAR(p.volume, truth, truth * (0.03 + 3 / std::sqrt(6 * truth))) << "slot " << p.slot;
    // Handle times are exponential (CV 1): the AHT of ~12 weeks' weighted contacts in the
    // interval (about 6 full weeks' worth) has a standard error of AHT / √(6·volume).
    EXPECT_NEAR(p.aht_s, TrueAht(p.slot), 3.5 * TrueAht(p.slot) / std::sqrt(6 * truth))
        << "slot " << p.slot;
  }

  // The future holiday is forecast at 0.3 of its weekday.
  const Day holiday = g.future[0].first_day;
  EXPECT_NEAR(DayVolume(*f, holiday), 0.3 * kLevel * kWeekday[Weekday(holiday)],
              0.03 * kLevel * kWeekday[Weekday(holiday)]);

  // Accuracy on the held-out weeks, every day scored (the holiday too): close to the Poisson
  // noise floor; copying last week doubles the noise and carries the past holiday forward.
  const Accuracy model = Score(g.history, *f);
  auto naive = SeasonalNaive(g.history, g.origin, 28);
  ASSERT_TRUE(naive);
  const Accuracy base = Score(g.history, *naive);
  EXPECT_EQ(model.days, 28);
  // The truth itself as the forecast: the noise floor no forecast can beat.
  Forecast oracle = *f;
  for (ForecastInterval& p : oracle.intervals)
    p.volume = kLevel * kWeekday[Weekday(p.day)] * Profile(p.slot) * MultiplierOn(events, p.day);
  const double floor = Score(g.history, oracle).wape;
  std::printf("generated, seed %u: WAPE %.4f (noise floor %.4f), seasonal naive %.4f; "
              "AHT WAPE %.4f vs %.4f\n",
              GetParam(), model.wape, floor, base.wape, model.aht_wape, base.aht_wape);
  EXPECT_LT(model.wape, 1.06 * floor);
  EXPECT_LT(model.wape, 0.75 * base.wape);
  EXPECT_LT(model.aht_wape, 0.8 * base.aht_wape);
}

INSTANTIATE_TEST_SUITE_P(Generated, ForecastSeeds, ::testing::Values(7u, 8u, 9u, 10u, 11u));

TEST(ForecastGenerated, PastHolidayDoesNotPolluteTheProfile) {
  const Generated g = Generate(20, 4, 11);
  ForecastOptions o{.first_day = g.origin, .days = 7};
  const Day monday = g.origin + 1;
  const double truth = kLevel * kWeekday[1];
  auto with = MakeForecast(g.history, g.past, o);
  auto without = MakeForecast(g.history, {}, o);
  ASSERT_TRUE(with && without);
  EXPECT_NEAR(DayVolume(*with, monday), truth, 0.04 * truth);
  // Without the calendar, last Monday's holiday drags the Monday (and the level) down.
  EXPECT_LT(DayVolume(*without, monday), 0.9 * truth);
  // A forecast without the future holiday overshoots that day by 1/0.3.
  auto no_future = MakeForecast(g.history, g.past, ForecastOptions{.first_day = g.origin, .days = 14});
  ASSERT_TRUE(no_future);
  const Day holiday = g.future[0].first_day;
  EXPECT_GT(DayVolume(*no_future, holiday), 2.5 * 0.3 * kLevel * kWeekday[Weekday(holiday)]);
}

TEST(ForecastGenerated, GapsAndMissingWeekdays) {
  // Two weeks of history, no Saturdays at all, and a gap: still a forecast, Saturdays from the
  // others' mean day and pooled shape.
  Generated g = Generate(3, 1, 3);
  for (Day d = g.history.first_day; d < g.history.EndDay(); ++d)
    if (Weekday(d) == 6) g.history.known[d - g.history.first_day] = 0;
  auto f = MakeForecast(g.history, {}, ForecastOptions{.first_day = g.origin, .days = 7});
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_GT(DayVolume(*f, g.origin + 6), 0);
  // Nothing before the origin: refused.
  EXPECT_FALSE(MakeForecast(g.history, {}, ForecastOptions{.first_day = g.history.first_day}));
  EXPECT_FALSE(MakeForecast(g.history, {}, ForecastOptions{.first_day = g.origin, .days = 0}));
  EXPECT_FALSE(MakeForecast(g.history, {}, ForecastOptions{.first_day = g.origin, .days = 7 * 27}));
}

// ---- the bank's records ----------------------------------------------------------------------

// Bounds from the measured figures (docs/wfm.md), with a little room: one week ahead WAPE
// 0.2201 against seasonal naive's 0.2955 (25.5 % lower); four weeks ahead 0.2325 against
// 0.3528 (34 % lower).
constexpr double kBank1wBound = 0.23, kBank1wMargin = 0.20;
constexpr double kBank4wBound = 0.245, kBank4wMargin = 0.28;

class BankData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto h = wfmio::ReadHistoryCsv(HOMELINE_TEST_DATA "/bank/anonymous_bank_1999_intervals_5min.csv.gz", 30);
    ASSERT_TRUE(h) << h.error().message;
    history_ = new History(std::move(*h));
    auto c = wfmio::ReadCalendarCsv(HOMELINE_TEST_DATA "/bank/holidays_1999.csv");
    ASSERT_TRUE(c) << c.error().message;
    calendar_ = new std::vector<CalendarEvent>(std::move(*c));
  }
  static void TearDownTestSuite() {
    delete history_;
    delete calendar_;
  }
  static History* history_;
  static std::vector<CalendarEvent>* calendar_;
};
History* BankData::history_ = nullptr;
std::vector<CalendarEvent>* BankData::calendar_ = nullptr;

TEST_F(BankData, ReadsTheWholeFile) {
  const History& h = *history_;
  EXPECT_EQ(h.interval_min, 30);
  EXPECT_EQ(FormatDate(h.first_day), "1999-01-01");
  EXPECT_EQ(FormatDate(h.EndDay() - 1), "1999-10-31");
  int known = 0;
  double offered = 0, handled = 0, handle = 0;
  for (Day d = h.first_day; d < h.EndDay(); ++d) {
    if (!h.Known(d)) continue;
    ++known;
    for (const IntervalTotals& c : h.DayCells(d))
      offered += c.offered, handled += c.handled, handle += c.handle_s;
  }
  EXPECT_EQ(known, 271);  // the data's README: 271 covered days
  EXPECT_FALSE(h.Known(*ParseDate("1999-01-11")));
  EXPECT_FALSE(h.Known(*ParseDate("1999-08-15")));
  EXPECT_EQ(offered, 298965);
  EXPECT_EQ(handled, 254287);
  EXPECT_NEAR(handle / handled, 188.7, 0.05);
  EXPECT_EQ(calendar_->size(), 16u);
}

// One week ahead from 13 origins (9 weeks of June-July, the 4 weeks of October), and four
// weeks ahead from 3 October; holiday days are not scored (their multipliers are guesses).
std::vector<Day> Origins() {
  std::vector<Day> out;
  for (int k = 0; k < 9; ++k) out.push_back(*ParseDate("1999-05-30") + 7 * k);
  for (int k = 0; k < 4; ++k) out.push_back(*ParseDate("1999-10-03") + 7 * k);
  return out;
}

TEST_F(BankData, BeatsSeasonalNaiveOneWeekAhead) {
  const auto origins = Origins();
  auto r = RunBacktest(*history_, *calendar_, origins, 7, ForecastOptions{});
  ASSERT_TRUE(r) << r.error().message;
  RecordProperty("wape", std::to_string(r->model.wape));
  RecordProperty("naive_wape", std::to_string(r->naive.wape));
  std::printf("bank, 1 week ahead x %d: WAPE %.4f, seasonal naive %.4f; AHT WAPE %.4f vs %.4f\n",
              r->origins, r->model.wape, r->naive.wape, r->model.aht_wape, r->naive.aht_wape);
  EXPECT_LT(r->model.wape, kBank1wBound);
  EXPECT_LT(r->model.wape, (1 - kBank1wMargin) * r->naive.wape);
  EXPECT_LT(r->model.aht_wape, r->naive.aht_wape);
}

TEST_F(BankData, BeatsSeasonalNaiveFourWeeksAhead) {
  const Day origin = *ParseDate("1999-10-03");
  auto r = RunBacktest(*history_, *calendar_, std::span(&origin, 1), 28, ForecastOptions{});
  ASSERT_TRUE(r) << r.error().message;
  std::printf("bank, 4 weeks ahead from 1999-10-03: WAPE %.4f, seasonal naive %.4f\n",
              r->model.wape, r->naive.wape);
  EXPECT_EQ(r->model.days, 28);
  EXPECT_LT(r->model.wape, kBank4wBound);
  EXPECT_LT(r->model.wape, (1 - kBank4wMargin) * r->naive.wape);
}

TEST_F(BankData, CalendarMattersForThePastHolidays) {
  // The weeks after Passover and after the autumn holidays: learning from the holiday weeks
  // as if they were normal makes the forecast worse.
  const Day origins[] = {*ParseDate("1999-04-11"), *ParseDate("1999-04-25"),
                         *ParseDate("1999-10-03"), *ParseDate("1999-10-10")};
  auto with = RunBacktest(*history_, *calendar_, origins, 7, ForecastOptions{});
  // The target weeks hold no holiday, so both are scored on the same days.
  auto without = RunBacktest(*history_, {}, origins, 7, ForecastOptions{});
  ASSERT_TRUE(with && without);
  std::printf("bank, after holidays: WAPE %.4f with the calendar, %.4f without\n",
              with->model.wape, without->model.wape);
  EXPECT_LT(with->model.wape, without->model.wape - 0.01);
}

}  // namespace
}  // namespace homeline::core::wfm
