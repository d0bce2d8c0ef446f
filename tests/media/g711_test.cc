// G.711 tables against ITU-T G.711 reference points, and their round trips.

#include <gtest/gtest.h>

#include "adapters/media/g711.h"

namespace homeline::media {
namespace {

TEST(MediaG711, ReferencePointsAndRoundTrips) {
  // Silence and full scale (G.711 tables 1a/2a; A-law with even bits inverted).
  EXPECT_EQ(g711::LinearToUlaw(0), 0xFF);
  EXPECT_EQ(g711::UlawToLinear(0xFF), 0);
  EXPECT_EQ(g711::UlawToLinear(0x00), -32124);
  EXPECT_EQ(g711::UlawToLinear(0x80), 32124);
  EXPECT_EQ(g711::LinearToAlaw(0), 0xD5);
  EXPECT_EQ(g711::AlawToLinear(0xD5), 8);
  EXPECT_EQ(g711::AlawToLinear(0x2A), -32256);
  EXPECT_EQ(g711::AlawToLinear(0xAA), 32256);
  for (int code = 0; code < 256; ++code) {
    auto c = static_cast<std::uint8_t>(code);
    // Decoding then encoding gives the code back (mu-law has two zeros: 0x7F and 0xFF).
    if (c != 0x7F) {
      EXPECT_EQ(g711::LinearToUlaw(g711::UlawToLinear(c)), c) << code;
    }
    EXPECT_EQ(g711::LinearToAlaw(g711::AlawToLinear(c)), c) << code;
    // Transcoding keeps the level within the coarser law's step.
    int a = g711::AlawToLinear(c), u = g711::UlawToLinear(g711::AlawToUlaw(c));
    EXPECT_LE(std::abs(a - u), 16 + std::abs(a) / 16) << code;
  }
  // Encoding is monotonic: a louder sample never gets a quieter code.
  int last = -40000;
  for (int s = -32768; s <= 32767; s += 7) {
    int v = g711::UlawToLinear(g711::LinearToUlaw(static_cast<std::int16_t>(s)));
    ASSERT_GE(v, last) << s;
    last = v;
  }
}

}  // namespace
}  // namespace homeline::media
