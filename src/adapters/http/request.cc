// Request helpers and URL decoding, apart from http_server.cc so that they compile without
// Beast.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "adapters/http/http_server.h"
#include "adapters/http/url.h"

namespace homeline::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// Malformed escapes ("%zz", a trailing "%") are kept literally rather than rejected: the
// caller then sees an unknown path or value and answers it as such.
std::string PercentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

const std::string& Request::Header(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return kEmpty;
}

std::string Request::QueryParam(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    std::size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    std::size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (PercentDecode(key, true) != name) continue;
    if (eq == std::string_view::npos) return "";
    return PercentDecode(pair.substr(eq + 1), true);
  }
  return "";
}

namespace {

// Decimal digits only (no sign, no spaces), without overflow.
bool ParseU64(std::string_view s, std::uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

RangeCheck ParseRange(std::string_view header, std::uint64_t size, ByteRange* out) {
  constexpr std::string_view kUnit = "bytes=";
  if (!header.starts_with(kUnit)) return RangeCheck::kWhole;
  std::string_view spec = header.substr(kUnit.size());
  while (!spec.empty() && spec.front() == ' ') spec.remove_prefix(1);
  while (!spec.empty() && spec.back() == ' ') spec.remove_suffix(1);
  if (spec.find(',') != std::string_view::npos) return RangeCheck::kWhole;  // several: all of it
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return RangeCheck::kWhole;
  const std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  std::uint64_t first = 0, last = 0;
  if (a.empty()) {  // "-N": the last N bytes
    if (!ParseU64(b, &last)) return RangeCheck::kWhole;
    if (last == 0 || size == 0) return RangeCheck::kUnsatisfiable;
    const std::uint64_t n = std::min(last, size);
    *out = ByteRange{size - n, n};
    return RangeCheck::kPart;
  }
  if (!ParseU64(a, &first)) return RangeCheck::kWhole;
  if (b.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else if (!ParseU64(b, &last) || last < first) {
    return RangeCheck::kWhole;
  }
  if (first >= size) return RangeCheck::kUnsatisfiable;
  last = std::min(last, size - 1);
  *out = ByteRange{first, last - first + 1};
  return RangeCheck::kPart;
}

}  // namespace homeline::http
