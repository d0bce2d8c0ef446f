// The HTTP/WebSocket server against real sockets on 127.0.0.1 (and ::1), port 0.
// Clients are plain POSIX sockets writing raw HTTP and WebSocket frames, so this file stays
// cheap to compile and checks the bytes on the wire. Every socket read has a timeout.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include "adapters/http/http_server.h"

namespace homeline::http {
namespace {

using namespace std::chrono_literals;

constexpr int kSocketTimeoutSeconds = 5;

// ---------------------------------------------------------------------------------------
// A raw client connection.

class Conn {
 public:
  // Connects to host ("127.0.0.1" or "::1"); !ok() if that fails.
  Conn(std::uint16_t port, const std::string& host = "127.0.0.1") {
    bool v6 = host.find(':') != std::string::npos;
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    timeval tv{kSocketTimeoutSeconds, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc;
    if (v6) {
      sockaddr_in6 addr{};
      addr.sin6_family = AF_INET6;
      addr.sin6_port = htons(port);
      ::inet_pton(AF_INET6, host.c_str(), &addr.sin6_addr);
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    } else {
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port);
      ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    }
    if (rc != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Conn() { Close(); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool ok() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Makes sure buffer_ holds at least n bytes; false on EOF, error or timeout.
  bool Fill(std::size_t n) {
    while (buffer_.size() < n) {
      char chunk[4096];
      ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(got));
    }
    return true;
  }

  // Reads up to and including "\r\n\r\n".
  std::optional<std::string> ReadHead() {
    for (;;) {
      std::size_t end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string head = buffer_.substr(0, end + 4);
        buffer_.erase(0, end + 4);
        return head;
      }
      if (!Fill(buffer_.size() + 1)) return std::nullopt;
    }
  }

  std::optional<std::string> Take(std::size_t n) {
    if (!Fill(n)) return std::nullopt;
    std::string out = buffer_.substr(0, n);
    buffer_.erase(0, n);
    return out;
  }

  // True if the server closes the connection (EOF or reset) within the socket timeout.
  bool WaitClosed() {
    buffer_.clear();
    for (;;) {
      char chunk[4096];
      ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
      if (got == 0) return true;
      if (got < 0) return errno == ECONNRESET;
    }
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

RawResponse ParseHead(const std::string& head) {
  RawResponse r;
  std::size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.rfind("HTTP/1.", 0) == 0 && status_line.size() >= 12) {
    r.status = std::atoi(status_line.c_str() + 9);
  }
  std::size_t pos = line_end + 2;
  while (pos < head.size()) {
    std::size_t end = head.find("\r\n", pos);
    if (end == std::string::npos || end == pos) break;
    std::string line = head.substr(pos, end - pos);
    std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[Lower(line.substr(0, colon))] = value;
    }
    pos = end + 2;
  }
  return r;
}

// One response with a Content-Length body (all this server sends).
std::optional<RawResponse> ReadResponse(Conn& conn) {
  std::optional<std::string> head = conn.ReadHead();
  if (!head) return std::nullopt;
  RawResponse r = ParseHead(*head);
  std::size_t length = std::strtoul(r.Header("content-length").c_str(), nullptr, 10);
  std::optional<std::string> body = conn.Take(length);
  if (!body) return std::nullopt;
  r.body = *body;
  return r;
}

std::optional<RawResponse> RoundTrip(Conn& conn, const std::string& request) {
  if (!conn.Send(request)) return std::nullopt;
  return ReadResponse(conn);
}

std::string Get(const std::string& target, const std::string& extra_headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n";
}

std::string Post(const std::string& target, const std::string& body) {
  return "POST " + target + " HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\n" +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// ---------------------------------------------------------------------------------------
// WebSocket client frames (RFC 6455).

constexpr char kWsKey[] = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr char kWsAccept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";  // RFC 6455 section 1.3

std::string WsUpgrade(const std::string& target) {
  return "GET " + target +
         " HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " +
         kWsKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

// A masked client frame; opcode 1 is text, 2 binary, 8 close.
std::string WsFrame(std::string_view payload, int opcode = 1) {
  std::string frame;
  frame.push_back(static_cast<char>(0x80 | opcode));
  if (payload.size() < 126) {
    frame.push_back(static_cast<char>(0x80 | payload.size()));
  } else if (payload.size() < 65536) {
    frame.push_back(static_cast<char>(0x80 | 126));
    frame.push_back(static_cast<char>(payload.size() >> 8));
    frame.push_back(static_cast<char>(payload.size() & 0xff));
  } else {
    frame.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      frame.push_back(static_cast<char>((payload.size() >> shift) & 0xff));
    }
  }
  const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
  frame.append(reinterpret_cast<const char*>(mask), 4);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    frame.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  }
  return frame;
}

struct WsMessage {
  int opcode = 0;
  std::string payload;
};

// One unmasked server frame.
std::optional<WsMessage> ReadWsFrame(Conn& conn) {
  std::optional<std::string> header = conn.Take(2);
  if (!header) return std::nullopt;
  auto b0 = static_cast<unsigned char>((*header)[0]);
  auto b1 = static_cast<unsigned char>((*header)[1]);
  if (b1 & 0x80) return std::nullopt;  // servers must not mask
  std::uint64_t length = b1 & 0x7f;
  if (length >= 126) {
    std::optional<std::string> ext = conn.Take(length == 126 ? 2 : 8);
    if (!ext) return std::nullopt;
    length = 0;
    for (char c : *ext) length = (length << 8) | static_cast<unsigned char>(c);
  }
  std::optional<std::string> payload = conn.Take(length);
  if (!payload) return std::nullopt;
  return WsMessage{b0 & 0x0f, *payload};
}

// Opens a WebSocket on conn; returns the HTTP status of the handshake response.
int WsHandshake(Conn& conn, const std::string& target, std::string* accept = nullptr) {
  if (!conn.Send(WsUpgrade(target))) return 0;
  std::optional<std::string> head = conn.ReadHead();
  if (!head) return 0;
  RawResponse r = ParseHead(*head);
  if (accept) *accept = r.Header("sec-websocket-accept");
  if (r.status != 101) {
    std::size_t length = std::strtoul(r.Header("content-length").c_str(), nullptr, 10);
    conn.Take(length);
  }
  return r.status;
}

// ---------------------------------------------------------------------------------------
// The handler under the server.

// A file of kFileSize bytes of a known pattern, for the streamed bodies (FileSlice).
constexpr std::size_t kFileSize = 300000;  // several 64 KiB chunks
std::string FilePattern() {
  std::string s(kFileSize, '\0');
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  return s;
}
const std::string& PatternFile() {
  static const std::string path = [] {
    std::string p = (std::filesystem::temp_directory_path() / ("http_test_file_" + std::to_string(getpid()))).string();
    std::ofstream(p, std::ios::binary) << FilePattern();
    return p;
  }();
  return path;
}

class TestHandler : public ServerHandler {
 public:
  ~TestHandler() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  static Response Echo(const Request& req) {
    Response r;
    r.content_type = "text/plain";
    r.body = "method=" + req.method + "\npath=" + req.path + "\nquery=" + req.query +
             "\nname=" + req.QueryParam("name") + "\nx-test=" + req.Header("x-test") +
             "\nremote=" + req.remote_address + "\nbody=" + req.body;
    r.headers.emplace_back("X-Echo", "1");
    return r;
  }

  void OnRequest(Request request, Reply reply) override {
    ++requests;
    if (request.path == "/delayed") {
      // Reply from a thread of our own, later, as an engine would.
      std::lock_guard lock(mutex_);
      threads_.emplace_back([request = std::move(request), reply = std::move(reply)] {
        std::this_thread::sleep_for(50ms);
        reply(Echo(request));
      });
    } else if (request.path == "/json") {
      reply(Response{201, "application/json", R"({"ok":true})", {}, {}});
    } else if (request.path == "/drop") {
      // Never replies: the server must answer for us.
    } else if (request.path == "/file") {
      // ?offset=&length= of the pattern file, streamed.
      auto f = std::make_shared<FileSlice>();
      f->fd = ::open(PatternFile().c_str(), O_RDONLY | O_CLOEXEC);
      f->offset = std::strtoull(request.QueryParam("offset").c_str(), nullptr, 10);
      const std::string length = request.QueryParam("length");
      f->length = length.empty() ? kFileSize - f->offset : std::strtoull(length.c_str(), nullptr, 10);
      Response r;
      r.content_type = "application/octet-stream";
      r.file = std::move(f);
      reply(std::move(r));
    } else if (request.path == "/empty") {
      reply(Response{204, "", "", {}, {}});
    } else {
      reply(Echo(request));
    }
  }

  bool AcceptsWebSocket(const Request& upgrade) override { return upgrade.path == "/ws"; }

  void OnWsOpen(std::shared_ptr<WsPeer> peer, const Request& upgrade) override {
    std::lock_guard lock(mutex_);
    last_upgrade_query = upgrade.query;
    ++opens;
    if (upgrade.QueryParam("reject") == "1") {
      // As an API refusing bad credentials: say why, then close.
      peer->Send("go away");
      peer->Close();
    }
    peers_[peer->id()] = std::move(peer);
  }

  void OnWsMessage(std::uint64_t peer_id, std::string text) override {
    std::shared_ptr<WsPeer> peer;
    {
      std::lock_guard lock(mutex_);
      peer = peers_.at(peer_id);
    }
    if (text == "close") {
      peer->Close();
    } else if (text == "burst") {
      for (int i = 0; i < 10; ++i) peer->Send(std::string(1000, 'x'));
    } else {
      // From another thread, as the engine would.
      std::lock_guard lock(mutex_);
      threads_.emplace_back([peer, text] { peer->Send("echo:" + text); });
    }
  }

  void OnWsClose(std::uint64_t peer_id) override {
    std::lock_guard lock(mutex_);
    ++closes_[peer_id];
    closed_.notify_all();
  }

  // Waits until n peers have been reported closed; false on timeout.
  bool WaitForCloses(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    return closed_.wait_for(lock, timeout, [&] { return closes_.size() >= n; });
  }

  std::map<std::uint64_t, int> Closes() {
    std::lock_guard lock(mutex_);
    return closes_;
  }

  std::atomic<int> requests{0};
  std::atomic<int> opens{0};
  std::string last_upgrade_query;

 private:
  std::mutex mutex_;
  std::condition_variable closed_;
  std::vector<std::thread> threads_;
  std::map<std::uint64_t, std::shared_ptr<WsPeer>> peers_;
  std::map<std::uint64_t, int> closes_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Quiet unless HOMELINE_TEST_LOG=debug (or another spdlog level name) is set.
    const char* level = std::getenv("HOMELINE_TEST_LOG");
    spdlog::set_level(level ? spdlog::level::from_str(level) : spdlog::level::warn);
  }

  void Start(Options options = {}) {
    options.port = 0;
    if (options.threads == 1) options.threads = 2;
    server_ = MakeServer(options, &handler_);
    Status status = server_->Start();
    ASSERT_TRUE(status.has_value()) << status.error().message;
    ASSERT_NE(server_->port(), 0);
  }
  std::uint16_t port() const { return server_->port(); }

  // The server still answers a fresh connection.
  void ExpectServing() {
    Conn conn(port());
    ASSERT_TRUE(conn.ok());
    auto r = RoundTrip(conn, Get("/alive"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }

  TestHandler handler_;  // outlives server_
  std::unique_ptr<Server> server_;
};

// ---------------------------------------------------------------------------------------
// Request helpers, without a server.

TEST(RequestTest, QueryParamDecodes) {
  Request r;
  r.query = "name=J%C3%B6rg+M&empty=&flag&x=%zz&a%20b=1&name=second";
  EXPECT_EQ(r.QueryParam("name"), "J\xC3\xB6rg M");
  EXPECT_EQ(r.QueryParam("empty"), "");
  EXPECT_EQ(r.QueryParam("flag"), "");
  EXPECT_EQ(r.QueryParam("x"), "%zz");  // malformed escapes stay as they are
  EXPECT_EQ(r.QueryParam("a b"), "1");
  EXPECT_EQ(r.QueryParam("missing"), "");
}

TEST(RequestTest, HeaderFindsFirstOrEmpty) {
  Request r;
  r.headers = {{"x-a", "1"}, {"x-a", "2"}};
  EXPECT_EQ(r.Header("x-a"), "1");
  EXPECT_EQ(r.Header("x-b"), "");
}

// ---------------------------------------------------------------------------------------
// HTTP

TEST_F(HttpServerTest, GetEcho) {
  Start();
  Conn conn(port());
  ASSERT_TRUE(conn.ok());
  auto r = RoundTrip(conn, Get("/echo/a?name=x&y=2", "X-Test: hello\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-type"), "text/plain");
  EXPECT_EQ(r->Header("x-echo"), "1");
  EXPECT_EQ(r->Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r->Header("cache-control"), "");  // only for JSON
  EXPECT_NE(r->body.find("method=GET\n"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("path=/echo/a\n"), std::string::npos);
  EXPECT_NE(r->body.find("query=name=x&y=2\n"), std::string::npos);
  EXPECT_NE(r->body.find("name=x\n"), std::string::npos);
  EXPECT_NE(r->body.find("x-test=hello\n"), std::string::npos);
  EXPECT_NE(r->body.find("remote=127.0.0.1\n"), std::string::npos);
}

TEST_F(HttpServerTest, PostEcho) {
  Start();
  Conn conn(port());
  ASSERT_TRUE(conn.ok());
  auto r = RoundTrip(conn, Post("/submit", "hello body"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("method=POST\n"), std::string::npos);
  EXPECT_NE(r->body.find("body=hello body"), std::string::npos);
}

TEST_F(HttpServerTest, JsonResponsesAreNotCached) {
  Start();
  Conn conn(port());
  auto r = RoundTrip(conn, Get("/json"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->Header("cache-control"), "no-store");
  EXPECT_EQ(r->Header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r->body, R"({"ok":true})");
}

TEST_F(HttpServerTest, NoContentHasNoBody) {
  Start();
  Conn conn(port());
  auto r = RoundTrip(conn, Get("/empty"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->Header("content-length"), "");
  // The connection is still in step: the next response parses.
  auto next = RoundTrip(conn, Get("/after"));
  ASSERT_TRUE(next);
  EXPECT_NE(next->body.find("path=/after\n"), std::string::npos);
}

TEST_F(HttpServerTest, HeadHasLengthButNoBody) {
  Start();
  Conn conn(port());
  ASSERT_TRUE(conn.Send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = conn.ReadHead();
  ASSERT_TRUE(head);
  RawResponse r = ParseHead(*head);
  EXPECT_EQ(r.status, 200);
  EXPECT_GT(std::atoi(r.Header("content-length").c_str()), 0);
  // No body bytes follow: the next response starts right away.
  auto next = RoundTrip(conn, Get("/after"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_NE(next->body.find("path=/after\n"), std::string::npos);
}

TEST_F(HttpServerTest, FileBodiesAreStreamedWholeOrInPart) {
  Start();
  const std::string pattern = FilePattern();
  Conn conn(port());
  ASSERT_TRUE(conn.ok());
  auto whole = RoundTrip(conn, Get("/file"));
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->status, 200);
  EXPECT_EQ(whole->Header("content-type"), "application/octet-stream");
  EXPECT_EQ(whole->Header("content-length"), std::to_string(kFileSize));
  EXPECT_TRUE(whole->body == pattern) << "the streamed body differs from the file";
  // A slice across chunk boundaries, on the same connection (keep-alive still in step).
  auto part = RoundTrip(conn, Get("/file?offset=65000&length=70001"));
  ASSERT_TRUE(part);
  EXPECT_EQ(part->Header("content-length"), "70001");
  EXPECT_TRUE(part->body == pattern.substr(65000, 70001));
  // HEAD: the length, no body.
  ASSERT_TRUE(conn.Send("HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto head = conn.ReadHead();
  ASSERT_TRUE(head);
  EXPECT_EQ(ParseHead(*head).Header("content-length"), std::to_string(kFileSize));
  auto next = RoundTrip(conn, Get("/after"));
  ASSERT_TRUE(next);
  EXPECT_NE(next->body.find("path=/after\n"), std::string::npos);
}

TEST(RequestTest, ByteRanges) {
  ByteRange r;
  EXPECT_EQ(ParseRange("", 1000, &r), RangeCheck::kWhole);
  ASSERT_EQ(ParseRange("bytes=0-99", 1000, &r), RangeCheck::kPart);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.length, 100u);
  ASSERT_EQ(ParseRange("bytes=900-", 1000, &r), RangeCheck::kPart);
  EXPECT_EQ(r.first, 900u);
  EXPECT_EQ(r.length, 100u);
  ASSERT_EQ(ParseRange("bytes=-10", 1000, &r), RangeCheck::kPart);  // the last 10
  EXPECT_EQ(r.first, 990u);
  EXPECT_EQ(r.length, 10u);
  ASSERT_EQ(ParseRange("bytes=-5000", 1000, &r), RangeCheck::kPart);  // all of it
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.length, 1000u);
  ASSERT_EQ(ParseRange("bytes=500-99999", 1000, &r), RangeCheck::kPart);  // clamped
  EXPECT_EQ(r.length, 500u);
  EXPECT_EQ(ParseRange("bytes=1000-", 1000, &r), RangeCheck::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=-0", 1000, &r), RangeCheck::kUnsatisfiable);
  // Not ours to read: the whole body is a valid answer.
  EXPECT_EQ(ParseRange("bytes=0-1,5-6", 1000, &r), RangeCheck::kWhole);
  EXPECT_EQ(ParseRange("items=0-1", 1000, &r), RangeCheck::kWhole);
  EXPECT_EQ(ParseRange("bytes=9-3", 1000, &r), RangeCheck::kWhole);
  EXPECT_EQ(ParseRange("bytes=x-3", 1000, &r), RangeCheck::kWhole);
  EXPECT_EQ(ParseRange("bytes=99999999999999999999-", 1000, &r), RangeCheck::kWhole);
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Start();
  Conn conn(port());
  ASSERT_TRUE(conn.ok());
  auto first = RoundTrip(conn, Get("/one"));
  ASSERT_TRUE(first);
  EXPECT_NE(first->body.find("path=/one\n"), std::string::npos);
  auto second = RoundTrip(conn, Post("/two", "2"));
  ASSERT_TRUE(second);
  EXPECT_NE(second->body.find("path=/two\n"), std::string::npos);

  // Pipelined: both requests in one write, answered in order.
  ASSERT_TRUE(conn.Send(Get("/three") + Get("/delayed")));
  auto third = ReadResponse(conn);
  auto fourth = ReadResponse(conn);
  ASSERT_TRUE(third && fourth);
  EXPECT_NE(third->body.find("path=/three\n"), std::string::npos);
  EXPECT_NE(fourth->body.find("path=/delayed\n"), std::string::npos);
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  Start();
  Conn conn(port());
  auto r = RoundTrip(conn, Get("/bye", "Connection: close\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Lower(r->Header("connection")), "close");
  EXPECT_TRUE(conn.WaitClosed());
}

TEST_F(HttpServerTest, ReplyFromAnotherThread) {
  Start();
  Conn conn(port());
  ASSERT_TRUE(conn.ok());
  auto r = RoundTrip(conn, Get("/delayed?name=late"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("name=late\n"), std::string::npos);
  auto again = RoundTrip(conn, Get("/delayed"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST_F(HttpServerTest, ReplyAfterClientLeftIsHarmless) {
  Start();
  {
    Conn conn(port());
    ASSERT_TRUE(conn.Send(Get("/delayed")));
  }  // closed before the reply comes
  std::this_thread::sleep_for(150ms);
  ExpectServing();
}

TEST_F(HttpServerTest, DroppedReplyBecomes500) {
  Start();
  Conn conn(port());
  auto r = RoundTrip(conn, Get("/drop"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find(R"("code":"internal")"), std::string::npos);
}

TEST_F(HttpServerTest, BodyOverLimitGets413AndServerKeepsServing) {
  Options options;
  options.body_limit = 1024;
  Start(options);
  {
    Conn conn(port());
    ASSERT_TRUE(conn.ok());
    auto r = RoundTrip(conn, Post("/upload", std::string(4096, 'a')));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->Header("content-type"), "application/json");
    EXPECT_NE(r->body.find(R"({"error":{"code":"payload_too_large","message":)"), std::string::npos)
        << r->body;
    EXPECT_TRUE(conn.WaitClosed());
  }
  {
    // Chunked bodies are counted too.
    Conn conn(port());
    std::string chunk(800, 'b');
    char size[16];
    std::snprintf(size, sizeof size, "%zx", chunk.size());
    std::string request = "POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
                          std::string(size) + "\r\n" + chunk + "\r\n" + size + "\r\n" + chunk +
                          "\r\n0\r\n\r\n";
    auto r = RoundTrip(conn, request);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  EXPECT_EQ(handler_.requests.load(), 0);
  ExpectServing();
  // At the limit is fine.
  Conn conn(port());
  auto r = RoundTrip(conn, Post("/upload", std::string(1024, 'a')));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, MalformedRequestGets400AndServerKeepsServing) {
  Start();
  for (std::string garbage :
       {"GARBAGE\r\n\r\n", "GET /x HTTP/9.9\r\n\r\n", "GET /x HTTP/1.1\r\nBad Header\r\n\r\n",
        "POST /x HTTP/1.1\r\nContent-Length: nope\r\n\r\n"}) {
    Conn conn(port());
    ASSERT_TRUE(conn.ok());
    auto r = RoundTrip(conn, garbage);
    ASSERT_TRUE(r) << garbage;
    EXPECT_EQ(r->status, 400) << garbage;
    EXPECT_NE(r->body.find(R"("code":"bad_request")"), std::string::npos);
    EXPECT_TRUE(conn.WaitClosed());
  }
  ExpectServing();
}

TEST_F(HttpServerTest, OversizedHeadersGet431) {
  Start();
  Conn conn(port());
  auto r = RoundTrip(conn, Get("/x", "X-Big: " + std::string(20 * 1024, 'h') + "\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  ExpectServing();
}

TEST_F(HttpServerTest, RandomBytesDoNotHurtTheServer) {
  Start();
  std::mt19937 random(42);
  for (int i = 0; i < 40; ++i) {
    Conn conn(port());
    ASSERT_TRUE(conn.ok());
    std::string junk(1 + random() % 600, '\0');
    for (char& c : junk) c = static_cast<char>(random());
    if (i % 2 == 0) junk = "GET /" + junk;  // get past the method sometimes
    conn.Send(junk);
  }
  ExpectServing();
}

TEST_F(HttpServerTest, PathIsPercentDecodedAndQueryIsRaw) {
  Start();
  Conn conn(port());
  auto r = RoundTrip(conn, Get("/a%20b/c%2Fd?name=J%C3%B6rg+M&x=1%2B1"));
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("path=/a b/c/d\n"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("query=name=J%C3%B6rg+M&x=1%2B1\n"), std::string::npos);
  EXPECT_NE(r->body.find("name=J\xC3\xB6rg M\n"), std::string::npos);
}

TEST_F(HttpServerTest, ListensOnIpv6Loopback) {
  Options options;
  options.host = "::1";
  options.port = 0;
  server_ = MakeServer(options, &handler_);
  Status status = server_->Start();
  if (!status) GTEST_SKIP() << "::1 unavailable: " << status.error().message;
  Conn conn(server_->port(), "::1");
  if (!conn.ok()) GTEST_SKIP() << "cannot connect to ::1";
  auto r = RoundTrip(conn, Get("/six"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("remote=::1\n"), std::string::npos) << r->body;
}

TEST_F(HttpServerTest, BadListenAddressFails) {
  Options options;
  options.host = "not-an-ip";
  server_ = MakeServer(options, &handler_);
  EXPECT_FALSE(server_->Start().has_value());
}

TEST_F(HttpServerTest, PortInUseFails) {
  Start();
  Options options;
  options.port = port();
  auto second = MakeServer(options, &handler_);
  EXPECT_FALSE(second->Start().has_value());
}

TEST_F(HttpServerTest, SlowlorisConnectionIsClosed) {
  Options options;
  options.idle_timeout_seconds = 1;
  Start(options);
  Conn conn(port());
  ASSERT_TRUE(conn.Send("GET /slow HTTP/1.1\r\nHost: t\r\n"));  // never finishes
  auto begin = std::chrono::steady_clock::now();
  EXPECT_TRUE(conn.WaitClosed());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 4s);
  EXPECT_EQ(handler_.requests.load(), 0);
}

TEST_F(HttpServerTest, ConnectionsBeyondTheCapAreRefused) {
  Options options;
  options.max_connections = 2;
  Start(options);
  Conn a(port());
  Conn b(port());
  ASSERT_TRUE(RoundTrip(a, Get("/a")));
  ASSERT_TRUE(RoundTrip(b, Get("/b")));
  Conn c(port());
  ASSERT_TRUE(c.ok());  // the kernel accepts; the server closes it at once
  c.Send(Get("/c"));
  EXPECT_TRUE(c.WaitClosed());
  a.Close();
  // Once a leaves, there is room again (its close takes a moment to be noticed).
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {
    Conn d(port());
    served = d.Send(Get("/d")) && ReadResponse(d).has_value();
    if (!served) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(served);
}

TEST_F(HttpServerTest, StopIsIdempotentAndClosesConnections) {
  Start();
  Conn conn(port());
  ASSERT_TRUE(RoundTrip(conn, Get("/x")));
  server_->Stop();
  EXPECT_TRUE(conn.WaitClosed());
  server_->Stop();
  Conn refused(port());
  EXPECT_FALSE(refused.ok() && RoundTrip(refused, Get("/x")).has_value());
}

// ---------------------------------------------------------------------------------------
// WebSocket

TEST_F(HttpServerTest, WebSocketEchoAndCloseOnDisconnect) {
  Start();
  {
    Conn conn(port());
    std::string accept;
    ASSERT_EQ(WsHandshake(conn, "/ws?token=abc", &accept), 101);
    EXPECT_EQ(accept, kWsAccept);
    ASSERT_TRUE(conn.Send(WsFrame("hello")));
    auto reply = ReadWsFrame(conn);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->opcode, 1);
    EXPECT_EQ(reply->payload, "echo:hello");
    // A larger message, with a 16-bit length.
    std::string big(3000, 'z');
    ASSERT_TRUE(conn.Send(WsFrame(big)));
    reply = ReadWsFrame(conn);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->payload, "echo:" + big);
  }  // the client vanishes without a close frame
  ASSERT_TRUE(handler_.WaitForCloses(1));
  std::this_thread::sleep_for(100ms);
  auto closes = handler_.Closes();
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes.begin()->second, 1);
  EXPECT_EQ(handler_.opens.load(), 1);
  EXPECT_EQ(handler_.last_upgrade_query, "token=abc");
  server_->Stop();
  EXPECT_EQ(handler_.Closes().begin()->second, 1);  // not again on Stop
}

TEST_F(HttpServerTest, WebSocketPeerIdsAreDistinct) {
  Start();
  Conn a(port());
  Conn b(port());
  ASSERT_EQ(WsHandshake(a, "/ws"), 101);
  ASSERT_EQ(WsHandshake(b, "/ws"), 101);
  a.Close();
  b.Close();
  ASSERT_TRUE(handler_.WaitForCloses(2));
  EXPECT_EQ(handler_.Closes().size(), 2u);
}

TEST_F(HttpServerTest, WebSocketUpgradeOnRefusedPathGets404) {
  Start();
  Conn conn(port());
  EXPECT_EQ(WsHandshake(conn, "/not-ws"), 404);
  EXPECT_EQ(handler_.opens.load(), 0);
  ExpectServing();
}

TEST_F(HttpServerTest, WebSocketServerCloseSendsCloseFrame) {
  Start();
  Conn conn(port());
  ASSERT_EQ(WsHandshake(conn, "/ws"), 101);
  ASSERT_TRUE(conn.Send(WsFrame("close")));
  auto frame = ReadWsFrame(conn);
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->opcode, 8);
  ASSERT_GE(frame->payload.size(), 2u);
  EXPECT_EQ((static_cast<unsigned char>(frame->payload[0]) << 8) |
                static_cast<unsigned char>(frame->payload[1]),
            1000);
  ASSERT_TRUE(conn.Send(WsFrame(frame->payload, 8)));  // answer the close
  EXPECT_TRUE(conn.WaitClosed());                      // the server shuts down its side...
  conn.Close();                                        // ...and waits for ours
  ASSERT_TRUE(handler_.WaitForCloses(1));
  EXPECT_EQ(handler_.Closes().begin()->second, 1);
}

TEST_F(HttpServerTest, WebSocketSendThenCloseFromOnWsOpen) {
  Start();
  Conn conn(port());
  ASSERT_EQ(WsHandshake(conn, "/ws?reject=1"), 101);
  auto text = ReadWsFrame(conn);
  ASSERT_TRUE(text);
  EXPECT_EQ(text->opcode, 1);
  EXPECT_EQ(text->payload, "go away");  // queued frames go out before the close
  auto close = ReadWsFrame(conn);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, 8);
  ASSERT_TRUE(conn.Send(WsFrame(close->payload, 8)));
  EXPECT_TRUE(conn.WaitClosed());
  conn.Close();
  ASSERT_TRUE(handler_.WaitForCloses(1));
}

TEST_F(HttpServerTest, WebSocketSlowConsumerIsDropped) {
  Options options;
  options.ws_send_queue_limit = 4;
  Start(options);
  Conn conn(port());
  ASSERT_EQ(WsHandshake(conn, "/ws"), 101);
  ASSERT_TRUE(conn.Send(WsFrame("burst")));  // ten frames at once, over the limit of four
  EXPECT_TRUE(conn.WaitClosed());
  ASSERT_TRUE(handler_.WaitForCloses(1));
  EXPECT_EQ(handler_.Closes().begin()->second, 1);
}

TEST_F(HttpServerTest, WebSocketMessageOverLimitClosesPeer) {
  Options options;
  options.ws_message_limit = 1000;
  Start(options);
  Conn conn(port());
  ASSERT_EQ(WsHandshake(conn, "/ws"), 101);
  ASSERT_TRUE(conn.Send(WsFrame(std::string(5000, 'm'))));
  auto frame = ReadWsFrame(conn);
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->opcode, 8);  // 1009, message too big
  ASSERT_TRUE(handler_.WaitForCloses(1));
  ExpectServing();
}

TEST_F(HttpServerTest, StopReportsOpenWebSocketsClosed) {
  Start();
  Conn conn(port());
  ASSERT_EQ(WsHandshake(conn, "/ws"), 101);
  // OnWsOpen runs once the 101 has been written, so maybe just after the client reads it.
  for (int i = 0; i < 100 && handler_.opens.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(handler_.opens.load(), 1);
  // The client ignores the close frame: Stop must not wait forever, and still report.
  auto begin = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
  auto closes = handler_.Closes();
  ASSERT_EQ(closes.size(), 1u);
  EXPECT_EQ(closes.begin()->second, 1);
}

// ---------------------------------------------------------------------------------------
// TLS

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "homeline-http-XXXXXX");
    if (::mkdtemp(pattern.data())) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool HaveTool(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  char chunk[4096];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) out.append(chunk, n);
  ::pclose(pipe);
  return out;
}

class HttpsServerTest : public HttpServerTest {
 protected:
  void SetUp() override {
    if (!HaveTool("openssl") || !HaveTool("curl")) GTEST_SKIP() << "needs openssl and curl";
    ASSERT_FALSE(dir_.path().empty());
    cert_ = dir_.path() + "/cert.pem";
    key_ = dir_.path() + "/key.pem";
    std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 "
        "-keyout " +
        key_ + " -out " + cert_ + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0);
  }

  std::string Curl(const std::string& args) {
    return RunCommand("curl -sk --max-time 5 " + args + " 2>/dev/null");
  }

  TempDir dir_;
  std::string cert_;
  std::string key_;
};

TEST_F(HttpsServerTest, ServesHttps) {
  Options options;
  options.tls_cert = cert_;
  options.tls_key = key_;
  Start(options);
  std::string base = "https://127.0.0.1:" + std::to_string(port());
  std::string body = Curl(base + "/secure?name=tls");
  EXPECT_NE(body.find("path=/secure\n"), std::string::npos) << body;
  EXPECT_NE(body.find("name=tls\n"), std::string::npos);
  // POST, and two requests on one connection.
  body = Curl("-d payload " + base + "/post " + base + "/second");
  EXPECT_NE(body.find("body=payload"), std::string::npos) << body;
  EXPECT_NE(body.find("path=/second\n"), std::string::npos);
  // TLS 1.1 is refused.
  std::string code = Curl("--tls-max 1.1 -o /dev/null -w %{http_code} " + base + "/old");
  EXPECT_EQ(code, "000");

  // Plain HTTP on the TLS port gets nowhere, and hurts nothing.
  {
    Conn conn(port());
    ASSERT_TRUE(conn.ok());
    conn.Send(Get("/plain"));
    EXPECT_FALSE(ReadResponse(conn).has_value());
  }
  body = Curl(base + "/still");
  EXPECT_NE(body.find("path=/still\n"), std::string::npos) << body;
}

TEST_F(HttpsServerTest, WebSocketOverTls) {
  Options options;
  options.tls_cert = cert_;
  options.tls_key = key_;
  Start(options);
  // openssl s_client as the TLS client; it holds the socket open for a second, then leaves.
  std::string upgrade = WsUpgrade("/ws");
  std::string printable;
  for (char c : upgrade) printable += c == '\r' ? "\\r" : c == '\n' ? "\\n" : std::string(1, c);
  std::string out = RunCommand("(printf '" + printable +
                               "'; sleep 1) | timeout 10 openssl s_client "
                               "-quiet -no_ign_eof -connect 127.0.0.1:" +
                               std::to_string(port()) + " 2>/dev/null");
  EXPECT_NE(out.find("HTTP/1.1 101"), std::string::npos) << out;
  EXPECT_NE(out.find(kWsAccept), std::string::npos);
  ASSERT_TRUE(handler_.WaitForCloses(1));
  EXPECT_EQ(handler_.opens.load(), 1);
}

TEST_F(HttpsServerTest, MissingKeyFileFailsStart) {
  Options options;
  options.port = 0;
  options.tls_cert = cert_;
  options.tls_key = dir_.path() + "/missing.pem";
  server_ = MakeServer(options, &handler_);
  Status status = server_->Start();
  ASSERT_FALSE(status.has_value());
  EXPECT_NE(status.error().message.find("missing.pem"), std::string::npos);
  server_->Stop();  // harmless after a failed Start
}

TEST_F(HttpsServerTest, GarbageKeyOrOnlyOneFileFailsStart) {
  std::string garbage = dir_.path() + "/garbage.pem";
  std::ofstream(garbage) << "not a key\n";
  Options options;
  options.port = 0;
  options.tls_cert = cert_;
  options.tls_key = garbage;
  EXPECT_FALSE(MakeServer(options, &handler_)->Start().has_value());
  options.tls_key = "";
  EXPECT_FALSE(MakeServer(options, &handler_)->Start().has_value());
}

}  // namespace
}  // namespace homeline::http
