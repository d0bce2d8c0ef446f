// SIP credentials in the engine: what SetSipCredential accepts, that it is an event a replay
// rebuilds, and that removing one leaves nothing behind. (Phones and routing are scenario
// tests: tests/scenarios/voice_requires_phone.scn.)

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/engine.h"
#include "core/event_codec.h"
#include "replay_through_codec.h"

namespace homeline::core {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;
const std::string kHa1 = "5f4dcc3b5aa765d61d8327deb882cf99";

struct Fixture {
  Engine engine;
  UserId ann = 0;
  std::vector<Event> log;

  Fixture() {
    engine.SetTime(kT0);
    User u;
    u.login = "ann";
    ann = *engine.CreateUser(u);
    Drain();
  }
  void Drain() {
    for (Event& e : engine.TakeOutbox()) log.push_back(std::move(e));
  }
  std::unique_ptr<Engine> Replayed() {
    Drain();
    return ReplayThroughCodec(log);
  }
};

TEST(EngineSip, CredentialIsAnEventAndReplays) {
  Fixture f;
  EXPECT_EQ(f.engine.SipHa1(f.ann), nullptr);
  ASSERT_TRUE(f.engine.SetSipCredential(f.ann, kHa1).has_value());
  ASSERT_NE(f.engine.SipHa1(f.ann), nullptr);
  EXPECT_EQ(*f.engine.SipHa1(f.ann), kHa1);
  f.Drain();
  ASSERT_EQ(f.log.size(), 2u);
  EXPECT_STREQ(TypeName(f.log.back().body), "user.sip_set");
  EXPECT_EQ(f.log.back().tenant, 0u);  // users are platform-level
  auto again = f.Replayed();
  ASSERT_NE(again->SipHa1(f.ann), nullptr);
  EXPECT_EQ(*again->SipHa1(f.ann), kHa1);

  ASSERT_TRUE(f.engine.SetSipCredential(f.ann, "").has_value());  // removed
  EXPECT_EQ(f.engine.SipHa1(f.ann), nullptr);
  EXPECT_TRUE(f.engine.sip_credentials().empty());
  EXPECT_EQ(f.Replayed()->SipHa1(f.ann), nullptr);
}

TEST(EngineSip, BadCredentialsAreRefusedAndEmitNothing) {
  Fixture f;
  const std::vector<std::string> bad{"abc", kHa1 + "0", "5F4DCC3B5AA765D61D8327DEB882CF99",
                                     "5f4dcc3b5aa765d61d8327deb882cfzz"};
  for (const std::string& h : bad) {
    auto st = f.engine.SetSipCredential(f.ann, h);
    ASSERT_FALSE(st.has_value()) << h;
    EXPECT_EQ(st.error().code, ErrorCode::kBadRequest);
  }
  auto none = f.engine.SetSipCredential(f.ann + 1000, kHa1);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(f.engine.TakeOutbox().empty());
}

TEST(EngineSip, PhoneIsNotAnEvent) {
  Fixture f;
  f.engine.SetPhone(f.ann, true);
  EXPECT_TRUE(f.engine.AgentView(f.ann).phone);
  EXPECT_TRUE(f.engine.TakeOutbox().empty());
  f.engine.SetPhone(f.ann, false);
  EXPECT_FALSE(f.engine.AgentView(f.ann).phone);
  f.engine.SetPhone(f.ann + 1000, true);  // unknown user: ignored
}

}  // namespace
}  // namespace homeline::core
