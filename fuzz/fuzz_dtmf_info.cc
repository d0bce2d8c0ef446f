// libFuzzer target: the body of a SIP INFO carrying a key press (untrusted: any caller in an IVR
// menu sends them), with its Content-Type. The input is the Content-Type, a newline, the body.
// Properties: ParseDtmfInfo never crashes; a key it returns is one of 0-9 * # A-D and comes only
// from a type IsDtmfInfoType accepts; the key written back in the form phones send parses again
// to the same key.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "adapters/sip/ivr_calls.h"

using namespace homeline;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto nl = in.find('\n');
  const std::string_view type = in.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  const auto key = sip::ParseDtmfInfo(type, body);
  if (!key) return 0;
  const char c = *key;
  if (!((c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D'))) std::abort();
  if (!sip::IsDtmfInfoType(type)) std::abort();
  if (sip::ParseDtmfInfo("application/dtmf-relay", "Signal=" + std::string(1, c) + "\r\nDuration=160\r\n") != c)
    std::abort();
  if (sip::ParseDtmfInfo("application/dtmf", std::string(1, c)) != c) std::abort();
  return 0;
}
