#include "adapters/media/g711.h"

#include <array>

namespace homeline::media::g711 {
namespace {

// The reference algorithms (ITU-T G.711, as in Sun's public g711.c); the tables are filled from
// them once.
std::uint8_t EncodeUlawSlow(int pcm) {
  constexpr int kBias = 0x84;
  constexpr int kClip = 32635;
  int sign = (pcm >> 8) & 0x80;
  if (sign) pcm = -pcm;
  if (pcm > kClip) pcm = kClip;
  pcm += kBias;
  int exponent = 7;
  for (int mask = 0x4000; (pcm & mask) == 0 && exponent > 0; mask >>= 1) --exponent;
  int mantissa = (pcm >> (exponent + 3)) & 0x0F;
  return static_cast<std::uint8_t>(~(sign | (exponent << 4) | mantissa));
}

int DecodeUlawSlow(std::uint8_t u) {
  u = static_cast<std::uint8_t>(~u);
  int t = ((u & 0x0F) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return (u & 0x80) ? (0x84 - t) : (t - 0x84);
}

std::uint8_t EncodeAlawSlow(int pcm) {
  int mask;
  if (pcm >= 0) {
    mask = 0xD5;
  } else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  pcm >>= 3;  // 13-bit magnitude
  static constexpr int kSegEnd[8] = {0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF};
  int seg = 0;
  while (seg < 8 && pcm > kSegEnd[seg]) ++seg;
  if (seg >= 8) return static_cast<std::uint8_t>(0x7F ^ mask);
  int aval = seg << 4;
  aval |= (seg < 2) ? ((pcm >> 1) & 0x0F) : ((pcm >> seg) & 0x0F);
  return static_cast<std::uint8_t>(aval ^ mask);
}

int DecodeAlawSlow(std::uint8_t a) {
  a ^= 0x55;
  int t = (a & 0x0F) << 4;
  int seg = (a & 0x70) >> 4;
  switch (seg) {
    case 0: t += 8; break;
    case 1: t += 0x108; break;
    default: t += 0x108; t <<= seg - 1;
  }
  return (a & 0x80) ? t : -t;
}

struct Tables {
  std::array<std::int16_t, 256> ulaw_to_lin;
  std::array<std::int16_t, 256> alaw_to_lin;
  std::array<std::uint8_t, 256> ulaw_to_alaw;
  std::array<std::uint8_t, 256> alaw_to_ulaw;
  std::array<std::uint8_t, 65536> lin_to_ulaw;  // indexed by uint16_t(sample)
  std::array<std::uint8_t, 65536> lin_to_alaw;
  Tables() {
    for (int i = 0; i < 65536; ++i) {
      int s = static_cast<std::int16_t>(static_cast<std::uint16_t>(i));
      lin_to_ulaw[i] = EncodeUlawSlow(s);
      lin_to_alaw[i] = EncodeAlawSlow(s);
    }
    for (int i = 0; i < 256; ++i) {
      ulaw_to_lin[i] = static_cast<std::int16_t>(DecodeUlawSlow(static_cast<std::uint8_t>(i)));
      alaw_to_lin[i] = static_cast<std::int16_t>(DecodeAlawSlow(static_cast<std::uint8_t>(i)));
    }
    for (int i = 0; i < 256; ++i) {
      ulaw_to_alaw[i] = lin_to_alaw[static_cast<std::uint16_t>(ulaw_to_lin[i])];
      alaw_to_ulaw[i] = lin_to_ulaw[static_cast<std::uint16_t>(alaw_to_lin[i])];
    }
  }
};

const Tables& T() {
  static const Tables tables;
  return tables;
}
// Built before main, so the first packet on a media thread does not pay for it.
[[maybe_unused]] const Tables& kWarm = T();

}  // namespace

std::int16_t UlawToLinear(std::uint8_t u) { return T().ulaw_to_lin[u]; }
std::int16_t AlawToLinear(std::uint8_t a) { return T().alaw_to_lin[a]; }
std::uint8_t LinearToUlaw(std::int16_t s) { return T().lin_to_ulaw[static_cast<std::uint16_t>(s)]; }
std::uint8_t LinearToAlaw(std::int16_t s) { return T().lin_to_alaw[static_cast<std::uint16_t>(s)]; }
std::uint8_t UlawToAlaw(std::uint8_t u) { return T().ulaw_to_alaw[u]; }
std::uint8_t AlawToUlaw(std::uint8_t a) { return T().alaw_to_ulaw[a]; }

void UlawToAlaw(std::uint8_t* p, std::size_t n) {
  const auto& t = T().ulaw_to_alaw;
  for (std::size_t i = 0; i < n; ++i) p[i] = t[p[i]];
}
void AlawToUlaw(std::uint8_t* p, std::size_t n) {
  const auto& t = T().alaw_to_ulaw;
  for (std::size_t i = 0; i < n; ++i) p[i] = t[p[i]];
}

void Decode(const std::uint8_t* in, std::size_t n, bool alaw, std::int16_t* out) {
  const auto& t = alaw ? T().alaw_to_lin : T().ulaw_to_lin;
  for (std::size_t i = 0; i < n; ++i) out[i] = t[in[i]];
}
void Encode(const std::int16_t* in, std::size_t n, bool alaw, std::uint8_t* out) {
  const auto& t = alaw ? T().lin_to_alaw : T().lin_to_ulaw;
  for (std::size_t i = 0; i < n; ++i) out[i] = t[static_cast<std::uint16_t>(in[i])];
}

}  // namespace homeline::media::g711
