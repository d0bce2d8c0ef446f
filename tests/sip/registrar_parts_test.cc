// The registrar's own pieces: nonces (unforgeable, expire, tamper-evident) and the failure
// limiter (burst, refill, bounded memory), on injected time.
#include <gtest/gtest.h>
#include <sodium.h>

#include "adapters/sip/auth_limiter.h"
#include "adapters/sip/nonce.h"

namespace homeline::sip {
namespace {

std::array<std::uint8_t, 32> Key(std::uint8_t b) {
  std::array<std::uint8_t, 32> k{};
  k.fill(b);
  return k;
}

TEST(Nonce, OursFreshStaleAndForged) {
  const NonceCodec codec(Key(1));
  const std::int64_t t = 1'800'000'000;
  const std::string n = codec.Make(t, 0x01020304);
  EXPECT_EQ(n.size(), NonceCodec::kLength);
  EXPECT_EQ(NonceCodec::IssuedAt(n), t);
  EXPECT_EQ(codec.Verify(n, t, 300), NonceCodec::Check::kOk);
  EXPECT_EQ(codec.Verify(n, t + 300, 300), NonceCodec::Check::kOk);
  EXPECT_EQ(codec.Verify(n, t + 301, 300), NonceCodec::Check::kStale);
  EXPECT_EQ(codec.Verify(n, t - 60, 300), NonceCodec::Check::kBad);  // issued "in the future"
  // Another key (another server, or before a restart) did not make it.
  EXPECT_EQ(NonceCodec(Key(2)).Verify(n, t, 300), NonceCodec::Check::kBad);
  // Changing the time to renew it breaks the MAC.
  std::string renewed = codec.Make(t + 1000, 0x01020304).substr(0, 16) + n.substr(16);
  EXPECT_EQ(codec.Verify(renewed, t + 1000, 300), NonceCodec::Check::kBad);
  for (std::size_t i = 0; i < n.size(); ++i) {
    std::string bad = n;
    bad[i] = bad[i] == '0' ? '1' : '0';
    EXPECT_EQ(codec.Verify(bad, t, 300), NonceCodec::Check::kBad) << i;
  }
  for (std::string bad : {std::string(), n.substr(1), n + "0", std::string(48, 'z'), std::string(48, 'A')})
    EXPECT_EQ(codec.Verify(bad, t, 300), NonceCodec::Check::kBad) << bad;
}

TEST(Nonce, RandomSaltsDiffer) {
  ASSERT_GE(sodium_init(), 0);
  const NonceCodec codec;
  EXPECT_NE(codec.Make(100), codec.Make(100));
}

TEST(Hex, RoundTrip) {
  const std::uint8_t b[3] = {0x00, 0xab, 0xff};
  EXPECT_EQ(ToHex(b, 3), "00abff");
  std::uint8_t out[3];
  EXPECT_TRUE(FromHex("00abff", out, 3));
  EXPECT_EQ(out[1], 0xab);
  EXPECT_FALSE(FromHex("00ABff", out, 3));
  EXPECT_FALSE(FromHex("00abf", out, 3));
  EXPECT_FALSE(FromHex("00abfg", out, 3));
}

TEST(AuthLimiter, BurstThenRefill) {
  AuthLimiter l(LimiterOptions{3, 0.5, 100});
  const std::int64_t t = 1000;
  EXPECT_FALSE(l.Limited("a", t));
  for (int i = 0; i < 3; ++i) l.Failed("a", t);
  EXPECT_TRUE(l.Limited("a", t));
  EXPECT_FALSE(l.Limited("b", t));       // keys are apart
  EXPECT_TRUE(l.Limited("a", t + 1999));  // half a token a second
  EXPECT_FALSE(l.Limited("a", t + 2000));
  l.Failed("a", t + 2000);
  EXPECT_TRUE(l.Limited("a", t + 2000));
}

TEST(AuthLimiter, MemoryIsBounded) {
  AuthLimiter l(LimiterOptions{2, 1, 50});
  for (int i = 0; i < 1000; ++i) {
    l.Failed("k" + std::to_string(i), 0);
    l.Failed("k" + std::to_string(i), 0);
  }
  EXPECT_LE(l.size(), 50u);
  EXPECT_TRUE(l.Limited("k999", 0));  // the latest are kept
}

}  // namespace
}  // namespace homeline::sip
