// VoiceService between a real engine (simulated clock) and a recorder standing in for the SIP
// side: the orders it gives for each happening, and the engine state that results. The same
// flows run against real SIP peers in tests/integration/test_voice.py.

#include "adapters/sip/voice_service.h"

#include "voice_fixture.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace homeline::sip {
namespace {

struct Fixture : voicetest::VoiceWorld {
  core::QueueId queue = 0;
  core::UserId alice = 0, bob = 0;

  Fixture() {
    queue = AddQueue("support", 20 * kSecond);
    alice = AddAgent("alice");
    bob = AddAgent("bob");
    Start([this](const core::Engine&, const InboundCall& in) -> Result<InboundRoute> {
      if (in.source != "127.0.0.1") return Fail(ErrorCode::kForbidden, "no trunk");
      if (in.number != "+15550100") return Fail(ErrorCode::kNotFound, "no such number");
      InboundRoute r;
      r.tenant = tenant;
      r.queue = queue;
      r.announce_every = 30 * kSecond;
      return r;
    });
  }
  // The CDR legs' events so far, as "started agent", "answered 2", "ended 2 busy 486 agent".
  std::vector<std::string> Cdrs() {
    Flush();
    std::vector<std::string> out;
    for (const core::Event& e : log) {
      if (auto* s = std::get_if<core::CdrLegStarted>(&e.body))
        out.push_back(fmt::format("started {} {}", s->leg, core::Name(s->start->role)));
      if (auto* a = std::get_if<core::CdrLegAnswered>(&e.body)) out.push_back(fmt::format("answered {}", a->leg));
      if (auto* d = std::get_if<core::CdrLegEnded>(&e.body))
        out.push_back(fmt::format("ended {} {} {} {}", d->leg, core::Name(d->result), d->cause,
                                  core::Name(d->hung_up_by)));
    }
    return out;
  }
  void Available(core::UserId u) {
    ASSERT_TRUE(engine.SetPresence(u, tenant, core::Presence::kAvailable, "").has_value());
    Flush();
  }
  void Call(CallId id, std::string number = "+15550100", std::string source = "127.0.0.1") {
    VoiceWorld::Call(id, std::move(number), std::move(source));
  }
  const core::Interaction* Ix(CallId call) {
    for (const core::Interaction* ix : engine.Interactions(tenant, false))
      if (ix->channel == core::Channel::kVoice && ix->customer().name == "Vera") return ix;
    return nullptr;
  }
};

TEST(VoiceService, UnknownSourceIsForbiddenAndUnknownNumberNotFound) {
  Fixture f;
  f.Call(1, "+15550100", "192.0.2.7");
  f.Call(2, "+15559999");
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"refuse 1 403", "refuse 2 404"}));
  EXPECT_EQ(f.voice->live_calls(), 0u);
  EXPECT_TRUE(f.engine.Interactions(f.tenant, false).empty());
}

TEST(VoiceService, QueuedThenRungThenBridgedThenHungUpToWrapUp) {
  Fixture f;
  f.Call(7);
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"answer 7"}));
  const core::Interaction* ix = f.Ix(7);
  ASSERT_NE(ix, nullptr);
  EXPECT_EQ(ix->state, core::InteractionState::kQueued);
  EXPECT_EQ(ix->customer().phone, "+15557654321");

  f.Available(f.alice);  // the engine offers it: the phone rings for the offer's time + margin
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"ring 7 alice 25000"}));
  f.voice->OnAgentAnswered(7, f.alice);
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"bridge 7"}));
  EXPECT_EQ(ix->state, core::InteractionState::kConnected);

  f.voice->OnAgentHangUp(7, f.alice);
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"hangup 7 BYE"}));
  EXPECT_EQ(ix->state, core::InteractionState::kWrapUp);
  EXPECT_EQ(ix->reason, "agent_hung_up");
  EXPECT_EQ(f.voice->live_calls(), 0u);
  EXPECT_EQ(f.voice->counters().bridged, 1u);
}

TEST(VoiceService, BusyPhoneRejectsAndTheCallRingsTheNextAgent) {
  Fixture f;
  f.Available(f.alice);
  f.Call(3);
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"answer 3", "ring 3 alice 25000"}));
  f.Available(f.bob);  // bob is free too, but alice has it
  EXPECT_TRUE(f.rec.Take().empty());
  f.voice->OnAgentFailed(3, f.alice, 486);
  f.Flush();
  // The drop for alice is a no-op on the SIP side (her leg already ended with the 486).
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"drop 3 " + std::to_string(f.alice), "ring 3 bob 25000"}));
  EXPECT_EQ(f.Ix(3)->agent, f.bob);
}

TEST(VoiceService, OfferExpiryCancelsTheRingAndALateAnswerIsDropped) {
  Fixture f;
  f.Available(f.alice);
  f.Call(4);
  f.rec.Take();
  f.Advance(20 * kSecond);  // no answer: the engine's offer expires, the phone is cancelled
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"drop 4 " + std::to_string(f.alice)}));
  EXPECT_EQ(f.Ix(4)->state, core::InteractionState::kQueued);
  f.voice->OnAgentAnswered(4, f.alice);  // the 200 crossed the CANCEL: ACK + BYE that leg
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"drop 4 " + std::to_string(f.alice)}));
  EXPECT_EQ(f.Ix(4)->state, core::InteractionState::kQueued);
  EXPECT_EQ(f.voice->live_calls(), 1u);
}

TEST(VoiceService, CustomerHangingUpWhileWaitingOrRingingIsAbandoned) {
  Fixture f;
  f.Call(5);
  f.voice->OnCustomerHangUp(5);
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"answer 5", "hangup 5 BYE"}));
  EXPECT_EQ(f.Ix(5)->state, core::InteractionState::kAbandoned);
  EXPECT_EQ(f.engine.Stats(f.tenant, f.queue).abandoned, 1);
  EXPECT_EQ(f.voice->counters().abandoned, 1u);
}

TEST(VoiceService, CustomerHangingUpWhileRingingCancelsThePhone) {
  Fixture f;
  f.Available(f.alice);
  f.Call(6);
  f.rec.Take();
  f.voice->OnCustomerHangUp(6);
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"hangup 6 BYE"}));  // every leg, the ringing one too
  EXPECT_EQ(f.engine.Stats(f.tenant, f.queue).abandoned, 1);
  EXPECT_EQ(f.engine.AgentView(f.alice).activity, core::Activity::kAvailable);
}

TEST(VoiceService, WrapUpFromTheDesktopHangsTheCallUp) {
  Fixture f;
  f.Available(f.alice);
  f.Call(8);
  f.voice->OnAgentAnswered(8, f.alice);
  f.Flush();
  f.rec.Take();
  ASSERT_TRUE(f.engine.WrapUp(f.alice, f.Ix(8)->id, 0, "done").has_value());
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"hangup 8 agent_ended"}));
  EXPECT_EQ(f.voice->live_calls(), 0u);
  // Happenings for the ended call are no-ops.
  f.voice->OnCustomerHangUp(8);
  f.voice->OnAgentHangUp(8, f.alice);
  EXPECT_TRUE(f.rec.Take().empty());
}

TEST(VoiceService, HoldAndResumeOnlyWhileConnected) {
  Fixture f;
  f.Available(f.alice);
  f.Call(12);
  const core::InteractionId ix = f.Ix(12)->id;
  EXPECT_EQ(f.voice->Hold(ix, true).error().code, ErrorCode::kConflict);  // still ringing
  EXPECT_EQ(f.voice->Hold(ix + 1000, true).error().code, ErrorCode::kNotFound);
  f.voice->OnAgentAnswered(12, f.alice);
  f.Flush();
  f.rec.Take();
  ASSERT_TRUE(f.voice->Hold(ix, true));
  EXPECT_TRUE(f.voice->OnHold(ix));
  EXPECT_TRUE(f.engine.OnHold(f.tenant, ix));  // recorded (call.hold): what the views show
  EXPECT_EQ(f.voice->Hold(ix, true).error().code, ErrorCode::kConflict);
  ASSERT_TRUE(f.voice->Hold(ix, false));
  EXPECT_FALSE(f.voice->OnHold(ix));
  EXPECT_FALSE(f.engine.OnHold(f.tenant, ix));
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"hold 12 true", "hold 12 false"}));
  // Held when the customer hangs up: taken off in the engine too.
  ASSERT_TRUE(f.voice->Hold(ix, true));
  f.voice->OnCustomerHangUp(12);
  f.Flush();
  EXPECT_FALSE(f.engine.OnHold(f.tenant, ix));
  EXPECT_EQ(f.engine.FindInteraction(f.tenant, ix)->state, core::InteractionState::kWrapUp);
}

TEST(VoiceService, RecordedPerQueueSettingWithPauseAndResume) {
  Fixture f;
  f.RecordQueue(f.queue, "/rec");
  f.Available(f.alice);
  f.Call(14);
  const core::InteractionId ix = f.Ix(14)->id;
  EXPECT_EQ(f.voice->PauseRecording(ix, true).error().code, ErrorCode::kConflict);  // ringing
  f.voice->OnAgentAnswered(14, f.alice);
  f.Flush();
  ASSERT_TRUE(f.voice->PauseRecording(ix, true));
  EXPECT_EQ(f.voice->PauseRecording(ix, true).error().code, ErrorCode::kConflict);
  ASSERT_TRUE(f.voice->PauseRecording(ix, false));
  const std::string path = fmt::format("/rec/{}/{}.wav", f.tenant, ix);
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"answer 14", "ring 14 alice 25000", "bridge 14 " + path,
                                                    "pause 14 true", "pause 14 false"}));
  // The engine's record (what the recordings API lists and serves) names the same file, with
  // the paused span, and ends with the call.
  const core::Recording* r = f.engine.RecordingOf(f.tenant, ix);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ("/rec" + r->path.substr(std::string("recordings").size()), path);
  EXPECT_EQ(r->paused.size(), 1u);
  EXPECT_EQ(r->ended, 0);
  const core::RecordingId id = r->id;
  f.voice->OnCustomerHangUp(14);
  f.Flush();
  // Ended: out of the engine's memory, in the log.
  EXPECT_EQ(f.engine.RecordingOf(f.tenant, ix), nullptr);
  EXPECT_TRUE(f.Logged<core::RecordingEnded>([&](const core::RecordingEnded& e) { return e.id == id; }));
}

TEST(VoiceService, ARecordedCallTransferredIsRecordedAgainIntoAFileOfItsOwn) {
  Fixture f;
  f.RecordQueue(f.queue, "/rec");
  f.Available(f.alice);
  f.Call(17);
  const core::InteractionId ix = f.Ix(17)->id;
  f.voice->OnAgentAnswered(17, f.alice);
  f.Flush();
  const core::RecordingId first = f.engine.RecordingOf(f.tenant, ix)->id;
  f.Available(f.bob);
  ASSERT_TRUE(f.engine.Transfer(f.alice, ix, f.queue).has_value());
  f.Flush();
  // Ended with alice's leg.
  EXPECT_EQ(f.engine.FindRecording(f.tenant, first), nullptr);
  EXPECT_TRUE(f.Logged<core::RecordingEnded>([&](const core::RecordingEnded& e) { return e.id == first; }));
  f.rec.Take();
  f.voice->OnAgentAnswered(17, f.bob);
  f.Flush();
  const core::Recording* second = f.engine.RecordingOf(f.tenant, ix);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second->id, first);
  EXPECT_EQ(second->path, fmt::format("recordings/{}/{}-2.wav", f.tenant, ix));
  EXPECT_EQ(f.rec.Take().back(), fmt::format("bridge 17 /rec/{}/{}-2.wav", f.tenant, ix));
  EXPECT_EQ(f.engine.Recordings(f.tenant).size(), 1u);  // the live one
}

TEST(VoiceService, NotRecordedWithoutTheQueueSetting) {
  Fixture f;
  f.voice->SetRecordingsDir("/rec");
  f.Available(f.alice);
  f.Call(15);
  f.voice->OnAgentAnswered(15, f.alice);
  f.Flush();
  EXPECT_EQ(f.rec.Take().back(), "bridge 15");
  EXPECT_EQ(f.voice->PauseRecording(f.Ix(15)->id, true).error().code, ErrorCode::kConflict);
}

TEST(VoiceService, TransferToAQueueHangsUpTheAgentAndRingsTheNext) {
  Fixture f;
  f.Available(f.alice);
  f.Call(13);
  f.voice->OnAgentAnswered(13, f.alice);
  f.Flush();
  f.Available(f.bob);
  f.rec.Take();
  ASSERT_TRUE(f.engine.Transfer(f.alice, f.Ix(13)->id, f.queue).has_value());
  f.Flush();
  // Back in the queue, offered at once to the free agent: alice's phone is hung up first.
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"requeue 13", "ring 13 bob 25000"}));
}

TEST(VoiceService, BlindTransferToAnAgentHangsUpTheFirstAndRingsThatAgent) {
  Fixture f;
  f.Available(f.alice);
  f.Call(14);
  f.voice->OnAgentAnswered(14, f.alice);
  f.Flush();
  f.Available(f.bob);
  f.rec.Take();
  const core::InteractionId first = f.Ix(14)->id;
  auto next = f.voice->TransferToAgent(f.alice, first, f.bob);
  ASSERT_TRUE(next.has_value()) << next.error().message;
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"requeue 14", "ring 14 bob 25000"}));
  EXPECT_EQ(f.voice->CallOf(*next), 14u);
  EXPECT_EQ(f.voice->CallOf(first), 0u);  // its wrap-up is not a hang-up
  EXPECT_EQ(f.engine.FindInteraction(f.tenant, first)->state, core::InteractionState::kWrapUp);
  // bob's phone is busy: back in line (nobody else is free), the call stays, music on.
  f.voice->OnAgentFailed(14, f.bob, 486);
  f.Flush();
  EXPECT_EQ(f.engine.FindInteraction(f.tenant, *next)->state, core::InteractionState::kQueued);
  EXPECT_EQ(f.voice->live_calls(), 1u);
  // Not the caller's call, or no such agent: refused, nothing ordered.
  EXPECT_EQ(f.voice->TransferToAgent(f.bob, *next, f.alice).error().code, ErrorCode::kConflict);
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"drop 14 " + std::to_string(f.bob)}));
}

TEST(VoiceService, ConsultationRingsBridgesAndCompletes) {
  Fixture f;
  f.Available(f.alice);
  f.Call(15);
  f.voice->OnAgentAnswered(15, f.alice);
  f.Flush();
  f.Available(f.bob);
  f.rec.Take();
  const core::InteractionId first = f.Ix(15)->id;
  EXPECT_EQ(f.voice->CompleteConsult(f.alice, first).error().code, ErrorCode::kConflict);
  auto k = f.voice->Consult(f.alice, first, f.bob, 0);
  ASSERT_TRUE(k.has_value()) << k.error().message;
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"hold 15 true", "ring_consult 15 bob 25000"}));
  EXPECT_TRUE(f.engine.OnHold(f.tenant, first));  // the customer waits with music
  EXPECT_EQ(f.voice->Hold(first, false).error().code, ErrorCode::kConflict);
  EXPECT_EQ(f.voice->CompleteConsult(f.alice, first).error().code, ErrorCode::kConflict);  // ringing
  f.voice->OnConsultAnswered(15, f.bob);
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"bridge_consult 15"}));
  auto done = f.voice->CompleteConsult(f.alice, first);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(*done, *k);
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"complete_consult 15"}));
  EXPECT_EQ(f.voice->CallOf(*k), 15u);
  EXPECT_EQ(f.engine.FindInteraction(f.tenant, first)->state, core::InteractionState::kWrapUp);
  EXPECT_FALSE(f.engine.OnHold(f.tenant, first));  // bridged to the consultee: nobody holds
  EXPECT_FALSE(f.engine.OnHold(f.tenant, *k));
  // bob hangs up: the call ends, bob wraps up.
  f.voice->OnAgentHangUp(15, f.bob);
  f.Flush();
  EXPECT_EQ(f.engine.FindInteraction(f.tenant, *k)->state, core::InteractionState::kWrapUp);
  auto cdrs = f.Cdrs();
  ASSERT_EQ(cdrs.size(), 9u) << fmt::format("{}", fmt::join(cdrs, " | "));
  // alice's leg ends at the transfer; bob's (role transfer) answered, then the call's agent leg.
  EXPECT_EQ(cdrs[4].substr(cdrs[4].rfind(' ') + 1), "transfer");
  EXPECT_EQ(cdrs[6].substr(cdrs[6].find(' ', 7)), " answered transfer agent");
  EXPECT_EQ(cdrs[7].substr(cdrs[7].find(' ', 7)), " answered BYE agent");
}

TEST(VoiceService, CustomerHangingUpDuringAConsultationClosesIt) {
  Fixture f;
  f.Available(f.alice);
  f.Call(16);
  f.voice->OnAgentAnswered(16, f.alice);
  f.Flush();
  f.Available(f.bob);
  const core::InteractionId first = f.Ix(16)->id;
  auto k = f.voice->Consult(f.alice, first, f.bob, 0);
  ASSERT_TRUE(k.has_value());
  f.Flush();
  f.voice->OnConsultAnswered(16, f.bob);
  f.Flush();
  f.rec.Take();
  f.voice->OnCustomerHangUp(16);
  f.Flush();
  EXPECT_EQ(f.engine.FindInteraction(f.tenant, *k)->state, core::InteractionState::kClosed);
  EXPECT_EQ(f.engine.FindInteraction(f.tenant, *k)->reason, "customer_hung_up");
  EXPECT_EQ(f.engine.FindInteraction(f.tenant, first)->state, core::InteractionState::kWrapUp);
  EXPECT_EQ(f.engine.AgentView(f.bob).activity, core::Activity::kAvailable);
  EXPECT_EQ(f.voice->live_calls(), 0u);
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"drop_consult 16", "hangup 16 BYE"}));
}

// A consultation with a number (decisions.md 58) through two trunks: the first answers 503, the
// second is tried (its dial timeout), the number answers, talks with the agent, and the call
// completes to it; the engine's record says so at each step.
TEST(VoiceService, ConsultationWithANumberFailsOverAnswersAndCompletes) {
  Fixture f;
  core::Trunk first;
  first.tenant = f.tenant;
  first.name = "cheap";
  first.outbound_host = "192.0.2.10";
  first.outbound_priority = 1;
  core::Trunk second = first;
  second.name = "backup";
  second.outbound_host = "192.0.2.20";
  second.outbound_priority = 2;
  second.dial_timeout = 25 * kSecond;
  const core::TrunkId backup = *f.engine.CreateTrunk(second);  // the lower id, yet tried second
  const core::TrunkId cheap = *f.engine.CreateTrunk(first);
  f.Available(f.alice);
  f.Call(21);
  f.voice->OnAgentAnswered(21, f.alice);
  f.Flush();
  f.rec.Take();
  const core::InteractionId ix = f.Ix(21)->id;
  EXPECT_EQ(f.voice->ConsultNumber(f.alice, ix, "555").error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(f.voice->ConsultNumber(f.bob, ix, "+15550199").error().code, ErrorCode::kConflict);
  ASSERT_TRUE(f.voice->ConsultNumber(f.alice, ix, "+1 555 0199").has_value());
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{
                              "hold 21 true",
                              fmt::format("dial_consult 21 +15550199 192.0.2.10:5060 trunk {} timeout 60000", cheap)}));
  EXPECT_EQ(f.voice->ConsultNumber(f.alice, ix, "+15550199").error().code, ErrorCode::kConflict);
  EXPECT_EQ(f.voice->Hold(ix, false).error().code, ErrorCode::kConflict);
  EXPECT_EQ(f.voice->CompleteConsult(f.alice, ix).error().code, ErrorCode::kConflict);  // ringing
  const core::NumberConsult* k = f.engine.NumberConsultOf(f.tenant, ix);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ((std::pair{k->number, k->trunk}), (std::pair{std::string("+15550199"), cheap}));
  f.voice->OnConsultFailed(21, 0, 503);  // the cheap carrier is down: the backup
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{
                              fmt::format("dial_consult 21 +15550199 192.0.2.20:5060 trunk {} timeout 25000", backup)}));
  f.voice->OnConsultAnswered(21, 0);
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"bridge_consult 21"}));
  EXPECT_EQ(f.engine.NumberConsultOf(f.tenant, ix)->trunk, backup);
  EXPECT_NE(f.engine.NumberConsultOf(f.tenant, ix)->answered, 0);
  auto done = f.voice->CompleteConsult(f.alice, ix);
  ASSERT_TRUE(done.has_value()) << done.error().message;
  EXPECT_EQ(*done, ix);
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"complete_consult 21"}));
  EXPECT_EQ(f.engine.FindInteraction(f.tenant, ix)->state, core::InteractionState::kWrapUp);
  EXPECT_EQ(f.engine.FindInteraction(f.tenant, ix)->reason, "transferred");
  EXPECT_EQ(f.engine.NumberConsultOf(f.tenant, ix)->result, "completed");
  EXPECT_EQ(f.voice->CallOf(ix), 0u);
  // The customer and the number talk until one hangs up: the CDR legs end then.
  EXPECT_EQ(f.voice->live_calls(), 1u);
  f.voice->OnNumberHangUp(21);
  auto cdrs = f.Cdrs();
  ASSERT_EQ(cdrs.size(), 11u) << fmt::format("{}", fmt::join(cdrs, " | "));
  // customer, alice, the cheap trunk's leg (failed 503), the backup's (answered, then the
  // customer's number leg).
  EXPECT_TRUE(cdrs[5].ends_with(" failed 503 transfer")) << cdrs[5];
  EXPECT_TRUE(cdrs[8].ends_with(" answered transfer agent")) << cdrs[8];
  EXPECT_TRUE(cdrs[9].ends_with(" answered BYE transfer")) << cdrs[9];
  EXPECT_EQ(f.voice->live_calls(), 0u);
}

// Busy is final (no other trunk); the customer is back with the agent and the record keeps the
// result until the next consultation replaces it.
TEST(VoiceService, ConsultationWithABusyNumberReturnsToTheCustomer) {
  Fixture f;
  core::Trunk t;
  t.tenant = f.tenant;
  t.name = "one";
  t.outbound_host = "192.0.2.10";
  ASSERT_TRUE(f.engine.CreateTrunk(t).has_value());
  t.name = "two";
  ASSERT_TRUE(f.engine.CreateTrunk(t).has_value());
  f.Available(f.alice);
  f.Call(22);
  f.voice->OnAgentAnswered(22, f.alice);
  f.Flush();
  const core::InteractionId ix = f.Ix(22)->id;
  ASSERT_TRUE(f.voice->ConsultNumber(f.alice, ix, "+15550199").has_value());
  f.Flush();
  f.rec.Take();
  f.voice->OnConsultFailed(22, 0, 486);
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"drop_consult 22", "hold 22 false"}));
  const core::NumberConsult* k = f.engine.NumberConsultOf(f.tenant, ix);
  ASSERT_NE(k, nullptr);
  EXPECT_EQ((std::pair{k->result, k->status}), (std::pair{std::string("busy"), 486}));
  EXPECT_NE(k->ended, 0);
  EXPECT_EQ(f.voice->CancelConsult(f.alice, ix).error().code, ErrorCode::kConflict);
  EXPECT_TRUE(f.voice->Hold(ix, true).has_value());  // a normal call again
  EXPECT_TRUE(f.voice->Hold(ix, false).has_value());
  // Again, answered, then the customer hangs up: everything ends.
  ASSERT_TRUE(f.voice->ConsultNumber(f.alice, ix, "+15550199").has_value());
  f.voice->OnConsultAnswered(22, 0);
  f.Flush();
  EXPECT_EQ(f.engine.NumberConsultOf(f.tenant, ix)->result, "");
  f.rec.Take();
  f.voice->OnCustomerHangUp(22);
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"drop_consult 22", "hangup 22 BYE"}));
  EXPECT_EQ(f.engine.NumberConsultOf(f.tenant, ix)->result, "customer_hung_up");
  EXPECT_EQ(f.engine.FindInteraction(f.tenant, ix)->state, core::InteractionState::kWrapUp);
}

TEST(VoiceService, CallDetailRecordsPerLeg) {
  Fixture f;
  f.Available(f.alice);
  f.Available(f.bob);
  f.Call(16);
  f.voice->OnAgentFailed(16, f.alice, 486);  // alice busy, bob rings and answers
  f.Flush();
  f.voice->OnAgentAnswered(16, f.bob);
  f.Flush();
  f.voice->OnCustomerHangUp(16);
  auto cdrs = f.Cdrs();
  ASSERT_EQ(cdrs.size(), 8u) << fmt::format("{}", fmt::join(cdrs, " | "));
  // The customer's leg starts the call and is answered by Homeline; each agent rung is a leg.
  const std::string c = cdrs[0].substr(8, cdrs[0].find(' ', 8) - 8);
  EXPECT_EQ(cdrs[0], "started " + c + " customer");
  EXPECT_EQ(cdrs[1], "answered " + c);
  const std::string a1 = cdrs[2].substr(8, cdrs[2].find(' ', 8) - 8);
  EXPECT_EQ(cdrs[2], "started " + a1 + " agent");
  EXPECT_EQ(cdrs[3], "ended " + a1 + " busy 486 agent");
  const std::string a2 = cdrs[4].substr(8, cdrs[4].find(' ', 8) - 8);
  EXPECT_EQ(cdrs[4], "started " + a2 + " agent");
  EXPECT_EQ(cdrs[5], "answered " + a2);
  EXPECT_EQ(cdrs[6], "ended " + a2 + " answered BYE customer");
  EXPECT_EQ(cdrs[7], "ended " + c + " answered BYE customer");
  EXPECT_EQ(f.engine.live_cdr_legs(), 0u);
}

TEST(VoiceService, CallDetailRecordsOfAnAbandonedCallWithARingOut) {
  Fixture f;
  f.Available(f.alice);
  f.Call(17);
  f.Advance(20 * kSecond);  // alice's phone rings out
  f.voice->OnCustomerHangUp(17);
  auto cdrs = f.Cdrs();
  ASSERT_EQ(cdrs.size(), 5u) << fmt::format("{}", fmt::join(cdrs, " | "));
  EXPECT_TRUE(cdrs[3].ends_with(" no_answer CANCEL system")) << cdrs[3];
  EXPECT_TRUE(cdrs[4].ends_with(" abandoned BYE customer")) << cdrs[4];
  EXPECT_EQ(f.engine.live_cdr_legs(), 0u);
}

TEST(NumberRouter, TrunkSourceThenNumberThenTheNumbersTrunk) {
  Fixture f;
  core::Trunk carrier;
  carrier.tenant = f.tenant;
  carrier.name = "carrier";
  carrier.sources = {"203.0.113.0/24"};
  const core::TrunkId carrier_id = *f.engine.CreateTrunk(carrier);
  core::Trunk local;
  local.tenant = f.tenant;
  local.name = "local";
  local.sources = {"127.0.0.1"};
  ASSERT_TRUE(f.engine.CreateTrunk(local).has_value());
  core::PhoneNumber open;
  open.tenant = f.tenant;
  open.e164 = "+15550100";
  open.queue = f.queue;
  ASSERT_TRUE(f.engine.CreateNumber(open).has_value());
  core::PhoneNumber bound = open;
  bound.e164 = "+15550111";
  bound.trunk = carrier_id;
  ASSERT_TRUE(f.engine.CreateNumber(bound).has_value());
  core::QueueVoice v;
  v.tenant = f.tenant;
  v.queue = f.queue;
  v.greeting_file = "hello.wav";
  v.position_interval = 45 * kSecond;
  ASSERT_TRUE(f.engine.SetQueueVoice(v).has_value());

  InboundRouter route = NumberRouter("/data/prompts");
  auto call = [&](std::string source, std::string number) {
    return route(f.engine, InboundCall{1, std::move(source), std::move(number), "", "", ""});
  };
  EXPECT_EQ(call("198.51.100.1", "+15550100").error().code, ErrorCode::kForbidden);
  EXPECT_EQ(call("198.51.100.1", "+15559999").error().code, ErrorCode::kForbidden)
      << "a stranger learns nothing about numbers";
  EXPECT_EQ(call("127.0.0.1", "+15559999").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(call("127.0.0.1", "+15550111").error().code, ErrorCode::kForbidden)
      << "bound to the carrier's trunk";
  auto ok = call("203.0.113.9", "15550111");  // trunks often drop the '+'
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->queue, f.queue);
  EXPECT_EQ(ok->prompts.greeting, "/data/prompts/hello.wav");
  EXPECT_EQ(ok->prompts.music, "");  // the default
  EXPECT_EQ(ok->announce_every, 45 * kSecond);

  // Trunks that authenticate (decisions.md 46). Once one exists, a stranger is challenged
  // (kUnauthorized: Calls answers 407) rather than refused.
  core::Trunk pbx;
  pbx.tenant = f.tenant;
  pbx.name = "pbx";
  pbx.inbound_user = "acme-pbx";
  pbx.inbound_password = "pw";
  const core::TrunkId pbx_id = *f.engine.CreateTrunk(pbx);
  core::Tenant other;
  other.slug = other.name = "globex";
  core::Trunk theirs = pbx;
  theirs.tenant = *f.engine.CreateTenant(other);
  theirs.inbound_user = "globex-pbx";
  ASSERT_TRUE(f.engine.CreateTrunk(theirs).has_value());
  EXPECT_EQ(call("198.51.100.1", "+15550100").error().code, ErrorCode::kUnauthorized);
  // The user name the SIP side verified names the trunk, wherever the call comes from.
  auto as = [&](std::string user, std::string number) {
    InboundCall in{1, "198.51.100.1", std::move(number), "", "", ""};
    in.trunk_user = std::move(user);
    return route(f.engine, in);
  };
  auto in = as("acme-pbx", "+15550100");
  ASSERT_TRUE(in) << in.error().message;
  EXPECT_EQ(in->trunk, pbx_id);
  EXPECT_EQ(in->queue, f.queue);
  EXPECT_EQ(as("acme-pbx", "+15550111").error().code, ErrorCode::kForbidden) << "bound to the carrier";
  EXPECT_EQ(as("globex-pbx", "+15550100").error().code, ErrorCode::kForbidden) << "another tenant's trunk";
  EXPECT_EQ(as("gone", "+15550100").error().code, ErrorCode::kForbidden) << "a trunk deleted meanwhile";
  EXPECT_EQ(as("acme-pbx", "+15559999").error().code, ErrorCode::kNotFound);
}

TEST(VoiceService, PositionAnnouncementsFollowTheLine) {
  Fixture f;
  f.Call(10);
  f.Advance(1 * kSecond);
  f.Call(11);
  f.rec.Take();
  f.Advance(29 * kSecond);
  f.voice->Tick();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"announce 10 1"}));  // 11 not due yet
  f.Advance(1 * kSecond);
  f.voice->Tick();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"announce 11 2"}));
  f.voice->OnCustomerHangUp(10);
  f.Flush();
  f.rec.Take();
  f.Advance(30 * kSecond);
  f.voice->Tick();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"announce 11 1"}));
}

// ---- supervisor monitoring ---------------------------------------------------------------------

struct MonitorFixture : Fixture {
  core::UserId sam = 0;
  MonitorFixture() {
    core::User user;
    user.login = "sam";
    user.name = "Sam";
    sam = *engine.CreateUser(user);
    core::Membership m;
    m.role = core::Role::kSupervisor;
    EXPECT_TRUE(engine.SetMember(tenant, sam, m).has_value());
    Flush();
  }
  // A call answered by alice, bridged.
  core::InteractionId Bridged(CallId id) {
    Available(alice);
    Call(id);
    voice->OnAgentAnswered(id, alice);
    Flush();
    rec.Take();
    for (const core::Interaction* ix : engine.Interactions(tenant, true))
      if (voice->CallOf(ix->id) == id) return ix->id;
    ADD_FAILURE() << "no interaction for call " << id;
    return 0;
  }
  // The monitor events so far: "started sam listen", "changed whisper", "ended stopped".
  std::vector<std::string> Monitors() {
    Flush();
    std::vector<std::string> out;
    for (const core::Event& e : log) {
      if (auto* s = std::get_if<core::MonitorStarted>(&e.body))
        out.push_back(fmt::format("started {} {}", engine.FindUser(s->supervisor)->login, core::Name(s->mode)));
      if (auto* c = std::get_if<core::MonitorChanged>(&e.body)) out.push_back(fmt::format("changed {}", core::Name(c->mode)));
      if (auto* d = std::get_if<core::MonitorEnded>(&e.body)) out.push_back(fmt::format("ended {}", d->reason));
    }
    return out;
  }
};

TEST(VoiceMonitor, RingsTheSupervisorJoinsOnAnswerChangesModeAndStops) {
  MonitorFixture f;
  const core::InteractionId ix = f.Bridged(20);
  // No registered phone: refused, nothing rung.
  auto st = f.voice->StartMonitor(ix, f.sam, core::MonitorMode::kListen);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kConflict);
  EXPECT_NE(st.error().message.find("not registered"), std::string::npos) << st.error().message;
  f.engine.SetPhone(f.sam, true);
  ASSERT_TRUE(f.voice->StartMonitor(ix, f.sam, core::MonitorMode::kListen).has_value());
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"monitor 20 sam listen"}));
  // Ringing: visible, not yet in the engine (the audit starts when the supervisor listens).
  ASSERT_TRUE(f.voice->MonitorOf(ix).has_value());
  EXPECT_FALSE(f.voice->MonitorOf(ix)->joined);
  EXPECT_EQ(f.engine.MonitorOf(f.tenant, ix), nullptr);
  // One supervisor at a time.
  st = f.voice->StartMonitor(ix, f.bob, core::MonitorMode::kBarge);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kConflict);

  f.voice->OnMonitorAnswered(20, f.sam);
  f.Flush();
  const core::Monitor* m = f.engine.MonitorOf(f.tenant, ix);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->supervisor, f.sam);
  EXPECT_EQ(m->mode, core::MonitorMode::kListen);
  EXPECT_TRUE(f.voice->MonitorOf(ix)->joined);
  EXPECT_EQ(f.voice->counters().monitors, 1u);

  ASSERT_TRUE(f.voice->ChangeMonitor(ix, core::MonitorMode::kWhisper).has_value());
  EXPECT_EQ(f.engine.MonitorOf(f.tenant, ix)->mode, core::MonitorMode::kWhisper);
  EXPECT_FALSE(f.voice->ChangeMonitor(ix, core::MonitorMode::kWhisper).has_value());  // already
  ASSERT_TRUE(f.voice->ChangeMonitor(ix, core::MonitorMode::kBarge).has_value());
  ASSERT_TRUE(f.voice->StopMonitor(ix).has_value());
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"monitor_mode 20 whisper", "monitor_mode 20 barge",
                                                    "stop_monitor 20"}));
  EXPECT_FALSE(f.voice->MonitorOf(ix).has_value());
  EXPECT_EQ(f.engine.MonitorOf(f.tenant, ix), nullptr);
  EXPECT_FALSE(f.voice->StopMonitor(ix).has_value());  // not monitored any more
  EXPECT_EQ(f.Monitors(), (std::vector<std::string>{"started sam listen", "changed whisper",
                                                    "changed barge", "ended stopped"}));
  // The supervisor's leg is a CDR leg of the call: rung, answered, ended by the API.
  auto cdrs = f.Cdrs();
  ASSERT_EQ(cdrs.size(), 7u) << fmt::format("{}", fmt::join(cdrs, " | "));
  EXPECT_TRUE(cdrs[4].ends_with(" supervisor")) << cdrs[4];
  EXPECT_TRUE(cdrs[5].starts_with("answered ")) << cdrs[5];
  EXPECT_TRUE(cdrs[6].ends_with(" answered stopped system")) << cdrs[6];
  // The call goes on untouched.
  EXPECT_EQ(f.Ix(20)->state, core::InteractionState::kConnected);
}

TEST(VoiceMonitor, SupervisorHangUpThenCallEndEndTheMonitor) {
  MonitorFixture f;
  f.engine.SetPhone(f.sam, true);
  const core::InteractionId ix = f.Bridged(21);
  ASSERT_TRUE(f.voice->StartMonitor(ix, f.sam, core::MonitorMode::kWhisper).has_value());
  f.voice->OnMonitorAnswered(21, f.sam);
  f.voice->OnMonitorEnded(21, f.sam, 0);  // the supervisor hangs up
  f.Flush();
  EXPECT_EQ(f.engine.MonitorOf(f.tenant, ix), nullptr);
  EXPECT_EQ(f.Ix(21)->state, core::InteractionState::kConnected);
  // The SIP side dropped the agent leg the monitor mixed (a leg replaced): the monitor ends.
  ASSERT_TRUE(f.voice->StartMonitor(ix, f.sam, core::MonitorMode::kListen).has_value());
  f.voice->OnMonitorAnswered(21, f.sam);
  f.voice->OnMonitorEnded(21, f.sam, kMonitorAgentLegEnded);
  EXPECT_FALSE(f.voice->MonitorOf(ix).has_value());
  // Again, and the customer hangs up: the call's end ends the monitor (its leg with the call).
  ASSERT_TRUE(f.voice->StartMonitor(ix, f.sam, core::MonitorMode::kBarge).has_value());
  f.voice->OnMonitorAnswered(21, f.sam);
  f.rec.Take();
  f.voice->OnCustomerHangUp(21);
  f.Flush();
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"hangup 21 BYE"}));
  EXPECT_EQ(f.engine.MonitorOf(f.tenant, ix), nullptr);
  EXPECT_EQ(f.Monitors(), (std::vector<std::string>{"started sam whisper", "ended supervisor_hung_up",
                                                    "started sam listen", "ended agent_leg_ended",
                                                    "started sam barge", "ended call_ended"}));
  EXPECT_EQ(f.engine.live_cdr_legs(), 0u);
}

TEST(VoiceMonitor, NoAnswerTransferAndCallsThatCannotBeMonitored) {
  MonitorFixture f;
  f.engine.SetPhone(f.sam, true);
  f.Available(f.alice);
  f.Call(22);
  const core::InteractionId waiting = f.Ix(22)->id;  // the only call so far
  f.voice->OnAgentFailed(22, f.alice, 486);  // back in the queue: not connected
  f.Flush();
  auto st = f.voice->StartMonitor(waiting, f.sam, core::MonitorMode::kListen);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kConflict);
  EXPECT_EQ(f.voice->StartMonitor(12345, f.sam, core::MonitorMode::kListen).error().code,
            ErrorCode::kConflict);  // no call
  f.voice->OnCustomerHangUp(22);
  f.Flush();

  const core::InteractionId ix = f.Bridged(23);
  EXPECT_EQ(f.voice->StartMonitor(ix, f.alice, core::MonitorMode::kListen).error().code,
            ErrorCode::kConflict);  // the call's own agent
  // The supervisor's phone is busy: the monitor is gone, a CDR leg says why.
  ASSERT_TRUE(f.voice->StartMonitor(ix, f.sam, core::MonitorMode::kListen).has_value());
  f.voice->OnMonitorEnded(23, f.sam, 486);
  EXPECT_FALSE(f.voice->MonitorOf(ix).has_value());
  auto cdrs = f.Cdrs();
  EXPECT_TRUE(cdrs.back().ends_with(" busy 486 supervisor")) << cdrs.back();
  // A late answer of a monitor that ended is dropped.
  f.rec.Take();
  f.voice->OnMonitorAnswered(23, f.sam);
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"stop_monitor 23"}));

  // Transfer to a queue: the monitor follows the agent leg and ends (Requeue ends its leg).
  ASSERT_TRUE(f.voice->StartMonitor(ix, f.sam, core::MonitorMode::kListen).has_value());
  f.voice->OnMonitorAnswered(23, f.sam);
  f.Flush();
  f.rec.Take();
  ASSERT_TRUE(f.engine.Transfer(f.alice, ix, f.queue).has_value());
  f.Flush();
  EXPECT_EQ(f.rec.Take().front(), "requeue 23");
  EXPECT_EQ(f.engine.MonitorOf(f.tenant, ix), nullptr);
  EXPECT_EQ(f.Monitors().back(), "ended transferred");
}

}  // namespace
}  // namespace homeline::sip
