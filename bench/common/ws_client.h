// What bench/ws and bench/chat share: a minimal client for the server's HTTP API and WebSocket
// endpoints over plain POSIX sockets (no Beast/Asio, so it builds in seconds), and a JSON walker
// over the text that builds no tree (the benches scan 100k frames on their hot paths).
#pragma once

#include <cctype>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bench {

using Clock = std::chrono::steady_clock;

inline double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// The server a bench talks to; each bench's options derive from it.
struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 0;
};

// Names the program in Die's messages ("bench_ws: ...").
void SetProgramName(const char* name);

// Prints "<program>: what" to stderr and exits 1.
[[noreturn]] void Die(const std::string& what);

// ---- a JSON walker over the text, without building a tree (the hot path scans 100k frames) --

using Pos = std::size_t;
constexpr Pos kBad = std::string_view::npos;

inline Pos SkipWs(std::string_view s, Pos i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  return i;
}

inline Pos SkipString(std::string_view s, Pos i) {  // i at the opening quote
  for (Pos j = i + 1; j < s.size(); ++j) {
    if (s[j] == '\\')
      ++j;
    else if (s[j] == '"')
      return j + 1;
  }
  return kBad;
}

Pos SkipValue(std::string_view s, Pos i);

// Calls f(key, value_pos) for each member of the object at i; returns the position after it.
// Keys are returned raw (the keys looked at here have no escapes).
template <class F>
Pos Members(std::string_view s, Pos i, F&& f) {
  i = SkipWs(s, i);
  if (i >= s.size() || s[i] != '{') return kBad;
  i = SkipWs(s, i + 1);
  if (i < s.size() && s[i] == '}') return i + 1;
  for (;;) {
    if (i >= s.size() || s[i] != '"') return kBad;
    const Pos kend = SkipString(s, i);
    if (kend == kBad) return kBad;
    const std::string_view key = s.substr(i + 1, kend - i - 2);
    i = SkipWs(s, kend);
    if (i >= s.size() || s[i] != ':') return kBad;
    i = SkipWs(s, i + 1);
    f(key, i);
    i = SkipValue(s, i);
    if (i == kBad) return kBad;
    i = SkipWs(s, i);
    if (i < s.size() && s[i] == ',') {
      i = SkipWs(s, i + 1);
      continue;
    }
    if (i < s.size() && s[i] == '}') return i + 1;
    return kBad;
  }
}

// Calls f(value_pos) for each element of the array at i; returns the position after it.
template <class F>
Pos Elements(std::string_view s, Pos i, F&& f) {
  i = SkipWs(s, i);
  if (i >= s.size() || s[i] != '[') return kBad;
  i = SkipWs(s, i + 1);
  if (i < s.size() && s[i] == ']') return i + 1;
  for (;;) {
    f(i);
    i = SkipValue(s, i);
    if (i == kBad) return kBad;
    i = SkipWs(s, i);
    if (i < s.size() && s[i] == ',') {
      i = SkipWs(s, i + 1);
      continue;
    }
    if (i < s.size() && s[i] == ']') return i + 1;
    return kBad;
  }
}

inline Pos SkipValue(std::string_view s, Pos i) {
  i = SkipWs(s, i);
  if (i >= s.size()) return kBad;
  switch (s[i]) {
    case '"':
      return SkipString(s, i);
    case '{':
      return Members(s, i, [](std::string_view, Pos) {});
    case '[':
      return Elements(s, i, [](Pos) {});
    default: {
      const Pos start = i;
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '-' ||
                              s[i] == '+' || s[i] == '.'))
        ++i;
      return i == start ? kBad : i;
    }
  }
}

// The raw text of a string value (no unescaping: enough for tokens, names and types here).
inline std::optional<std::string_view> StringAt(std::string_view s, Pos i) {
  if (i >= s.size() || s[i] != '"') return std::nullopt;
  const Pos end = SkipString(s, i);
  if (end == kBad) return std::nullopt;
  return s.substr(i + 1, end - i - 2);
}

inline std::optional<std::int64_t> IntAt(std::string_view s, Pos i) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data() + i, s.data() + s.size(), v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}


// ---- blocking HTTP/1.1 for setup (Connection: close, read to EOF) ---------------------------

struct HttpResult {
  int status = 0;
  std::string body;
};

// A TCP connection to the endpoint (TCP_NODELAY); a nonblocking one may still be connecting.
int ConnectTcp(const Endpoint& o, bool nonblocking);

std::string HttpRequestText(const Endpoint& o, const std::string& method, const std::string& path,
                            const std::string& token, const std::string& body);

bool IEquals(std::string_view a, std::string_view b);

// Value of a header in a response head (up to the blank line), or "".
std::string_view HeaderValue(std::string_view head, std::string_view name);

std::optional<HttpResult> ParseHttpResponse(std::string_view raw);

void SendAll(int fd, std::string_view data);

HttpResult Http(const Endpoint& o, const std::string& method, const std::string& path,
                const std::string& token = "", const std::string& body = "");

// ---- WebSocket -------------------------------------------------------------------------------

std::string Base64(const unsigned char* p, std::size_t n);

// The Sec-WebSocket-Accept a server must answer to the Sec-WebSocket-Key key.
std::string AcceptFor(const std::string& key);

}  // namespace bench
