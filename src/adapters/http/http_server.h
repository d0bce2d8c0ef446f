#pragma once
// HTTP/1.1 and WebSocket server (Boost.Beast), plain or TLS. It knows nothing of the API:
// it turns wire requests into Request values, hands them to a ServerHandler, and writes the
// Response it gets back. All Beast/Asio templates live in http_server.cc.
//
// Threads: the server runs its own I/O threads (Options::threads). ServerHandler methods are
// called on those threads. Reply and WsPeer methods are safe to call from any thread.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace homeline::http {

struct Request {
  std::string method;          // "GET", "POST", ...
  std::string path;            // percent-decoded path, without the query
  std::string raw_path;        // the path as sent (escapes kept): split it before decoding, so
                               // an escaped '/' (%2F) stays inside its segment
  std::string query;           // raw query string after '?', may be empty
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote_address;  // peer IP, e.g. "127.0.0.1" or "::1"

  // First header with this lower-case name, or "" if absent.
  const std::string& Header(std::string_view name) const;
  // Value of a query parameter (percent-decoded), or "" if absent.
  std::string QueryParam(std::string_view name) const;
};

// Part of an open file, sent as a response body in chunks as the socket takes them (a file
// of any size costs one 64 KiB buffer, never its whole size in memory). The descriptor is
// closed when the last copy goes.
struct FileSlice {
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  FileSlice() = default;
  FileSlice(const FileSlice&) = delete;
  FileSlice& operator=(const FileSlice&) = delete;
  ~FileSlice();
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Set-Cookie
  // When set, the body is this file slice (Content-Length: its length) and `body` is ignored.
  std::shared_ptr<const FileSlice> file;
};

// A "Range: bytes=..." request header against a body of `size` bytes (RFC 9110 14.1.2),
// for 206 Partial Content: kWhole when there is no header, it is not a single byte range we
// read (several ranges, another unit, bad syntax: the whole body is a valid answer), kPart
// with the range clamped to the body, kUnsatisfiable (416) when it starts at or after the end.
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};
enum class RangeCheck { kWhole, kPart, kUnsatisfiable };
RangeCheck ParseRange(std::string_view header, std::uint64_t size, ByteRange* out);

// Delivers the response for one request. Call exactly once, from any thread. Later calls,
// and calls after the connection closed or the server stopped, do nothing; a Reply destroyed
// without being called answers 500.
using Reply = std::function<void(Response)>;

// One open WebSocket connection. Safe from any thread; calls after close are no-ops.
class WsPeer {
 public:
  virtual ~WsPeer() = default;
  virtual std::uint64_t id() const = 0;
  // Queues a text frame. If the peer is too slow (queue over its limit) it is disconnected.
  virtual void Send(std::string text) = 0;
  virtual void Close() = 0;
};

class ServerHandler {
 public:
  virtual ~ServerHandler() = default;
  // A complete HTTP request within the size limit (others get 413/400 from the server itself).
  virtual void OnRequest(Request request, Reply reply) = 0;
  // Whether a WebSocket upgrade on this path is wanted at all (e.g. "/api/v1/events").
  virtual bool AcceptsWebSocket(const Request& upgrade) = 0;
  // The upgrade completed. The handler authenticates from upgrade's headers/query and may
  // Close() the peer. The server keeps the peer alive until the socket closes.
  virtual void OnWsOpen(std::shared_ptr<WsPeer> peer, const Request& upgrade) = 0;
  virtual void OnWsMessage(std::uint64_t peer_id, std::string text) = 0;
  // Called once per opened peer, whatever closed it.
  virtual void OnWsClose(std::uint64_t peer_id) = 0;
};

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;        // 0: pick a free port (see Server::port())
  int threads = 1;
  std::size_t body_limit = 1 << 20; // bytes; larger bodies get 413
  std::size_t ws_message_limit = 64 * 1024;
  std::size_t ws_send_queue_limit = 4096;  // frames queued per peer before it is dropped
  std::string tls_cert;             // PEM files; both set: HTTPS/WSS only
  std::string tls_key;
  // Connections beyond this many are closed as soon as they are accepted.
  std::size_t max_connections = 10000;
  // A request (headers and body) must arrive within this many seconds of the previous
  // response, or the connection is closed: idle keep-alive and slowloris connections die.
  int idle_timeout_seconds = 30;
};

class Server {
 public:
  virtual ~Server() = default;
  // Binds and starts the I/O threads. Fails on bad address, port in use, bad TLS files.
  [[nodiscard]] virtual Status Start() = 0;
  virtual std::uint16_t port() const = 0;  // the bound port
  // Stops accepting, closes connections (WebSocket peers get OnWsClose), joins threads.
  // Idempotent. Not from a handler callback (it joins the threads that run them).
  virtual void Stop() = 0;
};

// handler must outlive the server.
std::unique_ptr<Server> MakeServer(Options options, ServerHandler* handler);

}  // namespace homeline::http
