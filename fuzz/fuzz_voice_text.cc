// libFuzzer target: the text a SIP peer or an API body gives the voice code to read as a number
// or an address (untrusted: Request-URI user parts, trunk numbers and caller ids, trunk source
// networks, the packet source of a call). The first byte picks the parser, the rest is the text.
// Properties: nothing crashes; a normalised number is '+' and 7..15 digits, the first not 0, and
// normalises to itself; a parsed network or address, written by ToString, parses back to the
// same value and contains itself.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/voice.h"

using namespace homeline;

namespace {

void CheckNumber(const std::optional<std::string>& n) {
  if (!n) return;
  const std::string& s = *n;
  if (s.size() < 8 || s.size() > 16 || s[0] != '+' || s[1] == '0') std::abort();
  for (std::size_t i = 1; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') std::abort();
  if (core::NormalizeE164(s) != s || core::NormalizeDialled(s) != s) std::abort();
}

void CheckPrefix(const core::IpPrefix& p) {
  if (p.bits > (p.v6 ? 128 : 32)) std::abort();
  auto again = core::ParseIpPrefix(core::ToString(p));
  if (!again || !(*again == p)) std::abort();
  if (!core::Contains(p, p)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: CheckNumber(core::NormalizeE164(text)); break;
    case 1: CheckNumber(core::NormalizeDialled(text)); break;
    case 2:
      if (auto p = core::ParseIpPrefix(text)) CheckPrefix(*p);
      break;
    case 3:
      if (auto a = core::ParseIpAddress(text)) {
        if (a->bits != (a->v6 ? 128 : 32)) std::abort();
        CheckPrefix(*a);
      }
      break;
  }
  return 0;
}
