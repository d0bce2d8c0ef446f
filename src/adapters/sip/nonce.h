#pragma once
// Digest nonces of the registrar (docs/decisions.md 37): stateless, so any number
// of challenges costs no memory, and unforgeable, so an expired one cannot be renewed by its
// holder:
//
//   nonce = hex(issued, 8) hex(salt, 8) hex(BLAKE2b-128(key, issued || salt), 32)   (48 chars)
//
// `issued` is the wall clock in seconds; `salt` 4 random bytes, so every challenge is unique
// and the registrar can remember which were used (replay check); `key` 32 random bytes drawn
// at start, so a restart invalidates every outstanding nonce (phones answer the new challenge:
// stale=true).
//
// Pure apart from libsodium; thread-compatible (const methods may run concurrently).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace homeline::sip {

class NonceCodec {
 public:
  enum class Check { kOk, kStale, kBad };

  // A random key (libsodium must be initialised).
  NonceCodec();
  explicit NonceCodec(const std::array<std::uint8_t, 32>& key) : key_(key) {}

  std::string Make(std::int64_t now_s, std::uint32_t salt) const;
  std::string Make(std::int64_t now_s) const;  // a random salt
  // kOk: ours and issued within ttl_s (and not in the future by more than a few seconds);
  // kStale: ours but older; kBad: anything else.
  Check Verify(std::string_view nonce, std::int64_t now_s, std::int64_t ttl_s) const;
  // The issue time of a nonce that Verify accepted (or -1).
  static std::int64_t IssuedAt(std::string_view nonce);

  static constexpr std::size_t kLength = 48;

 private:
  std::string Mac(std::uint32_t issued, std::uint32_t salt) const;
  std::array<std::uint8_t, 32> key_{};
};

// Lower-case hex of bytes, and back (false on a bad digit or odd length).
std::string ToHex(const std::uint8_t* data, std::size_t n);
bool FromHex(std::string_view hex, std::uint8_t* out, std::size_t n);

}  // namespace homeline::sip
