// Calls handed from agent to agent in the engine (docs/decisions.md 49): the events a blind
// transfer to an agent and a consultation emit, that a replay through the codec rebuilds the
// same state, and what happens when the one agent asked does not answer. (Whole flows with
// several agents are scenarios: tests/scenarios/transfer_to_agent.scn, consult.scn.)

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/engine.h"
#include "core/event_codec.h"
#include "replay_through_codec.h"

namespace homeline::core {
namespace {

constexpr TimeMs kT0 = 1'767'603'600'000;  // 2026-01-05 09:00 UTC, a Monday

struct Fixture {
  Engine engine;
  TenantId t = 0;
  QueueId q = 0;
  UserId ann = 0, bob = 0, cat = 0;
  std::vector<Event> log;

  Fixture() {
    engine.SetTime(kT0);
    Tenant tn;
    tn.slug = "acme";
    tn.name = "Acme";
    t = *engine.CreateTenant(tn);
    Queue queue;
    queue.tenant = t;
    queue.name = "support";
    queue.offer_timeout = 20 * kSecond;
    queue.wrapup = 60 * kSecond;
    q = *engine.CreateQueue(queue);
    ann = Agent("ann");
    bob = Agent("bob");
    cat = Agent("cat");
    Drain();
  }
  UserId Agent(const std::string& login) {
    User u;
    u.login = login;
    const UserId id = *engine.CreateUser(u);
    EXPECT_TRUE(engine.SetMember(t, id, Membership{}).has_value());
    return id;
  }
  void Login(UserId u) {
    ASSERT_TRUE(engine.SetPresence(u, t, Presence::kAvailable, "").has_value());
    Drain();
  }
  std::vector<Event> Drain() {
    std::vector<Event> out = engine.TakeOutbox();
    for (const Event& e : out) log.push_back(e);
    return out;
  }
  // A call in the queue, connected to `agent`.
  InteractionId ConnectedCall(UserId agent) {
    Engine::NewInteraction n;
    n.tenant = t;
    n.channel = Channel::kVoice;
    n.queue = q;
    n.customer.phone = "+15550123";
    const InteractionId id = *engine.CreateInteraction(std::move(n));
    EXPECT_EQ(engine.FindInteraction(t, id)->agent, agent);
    EXPECT_TRUE(engine.Accept(agent, id).has_value());
    Drain();
    return id;
  }
  std::unique_ptr<Engine> Replayed() {
    Drain();
    return ReplayThroughCodec(log);
  }
  const Interaction& Ix(InteractionId id) { return *engine.FindInteraction(t, id); }
};

TEST(EngineTransfer, BlindToAgentContinuesTheCallOfferedToThatAgentAlone) {
  Fixture f;
  f.Login(f.ann);
  const InteractionId c1 = f.ConnectedCall(f.ann);
  f.Login(f.bob);
  f.Login(f.cat);
  f.engine.SetTime(kT0 + 30 * kSecond);
  auto next = f.engine.TransferToAgent(f.ann, c1, f.cat);
  ASSERT_TRUE(next.has_value()) << next.error().message;
  const std::vector<Event> events = f.Drain();
  ASSERT_EQ(events.size(), 3u);
  const auto* created = std::get_if<InteractionCreated>(&events[0].body);
  ASSERT_NE(created, nullptr);
  EXPECT_EQ(created->id, *next);
  EXPECT_EQ(created->origin, c1);
  EXPECT_EQ(created->directed, f.cat);
  EXPECT_FALSE(created->consult);
  EXPECT_EQ(created->enqueued_at, kT0);  // the call's place in line
  EXPECT_EQ(created->customer().phone, "+15550123");
  const auto* ended = std::get_if<ContactEnded>(&events[1].body);
  ASSERT_NE(ended, nullptr);
  EXPECT_EQ(ended->reason, "transferred");
  const auto* offered = std::get_if<Offered>(&events[2].body);
  ASSERT_NE(offered, nullptr);
  EXPECT_EQ(offered->agent, f.cat);  // bob was free too, and first in no line
  EXPECT_EQ(offered->expires, kT0 + 50 * kSecond);
  EXPECT_EQ(f.Ix(c1).state, InteractionState::kWrapUp);
  EXPECT_EQ(f.Ix(*next).state, InteractionState::kOffered);

  // The directed offer is durable: a replay has the same contact offered to cat alone.
  auto again = f.Replayed();
  const Interaction* r = again->FindInteraction(f.t, *next);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->directed, f.cat);
  EXPECT_EQ(r->agent, f.cat);
  EXPECT_EQ(r->state, InteractionState::kOffered);
  EXPECT_EQ(again->FindInteraction(f.t, c1)->reason, "transferred");

  // Rejected: back in line with its place and no longer directed; bob, free, gets it.
  ASSERT_TRUE(f.engine.Reject(f.cat, *next).has_value());
  EXPECT_EQ(f.Ix(*next).directed, 0u);
  EXPECT_EQ(f.Ix(*next).agent, f.bob);
  EXPECT_EQ(f.Ix(*next).enqueued_at, kT0);
}

TEST(EngineTransfer, TargetChecks) {
  Fixture f;
  f.Login(f.ann);
  const InteractionId c1 = f.ConnectedCall(f.ann);
  EXPECT_EQ(f.engine.TransferToAgent(f.ann, c1, 987654).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(f.engine.TransferToAgent(f.ann, c1, f.ann).error().code, ErrorCode::kConflict);
  EXPECT_EQ(f.engine.TransferToAgent(f.ann, c1, f.bob).error().code, ErrorCode::kConflict);  // offline
  f.Login(f.bob);
  EXPECT_EQ(f.engine.TransferToAgent(f.bob, c1, f.ann).error().code, ErrorCode::kConflict);  // not bob's
  EXPECT_EQ(f.engine.Consult(f.ann, c1, 0, 987654).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(f.Drain().empty());  // failed commands emit nothing
}

TEST(EngineTransfer, ConsultationUnansweredClosesAndTheCallStays) {
  Fixture f;
  f.Login(f.ann);
  const InteractionId c1 = f.ConnectedCall(f.ann);
  f.Login(f.bob);
  auto k = f.engine.Consult(f.ann, c1, f.bob, 0);
  ASSERT_TRUE(k.has_value()) << k.error().message;
  EXPECT_TRUE(f.Ix(*k).consult);
  EXPECT_EQ(f.engine.OpenConsultOf(c1), *k);
  EXPECT_EQ(f.Ix(*k).agent, f.bob);
  // One consultation at a time, and no other hand-over meanwhile.
  EXPECT_EQ(f.engine.Consult(f.ann, c1, 0, f.q).error().code, ErrorCode::kConflict);
  EXPECT_EQ(f.engine.Transfer(f.ann, c1, f.q).error().code, ErrorCode::kConflict);
  f.engine.SetTime(kT0 + 20 * kSecond);
  f.engine.RunDue();  // bob's phone rang out
  EXPECT_EQ(f.Ix(*k).state, InteractionState::kClosed);
  EXPECT_EQ(f.Ix(*k).reason, "consult_failed");
  EXPECT_EQ(f.Ix(c1).state, InteractionState::kConnected);
  EXPECT_EQ(f.engine.OpenConsultOf(c1), 0u);
  EXPECT_EQ(f.engine.Stats(f.t, f.q).abandoned, 0);
  auto again = f.Replayed();
  EXPECT_EQ(again->FindInteraction(f.t, *k)->state, InteractionState::kClosed);
}

TEST(EngineTransfer, CompletedConsultationIsTheCustomersCall) {
  Fixture f;
  f.Login(f.ann);
  const InteractionId c1 = f.ConnectedCall(f.ann);
  f.Login(f.bob);
  auto k = f.engine.Consult(f.ann, c1, f.bob, 0);
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(f.engine.CompleteConsult(f.ann, *k).error().code, ErrorCode::kConflict);  // ringing
  ASSERT_TRUE(f.engine.Accept(f.bob, *k).has_value());
  EXPECT_EQ(f.engine.CompleteConsult(f.bob, *k).error().code, ErrorCode::kConflict);  // not bob's call
  ASSERT_TRUE(f.engine.CompleteConsult(f.ann, *k).has_value());
  EXPECT_EQ(f.Ix(c1).state, InteractionState::kWrapUp);
  EXPECT_EQ(f.Ix(c1).reason, "transferred");
  EXPECT_FALSE(f.Ix(*k).consult);
  EXPECT_EQ(f.Ix(*k).state, InteractionState::kConnected);
  EXPECT_EQ(f.engine.CloseConsult(*k, "x").error().code, ErrorCode::kConflict);
  auto again = f.Replayed();
  EXPECT_FALSE(again->FindInteraction(f.t, *k)->consult);
  EXPECT_EQ(again->OpenConsultOf(c1), 0u);
  // bob may hand it on in turn (ann is in wrap-up, so not to her).
  EXPECT_EQ(f.engine.TransferToAgent(f.bob, *k, f.ann).error().code, ErrorCode::kConflict);
}

}  // namespace
}  // namespace homeline::core
