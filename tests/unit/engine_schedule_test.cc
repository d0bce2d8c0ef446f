// Stored schedules in the engine: draft, publish, supersede, tenant scoping, and the same states
// after replaying the events into a fresh engine (what a restart does).
#include <gtest/gtest.h>

#include <vector>

#include "core/engine.h"
#include "core/event_codec.h"

namespace homeline::core {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;
constexpr TimeMs kWeek = 1'795'996'800'000;

StoredSchedule Week(TenantId t, TimeMs week_start, UserId user) {
  StoredSchedule s;
  s.tenant = t;
  s.name = "week";
  s.users = {user};
  s.result.week_start = week_start;
  wfm::AgentSchedule a;
  a.agent_id = "alice";
  a.shifts.push_back({"day", week_start + 8 * kHour, week_start + 16 * kHour, {}, 8, 160});
  s.result.agents = {a};
  s.result.coverage.required.assign(wfm::kIntervalsPerWeek, 0);
  s.result.coverage.scheduled.assign(wfm::kIntervalsPerWeek, 0);
  s.result.coverage.under.assign(wfm::kIntervalsPerWeek, 0);
  s.result.coverage.over.assign(wfm::kIntervalsPerWeek, 0);
  return s;
}

TEST(EngineSchedules, DraftPublishSupersedeAndReplay) {
  Engine e;
  e.SetTime(kT0);
  Tenant acme, globex;
  acme.slug = acme.name = "acme";
  globex.slug = globex.name = "globex";
  auto ra = e.CreateTenant(acme), rg = e.CreateTenant(globex);
  ASSERT_TRUE(ra && rg);
  const TenantId a = *ra, g = *rg;
  const UserId sam = 99;

  const ScheduleId first = *e.StoreSchedule(Week(a, kWeek, 7));
  const ScheduleId other_week = *e.StoreSchedule(Week(a, kWeek + 7 * kDay, 7));
  ASSERT_NE(e.FindSchedule(a, first), nullptr);
  EXPECT_EQ(e.FindSchedule(a, first)->state, ScheduleState::kDraft);
  EXPECT_EQ(e.FindSchedule(a, first)->created_at, kT0);
  EXPECT_EQ(e.FindSchedule(g, first), nullptr);  // another tenant's id is not found
  EXPECT_EQ(e.PublishSchedule(g, first, sam).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(e.PublishSchedule(a, 424242, sam).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(e.StoreSchedule(Week(12345, kWeek, 7)).error().code, ErrorCode::kNotFound);

  e.SetTime(kT0 + kHour);
  ASSERT_TRUE(e.PublishSchedule(a, first, sam));
  ASSERT_TRUE(e.PublishSchedule(a, other_week, sam));
  EXPECT_EQ(e.PublishSchedule(a, first, sam).error().code, ErrorCode::kConflict);
  EXPECT_EQ(e.FindSchedule(a, first)->state, ScheduleState::kPublished);
  EXPECT_EQ(e.FindSchedule(a, first)->published_by, sam);
  EXPECT_EQ(e.FindSchedule(a, first)->published_at, kT0 + kHour);

  // A new schedule for the same week supersedes the first once published, not before; the
  // other week keeps its own.
  const ScheduleId second = *e.StoreSchedule(Week(a, kWeek, 7));
  EXPECT_EQ(e.FindSchedule(a, first)->state, ScheduleState::kPublished);
  ASSERT_TRUE(e.PublishSchedule(a, second, sam));
  EXPECT_EQ(e.FindSchedule(a, first)->state, ScheduleState::kSuperseded);
  EXPECT_EQ(e.FindSchedule(a, second)->state, ScheduleState::kPublished);
  EXPECT_EQ(e.FindSchedule(a, other_week)->state, ScheduleState::kPublished);
  EXPECT_EQ(e.Schedules(a).size(), 3u);
  EXPECT_TRUE(e.Schedules(g).empty());

  // Replay through the store's encoding: the same schedules in the same states.
  Engine replayed;
  for (const Event& ev : e.TakeOutbox()) {
    auto body = DecodePayload(TypeName(ev.body), EncodePayload(ev.body));
    ASSERT_TRUE(body) << body.error().message;
    ASSERT_TRUE(replayed.Replay(Event(ev.seq, ev.ts, ev.tenant, std::move(*body))));
  }
  for (ScheduleId id : {first, second, other_week}) {
    const StoredSchedule* x = e.FindSchedule(a, id);
    const StoredSchedule* y = replayed.FindSchedule(a, id);
    ASSERT_NE(y, nullptr);
    EXPECT_EQ(y->state, x->state);
    EXPECT_EQ(y->published_at, x->published_at);
    EXPECT_EQ(y->users, x->users);
    EXPECT_EQ(y->result.agents[0].shifts[0].start, x->result.agents[0].shifts[0].start);
  }
  // Ids keep growing past the replayed ones.
  EXPECT_GT(*replayed.StoreSchedule(Week(a, kWeek, 7)), second);
}

TEST(EngineSchedules, ATenantKeepsABoundedNumber) {
  Engine e;
  Tenant t;
  t.slug = t.name = "acme";
  auto ra = e.CreateTenant(t);
  ASSERT_TRUE(ra) << ra.error().message;
  const TenantId a = *ra;
  for (std::size_t i = 0; i < kMaxSchedulesPerTenant; ++i) ASSERT_TRUE(e.StoreSchedule(Week(a, kWeek, 1)));
  EXPECT_EQ(e.StoreSchedule(Week(a, kWeek, 1)).error().code, ErrorCode::kConflict);
}

}  // namespace
}  // namespace homeline::core
