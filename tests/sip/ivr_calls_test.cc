// IVR on live calls, engine side: VoiceService drives core::IvrStart/IvrStep for a caller in a
// menu (a real engine with real menus, a recorder standing in for the SIP side), and the pure
// parsing of SIP INFO DTMF bodies. The same flows run with a real caller in
// tests/integration/test_ivr.py.

#include "adapters/sip/ivr_calls.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "adapters/sip/voice_service.h"
#include "voice_fixture.h"

namespace homeline::sip {
namespace {

TEST(DtmfInfo, RelayAndPlainBodies) {
  EXPECT_EQ(ParseDtmfInfo("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n"), '5');
  EXPECT_EQ(ParseDtmfInfo("Application/DTMF-Relay; charset=x", "duration=100\r\nsignal = #\r\n"), '#');
  EXPECT_EQ(ParseDtmfInfo("application/dtmf-relay", "Signal=10\r\n"), '*');
  EXPECT_EQ(ParseDtmfInfo("application/dtmf-relay", "Signal=11"), '#');
  EXPECT_EQ(ParseDtmfInfo("application/dtmf", "7\r\n"), '7');
  EXPECT_EQ(ParseDtmfInfo("application/dtmf", "a"), 'A');
  EXPECT_EQ(ParseDtmfInfo("application/dtmf-relay", "Signal=55\r\n"), std::nullopt);
  EXPECT_EQ(ParseDtmfInfo("application/dtmf-relay", "Duration=160\r\n"), std::nullopt);
  EXPECT_EQ(ParseDtmfInfo("application/dtmf", "x"), std::nullopt);
  EXPECT_EQ(ParseDtmfInfo("text/plain", "Signal=5"), std::nullopt);
  EXPECT_TRUE(IsDtmfInfoType("application/dtmf-relay"));
  EXPECT_FALSE(IsDtmfInfoType("application/media_control+xml"));
}

TEST(DtmfInfo, PromptNamesFollowTheText) {
  EXPECT_EQ(IvrPromptName("Press one."), IvrPromptName("Press one."));
  EXPECT_NE(IvrPromptName("Press one."), IvrPromptName("Press two."));
  EXPECT_EQ(IvrPromptName("x").rfind("ivr_", 0), 0u);
  EXPECT_EQ(IvrPromptName("x").size(), 20u);
}

struct Fixture : voicetest::VoiceWorld {
  core::QueueId support = 0, sales = 0;
  core::IvrMenuId main = 0, sub = 0;

  Fixture() {
    support = AddQueue("support");
    sales = AddQueue("sales");
    core::IvrMenu s;
    s.tenant = tenant;
    s.name = "sub";
    s.prompt_file = "sub.wav";
    s.options['1'] = {core::IvrActionKind::kQueue, sales, {}};
    sub = *engine.CreateIvrMenu(s);
    core::IvrMenu m;
    m.tenant = tenant;
    m.name = "main";
    m.prompt_text = "Press 1 for support.";
    m.timeout = 5 * kSecond;
    m.max_retries = 1;
    m.options['1'] = {core::IvrActionKind::kQueue, support, {}};
    m.options['2'] = {core::IvrActionKind::kMenu, sub, {}};
    m.options['3'] = {core::IvrActionKind::kNumber, 0, "+15550199"};
    m.options['#'] = {core::IvrActionKind::kHangUp, 0, {}};
    main = *engine.CreateIvrMenu(m);
    Start([this](const core::Engine&, const InboundCall&) -> Result<InboundRoute> {
      InboundRoute r;
      r.tenant = tenant;
      r.ivr = main;
      return r;
    });
    voice->SetPromptDir("/p");
  }
  void Call(CallId id) { VoiceWorld::Call(id, "+15550101"); }
  void Key(CallId id, std::uint64_t round, char d) {
    voice->OnIvrInput(id, round, core::IvrInput::Digit(d));
    Flush();
  }
  void Timeout(CallId id, std::uint64_t round) {
    voice->OnIvrInput(id, round, core::IvrInput::Timeout());
    Flush();
  }
  std::vector<const core::Interaction*> Calls() { return engine.Interactions(tenant, false); }
};

TEST(IvrCalls, KeyQueuesTheCallInTheChosenQueue) {
  Fixture f;
  f.Call(7);
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"menu 7 1 [Press 1 for support.] [] 5000"}));
  EXPECT_TRUE(f.Calls().empty());  // no interaction while in the menu
  EXPECT_EQ(f.voice->ivr_calls(), 1u);
  f.Key(7, 1, '1');
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"answer 7"}));
  ASSERT_EQ(f.Calls().size(), 1u);
  EXPECT_EQ(f.Calls()[0]->queue, f.support);
  EXPECT_EQ(f.Calls()[0]->state, core::InteractionState::kQueued);
  EXPECT_EQ(f.Calls()[0]->customer().phone, "+15557654321");
  EXPECT_EQ(f.voice->ivr_calls(), 0u);
  EXPECT_EQ(f.voice->live_calls(), 1u);
  // The call is now an ordinary queued call: hanging up abandons it.
  f.voice->OnCustomerHangUp(7);
  f.Flush();
  EXPECT_EQ(f.Calls()[0]->state, core::InteractionState::kAbandoned);
}

TEST(IvrCalls, SubMenuPlaysItsFileThenQueues) {
  Fixture f;
  f.Call(1);
  f.Key(1, 1, '2');
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"menu 1 1 [Press 1 for support.] [] 5000",
                                                    "menu 1 2 [] [/p/sub.wav] 5000"}));
  f.Key(1, 1, '1');  // a stale input of the first round: ignored
  EXPECT_TRUE(f.rec.Take().empty());
  f.Key(1, 2, '1');
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"answer 1"}));
  ASSERT_EQ(f.Calls().size(), 1u);
  EXPECT_EQ(f.Calls()[0]->queue, f.sales);
}

TEST(IvrCalls, InvalidKeyAndTimeoutRetryThenHangUp) {
  Fixture f;
  f.Call(1);
  f.Key(1, 1, '9');  // no option 9: the menu again (the one retry)
  f.Timeout(1, 2);   // then no key: retries exhausted, on_failure is none: hang up
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"menu 1 1 [Press 1 for support.] [] 5000",
                                                    "menu 1 2 [Press 1 for support.] [] 5000",
                                                    "hangup 1 ivr: failed"}));
  EXPECT_TRUE(f.Calls().empty());
  EXPECT_EQ(f.voice->live_calls(), 0u);
}

TEST(IvrCalls, HangUpOptionAndTransferWithoutOutboundHangUp) {
  Fixture f;
  f.Call(1);
  f.Key(1, 1, '#');
  f.Call(2);
  f.Key(2, 1, '3');
  auto orders = f.rec.Take();
  ASSERT_EQ(orders.size(), 4u);
  EXPECT_EQ(orders[1], "hangup 1 ivr: hangup_option");
  EXPECT_EQ(orders[3], "hangup 2 no trunk of the tenant is set up for outbound calls (outbound.host)");
  EXPECT_TRUE(f.Calls().empty());
  EXPECT_EQ(f.voice->live_calls(), 0u);
}

TEST(IvrCalls, TransferOptionPutsTheCallerThroughTheOutboundTrunk) {
  Fixture f;
  core::Trunk inbound_only;  // the first trunk has no outbound side: skipped
  inbound_only.tenant = f.tenant;
  inbound_only.name = "in";
  inbound_only.sources = {"192.0.2.1"};
  ASSERT_TRUE(f.engine.CreateTrunk(inbound_only));
  core::Trunk t;
  t.tenant = f.tenant;
  t.name = "carrier";
  t.outbound_host = "198.51.100.7";
  t.outbound_port = 5070;
  t.outbound_transport = core::SipTransport::kTcp;
  t.outbound_user = "acme";
  t.outbound_password = "pw";
  t.caller_id = "+15550100";
  ASSERT_TRUE(f.engine.CreateTrunk(t));
  f.Call(2);
  f.Key(2, 1, '3');
  auto orders = f.rec.Take();
  ASSERT_EQ(orders.size(), 2u);
  EXPECT_EQ(orders[1], "dial 2 +15550199 198.51.100.7:5070 tcp acme/pw from +15550100");
  EXPECT_EQ(f.voice->live_calls(), 1u);  // the caller and the number, no interaction
  EXPECT_TRUE(f.Calls().empty());
  f.voice->OnNumberAnswered(2);
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"bridge 2"}));
  f.voice->OnNumberHangUp(2);
  EXPECT_EQ(f.voice->live_calls(), 0u);
  EXPECT_TRUE(f.rec.Take().empty());  // the SIP side ended the call itself
  // CDR: the customer leg (IVR) and the transfer leg, both answered and ended.
  auto events = f.engine.TakeOutbox();
  int ended = 0;
  for (const auto& e : events)
    if (const auto* b = std::get_if<core::CdrLegEnded>(&e.body)) {
      ++ended;
      EXPECT_EQ(b->result, core::CdrResult::kAnswered);
    }
  EXPECT_EQ(ended, 2);
}

TEST(IvrCalls, TransferOptionToABusyNumberHangsUp) {
  Fixture f;
  core::Trunk t;
  t.tenant = f.tenant;
  t.name = "carrier";
  t.outbound_host = "198.51.100.7";
  ASSERT_TRUE(f.engine.CreateTrunk(t));
  f.Call(2);
  f.Key(2, 1, '3');
  (void)f.rec.Take();
  (void)f.engine.TakeOutbox();
  f.voice->OnNumberFailed(2, 486);
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"hangup 2 486"}));
  EXPECT_EQ(f.voice->live_calls(), 0u);
  bool busy = false;
  for (const auto& e : f.engine.TakeOutbox())
    if (const auto* b = std::get_if<core::CdrLegEnded>(&e.body))
      busy = busy || (b->result == core::CdrResult::kBusy && b->cause == "486");
  EXPECT_TRUE(busy);
}

TEST(IvrCalls, CallerHangingUpInTheMenuLeavesNoInteraction) {
  Fixture f;
  f.Call(1);
  f.voice->OnCustomerHangUp(1);
  f.Key(1, 1, '1');  // late: the call is gone
  EXPECT_EQ(f.rec.Take(), (std::vector<std::string>{"menu 1 1 [Press 1 for support.] [] 5000"}));
  EXPECT_TRUE(f.Calls().empty());
  EXPECT_EQ(f.voice->live_calls(), 0u);
  EXPECT_EQ(f.voice->counters().abandoned, 0u);
}

}  // namespace
}  // namespace homeline::sip
