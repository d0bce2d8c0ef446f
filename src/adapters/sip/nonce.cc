#include "adapters/sip/nonce.h"

#include <sodium.h>

namespace homeline::sip {

namespace {

bool ParseHex32(std::string_view s, std::uint32_t& out) {
  std::uint8_t b[4];
  if (!FromHex(s, b, 4)) return false;
  out = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
  return true;
}

std::string Hex32(std::uint32_t v) {
  const std::uint8_t b[4] = {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                             static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
  return ToHex(b, 4);
}

}  // namespace

std::string ToHex(const std::uint8_t* data, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 15]);
  }
  return out;
}

bool FromHex(std::string_view hex, std::uint8_t* out, std::size_t n) {
  if (hex.size() != n * 2) return false;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;  // upper case is not what we issue
  };
  for (std::size_t i = 0; i < n; ++i) {
    const int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return true;
}

NonceCodec::NonceCodec() { randombytes_buf(key_.data(), key_.size()); }

std::string NonceCodec::Mac(std::uint32_t issued, std::uint32_t salt) const {
  const std::uint8_t msg[8] = {
      static_cast<std::uint8_t>(issued >> 24), static_cast<std::uint8_t>(issued >> 16),
      static_cast<std::uint8_t>(issued >> 8),  static_cast<std::uint8_t>(issued),
      static_cast<std::uint8_t>(salt >> 24),   static_cast<std::uint8_t>(salt >> 16),
      static_cast<std::uint8_t>(salt >> 8),    static_cast<std::uint8_t>(salt)};
  std::uint8_t mac[16];
  crypto_generichash(mac, sizeof mac, msg, sizeof msg, key_.data(), key_.size());
  return ToHex(mac, sizeof mac);
}

std::string NonceCodec::Make(std::int64_t now_s, std::uint32_t salt) const {
  const auto issued = static_cast<std::uint32_t>(now_s);
  return Hex32(issued) + Hex32(salt) + Mac(issued, salt);
}

std::string NonceCodec::Make(std::int64_t now_s) const { return Make(now_s, randombytes_random()); }

NonceCodec::Check NonceCodec::Verify(std::string_view nonce, std::int64_t now_s,
                                     std::int64_t ttl_s) const {
  std::uint32_t issued = 0, salt = 0;
  if (nonce.size() != kLength || !ParseHex32(nonce.substr(0, 8), issued) ||
      !ParseHex32(nonce.substr(8, 8), salt))
    return Check::kBad;
  const std::string want = Mac(issued, salt);
  if (sodium_memcmp(want.data(), nonce.data() + 16, want.size()) != 0) return Check::kBad;
  const std::int64_t age = now_s - static_cast<std::int64_t>(issued);
  if (age < -5) return Check::kBad;  // from the future: not a clock we had
  if (age > ttl_s) return Check::kStale;
  return Check::kOk;
}

std::int64_t NonceCodec::IssuedAt(std::string_view nonce) {
  std::uint32_t issued = 0;
  if (nonce.size() != kLength || !ParseHex32(nonce.substr(0, 8), issued)) return -1;
  return issued;
}

}  // namespace homeline::sip
