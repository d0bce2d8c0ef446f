#include "ws_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace bench {

namespace {
const char* program_name = "bench";
}  // namespace

void SetProgramName(const char* name) { program_name = name; }

void Die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program_name, what.c_str());
  std::exit(1);
}

// ---- blocking HTTP/1.1 for setup (Connection: close, read to EOF) ---------------------------

int ConnectTcp(const Endpoint& o, bool nonblocking) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(o.port));
  if (inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1)
    Die("--host must be an IPv4 address");
  const int fd = socket(AF_INET, SOCK_STREAM | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) Die(std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    const int e = errno;
    close(fd);
    Die(std::string("connect: ") + std::strerror(e));
  }
  return fd;
}

std::string HttpRequestText(const Endpoint& o, const std::string& method, const std::string& path,
                            const std::string& token, const std::string& body) {
  std::string r = method + " " + path + " HTTP/1.1\r\nHost: " + o.host + ":" +
                  std::to_string(o.port) + "\r\nConnection: close\r\n";
  if (!token.empty()) r += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    r +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view HeaderValue(std::string_view head, std::string_view name) {
  Pos i = head.find("\r\n");
  while (i != kBad && i + 2 < head.size()) {
    const Pos start = i + 2;
    Pos end = head.find("\r\n", start);
    if (end == kBad) end = head.size();
    const std::string_view line = head.substr(start, end - start);
    const Pos colon = line.find(':');
    if (colon != kBad && IEquals(line.substr(0, colon), name)) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
      return v;
    }
    i = end;
  }
  return {};
}

std::optional<HttpResult> ParseHttpResponse(std::string_view raw) {
  const Pos head_end = raw.find("\r\n\r\n");
  if (head_end == kBad || raw.substr(0, 9).find("HTTP/1.") != 0) return std::nullopt;
  const std::string_view head = raw.substr(0, head_end);
  HttpResult r;
  auto [p, ec] = std::from_chars(raw.data() + 9, raw.data() + raw.size(), r.status);
  if (ec != std::errc()) return std::nullopt;
  std::string_view body = raw.substr(head_end + 4);
  if (IEquals(HeaderValue(head, "transfer-encoding"), "chunked")) {
    for (;;) {
      std::size_t n = 0;
      auto [q, e] = std::from_chars(body.data(), body.data() + body.size(), n, 16);
      const Pos line_end = body.find("\r\n");
      if (e != std::errc() || line_end == kBad || n == 0) break;
      body.remove_prefix(line_end + 2);
      if (body.size() < n) return std::nullopt;
      r.body.append(body.substr(0, n));
      body.remove_prefix(std::min(body.size(), n + 2));
    }
  } else {
    const std::string_view cl = HeaderValue(head, "content-length");
    std::size_t n = body.size();
    if (!cl.empty()) std::from_chars(cl.data(), cl.data() + cl.size(), n);
    if (body.size() < n) return std::nullopt;
    r.body.assign(body.substr(0, n));
  }
  return r;
}

void SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Die(std::string("send: ") + std::strerror(errno));
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

HttpResult Http(const Endpoint& o, const std::string& method, const std::string& path,
                const std::string& token, const std::string& body) {
  const int fd = ConnectTcp(o, false);
  SendAll(fd, HttpRequestText(o, method, path, token, body));
  std::string raw;
  char buf[16384];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  auto r = ParseHttpResponse(raw);
  if (!r) Die(method + " " + path + ": no HTTP response");
  return *r;
}

// ---- WebSocket -------------------------------------------------------------------------------

std::string Base64(const unsigned char* p, std::size_t n) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < n; i += 3) {
    std::uint32_t v = p[i] << 16;
    if (i + 1 < n) v |= p[i + 1] << 8;
    if (i + 2 < n) v |= p[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::string AcceptFor(const std::string& key) {
  const std::string in = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), digest, &len, EVP_sha1(), nullptr);
  return Base64(digest, len);
}

}  // namespace bench
