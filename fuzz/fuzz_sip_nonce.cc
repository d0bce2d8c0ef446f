// libFuzzer target: the nonce a phone (or a scanner) sends back in its Authorization header,
// the one piece of digest text Homeline parses itself (libre parses the header).
// Properties: Verify never crashes; a nonce it accepts (ok or stale) is exactly one we would
// make for its time and salt (so nothing else passes the MAC); hex decoding round-trips.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "adapters/sip/nonce.h"

using namespace homeline;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const sip::NonceCodec codec(std::array<std::uint8_t, 32>{7, 7, 7});
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::int64_t now = 1'800'000'000;
  const auto check = codec.Verify(text, now, 300);
  if (check != sip::NonceCodec::Check::kBad) {
    std::uint8_t salt[4];
    if (!sip::FromHex(text.substr(8, 8), salt, 4)) std::abort();
    const std::uint32_t s = (std::uint32_t{salt[0]} << 24) | (std::uint32_t{salt[1]} << 16) |
                            (std::uint32_t{salt[2]} << 8) | salt[3];
    if (codec.Make(sip::NonceCodec::IssuedAt(text), s) != text) std::abort();
  }
  if (size % 2 == 0 && size <= 256) {
    std::uint8_t bytes[128];
    if (sip::FromHex(text, bytes, size / 2) && sip::ToHex(bytes, size / 2) != text) std::abort();
  }
  return 0;
}
