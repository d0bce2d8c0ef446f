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
  EXPECT_EQ(orders[3], "hangup 2 transfer to an external number is not supported yet");
  EXPECT_TRUE(f.Calls().empty());
  EXPECT_EQ(f.voice->live_calls(), 0u);
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
