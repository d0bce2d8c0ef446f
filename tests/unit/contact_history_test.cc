// Stored interaction events → per-queue interval history (the forecast's input), and the
// engine's forecast calendar (rules, events, replay).
#include <gtest/gtest.h>

#include "core/contact_history.h"
#include "core/engine.h"

namespace homeline::core {
namespace {

constexpr TimeMs kDay0 = 20000 * kDay;  // 2024-10-04, a Friday, 00:00 UTC

InteractionCreated Created(InteractionId id, QueueId q, InteractionId origin = 0) {
  InteractionCreated c;
  c.id = id;
  c.queue = q;
  c.origin = origin;
  return c;
}

TEST(ContactHistory, CountsArrivalsAndHandleTimesInTheArrivalInterval) {
  ContactHistoryBuilder b(TimeZone::Fixed("+02:00", 2 * kHour), 30);  // the tenant is at UTC+2
  // 07:50 UTC = 09:50 local: slot 19. Handled from 08:10 to 08:15 (300 s) — still slot 19.
  const TimeMs t = kDay0 + 7 * kHour + 50 * kMinute;
  b.Add(t, Created(1, 7));
  b.Add(t + kSecond, Offered{1, 9, 0});
  b.Add(t + 20 * kMinute, Accepted{1, 9});
  b.Add(t + 22 * kMinute, ContactEnded{1, "agent_ended"});
  b.Add(t + 25 * kMinute, Completed{1, 0, "", 0, false});
  // Abandoned: offered, not handled.
  b.Add(t + kMinute, Created(2, 7));
  b.Add(t + 2 * kMinute, Abandoned{2});
  // Another queue, the next local day (22:30 UTC = 00:30 local).
  b.Add(kDay0 + 22 * kHour + 30 * kMinute, Created(3, 8));
  // A callback of contact 4: same demand; its handle time goes to contact 4's interval.
  const TimeMs t4 = kDay0 + 10 * kHour;  // 12:00 local: slot 24
  b.Add(t4, Created(4, 7));
  b.Add(t4 + kMinute, Closed{4, "callback"});
  b.Add(t4 + kMinute, Created(5, 7, /*origin=*/4));
  b.Add(t4 + kHour, Accepted{5, 9});
  b.Add(t4 + kHour + 100 * kSecond, Closed{5, "restart"});  // closed after an accept: counted
  // A callback for a contact that abandoned: the same demand too.
  b.Add(t4 + 2 * kHour, Created(6, 7));
  b.Add(t4 + 2 * kHour + kMinute, Abandoned{6});
  b.Add(t4 + 3 * kHour, Created(7, 7, /*origin=*/6));
  // Events of unknown contacts (before the scan window) are ignored.
  b.Add(t4, Accepted{99, 9});
  b.Add(t4, Completed{99, 0, "", 0, false});
  EXPECT_EQ(b.contacts(), 5u);

  // Finished two days later: both local days are known, the third (today) is not.
  auto h = b.Finish(kDay0 + 2 * kDay + 12 * kHour);
  ASSERT_EQ(h.size(), 2u);
  const wfm::History& q7 = h.at(7);
  EXPECT_EQ(q7.interval_min, 30);
  EXPECT_EQ(wfm::FormatDate(q7.first_day), "2024-10-04");
  EXPECT_EQ(q7.EndDay() - q7.first_day, 2);  // 4 and 5 October; the 6th is today
  EXPECT_TRUE(q7.Known(q7.first_day + 1));     // a day without contacts counts as zero
  auto day = q7.DayCells(q7.first_day);
  EXPECT_EQ(day[19].offered, 2);
  EXPECT_EQ(day[19].handled, 1);
  EXPECT_EQ(day[19].handle_s, 300);
  EXPECT_EQ(day[24].offered, 1);  // the callback is not a second contact
  EXPECT_EQ(day[24].handled, 1);
  EXPECT_EQ(day[24].handle_s, 100);
  EXPECT_EQ(day[28].offered, 1);  // 14:00 local: the abandoned one, not its callback
  const wfm::History& q8 = h.at(8);
  EXPECT_EQ(wfm::FormatDate(q8.first_day), "2024-10-05");
  EXPECT_EQ(q8.DayCells(q8.first_day)[1].offered, 1);
}

TEST(ContactHistory, TodayIsPartialAndLeftOut) {
  ContactHistoryBuilder b(TimeZone::Utc(), 15);
  b.Add(kDay0 + kHour, Created(1, 7));
  EXPECT_TRUE(b.Finish(kDay0 + 2 * kHour).empty());
}

class Calendar : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_.SetTime(kDay0);
    Tenant t;
    t.slug = "acme";
    t.name = "Acme";
    tenant_ = *engine_.CreateTenant(t);
    Tenant g;
    g.slug = "globex";
    g.name = "Globex";
    other_ = *engine_.CreateTenant(g);
    Queue q;
    q.tenant = tenant_;
    q.name = "support";
    queue_ = *engine_.CreateQueue(q);
    q.tenant = other_;
    other_queue_ = *engine_.CreateQueue(q);
  }
  CalendarEntry Entry() {
    return CalendarEntry{.tenant = tenant_, .name = "Black Friday", .first_day = "2026-11-27",
                         .last_day = "2026-11-28", .multiplier = 1.8};
  }
  Engine engine_;
  TenantId tenant_ = 0, other_ = 0;
  QueueId queue_ = 0, other_queue_ = 0;
};

TEST_F(Calendar, RulesAndEvents) {
  std::vector<Event> log = engine_.TakeOutbox();
  auto bad = [&](auto change) {
    CalendarEntry e = Entry();
    change(e);
    auto r = engine_.CreateCalendarEvent(e);
    EXPECT_FALSE(r);
    return r ? ErrorCode::kInternal : r.error().code;
  };
  EXPECT_EQ(bad([](CalendarEntry& e) { e.name.clear(); }), ErrorCode::kBadRequest);
  EXPECT_EQ(bad([](CalendarEntry& e) { e.first_day = "2026-11-31"; }), ErrorCode::kBadRequest);
  EXPECT_EQ(bad([](CalendarEntry& e) { e.last_day = "2026-11-26"; }), ErrorCode::kBadRequest);
  EXPECT_EQ(bad([](CalendarEntry& e) { e.last_day = "2027-12-01"; }), ErrorCode::kBadRequest);
  EXPECT_EQ(bad([](CalendarEntry& e) { e.multiplier = 0; }), ErrorCode::kBadRequest);
  EXPECT_EQ(bad([&](CalendarEntry& e) { e.queue = other_queue_; }), ErrorCode::kBadRequest);
  EXPECT_EQ(bad([](CalendarEntry& e) { e.tenant = 999; }), ErrorCode::kNotFound);
  EXPECT_TRUE(engine_.TakeOutbox().empty());  // refused: nothing emitted

  CalendarEntry e = Entry();
  e.queue = queue_;
  auto id = engine_.CreateCalendarEvent(e);
  ASSERT_TRUE(id) << id.error().message;
  auto id2 = engine_.CreateCalendarEvent(Entry());
  ASSERT_TRUE(id2);
  ASSERT_EQ(engine_.CalendarEvents(tenant_).size(), 2u);
  EXPECT_EQ(engine_.FindCalendarEvent(tenant_, *id)->queue, queue_);
  EXPECT_EQ(engine_.FindCalendarEvent(other_, *id), nullptr);  // another tenant's id
  EXPECT_FALSE(engine_.DeleteCalendarEvent(other_, *id));
  EXPECT_TRUE(engine_.DeleteCalendarEvent(tenant_, *id2));
  EXPECT_EQ(engine_.DeleteCalendarEvent(tenant_, *id2).error().code, ErrorCode::kNotFound);

  // Replayed into a fresh engine: the same calendar, and new ids do not reuse them.
  Engine replayed;
  for (Event& ev : engine_.TakeOutbox()) log.push_back(std::move(ev));
  for (const Event& ev : log) ASSERT_TRUE(replayed.Replay(ev));
  ASSERT_EQ(replayed.CalendarEvents(tenant_).size(), 1u);
  EXPECT_EQ(replayed.CalendarEvents(tenant_)[0]->name, "Black Friday");
  EXPECT_EQ(replayed.CalendarEvents(tenant_)[0]->multiplier, 1.8);
  EXPECT_TRUE(replayed.CalendarEvents(other_).empty());
}

}  // namespace
}  // namespace homeline::core
