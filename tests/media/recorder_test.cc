// The stereo recorder: the file read back with libsndfile has the customer's audio on the left,
// the agent's on the right, silence where it was paused, and is closed when a leg closes.

#include <gtest/gtest.h>
#include <sndfile.h>

#include <chrono>
#include <thread>

#include "adapters/media/g711.h"
#include "media_test_util.h"

namespace homeline::media {
namespace {

using testing::EventLog;
using testing::Peer;
using testing::RtpPacket;

struct Wav {
  int channels = 0, rate = 0;
  std::vector<std::int16_t> samples;  // interleaved
};

Wav ReadWav(const std::string& path) {
  Wav w;
  SF_INFO info{};
  SNDFILE* f = sf_open(path.c_str(), SFM_READ, &info);
  if (!f) return w;
  w.channels = info.channels;
  w.rate = info.samplerate;
  w.samples.resize(static_cast<std::size_t>(info.frames * info.channels));
  sf_readf_short(f, w.samples.data(), info.frames);
  sf_close(f);
  return w;
}

// Sends one 20 ms packet from each (peer, leg port, value) every 20 ms for `packets` rounds.
struct Source {
  Peer* peer;
  std::uint16_t port;
  std::int16_t value;
  std::uint16_t seq = 0;
};
void SendPaced(std::vector<Source>& sources, int packets) {
  auto next = std::chrono::steady_clock::now();
  for (int i = 0; i < packets; ++i) {
    for (Source& s : sources) {
      std::vector<std::uint8_t> payload(160, g711::LinearToUlaw(s.value));
      s.peer->SendTo(s.port, RtpPacket(0, s.seq, s.seq * 160u, s.port, payload));
      ++s.seq;
    }
    next += std::chrono::milliseconds(20);
    std::this_thread::sleep_until(next);
  }
}

std::int16_t G711(std::int16_t v) { return g711::UlawToLinear(g711::LinearToUlaw(v)); }

TEST(MediaRecorder, CustomerLeftAgentRightSilenceWhilePaused) {
  testing::TempDir dir;
  auto engine = MediaEngine::Start(testing::TestOptions());
  ASSERT_TRUE(engine.has_value());
  EventLog events;
  (*engine)->SetSink(events.Sink());
  Peer customer, agent;
  LegInfo a = *(*engine)->OpenLeg();
  LegInfo b = *(*engine)->OpenLeg();
  (*engine)->SetRemote(a.id, customer.endpoint(), Codec::kPcmu, -1);
  (*engine)->SetRemote(b.id, agent.endpoint(), Codec::kPcmu, -1);
  (*engine)->Bridge(a.id, b.id);
  std::string path = dir.File("recordings/acme/42.wav");  // directories are created
  (*engine)->StartRecording(a.id, b.id, path);

  std::vector<Source> sources = {{&customer, a.local_port, 1000}, {&agent, b.local_port, -2000}};
  SendPaced(sources, 50);
  (*engine)->PauseRecording(a.id, true);  // the customer reads a card number
  SendPaced(sources, 30);
  (*engine)->PauseRecording(a.id, false);
  SendPaced(sources, 50);
  (*engine)->StopRecording(a.id);
  auto done = events.Wait(MediaEvent::Kind::kRecordingDone, 3000, a.id);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->path, path);

  Wav w = ReadWav(path);
  ASSERT_EQ(w.channels, 2);
  ASSERT_EQ(w.rate, 8000);
  const std::size_t frames = w.samples.size() / 2;
  EXPECT_GT(frames, 8000u * 2.2);  // 2.6 s sent
  EXPECT_LT(frames, 8000u * 3.2);
  const std::int16_t cust = G711(1000), agent_v = G711(-2000);
  std::size_t left_hits = 0, right_hits = 0, longest_silence = 0, run = 0, silence_at = 0;
  for (std::size_t i = 0; i < frames; ++i) {
    std::int16_t l = w.samples[2 * i], r = w.samples[2 * i + 1];
    ASSERT_TRUE(l == 0 || l == cust) << "left " << l << " at " << i;
    ASSERT_TRUE(r == 0 || r == agent_v) << "right " << r << " at " << i;
    left_hits += l == cust;
    right_hits += r == agent_v;
    if (l == 0 && r == 0) {
      if (++run > longest_silence) {
        longest_silence = run;
        silence_at = i + 1 - run;
      }
    } else {
      run = 0;
    }
  }
  // 100 packets of each side recorded (some may fall at the edges, or be trimmed when a busy
  // machine delays the sender and it catches up in a burst).
  EXPECT_GT(left_hits, 80u * 160);
  EXPECT_GT(right_hits, 80u * 160);
  EXPECT_LE(left_hits, 101u * 160);
  // The pause: about 0.6 s of silence on both channels, after about 1 s of call.
  EXPECT_GT(longest_silence, 8000u * 0.45);
  EXPECT_LT(longest_silence, 8000u * 1.0);
  EXPECT_GT(silence_at, 8000u * 0.8);
}

TEST(MediaRecorder, ClosingALegFinishesTheFileAndBadPathsFail) {
  testing::TempDir dir;
  auto engine = MediaEngine::Start(testing::TestOptions());
  ASSERT_TRUE(engine.has_value());
  EventLog events;
  (*engine)->SetSink(events.Sink());
  LegInfo a = *(*engine)->OpenLeg();
  LegInfo b = *(*engine)->OpenLeg();
  std::string path = dir.File("r.wav");
  (*engine)->StartRecording(a.id, b.id, path);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  (*engine)->CloseLeg(b.id);  // the agent hangs up
  ASSERT_TRUE(events.Wait(MediaEvent::Kind::kRecordingDone, 3000, a.id).has_value());
  Wav w = ReadWav(path);
  EXPECT_EQ(w.channels, 2);
  EXPECT_GT(w.samples.size(), 2u * 8000 * 0.2);  // silence, but the call's length

  (*engine)->StartRecording(a.id, a.id, dir.File("same.wav"));  // one leg twice: refused
  EXPECT_TRUE(events.Wait(MediaEvent::Kind::kRecordingFailed, 1000, a.id).has_value());
  LegInfo c = *(*engine)->OpenLeg();
  (*engine)->StartRecording(a.id, c.id, "/proc/no/such/dir/x.wav");
  auto failed = events.Wait(MediaEvent::Kind::kRecordingFailed, 3000, a.id);
  ASSERT_TRUE(failed.has_value());
  EXPECT_EQ(failed->path, "/proc/no/such/dir/x.wav");
  EXPECT_FALSE(failed->detail.empty());
}

}  // namespace
}  // namespace homeline::media
