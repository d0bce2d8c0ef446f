// Request helpers and URL decoding, apart from http_server.cc so that they compile without
// Beast.

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

}  // namespace homeline::http
