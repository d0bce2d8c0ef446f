// The prompt player: what the far end receives, decoded, is the WAV's audio (after the G.711
// round trip), paced at 20 ms, in one RTP stream; looping, stopping and the done event.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <numbers>

#include "adapters/media/g711.h"
#include "adapters/media/prompts.h"
#include "media_test_util.h"

namespace homeline::media {
namespace {

using testing::EventLog;
using testing::Peer;
using testing::TempDir;
using testing::Tone;

TEST(MediaPlayer, FarEndHearsTheWavSamplesPacedAt20ms) {
  TempDir dir;
  std::vector<std::int16_t> wav = Tone(440, 4000, 8000);  // 0.5 s: 25 frames
  ASSERT_TRUE(WriteWav(dir.File("tone.wav"), wav).has_value());

  auto engine = MediaEngine::Start(testing::TestOptions());
  ASSERT_TRUE(engine.has_value());
  EventLog events;
  (*engine)->SetSink(events.Sink());
  Peer phone;
  LegInfo leg = *(*engine)->OpenLeg();
  (*engine)->SetRemote(leg.id, phone.endpoint(), Codec::kPcmu, 101);
  ASSERT_TRUE((*engine)->Play(leg.id, {{dir.File("tone.wav")}}, false).has_value());

  std::vector<std::int16_t> heard;
  std::vector<testing::Received> packets;
  auto start = std::chrono::steady_clock::now();
  while (packets.size() < 25) {
    auto r = phone.Receive(500);
    ASSERT_TRUE(r.has_value()) << "after " << packets.size() << " packets";
    packets.push_back(*r);
  }
  double elapsed_ms = std::chrono::duration<double, std::milli>(
                          std::chrono::steady_clock::now() - start).count();
  // 25 packets at 20 ms: 24 intervals after the first.
  EXPECT_GT(elapsed_ms, 400);
  EXPECT_LT(elapsed_ms, 1500);
  ASSERT_TRUE(events.Wait(MediaEvent::Kind::kPlayDone, 1000, leg.id).has_value());
  EXPECT_FALSE(phone.Receive(100).has_value());  // nothing after the end

  EXPECT_TRUE(packets[0].rtp.marker);
  for (std::size_t i = 0; i < packets.size(); ++i) {
    EXPECT_EQ(packets[i].rtp.payload_type, 0);
    EXPECT_EQ(packets[i].rtp.ssrc, packets[0].rtp.ssrc);
    EXPECT_EQ(static_cast<std::uint16_t>(packets[i].rtp.seq - packets[0].rtp.seq), i);
    EXPECT_EQ(packets[i].rtp.timestamp - packets[0].rtp.timestamp, 160u * i);
    auto payload = packets[i].payload();
    ASSERT_EQ(payload.size(), 160u);
    for (std::uint8_t b : payload) heard.push_back(g711::UlawToLinear(b));
  }
  ASSERT_EQ(heard.size(), wav.size());
  for (std::size_t i = 0; i < wav.size(); ++i) {
    // mu-law keeps about 3 % of the magnitude (plus a small step near zero).
    ASSERT_NEAR(heard[i], wav[i], std::abs(wav[i]) * 0.04 + 40) << "sample " << i;
  }
}

TEST(MediaPlayer, ResamplesAndLoopsAndStops) {
  TempDir dir;
  // 16 kHz stereo file: must come out as 8 kHz mono with the tone's frequency kept.
  std::vector<std::int16_t> mono = Tone(500, 3200, 16000);  // 0.2 s
  {
    std::vector<std::int16_t> stereo;
    for (std::int16_t s : mono) {
      stereo.push_back(s);
      stereo.push_back(s);
    }
    // WriteWav writes 8 kHz mono; write this one with libsndfile through LoadPrompt's reader
    // counterpart: a raw WAV header is simplest.
    std::string path = dir.File("tone16k.wav");
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    auto u32 = [&](std::uint32_t v) { std::fwrite(&v, 4, 1, f); };
    auto u16 = [&](std::uint16_t v) { std::fwrite(&v, 2, 1, f); };
    std::uint32_t data_bytes = static_cast<std::uint32_t>(stereo.size() * 2);
    std::fwrite("RIFF", 1, 4, f); u32(36 + data_bytes); std::fwrite("WAVEfmt ", 1, 8, f);
    u32(16); u16(1); u16(2); u32(16000); u32(16000 * 4); u16(4); u16(16);
    std::fwrite("data", 1, 4, f); u32(data_bytes);
    std::fwrite(stereo.data(), 2, stereo.size(), f);
    std::fclose(f);
  }
  auto prompt = LoadPromptFile(dir.File("tone16k.wav"));
  ASSERT_TRUE(prompt.has_value()) << prompt.error().message;
  const auto& pcm = (*prompt)->pcm;
  ASSERT_NEAR(static_cast<double>(pcm.size()), 1600, 2);
  // Compare the middle (away from the filter's edges) with a 500 Hz tone at 8 kHz.
  std::vector<std::int16_t> expected = Tone(500, 1600, 8000);
  double err = 0, energy = 0;
  for (std::size_t i = 100; i < 1500; ++i) {
    err += std::pow(pcm[i] - expected[i], 2);
    energy += std::pow(expected[i], 2);
  }
  EXPECT_LT(err / energy, 0.01);  // within 1 % of the energy (-20 dB)

  auto engine = MediaEngine::Start(testing::TestOptions());
  ASSERT_TRUE(engine.has_value());
  ASSERT_TRUE((*engine)->LoadPrompt("tone", dir.File("tone16k.wav")).has_value());
  EXPECT_TRUE((*engine)->HasPrompt("tone"));
  EventLog events;
  (*engine)->SetSink(events.Sink());
  Peer phone;
  LegInfo leg = *(*engine)->OpenLeg();
  (*engine)->SetRemote(leg.id, phone.endpoint(), Codec::kPcma, -1);
  ASSERT_TRUE((*engine)->Play(leg.id, {{"tone"}}, true).has_value());
  // 0.2 s looped: 25 packets is more than twice round; all A-law, one stream.
  for (int i = 0; i < 25; ++i) {
    auto r = phone.Receive(500);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->rtp.payload_type, 8);
    if (i == 12) {  // 240 ms in: the loop restarted at sample 1600 -> byte 320 of the loop
      auto payload = r->payload();
      std::size_t loop_offset = (12 * 160) % 1600;
      for (std::size_t k = 0; k < 160; ++k) {
        EXPECT_EQ(payload[k], (*prompt)->alaw[(loop_offset + k) % 1600]);
      }
    }
  }
  (*engine)->StopPlay(leg.id);
  // The stream stops (once the command is applied: a busy machine may take a moment).
  bool stopped = false;
  for (int i = 0; i < 100 && !stopped; ++i) stopped = !phone.Receive(200).has_value();
  EXPECT_TRUE(stopped);
  EXPECT_EQ(events.Count(MediaEvent::Kind::kPlayDone), 0u);  // stopped, not finished

  // Unknown prompts are refused and nothing plays.
  auto bad = (*engine)->Play(leg.id, {{"tone"}, {"no_such_prompt"}}, false);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kNotFound);
  EXPECT_FALSE((*engine)->Play(leg.id, {{dir.File("missing.wav")}}, false).has_value());
  EXPECT_FALSE(phone.Receive(100).has_value());
}

TEST(MediaPlayer, PlayingPromptOverridesTheBridgeUntilStopped) {
  // Hold: the customer hears music instead of the agent; after StopPlay the agent again.
  TempDir dir;
  ASSERT_TRUE(WriteWav(dir.File("moh.wav"), Tone(300, 800, 8000)).has_value());
  auto engine = MediaEngine::Start(testing::TestOptions());
  ASSERT_TRUE(engine.has_value());
  Peer customer, agent;
  LegInfo a = *(*engine)->OpenLeg();
  LegInfo b = *(*engine)->OpenLeg();
  (*engine)->SetRemote(a.id, customer.endpoint(), Codec::kPcmu, -1);
  (*engine)->SetRemote(b.id, agent.endpoint(), Codec::kPcmu, -1);
  (*engine)->Bridge(a.id, b.id);
  ASSERT_TRUE((*engine)->Play(a.id, {{dir.File("moh.wav")}}, true).has_value());
  std::vector<std::uint8_t> agent_payload(160, 0x42);
  std::uint32_t agent_ssrc = 0xABCDEF;
  int from_agent = 0, generated = 0;
  // Once the prompt plays (the first generated packet), the agent is no longer heard.
  std::uint16_t seq = 0;
  for (int i = 0; i < 200 && generated == 0; ++i) {
    agent.SendTo(b.local_port, testing::RtpPacket(0, seq, seq * 160u, agent_ssrc, agent_payload));
    ++seq;
    while (auto r = customer.Receive(15)) {
      if (r->rtp.ssrc != agent_ssrc) ++generated;
    }
  }
  ASSERT_GT(generated, 0);
  from_agent = generated = 0;
  for (int i = 0; i < 20; ++i) {
    agent.SendTo(b.local_port, testing::RtpPacket(0, static_cast<std::uint16_t>(i), i * 160u, agent_ssrc, agent_payload));
    while (auto r = customer.Receive(15)) (r->rtp.ssrc == agent_ssrc ? from_agent : generated)++;
  }
  EXPECT_GT(generated, 5);
  EXPECT_LE(from_agent, 2);  // only packets already on their way
  (*engine)->StopPlay(a.id);
  // Once the agent is heard again, nothing generated follows.
  for (int i = 0; i < 200 && from_agent == 0; ++i) {
    agent.SendTo(b.local_port, testing::RtpPacket(0, seq, seq * 160u, agent_ssrc, agent_payload));
    ++seq;
    while (auto r = customer.Receive(15)) {
      if (r->rtp.ssrc == agent_ssrc) ++from_agent;
    }
  }
  ASSERT_GT(from_agent, 0);
  from_agent = generated = 0;
  for (int i = 20; i < 30; ++i) {
    agent.SendTo(b.local_port, testing::RtpPacket(0, static_cast<std::uint16_t>(i), i * 160u, agent_ssrc, agent_payload));
    while (auto r = customer.Receive(15)) (r->rtp.ssrc == agent_ssrc ? from_agent : generated)++;
  }
  while (auto r = customer.Receive(300)) (r->rtp.ssrc == agent_ssrc ? from_agent : generated)++;
  EXPECT_EQ(from_agent, 10);
  EXPECT_EQ(generated, 0);
}

}  // namespace
}  // namespace homeline::media
