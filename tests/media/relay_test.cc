// The relay on real UDP sockets over loopback: two legs bridged, packets both ways, latching to
// a source that is not the SDP address, transcoding, and closing.

#include <gtest/gtest.h>

#include <chrono>

#include "adapters/media/g711.h"
#include "adapters/media/prompts.h"
#include "media_test_util.h"

namespace homeline::media {
namespace {

using testing::Peer;
using testing::Received;
using testing::RtpPacket;

std::vector<std::uint8_t> Payload(std::uint8_t seed) {
  std::vector<std::uint8_t> p(160);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(seed + i * 7);
  return p;
}

// Commands are applied asynchronously: send every 20 ms until the far end gets one.
std::optional<Received> SendUntilReceived(Peer& from, std::uint16_t to_port, Peer& far,
                                          const std::vector<std::uint8_t>& packet) {
  for (int i = 0; i < 100; ++i) {
    from.SendTo(to_port, packet);
    if (auto r = far.Receive(20)) return r;
  }
  return std::nullopt;
}

struct Call {
  std::unique_ptr<MediaEngine> engine;
  LegInfo a, b;
};

Call Bridged(Peer& customer, Endpoint b_sdp, Codec a_codec = Codec::kPcmu,
             Codec b_codec = Codec::kPcmu) {
  Call c;
  auto engine = MediaEngine::Start(testing::TestOptions());
  EXPECT_TRUE(engine.has_value()) << engine.error().message;
  c.engine = std::move(*engine);
  c.a = *c.engine->OpenLeg();
  c.b = *c.engine->OpenLeg();
  EXPECT_NE(c.a.local_port, c.b.local_port);
  c.engine->SetRemote(c.a.id, customer.endpoint(), a_codec, 101);
  c.engine->SetRemote(c.b.id, b_sdp, b_codec, 96);
  c.engine->Bridge(c.a.id, c.b.id);
  return c;
}

TEST(MediaRelay, ForwardsPayloadBothWaysAndLatchesToTheRealSource) {
  Peer customer, agent, sdp_liar;
  // The agent's SDP names an address it does not send from (baresip on 127.0.0.1 advertises
  // eth0): media must go where its packets come from.
  Call c = Bridged(customer, sdp_liar.endpoint());

  auto to_customer = SendUntilReceived(agent, c.b.local_port, customer,
                                       RtpPacket(0, 1, 160, 0xA6E47, Payload(3)));
  ASSERT_TRUE(to_customer.has_value());
  EXPECT_EQ(to_customer->payload(), Payload(3));
  EXPECT_EQ(to_customer->rtp.ssrc, 0xA6E47u);  // raw relay: the sender's stream
  EXPECT_EQ(to_customer->from_port, c.a.local_port);  // symmetric: from the leg's own port

  auto to_agent = SendUntilReceived(customer, c.a.local_port, agent,
                                    RtpPacket(0, 7, 1120, 0xC0FFEE, Payload(9)));
  ASSERT_TRUE(to_agent.has_value());
  EXPECT_EQ(to_agent->payload(), Payload(9));
  EXPECT_EQ(to_agent->rtp.seq, 7);
  EXPECT_EQ(to_agent->from_port, c.b.local_port);
  EXPECT_FALSE(sdp_liar.Receive(50).has_value());

  // Many packets each way, none lost on loopback.
  for (std::uint16_t s = 10; s < 60; ++s) {
    customer.SendTo(c.a.local_port, RtpPacket(0, s, s * 160u, 1, Payload(static_cast<std::uint8_t>(s))));
    agent.SendTo(c.b.local_port, RtpPacket(0, s, s * 160u, 2, Payload(static_cast<std::uint8_t>(s + 1))));
  }
  int got_agent = 0, got_customer = 0;
  while (auto r = agent.Receive(1000)) {
    if (r->rtp.seq >= 10) {
      EXPECT_EQ(r->payload(), Payload(static_cast<std::uint8_t>(r->rtp.seq)));
    }
    got_agent += r->rtp.seq >= 10;
    if (got_agent == 50) break;
  }
  while (auto r = customer.Receive(1000)) {
    if (r->rtp.seq >= 10) {
      EXPECT_EQ(r->payload(), Payload(static_cast<std::uint8_t>(r->rtp.seq + 1)));
    }
    got_customer += r->rtp.seq >= 10;
    if (got_customer == 50) break;
  }
  EXPECT_EQ(got_agent, 50);
  EXPECT_EQ(got_customer, 50);
  // The counters move just after the send that delivered the packet.
  Stats s = c.engine->stats();
  for (int i = 0; i < 100 && s.packets_relayed < 102; ++i, usleep(10000)) s = c.engine->stats();
  EXPECT_EQ(s.legs, 2u);
  EXPECT_GE(s.packets_relayed, 102u);
}

TEST(MediaRelay, LatchedLegIgnoresOtherSources) {
  Peer customer, agent, intruder;
  Call c = Bridged(customer, agent.endpoint());
  ASSERT_TRUE(SendUntilReceived(agent, c.b.local_port, customer,
                                RtpPacket(0, 1, 160, 5, Payload(1))).has_value());
  customer.Drain();
  // Another source on the agent leg's port within 2 s of the agent's last packet: dropped.
  intruder.SendTo(c.b.local_port, RtpPacket(0, 2, 320, 6, Payload(2)));
  EXPECT_FALSE(customer.Receive(100).has_value());
  // And media for the agent still goes to the agent, not to the intruder.
  ASSERT_TRUE(SendUntilReceived(customer, c.a.local_port, agent,
                                RtpPacket(0, 3, 480, 7, Payload(4))).has_value());
  EXPECT_FALSE(intruder.Receive(50).has_value());
}

TEST(MediaRelay, RelatchesAfterTheLatchedSourceWentQuiet) {
  // NAT rebinding: the agent's router gives its media a new public port mid-call.
  Peer customer, agent, agent_after_rebind;
  Call c = Bridged(customer, agent.endpoint());
  ASSERT_TRUE(SendUntilReceived(agent, c.b.local_port, customer,
                                RtpPacket(0, 1, 160, 5, Payload(1))).has_value());
  usleep(2'300'000);  // > 2 s of silence from the latched source (checked once a second)
  customer.Drain();    // extra copies of the first packet
  auto r = SendUntilReceived(agent_after_rebind, c.b.local_port, customer,
                             RtpPacket(0, 2, 320, 5, Payload(2)));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->payload(), Payload(2));
  auto back = SendUntilReceived(customer, c.a.local_port, agent_after_rebind,
                                RtpPacket(0, 3, 480, 9, Payload(3)));
  ASSERT_TRUE(back.has_value());
  EXPECT_FALSE(agent.Receive(50).has_value());
  EXPECT_EQ(c.engine->stats().relatches, 1u);
}

TEST(MediaRelay, TranscodesWhenTheLegsCodecsDiffer) {
  Peer customer, agent;
  Call c = Bridged(customer, agent.endpoint(), Codec::kPcmu, Codec::kPcma);
  auto r = SendUntilReceived(customer, c.a.local_port, agent, RtpPacket(0, 1, 160, 5, Payload(11)));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->rtp.payload_type, 8);
  std::vector<std::uint8_t> expected = Payload(11);
  g711::UlawToAlaw(expected.data(), expected.size());
  EXPECT_EQ(r->payload(), expected);
  auto back = SendUntilReceived(agent, c.b.local_port, customer, RtpPacket(8, 1, 160, 6, Payload(20)));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->rtp.payload_type, 0);
  std::vector<std::uint8_t> expected_back = Payload(20);
  g711::AlawToUlaw(expected_back.data(), expected_back.size());
  EXPECT_EQ(back->payload(), expected_back);
  EXPECT_GE(c.engine->stats().packets_transcoded, 2u);
}

TEST(MediaRelay, UnbridgeAndCloseStopTheRelayAndFreeThePort) {
  Peer customer, agent;
  Call c = Bridged(customer, agent.endpoint());
  ASSERT_TRUE(SendUntilReceived(customer, c.a.local_port, agent, RtpPacket(0, 1, 160, 5, Payload(1))).has_value());
  c.engine->Unbridge(c.b.id);
  // Nothing more reaches the agent once the unbridge is applied.
  for (int i = 0; i < 50 && agent.Receive(30); ++i) customer.SendTo(c.a.local_port, RtpPacket(0, 2, 320, 5, Payload(2)));
  customer.SendTo(c.a.local_port, RtpPacket(0, 3, 480, 5, Payload(3)));
  EXPECT_FALSE(agent.Receive(100).has_value());

  c.engine->CloseLeg(c.a.id);
  c.engine->CloseLeg(c.a.id);               // twice: a no-op
  c.engine->Bridge(c.a.id, c.b.id);         // a closed leg: a no-op
  c.engine->SetRemote(c.a.id, customer.endpoint(), Codec::kPcmu, -1);
  for (int i = 0; i < 100 && c.engine->stats().legs != 1; ++i) usleep(10000);
  EXPECT_EQ(c.engine->stats().legs, 1u);
  // The freed port goes to the back of the pool: the next legs get other ports.
  auto next = c.engine->OpenLeg();
  ASSERT_TRUE(next.has_value());
  EXPECT_NE(next->local_port, c.a.local_port);
}

TEST(MediaRelay, PortRangeExhaustionIsAnError) {
  Options o = testing::TestOptions();
  o.port_max = static_cast<std::uint16_t>(o.port_min + 4);  // two even ports
  auto engine = MediaEngine::Start(o);
  ASSERT_TRUE(engine.has_value());
  // Two ports at most (fewer if another program holds one): then a clear refusal.
  int opened = 0;
  Result<LegInfo> leg;
  while ((leg = (*engine)->OpenLeg()).has_value() && opened < 10) ++opened;
  EXPECT_LE(opened, 2);
  ASSERT_FALSE(leg.has_value());
  EXPECT_EQ(leg.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ((*engine)->stats().ports_exhausted, 1u);
}

TEST(MediaRelay, BadOptionsAreRefused) {
  Options o = testing::TestOptions();
  o.bind_address = "not an address";
  EXPECT_FALSE(MediaEngine::Start(o).has_value());
  o = testing::TestOptions();
  o.threads = 0;
  EXPECT_FALSE(MediaEngine::Start(o).has_value());
}

TEST(MediaRelay, LegsOpenedNearEachOtherBridgeAcrossSeveralThreads) {
  Options o = testing::TestOptions();
  o.threads = 3;
  auto engine = MediaEngine::Start(o);
  ASSERT_TRUE(engine.has_value());
  Peer customer, agent;
  for (int call = 0; call < 3; ++call) {
    LegInfo a = *(*engine)->OpenLeg();
    LegInfo b = *(*engine)->OpenLegNear(a.id);
    (*engine)->SetRemote(a.id, customer.endpoint(), Codec::kPcmu, -1);
    (*engine)->SetRemote(b.id, agent.endpoint(), Codec::kPcmu, -1);
    (*engine)->Bridge(a.id, b.id);
    auto r = SendUntilReceived(customer, a.local_port, agent,
                               RtpPacket(0, 1, 160, 5, Payload(static_cast<std::uint8_t>(call))));
    ASSERT_TRUE(r.has_value()) << "call " << call;
    EXPECT_EQ(r->payload(), Payload(static_cast<std::uint8_t>(call)));
    (*engine)->CloseLeg(a.id);
    (*engine)->CloseLeg(b.id);
    usleep(50000);  // retries still in flight
    agent.Drain();
  }
}

// An IPv6 phone bridged with an IPv4 one: each leg's socket is of its peer's family (no dual
// stack), latching and the connected fast path work on both, and a remote of the other family
// is refused rather than sent to.
TEST(MediaRelay, BridgesAnIpv6LegWithAnIpv4Leg) {
  Options o = testing::TestOptions();
  o.bind_address6 = "::1";
  auto engine = MediaEngine::Start(o);
  ASSERT_TRUE(engine.has_value()) << engine.error().message;
  Peer customer(/*ipv6=*/true), agent, v4_stranger;
  LegInfo a = *(*engine)->OpenLeg(/*ipv6=*/true);
  LegInfo b = *(*engine)->OpenLegNear(a.id);
  EXPECT_EQ(a.address, "::1");
  EXPECT_EQ(b.address, "127.0.0.1");
  (*engine)->SetRemote(a.id, {"[::1]", customer.port()}, Codec::kPcmu, 101);
  (*engine)->SetRemote(b.id, agent.endpoint(), Codec::kPcma, 101);
  (*engine)->Bridge(a.id, b.id);
  auto to_agent = SendUntilReceived(customer, a.local_port, agent,
                                    RtpPacket(0, 1, 160, 0x6, Payload(5)));
  ASSERT_TRUE(to_agent.has_value());
  std::vector<std::uint8_t> alaw = Payload(5);
  g711::UlawToAlaw(alaw.data(), alaw.size());
  EXPECT_EQ(to_agent->payload(), alaw);  // transcoded on the way
  EXPECT_EQ(to_agent->from_port, b.local_port);
  auto to_customer = SendUntilReceived(agent, b.local_port, customer,
                                       RtpPacket(8, 2, 320, 0x4, Payload(6)));
  ASSERT_TRUE(to_customer.has_value());
  EXPECT_EQ(to_customer->from_port, a.local_port);
  EXPECT_EQ(to_customer->rtp.ssrc, 0x4u);
  // Latched and connected both ways: many packets, none lost.
  for (std::uint16_t s = 10; s < 40; ++s) {
    customer.SendTo(a.local_port, RtpPacket(0, s, s * 160u, 1, Payload(1)));
    agent.SendTo(b.local_port, RtpPacket(8, s, s * 160u, 2, Payload(2)));
  }
  int got_agent = 0, got_customer = 0;
  while (got_agent < 30) {
    auto r = agent.Receive(1000);
    if (!r) break;
    got_agent += r->rtp.seq >= 10;
  }
  while (got_customer < 30) {
    auto r = customer.Receive(1000);
    if (!r) break;
    got_customer += r->rtp.seq >= 10;
  }
  EXPECT_EQ(got_agent, 30);
  EXPECT_EQ(got_customer, 30);

  // The IPv6 leg told to send to an IPv4 address (and the IPv4 leg to an IPv6 one) sends
  // nowhere: a prompt played on them goes out on neither.
  LegInfo c = *(*engine)->OpenLeg(/*ipv6=*/true);
  LegInfo d = *(*engine)->OpenLeg();
  Peer v6_stranger(/*ipv6=*/true);
  (*engine)->SetRemote(c.id, v4_stranger.endpoint(), Codec::kPcmu, -1);
  (*engine)->SetRemote(d.id, v6_stranger.endpoint(), Codec::kPcmu, -1);
  testing::TempDir dir;
  ASSERT_TRUE(WriteWav(dir.File("tone.wav"), testing::Tone(400, 1600, 8000)).has_value());
  ASSERT_TRUE((*engine)->Play(c.id, {{dir.File("tone.wav")}}, true).has_value());
  ASSERT_TRUE((*engine)->Play(d.id, {{dir.File("tone.wav")}}, true).has_value());
  EXPECT_FALSE(v4_stranger.Receive(200).has_value());
  EXPECT_FALSE(v6_stranger.Receive(0).has_value());
  Stats st = (*engine)->stats();
  EXPECT_EQ(st.send_errors, 0u);
  EXPECT_GT(st.dropped_no_remote, 0u);
  // Told where to go in their own family, both play.
  (*engine)->SetRemote(c.id, v6_stranger.endpoint(), Codec::kPcmu, -1);
  (*engine)->SetRemote(d.id, {"::ffff:127.0.0.1", v4_stranger.port()}, Codec::kPcmu, -1);
  EXPECT_TRUE(v6_stranger.Receive(500).has_value());
  EXPECT_TRUE(v4_stranger.Receive(500).has_value());  // a v4-mapped address is IPv4
}

}  // namespace
}  // namespace homeline::media

namespace homeline::media {
namespace {

TEST(MediaRelay, SilentLegIsReportedOnceAsTimedOut) {
  Options o = testing::TestOptions();
  o.rtp_timeout = 300;  // checked once a second
  auto engine = MediaEngine::Start(o);
  ASSERT_TRUE(engine.has_value());
  testing::EventLog events;
  (*engine)->SetSink(events.Sink());
  Peer talking, silent;
  LegInfo live = *(*engine)->OpenLeg();
  LegInfo dead = *(*engine)->OpenLeg();
  (*engine)->SetRemote(live.id, talking.endpoint(), Codec::kPcmu, -1);
  (*engine)->SetRemote(dead.id, silent.endpoint(), Codec::kPcmu, -1);
  auto start = std::chrono::steady_clock::now();
  std::optional<MediaEvent> e;
  for (int i = 0; i < 150 && !e; ++i) {  // the live leg keeps talking
    talking.SendTo(live.local_port, RtpPacket(0, static_cast<std::uint16_t>(i), i * 160u, 1, Payload(1)));
    e = events.Wait(MediaEvent::Kind::kRtpTimeout, 20);
  }
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->leg, dead.id);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500));
  for (int i = 0; i < 60; ++i) {
    talking.SendTo(live.local_port, RtpPacket(0, static_cast<std::uint16_t>(200 + i), i * 160u, 1, Payload(1)));
    usleep(20000);
  }
  EXPECT_EQ(events.Count(MediaEvent::Kind::kRtpTimeout), 0u);  // once, and never the live leg
}

}  // namespace
}  // namespace homeline::media
