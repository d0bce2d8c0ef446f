// The engine's web chat rules on a simulated clock: who may write when, numbering, idempotent
// client ids, limits, and a transcript rebuilt from the events alone.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/engine.h"

namespace homeline::core {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

struct Fixture {
  Engine engine;
  TenantId tenant = 0;
  QueueId queue = 0;
  UserId alice = 0, bob = 0;
  std::vector<Event> log;  // every event emitted, in order

  Fixture() {
    engine.SetTime(kT0);
    Tenant t;
    t.slug = "acme";
    t.name = "Acme";
    tenant = *engine.CreateTenant(t);
    Queue q;
    q.tenant = tenant;
    q.name = "chat";
    queue = *engine.CreateQueue(q);
    for (UserId* u : {&alice, &bob}) {
      User user;
      user.login = u == &alice ? "alice" : "bob";
      user.name = user.login;
      *u = *engine.CreateUser(user);
      EXPECT_TRUE(engine.SetMember(tenant, *u, Membership{}).has_value());
    }
    Drain();
  }
  void Drain() {
    for (Event& e : engine.TakeOutbox()) log.push_back(std::move(e));
  }
  InteractionId Chat(const std::string& text = "hello") {
    Engine::NewInteraction n;
    n.tenant = tenant;
    n.queue = queue;
    n.customer.name = "Vera";
    auto id = engine.CreateChat(n, "hash", "c-1", text);
    EXPECT_TRUE(id.has_value()) << id.error().message;
    Drain();
    return *id;
  }
  Result<Engine::ChatPosted> Post(InteractionId id, ChatSender s, UserId agent, std::string cid,
                                  std::string text) {
    auto r = engine.PostChat(tenant, id, s, agent, std::move(cid), std::move(text));
    Drain();
    return r;
  }
};

TEST(EngineChat, FirstMessageIsSeqOneAndTheTokenHashIsKept) {
  Fixture f;
  const InteractionId id = f.Chat("  hello there \n");
  const ChatLog* log = f.engine.FindChat(f.tenant, id);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->token_hash, "hash");
  ASSERT_EQ(log->lines.size(), 1u);
  EXPECT_EQ(log->lines[0].seq, 1u);
  EXPECT_EQ(log->lines[0].text, "hello there");  // trimmed
  EXPECT_EQ(log->lines[0].sender, ChatSender::kVisitor);
  EXPECT_EQ(f.engine.FindInteraction(f.tenant, id)->channel, Channel::kChat);
  EXPECT_EQ(f.engine.FindChatInteraction(id)->id, id);
  EXPECT_EQ(f.engine.FindChat(f.tenant + 1000, id), nullptr) << "another tenant's chat";
}

TEST(EngineChat, OnlyTheConnectedAgentWritesAndTheVisitorUntilTheEnd) {
  Fixture f;
  ASSERT_TRUE(f.engine.SetPresence(f.alice, f.tenant, Presence::kAvailable, "").has_value());
  f.Drain();
  const InteractionId id = f.Chat();
  ASSERT_EQ(f.engine.FindInteraction(f.tenant, id)->state, InteractionState::kOffered);
  // Offered: the visitor may write; the agent not yet.
  EXPECT_TRUE(f.Post(id, ChatSender::kVisitor, 0, "", "waiting").has_value());
  EXPECT_EQ(f.Post(id, ChatSender::kAgent, f.alice, "", "hi").error().code, ErrorCode::kConflict);
  ASSERT_TRUE(f.engine.Accept(f.alice, id).has_value());
  f.Drain();
  auto posted = f.Post(id, ChatSender::kAgent, f.alice, "", "hi, Alice here");
  ASSERT_TRUE(posted.has_value());
  EXPECT_EQ(posted->seq, 3u);
  EXPECT_EQ(f.Post(id, ChatSender::kAgent, f.bob, "", "intruder").error().code, ErrorCode::kConflict);
  ASSERT_TRUE(f.engine.Abandon(id).has_value());  // the visitor left: wrap-up
  f.Drain();
  EXPECT_EQ(f.Post(id, ChatSender::kVisitor, 0, "", "late").error().code, ErrorCode::kConflict);
  EXPECT_EQ(f.Post(id, ChatSender::kAgent, f.alice, "", "late").error().code, ErrorCode::kConflict);
  EXPECT_EQ(f.engine.FindChat(f.tenant, id)->lines.size(), 3u);
}

TEST(EngineChat, ClientIdsMakeResendsIdempotentPerSide) {
  Fixture f;
  ASSERT_TRUE(f.engine.SetPresence(f.alice, f.tenant, Presence::kAvailable, "").has_value());
  const InteractionId id = f.Chat();
  ASSERT_TRUE(f.engine.Accept(f.alice, id).has_value());
  f.Drain();
  const std::size_t events = f.log.size();
  auto again = f.Post(id, ChatSender::kVisitor, 0, "c-1", "hello");  // the first message's id
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->seq, 1u);
  EXPECT_EQ(f.log.size(), events) << "a duplicate emits nothing";
  auto agent = f.Post(id, ChatSender::kAgent, f.alice, "c-1", "same id, other side");
  ASSERT_TRUE(agent.has_value());
  EXPECT_FALSE(agent->duplicate);
  EXPECT_EQ(agent->seq, 2u);
}

TEST(EngineChat, LimitsAreRefusedWithoutEvents) {
  Fixture f;
  ASSERT_TRUE(f.engine.SetPresence(f.alice, f.tenant, Presence::kAvailable, "").has_value());
  const InteractionId id = f.Chat();
  const std::size_t events = f.log.size();
  auto r = f.Post(id, ChatSender::kVisitor, 0, "", std::string(kMaxChatText + 1, 'x'));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kBadRequest);
  EXPECT_TRUE(r.error().message.starts_with("message too long"));
  EXPECT_FALSE(f.Post(id, ChatSender::kVisitor, 0, "", " \n\t ").has_value());
  EXPECT_FALSE(f.Post(id, ChatSender::kVisitor, 0, std::string(kMaxChatClientId + 1, 'c'), "x").has_value());
  EXPECT_TRUE(f.Post(id, ChatSender::kVisitor, 0, "", std::string(kMaxChatText, 'x')).has_value());
  EXPECT_EQ(f.log.size(), events + 1);
  EXPECT_EQ(f.Post(id + 999, ChatSender::kVisitor, 0, "", "x").error().code, ErrorCode::kNotFound);
  Engine::NewInteraction n;
  n.tenant = f.tenant;
  n.queue = f.queue;
  EXPECT_FALSE(f.engine.CreateChat(n, "hash", "", "").has_value());
}

TEST(EngineChat, ReplayRebuildsTheTranscriptAndTheClientIds) {
  Fixture f;
  ASSERT_TRUE(f.engine.SetPresence(f.alice, f.tenant, Presence::kAvailable, "").has_value());
  const InteractionId id = f.Chat();
  ASSERT_TRUE(f.engine.Accept(f.alice, id).has_value());
  f.Drain();
  ASSERT_TRUE(f.Post(id, ChatSender::kAgent, f.alice, "a-1", "one").has_value());
  f.engine.SetTime(kT0 + 5000);
  ASSERT_TRUE(f.Post(id, ChatSender::kVisitor, 0, "c-2", "two").has_value());

  Engine replayed;
  for (const Event& e : f.log) ASSERT_TRUE(replayed.Replay(e).has_value());
  const ChatLog* a = f.engine.FindChat(f.tenant, id);
  const ChatLog* b = replayed.FindChat(f.tenant, id);
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(a->lines.size(), b->lines.size());
  for (std::size_t i = 0; i < a->lines.size(); ++i) {
    EXPECT_EQ(a->lines[i].seq, b->lines[i].seq);
    EXPECT_EQ(a->lines[i].event_seq, b->lines[i].event_seq);
    EXPECT_EQ(a->lines[i].ts, b->lines[i].ts);
    EXPECT_EQ(a->lines[i].text, b->lines[i].text);
    EXPECT_EQ(a->lines[i].agent, b->lines[i].agent);
  }
  EXPECT_EQ(b->lines.back().ts, kT0 + 5000);
  EXPECT_EQ(b->token_hash, "hash");
  replayed.Recover();  // the live chat closes (restart), its transcript stays
  EXPECT_EQ(replayed.FindInteraction(f.tenant, id)->state, InteractionState::kClosed);
  auto dup = replayed.PostChat(f.tenant, id, ChatSender::kVisitor, 0, "c-2", "two");
  ASSERT_TRUE(dup.has_value());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->seq, 3u);
}

TEST(EngineChat, ChatsWaitingInLineOrderAndEvictedWithTheirInteraction) {
  Fixture f;  // finished interactions stay 24 hours
  const InteractionId first = f.Chat("one");
  f.engine.SetTime(kT0 + 1000);
  const InteractionId second = f.Chat("two");
  auto waiting = f.engine.ChatsWaiting(f.tenant, f.queue);
  ASSERT_EQ(waiting.size(), 2u);
  EXPECT_EQ(waiting[0]->id, first);
  EXPECT_EQ(waiting[1]->id, second);
  ASSERT_TRUE(f.engine.Abandon(first).has_value());
  EXPECT_EQ(f.engine.ChatsWaiting(f.tenant, f.queue).size(), 1u);
  f.engine.SetTime(kT0 + 25 * kHour);
  f.engine.RunDue();
  EXPECT_EQ(f.engine.FindChat(f.tenant, first), nullptr);
  EXPECT_EQ(f.engine.FindChatInteraction(first), nullptr);
}

}  // namespace
}  // namespace homeline::core
