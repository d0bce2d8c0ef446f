// Today's per-interval figures (core/interval_stats.h): which interval a contact counts in,
// and the service-level rules shared with the engine's day counters.
#include <gtest/gtest.h>

#include "core/engine.h"
#include "core/interval_stats.h"

namespace homeline::core {
namespace {

constexpr TimeMs kDay0 = 20000 * kDay;  // some UTC midnight

Interaction Contact(QueueId q, TimeMs queued, TimeMs answered, InteractionState state, TimeMs finished) {
  Interaction ix;
  ix.queue = q;
  ix.queued_at = queued;
  ix.answered_at = answered;
  ix.state = state;
  ix.finished_at = finished;
  return ix;
}

std::vector<IntervalFigures> Figures(const std::vector<Interaction>& ixs, QueueId only, TimeMs now) {
  std::vector<const Interaction*> ptrs;
  for (const Interaction& ix : ixs) ptrs.push_back(&ix);
  return TodayByInterval(ptrs, [](QueueId q) { return q == 2 ? 60 * kSecond : 20 * kSecond; }, only, now);
}

TEST(IntervalStats, IntervalsRunFromMidnightToNow) {
  auto out = Figures({}, 0, kDay0 + 9 * kHour + 10 * kMinute);
  ASSERT_EQ(out.size(), 19u);  // 00:00 ... 09:00
  EXPECT_EQ(out.front().start, kDay0);
  EXPECT_EQ(out.back().start, kDay0 + 9 * kHour);
  EXPECT_DOUBLE_EQ(out.back().ServiceLevel(), 1.0);  // nothing to count
}

TEST(IntervalStats, ContactCountsInTheIntervalItEnteredTheQueue) {
  const TimeMs t = kDay0 + 8 * kHour + 29 * kMinute;  // 08:00 interval
  std::vector<Interaction> ixs{
      // answered after 10 s (in SL), completed 100 s later
      Contact(1, t, t + 10 * kSecond, InteractionState::kCompleted, t + 110 * kSecond),
      // answered after 30 s: out of SL for queue 1 (20 s), still connected; answered at 08:29:35
      Contact(1, t + 5 * kSecond, t + 35 * kSecond, InteractionState::kConnected, 0),
      // abandoned after 5 s: not counted against SL; after 40 s: counted
      Contact(1, t, 0, InteractionState::kAbandoned, t + 5 * kSecond),
      Contact(1, t, 0, InteractionState::kAbandoned, t + 40 * kSecond),
      // still waiting, since 08:30:30
      Contact(1, t + 90 * kSecond, 0, InteractionState::kQueued, 0),
      // yesterday: not today
      Contact(1, kDay0 - kMinute, kDay0 + kMinute, InteractionState::kCompleted, kDay0 + 2 * kMinute),
  };
  auto out = Figures(ixs, 0, kDay0 + 9 * kHour);
  const IntervalFigures& f = out[16];  // 08:00
  EXPECT_EQ(f.start, kDay0 + 8 * kHour);
  EXPECT_EQ(f.entered, 4);
  EXPECT_EQ(f.answered, 2);
  EXPECT_EQ(f.answered_in_sl, 1);
  EXPECT_EQ(f.abandoned, 2);
  EXPECT_EQ(f.abandoned_in_sl, 1);
  EXPECT_EQ(f.handled, 1);
  EXPECT_DOUBLE_EQ(f.AhtSeconds(), 100.0);
  EXPECT_DOUBLE_EQ(f.ServiceLevel(), 1.0 / 3);  // 1 in SL / (2 answered + 2 abandoned − 1 early)
  EXPECT_EQ(out[17].entered, 1);  // 08:30: the one still waiting
  EXPECT_EQ(out[0].entered, 0);  // yesterday's contact is nowhere
  std::int64_t total = 0;
  for (const auto& x : out) total += x.entered;
  EXPECT_EQ(total, 5);
}

TEST(IntervalStats, QueueFilterAndItsOwnThreshold) {
  const TimeMs t = kDay0 + kHour;
  std::vector<Interaction> ixs{
      Contact(1, t, t + 30 * kSecond, InteractionState::kWrapUp, 0),  // 30 s > 20 s
      Contact(2, t, t + 30 * kSecond, InteractionState::kWrapUp, 0),  // 30 s ≤ 60 s
  };
  auto q1 = Figures(ixs, 1, t);
  auto q2 = Figures(ixs, 2, t);
  auto all = Figures(ixs, 0, t);
  EXPECT_DOUBLE_EQ(q1.back().ServiceLevel(), 0.0);
  EXPECT_DOUBLE_EQ(q2.back().ServiceLevel(), 1.0);
  EXPECT_EQ(all.back().answered, 2);
  EXPECT_EQ(all.back().answered_in_sl, 1);
  EXPECT_DOUBLE_EQ(all.back().AsaSeconds(), 30.0);
}

}  // namespace
}  // namespace homeline::core
