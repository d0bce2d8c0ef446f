// Adherence and conformance on hand-computed days. One shift 09:00–17:00 with a break
// 11:00–11:15 and an unpaid lunch 13:00–14:00: scheduled 480 min, scheduled work 405 min.
#include "core/wfm/adherence.h"

#include <gtest/gtest.h>

namespace homeline::core::wfm {
namespace {

constexpr TimeMs kDay = 1'700'000'000'000 / 86'400'000 * 86'400'000;  // a UTC midnight
constexpr TimeMs kMin = 60'000;
TimeMs At(int h, int m = 0) { return kDay + (h * 60 + m) * kMin; }

AgentSchedule Day() {
  AgentSchedule a;
  a.agent_id = "alice";
  Shift s;
  s.start = At(9);
  s.end = At(17);
  s.segments = {{"break", At(11), At(11, 15), true}, {"lunch", At(13), At(14), false}};
  a.shifts.push_back(s);
  return a;
}

constexpr AgentState W = AgentState::kWorking;
constexpr AgentState B = AgentState::kNotReady;
constexpr AgentState O = AgentState::kOffline;

// The on-time day, with the given changes to its times.
struct Plan {
  TimeMs login = At(9), break_out = At(11), break_in = At(11, 15), lunch_out = At(13),
         lunch_in = At(14), logout = At(17);
};
std::vector<StateChange> Timeline(const Plan& p) {
  return {{p.login, W}, {p.break_out, B}, {p.break_in, W}, {p.lunch_out, B}, {p.lunch_in, W}, {p.logout, O}};
}

AdherenceDay Whole(const std::vector<StateChange>& t) { return ComputeAdherence(Day(), t, At(0), At(24)); }

TEST(Adherence, OnTimeDayIsHundredPercent) {
  const AdherenceDay d = Whole(Timeline({}));
  EXPECT_EQ(d.scheduled, 480 * kMin);
  EXPECT_EQ(d.scheduled_work, 405 * kMin);
  EXPECT_EQ(d.in_adherence, 480 * kMin);
  EXPECT_EQ(d.worked, 405 * kMin);
  EXPECT_DOUBLE_EQ(*d.adherence_pct, 100.0);
  EXPECT_DOUBLE_EQ(*d.conformance_pct, 100.0);
  EXPECT_TRUE(d.stretches.empty());
}

TEST(Adherence, LateLogin) {
  Plan p;
  p.login = At(9, 20);
  const AdherenceDay d = Whole(Timeline(p));
  EXPECT_EQ(d.in_adherence, 460 * kMin);
  EXPECT_DOUBLE_EQ(*d.adherence_pct, 100.0 * 460 / 480);  // 95.83 %
  EXPECT_DOUBLE_EQ(*d.conformance_pct, 100.0 * 385 / 405);
  ASSERT_EQ(d.stretches.size(), 1u);
  EXPECT_EQ(d.stretches[0].start, At(9));
  EXPECT_EQ(d.stretches[0].end, At(9, 20));
  EXPECT_EQ(d.stretches[0].scheduled, Activity::kWork);
  EXPECT_EQ(d.stretches[0].actual, AgentState::kOffline);
  EXPECT_FALSE(d.stretches[0].forgiven);
}

TEST(Adherence, LateLoginWithinGraceIsForgivenButNotWorked) {
  Plan p;
  p.login = At(9, 3);
  const AdherenceDay d = Whole(Timeline(p));
  EXPECT_DOUBLE_EQ(*d.adherence_pct, 100.0);
  EXPECT_DOUBLE_EQ(*d.conformance_pct, 100.0 * 402 / 405);
  ASSERT_EQ(d.stretches.size(), 1u);
  EXPECT_TRUE(d.stretches[0].forgiven);
  // Without grace the same 3 minutes count.
  const AdherenceDay strict = ComputeAdherence(Day(), Timeline(p), At(0), At(24), {.grace = 0});
  EXPECT_DOUBLE_EQ(*strict.adherence_pct, 100.0 * 477 / 480);
}

TEST(Adherence, EarlyBreak) {
  Plan p;
  p.break_out = At(10, 50);
  const AdherenceDay d = Whole(Timeline(p));
  EXPECT_DOUBLE_EQ(*d.adherence_pct, 100.0 * 470 / 480);
  EXPECT_DOUBLE_EQ(*d.conformance_pct, 100.0 * 395 / 405);
  ASSERT_EQ(d.stretches.size(), 1u);
  EXPECT_EQ(d.stretches[0].start, At(10, 50));
  EXPECT_EQ(d.stretches[0].end, At(11));
  EXPECT_EQ(d.stretches[0].actual, AgentState::kNotReady);
}

TEST(Adherence, LongLunch) {
  Plan p;
  p.lunch_in = At(14, 20);
  const AdherenceDay d = Whole(Timeline(p));
  EXPECT_DOUBLE_EQ(*d.adherence_pct, 100.0 * 460 / 480);
  EXPECT_DOUBLE_EQ(*d.conformance_pct, 100.0 * 385 / 405);
  ASSERT_EQ(d.stretches.size(), 1u);
  EXPECT_EQ(d.stretches[0].start, At(14));
  EXPECT_EQ(d.stretches[0].end, At(14, 20));
}

TEST(Adherence, WorkingThroughLunchIsOutOfAdherenceButWorked) {
  Plan p;
  p.lunch_out = At(14);  // skips lunch entirely: 60 min out, 60 min extra work
  const AdherenceDay d = Whole(Timeline(p));
  EXPECT_DOUBLE_EQ(*d.adherence_pct, 100.0 * 420 / 480);
  EXPECT_DOUBLE_EQ(*d.conformance_pct, 100.0 * 465 / 405);
}

TEST(Adherence, LoggedOffEarly) {
  Plan p;
  p.logout = At(16);
  const AdherenceDay d = Whole(Timeline(p));
  EXPECT_DOUBLE_EQ(*d.adherence_pct, 87.5);  // 420 / 480
  EXPECT_DOUBLE_EQ(*d.conformance_pct, 100.0 * 345 / 405);
  ASSERT_EQ(d.stretches.size(), 1u);
  EXPECT_EQ(d.stretches[0].start, At(16));
  EXPECT_EQ(d.stretches[0].end, At(17));
  EXPECT_EQ(d.stretches[0].actual, AgentState::kOffline);
}

TEST(Adherence, OvertimeRaisesConformanceNotAdherence) {
  Plan p;
  p.logout = At(17, 30);
  const AdherenceDay d = Whole(Timeline(p));
  EXPECT_DOUBLE_EQ(*d.adherence_pct, 100.0);
  EXPECT_DOUBLE_EQ(*d.conformance_pct, 100.0 * 435 / 405);
  ASSERT_EQ(d.stretches.size(), 1u);  // working while off: listed, not counted
  EXPECT_EQ(d.stretches[0].scheduled, Activity::kOff);
  EXPECT_EQ(d.stretches[0].actual, AgentState::kWorking);
}

TEST(Adherence, NoShiftAndNoWork) {
  const AdherenceDay d = ComputeAdherence(AgentSchedule{}, {}, At(0), At(24));
  EXPECT_EQ(d.scheduled, 0);
  EXPECT_FALSE(d.adherence_pct.has_value());
  EXPECT_FALSE(d.conformance_pct.has_value());
  EXPECT_TRUE(d.stretches.empty());
}

TEST(Adherence, WindowCutAtNowCountsOnlyTheElapsedPart) {
  // At 10:00 a late (09:30) agent: 60 min scheduled, 30 in adherence.
  const AdherenceDay d = ComputeAdherence(Day(), {{At(9, 30), W}}, At(0), At(10));
  EXPECT_EQ(d.scheduled, 60 * kMin);
  EXPECT_DOUBLE_EQ(*d.adherence_pct, 50.0);
  EXPECT_DOUBLE_EQ(*d.conformance_pct, 50.0);
  // A state set before the window still holds at its start.
  const AdherenceDay e = ComputeAdherence(Day(), {{At(8), W}}, At(9), At(10));
  EXPECT_DOUBLE_EQ(*e.adherence_pct, 100.0);
}

TEST(Adherence, SpanAndLiveCheck) {
  const AgentSchedule a = Day();
  EXPECT_EQ(ActivitySpanAt(a, At(8)).activity, Activity::kOff);
  EXPECT_EQ(ActivitySpanAt(a, At(8)).since, 0);
  EXPECT_EQ(ActivitySpanAt(a, At(11, 30)).since, At(11, 15));
  EXPECT_EQ(ActivitySpanAt(a, At(13, 30)).activity, Activity::kBreak);
  EXPECT_EQ(ActivitySpanAt(a, At(18)).since, At(17));

  // Not logged in an hour into the shift: out since the shift started.
  auto s = LiveOutOfAdherence(a, O, 0, At(10));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->start, At(9));
  EXPECT_EQ(s->scheduled, Activity::kWork);
  // On the scheduled break: fine.
  EXPECT_FALSE(LiveOutOfAdherence(a, B, At(11), At(11, 10)).has_value());
  // Still on break 3 minutes after it ended: within the grace; 10 minutes after: out.
  EXPECT_FALSE(LiveOutOfAdherence(a, B, At(11), At(11, 18)).has_value());
  s = LiveOutOfAdherence(a, B, At(11), At(11, 25));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->start, At(11, 15));
  // Went on an unscheduled break 10 minutes ago.
  s = LiveOutOfAdherence(a, B, At(10, 20), At(10, 30));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->start, At(10, 20));
}

}  // namespace
}  // namespace homeline::core::wfm
