// libFuzzer target: event payloads as the store returns them at replay.
// Input: "TYPE\nPAYLOAD". Properties: DecodePayload never crashes or throws; whatever decodes
// re-encodes to text that decodes again to the same encoding (the codec is stable).

#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/event_codec.h"

using namespace homeline;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string in(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = in.find('\n');
  if (nl == std::string::npos) return 0;
  auto body = core::DecodePayload(in.substr(0, nl), in.substr(nl + 1));
  if (!body) return 0;
  const std::string once = core::EncodePayload(*body);
  auto again = core::DecodePayload(core::TypeName(*body), once);
  if (!again) std::abort();
  if (core::EncodePayload(*again) != once) std::abort();
  return 0;
}
