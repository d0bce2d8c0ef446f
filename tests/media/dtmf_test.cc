// RFC 4733 telephone-events: reported once per event through the sink (retransmissions and
// end packets are not new digits), forwarded across a bridge with the peer's payload type.

#include <gtest/gtest.h>

#include "adapters/media/prompts.h"
#include "media_test_util.h"

namespace homeline::media {
namespace {

using testing::EventLog;
using testing::Peer;
using testing::RtpPacket;

// One event as a phone sends it: start (marker), two updates, three end packets.
std::vector<std::vector<std::uint8_t>> Event(std::uint8_t pt, std::uint8_t code, std::uint32_t ts,
                                             std::uint16_t& seq) {
  std::vector<std::vector<std::uint8_t>> out;
  for (int i = 0; i < 6; ++i) {
    bool end = i >= 3;
    std::uint16_t duration = static_cast<std::uint16_t>(160 * std::min(i + 1, 4));
    std::vector<std::uint8_t> payload = {code, static_cast<std::uint8_t>((end ? 0x80 : 0) | 10),
                                         static_cast<std::uint8_t>(duration >> 8),
                                         static_cast<std::uint8_t>(duration)};
    out.push_back(RtpPacket(pt, seq++, ts, 0x1234, payload, i == 0));
  }
  return out;
}

TEST(MediaDtmf, EachEventIsReportedOnceAndForwardedWithThePeersPayloadType) {
  auto engine = MediaEngine::Start(testing::TestOptions());
  ASSERT_TRUE(engine.has_value());
  EventLog events;
  (*engine)->SetSink(events.Sink());
  Peer customer, agent;
  LegInfo a = *(*engine)->OpenLeg();
  LegInfo b = *(*engine)->OpenLeg();
  (*engine)->SetRemote(a.id, customer.endpoint(), Codec::kPcmu, 101);
  (*engine)->SetRemote(b.id, agent.endpoint(), Codec::kPcmu, 96);
  (*engine)->Bridge(a.id, b.id);
  // Audio through first: then the commands above are applied.
  std::vector<std::uint8_t> audio(160, 0xFF);
  bool through = false;
  for (int i = 0; i < 100 && !through; ++i) {
    customer.SendTo(a.local_port, RtpPacket(0, 1, 0, 0x1234, audio));
    through = agent.Receive(20).has_value();
  }
  ASSERT_TRUE(through);
  agent.Drain();

  std::uint16_t seq = 2;
  for (auto& p : Event(101, 5, 1000, seq)) customer.SendTo(a.local_port, p);
  for (auto& p : Event(101, 11, 2000, seq)) customer.SendTo(a.local_port, p);
  for (auto& p : Event(101, 5, 3000, seq)) customer.SendTo(a.local_port, p);  // "5" again
  std::string digits;
  for (int i = 0; i < 3; ++i) {
    auto e = events.Wait(MediaEvent::Kind::kDtmf, 1000, a.id);
    ASSERT_TRUE(e.has_value()) << "after " << digits;
    digits += e->digit;
  }
  EXPECT_EQ(digits, "5#5");
  EXPECT_FALSE(events.Wait(MediaEvent::Kind::kDtmf, 100).has_value());
  // The agent got all 18 packets as telephone-event with its own payload type.
  int forwarded = 0;
  while (forwarded < 18) {
    auto r = agent.Receive(1000);
    if (!r) break;
    EXPECT_EQ(r->rtp.payload_type, 96);
    ++forwarded;
  }
  EXPECT_FALSE(agent.Receive(50).has_value());
  EXPECT_EQ(forwarded, 18);
  EXPECT_EQ((*engine)->stats().dtmf_digits, 3u);
}

TEST(MediaDtmf, UnbridgedLegReportsDigitsAndIgnoresOtherPayloadTypes) {
  testing::TempDir dir;
  ASSERT_TRUE(WriteWav(dir.File("short.wav"), testing::Tone(400, 160, 8000)).has_value());
  auto engine = MediaEngine::Start(testing::TestOptions());
  ASSERT_TRUE(engine.has_value());
  EventLog events;
  (*engine)->SetSink(events.Sink());
  Peer caller;
  LegInfo leg = *(*engine)->OpenLeg();  // an IVR: nobody bridged yet
  (*engine)->SetRemote(leg.id, caller.endpoint(), Codec::kPcma, 101);
  ASSERT_TRUE((*engine)->Play(leg.id, {{dir.File("short.wav")}}, false).has_value());
  ASSERT_TRUE(caller.Receive(1000).has_value());  // SetRemote applied

  std::uint16_t seq = 1;
  for (auto& p : Event(100, 7, 500, seq)) caller.SendTo(leg.local_port, p);  // not its DTMF PT
  std::vector<std::uint8_t> flash = {16, 0x80, 0, 160};  // event 16 (flash): not a digit
  caller.SendTo(leg.local_port, RtpPacket(101, seq++, 700, 0x1234, flash));
  caller.SendTo(leg.local_port, RtpPacket(101, seq++, 800, 0x1234, {1, 0}));  // truncated
  for (auto& p : Event(101, 12, 900, seq)) caller.SendTo(leg.local_port, p);  // 'A'
  auto e = events.Wait(MediaEvent::Kind::kDtmf, 1000, leg.id);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->digit, 'A');
  EXPECT_FALSE(events.Wait(MediaEvent::Kind::kDtmf, 100).has_value());
}

}  // namespace
}  // namespace homeline::media
