// Default prompts (espeak-ng, synthesized music on hold), the prompt cache, and position
// announcements built from number prompts and played as one sequence.

#include <gtest/gtest.h>

#include <filesystem>

#include "adapters/media/prompts.h"
#include "media_test_util.h"

namespace homeline::media {
namespace {

using testing::EventLog;
using testing::Peer;
using testing::TempDir;

using Names = std::vector<std::string>;

TEST(MediaPrompts, PositionAnnouncementNames) {
  EXPECT_EQ(PositionPromptNames(0), Names{});
  EXPECT_EQ(PositionPromptNames(1), (Names{"you_are_number", "1", "in_line"}));
  EXPECT_EQ(PositionPromptNames(3), (Names{"you_are_number", "3", "in_line"}));
  EXPECT_EQ(PositionPromptNames(19), (Names{"you_are_number", "19", "in_line"}));
  EXPECT_EQ(PositionPromptNames(20), (Names{"you_are_number", "20", "in_line"}));
  EXPECT_EQ(PositionPromptNames(42), (Names{"you_are_number", "40", "2", "in_line"}));
  EXPECT_EQ(PositionPromptNames(100), (Names{"you_are_number", "1", "hundred", "in_line"}));
  EXPECT_EQ(PositionPromptNames(105), (Names{"you_are_number", "1", "hundred", "5", "in_line"}));
  EXPECT_EQ(PositionPromptNames(999),
            (Names{"you_are_number", "9", "hundred", "90", "9", "in_line"}));
  EXPECT_EQ(PositionPromptNames(5000), PositionPromptNames(999));
  // Every name an announcement uses is a default prompt.
  Names defaults;
  for (const auto& p : DefaultPrompts()) defaults.push_back(p.name);
  for (int n = 1; n <= 999; ++n) {
    for (const std::string& name : PositionPromptNames(n)) {
      ASSERT_NE(std::find(defaults.begin(), defaults.end(), name), defaults.end()) << name;
    }
  }
}

TEST(MediaPrompts, MusicOnHoldIsSoftAndLoopsWithoutAClick) {
  std::vector<std::int16_t> moh = SynthesizeMusicOnHold();
  EXPECT_EQ(moh.size(), 16u * kSampleRate);
  int peak = 0;
  double energy = 0;
  for (std::int16_t s : moh) {
    peak = std::max(peak, std::abs(static_cast<int>(s)));
    energy += static_cast<double>(s) * s;
  }
  EXPECT_LT(peak, 16000);  // soft: well below full scale
  EXPECT_GT(std::sqrt(energy / static_cast<double>(moh.size())), 500);  // but audible
  EXPECT_LT(std::abs(moh.front()), 200);
  EXPECT_LT(std::abs(moh.back()), 200);
}

TEST(MediaPrompts, DefaultsAreGeneratedOnceAndAnnouncePositions) {
  TempDir dir;
  std::string prompts = dir.File("prompts");
  ASSERT_TRUE(EnsureDefaultPrompts(prompts).has_value());
  for (const auto& p : DefaultPrompts()) {
    ASSERT_TRUE(std::filesystem::exists(prompts + "/" + p.name + ".wav")) << p.name;
  }
  auto greeting = LoadPromptFile(prompts + "/greeting.wav");
  ASSERT_TRUE(greeting.has_value());
  double seconds = static_cast<double>((*greeting)->pcm.size()) / kSampleRate;
  EXPECT_GT(seconds, 3);  // a spoken sentence, not an empty file
  EXPECT_LT(seconds, 20);
  // Cached: a second run rewrites nothing.
  auto before = std::filesystem::last_write_time(prompts + "/greeting.wav");
  ASSERT_TRUE(EnsureDefaultPrompts(prompts).has_value());
  EXPECT_EQ(std::filesystem::last_write_time(prompts + "/greeting.wav"), before);

  Options o = testing::TestOptions();
  o.prompt_dir = prompts;
  auto engine = MediaEngine::Start(o);
  ASSERT_TRUE(engine.has_value());
  for (const auto& p : DefaultPrompts()) EXPECT_TRUE((*engine)->HasPrompt(p.name)) << p.name;

  // "you are number" "three" "in line": the far end gets exactly the three prompts' audio, back
  // to back, then the done event.
  std::size_t samples = 0;
  for (const char* name : {"you_are_number", "3", "in_line"}) {
    auto p = LoadPromptFile(prompts + "/" + name + ".wav");
    ASSERT_TRUE(p.has_value());
    EXPECT_GT((*p)->pcm.size(), 800u) << name;  // more than 0.1 s of speech
    samples += (*p)->pcm.size();
  }
  EventLog events;
  (*engine)->SetSink(events.Sink());
  Peer phone;
  LegInfo leg = *(*engine)->OpenLeg();
  (*engine)->SetRemote(leg.id, phone.endpoint(), Codec::kPcmu, -1);
  ASSERT_TRUE((*engine)->Play(leg.id, MediaEngine::PositionAnnouncement(3), false).has_value());
  std::size_t packets = 0;
  while (phone.Receive(300)) ++packets;
  EXPECT_EQ(packets, (samples + 159) / 160);
  EXPECT_TRUE(events.Wait(MediaEvent::Kind::kPlayDone, 500, leg.id).has_value());
}

}  // namespace
}  // namespace homeline::media
