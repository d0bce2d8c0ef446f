// HTTP/1.1 and WebSocket server on Boost.Beast. Every Beast/Asio template of the project is
// instantiated in this one translation unit, to keep compile times down.
//
// Shape:
// - One io_context run by Options::threads threads. Each accepted socket gets its own strand,
//   so the handlers of one connection never run concurrently; Reply and WsPeer calls from
//   other threads are posted onto that strand.
// - The server's registry owns the sessions (shared_ptr, because Asio completion handlers
//   must also keep the session alive while an operation is pending). The registry lets Stop()
//   reach every connection and gives the connection count for the cap. A session leaves the
//   registry when its connection is finished.
// - Reply and WsPeer hold only weak_ptrs: once the connection is gone they do nothing. They
//   also pass the server's Gate, which Stop() closes after joining the I/O threads: a thread
//   of the application must never be the one that destroys a session (the last shared_ptr)
//   once the io_context it belongs to is gone.
// - Session code is templated over the stream (beast::tcp_stream, or beast::ssl_stream over
//   it), so plain and TLS share the logic; `if constexpr (kTls<Stream>)` marks the
//   differences (handshake, close_notify).

#include <utility>  // before any Asio header: Boost 1.74 misses it with g++ 12

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include "adapters/http/http_server.h"
#include "adapters/http/url.h"

namespace homeline::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using ErrorCodeT = boost::system::error_code;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
template <class Stream>
constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

constexpr std::size_t kHeaderLimit = 16 * 1024;
constexpr auto kWriteTimeout = std::chrono::seconds(30);
// Closing: how long we wait for the peer's FIN (plain) or close_notify (TLS), and how much of
// its unread data we drain meanwhile, so that our last response is not lost to a TCP reset.
constexpr auto kCloseTimeout = std::chrono::seconds(2);
constexpr std::size_t kLingerLimit = 256 * 1024;
// Stop(): how long connections get to close before the I/O threads are stopped regardless.
constexpr auto kStopGrace = std::chrono::seconds(2);
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

// Logs under the "http" logger if the application registered one, else on the default
// logger with the subsystem in the text.
template <typename... Args>
void LogAt(spdlog::level::level_enum level, fmt::format_string<Args...> format, Args&&... args) {
  std::shared_ptr<spdlog::logger> logger = spdlog::get("http");
  bool named = logger != nullptr;
  if (!named) logger = spdlog::default_logger();
  if (!logger || !logger->should_log(level)) return;
  std::string text = fmt::format(format, std::forward<Args>(args)...);
  if (named) {
    logger->log(level, "{}", text);
  } else {
    logger->log(level, "[http] {}", text);
  }
}
template <typename... Args>
void LogDebug(fmt::format_string<Args...> format, Args&&... args) {
  LogAt(spdlog::level::debug, format, std::forward<Args>(args)...);
}
template <typename... Args>
void LogError(fmt::format_string<Args...> format, Args&&... args) {
  LogAt(spdlog::level::err, format, std::forward<Args>(args)...);
}

std::string_view ToStd(beast::string_view s) { return {s.data(), s.size()}; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IEquals(std::string_view a, std::string_view b) { return Lower(a) == Lower(b); }

// RFC 9110 token characters: what a header name may contain.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    bool ok =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// A header value must not let a handler split the response.
bool IsSafeValue(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string RemoteAddress(const tcp::endpoint& endpoint) {
  asio::ip::address address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address.to_string();
}

using BeastRequest = bhttp::request<bhttp::string_body>;
using BeastResponse = bhttp::response<bhttp::string_body>;

// A Beast body that sends a FileSlice: pread of 64 KiB at a time at the slice's offsets (the
// descriptor's own position is never used, so slices of one file do not disturb each other).
// beast::http::file_body (Boost 1.74) sends whole files only; Range requests need a part.
struct FileSliceBody {
  using value_type = std::shared_ptr<const FileSlice>;
  static std::uint64_t size(const value_type& v) { return v ? v->length : 0; }

  class writer {
   public:
    using const_buffers_type = asio::const_buffer;
    template <bool isRequest, class Fields>
    writer(bhttp::header<isRequest, Fields>&, const value_type& body)
        : slice_(body), pos_(body ? body->offset : 0), remain_(body ? body->length : 0) {}
    void init(ErrorCodeT& ec) { ec = {}; }
    boost::optional<std::pair<const_buffers_type, bool>> get(ErrorCodeT& ec) {
      ec = {};
      if (remain_ == 0) return boost::none;
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(remain_, buf_.size()));
      const ssize_t n = pread(slice_->fd, buf_.data(), want, static_cast<off_t>(pos_));
      if (n <= 0) {  // a read error, or the file shrank under us: the response cannot be completed
        ec = n < 0 ? ErrorCodeT(errno, boost::system::system_category())
                   : ErrorCodeT(boost::system::errc::io_error, boost::system::generic_category());
        return boost::none;
      }
      pos_ += static_cast<std::uint64_t>(n);
      remain_ -= static_cast<std::uint64_t>(n);
      return std::make_pair(asio::const_buffer(buf_.data(), static_cast<std::size_t>(n)), remain_ > 0);
    }

   private:
    value_type slice_;
    std::uint64_t pos_;
    std::uint64_t remain_;
    std::array<char, 65536> buf_;
  };
};
using FileResponse = bhttp::response<FileSliceBody>;

Request MakeRequest(BeastRequest& req, const std::string& remote, bool take_body) {
  Request r;
  r.method = std::string(ToStd(req.method_string()));
  std::string_view target = ToStd(req.target());
  std::size_t question = target.find('?');
  r.raw_path = std::string(target.substr(0, question));
  r.path = PercentDecode(r.raw_path, /*plus_is_space=*/false);
  if (question != std::string_view::npos) r.query = std::string(target.substr(question + 1));
  for (const auto& field : req) {
    r.headers.emplace_back(Lower(ToStd(field.name_string())), std::string(ToStd(field.value())));
  }
  if (take_body) r.body = std::move(req.body());
  r.remote_address = remote;
  return r;
}

// Error bodies use fixed messages without characters that need JSON escaping.
std::string JsonError(ErrorCode code, std::string_view message) {
  return fmt::format(R"({{"error":{{"code":"{}","message":"{}"}}}})", ErrorCodeName(code), message);
}

class ServerImpl;

// Lets threads of the application reach sessions only while the server runs (see above).
struct Gate {
  std::shared_mutex mutex;
  bool open = true;  // guarded by mutex
};

// Runs f(*session) if the server still runs and the session still exists. The session's
// shared_ptr is released before the gate is, so it is never the last one after Stop().
template <class T, class F>
void IfLive(const std::shared_ptr<Gate>& gate, const std::weak_ptr<T>& weak, F&& f) {
  std::shared_lock lock(gate->mutex);
  if (!gate->open) return;
  if (std::shared_ptr<T> session = weak.lock()) f(*session);
}

// A connection in the registry.
class Session : public std::enable_shared_from_this<Session> {
 public:
  virtual ~Session() = default;
  // Any thread: close the connection soon (the server is stopping).
  virtual void Shutdown() = 0;
  // After the I/O threads have been joined: tell the handler what it is still owed.
  virtual void AfterStop() {}

  std::uint64_t key = 0;  // registry key, set by Register
};

class ServerImpl final : public Server {
 public:
  ServerImpl(Options options, ServerHandler* handler)
      : options_(std::move(options)),
        handler_(handler),
        acceptor_(asio::make_strand(ioc_)),
        accept_timer_(acceptor_.get_executor()) {}
  ~ServerImpl() override { Stop(); }

  Status Start() override;
  std::uint16_t port() const override { return port_; }
  void Stop() override;

  const Options& options() const { return options_; }
  ServerHandler* handler() const { return handler_; }
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  std::uint64_t NextPeerId() { return next_peer_id_.fetch_add(1) + 1; }
  const std::shared_ptr<Gate>& gate() const { return gate_; }

  // False when stopping, or (with enforce_cap) when the connection cap is reached.
  bool Register(const std::shared_ptr<Session>& session, bool enforce_cap);
  void Unregister(std::uint64_t key);

 private:
  void DoAccept();
  void OnAccept(ErrorCodeT ec, tcp::socket socket);
  void RunLoop();

  const Options options_;
  ServerHandler* const handler_;
  // Declared before ioc_: streams destroyed with the io_context's pending handlers use it.
  std::optional<asio::ssl::context> ssl_ctx_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;           // used on its own strand
  asio::steady_timer accept_timer_;  // retry after accept errors such as EMFILE
  std::chrono::steady_clock::time_point last_accept_warning_{};  // acceptor strand only
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> next_peer_id_{0};
  const std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();

  std::mutex stop_mutex_;  // serializes Start/Stop
  bool started_ = false;   // guarded by stop_mutex_
  bool stopped_ = false;   // guarded by stop_mutex_

  std::mutex mutex_;
  std::condition_variable drained_;  // signalled when sessions_ becomes empty
  std::map<std::uint64_t, std::shared_ptr<Session>> sessions_;  // guarded by mutex_
  std::uint64_t next_key_ = 0;                                  // guarded by mutex_
};

// ----------------------------------------------------------------------------------------
// WebSocket

class WsSessionBase : public Session {
 public:
  // Any thread.
  virtual void Send(std::string text) = 0;
  virtual void Close() = 0;
};

class WsPeerImpl final : public WsPeer {
 public:
  WsPeerImpl(std::shared_ptr<Gate> gate, std::weak_ptr<WsSessionBase> session, std::uint64_t id)
      : gate_(std::move(gate)), session_(std::move(session)), id_(id) {}
  std::uint64_t id() const override { return id_; }
  void Send(std::string text) override {
    IfLive(gate_, session_, [&](WsSessionBase& s) { s.Send(std::move(text)); });
  }
  void Close() override {
    IfLive(gate_, session_, [](WsSessionBase& s) { s.Close(); });
  }

 private:
  const std::shared_ptr<Gate> gate_;
  const std::weak_ptr<WsSessionBase> session_;
  const std::uint64_t id_;
};

template <class Stream>
class WsSession final : public WsSessionBase {
 public:
  WsSession(ServerImpl* server, Stream stream, asio::any_io_executor executor, std::string remote)
      : server_(server),
        ws_(std::move(stream)),
        executor_(std::move(executor)),
        remote_(std::move(remote)),
        peer_id_(server->NextPeerId()) {}

  // On the strand, after Register.
  void Accept(BeastRequest req, Request upgrade) {
    // The WebSocket layer's own timeouts (handshake, idle with pings) replace the TCP ones.
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(server_->options().ws_message_limit);
    ws_.text(true);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
      res.set(bhttp::field::server, "homeline");  // not Beast's name and version
    }));
    upgrade_ = std::move(upgrade);
    // Bytes a client sent after its upgrade request, before our 101, are not carried over:
    // clients wait for the 101, as RFC 6455 requires.
    ws_.async_accept(req, [self = Self()](ErrorCodeT ec) { self->OnAccept(ec); });
  }

  void Send(std::string text) override {
    asio::post(executor_, [self = Self(), text = std::move(text)]() mutable {
      self->Enqueue(std::move(text));
    });
  }

  void Close() override {
    asio::post(executor_, [self = Self()] { self->RequestClose(websocket::close_code::normal); });
  }

  void Shutdown() override {
    asio::post(executor_, [self = Self()] {
      if (self->opened_ && !self->writing_) {
        self->RequestClose(websocket::close_code::going_away);
      } else {
        self->Abort();
      }
    });
  }

  void AfterStop() override { ReportClose(); }

 private:
  std::shared_ptr<WsSession> Self() {
    return std::static_pointer_cast<WsSession>(shared_from_this());
  }

  void OnAccept(ErrorCodeT ec) {
    if (ec) {
      LogDebug("websocket handshake from {} failed: {}", remote_, ec.message());
      return Finish();
    }
    opened_ = true;
    LogDebug("websocket peer={} open from {}", peer_id_, remote_);
    auto peer = std::make_shared<WsPeerImpl>(server_->gate(), Self(), peer_id_);
    try {
      server_->handler()->OnWsOpen(std::move(peer), upgrade_);
    } catch (const std::exception& e) {
      LogError("OnWsOpen threw for peer={}: {}", peer_id_, e.what());
      Abort();
    }
    upgrade_ = Request();
    DoRead();
  }

  void DoRead() {
    ws_.async_read(buffer_, [self = Self()](ErrorCodeT ec, std::size_t) { self->OnRead(ec); });
  }

  void OnRead(ErrorCodeT ec) {
    if (ec) {
      if (ec != websocket::error::closed) {
        LogDebug("websocket peer={} read: {}", peer_id_, ec.message());
      }
      return Finish();
    }
    if (!ws_.got_text()) {
      buffer_.consume(buffer_.size());
      RequestClose(websocket::close_code::unknown_data);  // text frames only
    } else if (!finished_) {
      std::string text = beast::buffers_to_string(buffer_.data());
      buffer_.consume(buffer_.size());
      try {
        server_->handler()->OnWsMessage(peer_id_, std::move(text));
      } catch (const std::exception& e) {
        LogError("OnWsMessage threw for peer={}: {}", peer_id_, e.what());
      }
    }
    DoRead();  // until the read fails: that is how every close ends
  }

  void Enqueue(std::string text) {
    if (finished_ || aborted_ || close_requested_ || !opened_) return;
    queue_.push_back(std::move(text));
    if (queue_.size() > server_->options().ws_send_queue_limit) {
      LogDebug("websocket peer={} too slow ({} frames queued), dropping", peer_id_, queue_.size());
      return Abort();
    }
    if (!writing_) DoWrite();
  }

  void DoWrite() {
    writing_ = true;
    ws_.async_write(asio::buffer(queue_.front()),
                    [self = Self()](ErrorCodeT ec, std::size_t) { self->OnWrite(ec); });
  }

  void OnWrite(ErrorCodeT ec) {
    writing_ = false;
    if (ec) {
      LogDebug("websocket peer={} write: {}", peer_id_, ec.message());
      return Abort();
    }
    queue_.pop_front();
    if (aborted_) return;
    if (!queue_.empty()) {
      DoWrite();
    } else if (close_requested_) {
      DoClose();
    }
  }

  // Graceful: queued frames go out first, then the close frame; the pending read then ends.
  void RequestClose(websocket::close_code code) {
    if (close_requested_ || finished_ || aborted_) return;
    close_requested_ = true;
    close_code_ = code;
    if (!opened_) return Abort();
    if (!writing_) DoClose();
  }

  void DoClose() {
    ws_.async_close(close_code_, [self = Self()](ErrorCodeT ec) {
      if (ec) self->Abort();
    });
  }

  // Hard close: pending operations complete with errors, and the read ends in Finish().
  void Abort() {
    aborted_ = true;
    ErrorCodeT ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    ReportClose();
    ErrorCodeT ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    server_->Unregister(key);
  }

  void ReportClose() {
    if (!opened_ || close_reported_.exchange(true)) return;
    LogDebug("websocket peer={} closed", peer_id_);
    try {
      server_->handler()->OnWsClose(peer_id_);
    } catch (const std::exception& e) {
      LogError("OnWsClose threw for peer={}: {}", peer_id_, e.what());
    }
  }

  ServerImpl* const server_;
  websocket::stream<Stream> ws_;
  const asio::any_io_executor executor_;  // the connection's strand
  const std::string remote_;
  const std::uint64_t peer_id_;
  Request upgrade_;  // until OnWsOpen
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;  // front() is being written while writing_
  websocket::close_code close_code_ = websocket::close_code::normal;
  // State below is touched only on the strand (and by AfterStop once threads are joined).
  bool opened_ = false;
  bool writing_ = false;
  bool close_requested_ = false;
  bool aborted_ = false;
  bool finished_ = false;
  std::atomic<bool> close_reported_{false};
};

// ----------------------------------------------------------------------------------------
// HTTP

template <class Stream>
class HttpSession;

// Shared by all copies of one Reply: makes it once-only, and answers 500 if the handler
// drops the Reply without calling it.
template <class Stream>
struct ReplyState {
  std::shared_ptr<Gate> gate;
  std::weak_ptr<HttpSession<Stream>> session;
  std::atomic<bool> done{false};

  void Send(Response response) {
    if (done.exchange(true)) {
      LogError("a Reply was called more than once; ignored");
      return;
    }
    IfLive(gate, session, [&](HttpSession<Stream>& s) { s.Deliver(std::move(response)); });
  }
  ~ReplyState() {
    if (done.load()) return;
    LogError("a Reply was dropped without being called; answering 500");
    IfLive(gate, session, [](HttpSession<Stream>& s) {
      s.Deliver(
          Response{500, "application/json", JsonError(ErrorCode::kInternal, "no response"), {}, {}});
    });
  }
};

template <class Stream>
class HttpSession final : public Session {
 public:
  HttpSession(ServerImpl* server, Stream stream, std::string remote)
      : server_(server),
        stream_(std::move(stream)),
        executor_(stream_.get_executor()),
        remote_(std::move(remote)) {}

  // After Register.
  void Run() {
    asio::dispatch(executor_, [self = Self()] { self->Begin(); });
  }

  void Shutdown() override {
    asio::post(executor_, [self = Self()] { self->Finish(); });
  }

  // Any thread.
  void Deliver(Response response) {
    asio::post(executor_, [self = Self(), response = std::move(response)]() mutable {
      self->WriteResponse(std::move(response));
    });
  }

 private:
  std::shared_ptr<HttpSession> Self() {
    return std::static_pointer_cast<HttpSession>(shared_from_this());
  }
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }
  std::chrono::seconds IdleTimeout() const {
    return std::chrono::seconds(std::max(1, server_->options().idle_timeout_seconds));
  }

  void Begin() {
    if constexpr (kTls<Stream>) {
      Tcp().expires_after(IdleTimeout());
      stream_.async_handshake(asio::ssl::stream_base::server, [self = Self()](ErrorCodeT ec) {
        if (ec) {
          LogDebug("TLS handshake from {} failed: {}", self->remote_, ec.message());
          return self->Finish();
        }
        self->ReadHeader();
      });
    } else {
      ReadHeader();
    }
  }

  void ReadHeader() {
    if (finished_) return;
    parser_.emplace();
    parser_->body_limit(server_->options().body_limit);
    parser_->header_limit(kHeaderLimit);
    // One deadline for the whole request: idle time plus header and body transfer.
    Tcp().expires_after(IdleTimeout());
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = Self()](ErrorCodeT ec, std::size_t) {
                               if (ec) return self->OnReadError(ec);
                               self->OnHeader();
                             });
  }

  void OnHeader() {
    const auto& req = parser_->get();
    if (!parser_->is_done() && req.version() >= 11 &&
        IEquals(ToStd(req[bhttp::field::expect]), "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = Self()](ErrorCodeT ec, std::size_t) {
                          if (ec) return self->Finish();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return OnRequest();
    bhttp::async_read(stream_, buffer_, *parser_, [self = Self()](ErrorCodeT ec, std::size_t) {
      if (ec) return self->OnReadError(ec);
      self->OnRequest();
    });
  }

  void OnReadError(ErrorCodeT ec) {
    if (ec == bhttp::error::body_limit) {
      return WriteError(413, ErrorCode::kTooLarge,
                        fmt::format("request body over {} bytes", server_->options().body_limit));
    }
    if (ec == bhttp::error::header_limit) {
      return WriteError(431, ErrorCode::kBadRequest,
                        fmt::format("request headers over {} bytes", kHeaderLimit));
    }
    if (ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message &&
        ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
      LogDebug("malformed request from {}: {}", remote_, ec.message());
      return WriteError(400, ErrorCode::kBadRequest, "malformed HTTP request");
    }
    // The peer left, timed out, or the transport failed: nobody to answer.
    if (ec != bhttp::error::end_of_stream && ec != asio::error::operation_aborted) {
      LogDebug("connection from {}: {}", remote_, ec.message());
    }
    Finish();
  }

  void OnRequest() {
    BeastRequest req = parser_->release();
    parser_.reset();
    if (websocket::is_upgrade(req)) return OnUpgrade(std::move(req));

    keep_alive_ = req.keep_alive();
    head_ = req.method() == bhttp::verb::head;
    version_ = req.version();
    Request request = MakeRequest(req, remote_, /*take_body=*/true);
    Tcp().expires_never();  // the handler takes the time it needs
    awaiting_reply_ = true;

    auto state = std::make_shared<ReplyState<Stream>>();
    state->gate = server_->gate();
    state->session = Self();
    Reply reply = [state](Response response) { state->Send(std::move(response)); };
    try {
      server_->handler()->OnRequest(std::move(request), reply);
    } catch (const std::exception& e) {
      LogError("OnRequest threw: {}", e.what());
      state->Send(
          Response{500, "application/json", JsonError(ErrorCode::kInternal, "internal error"), {}, {}});
    }
  }

  void OnUpgrade(BeastRequest req) {
    Request upgrade = MakeRequest(req, remote_, /*take_body=*/false);
    bool accepted = false;
    try {
      accepted = server_->handler()->AcceptsWebSocket(upgrade);
    } catch (const std::exception& e) {
      LogError("AcceptsWebSocket threw: {}", e.what());
    }
    version_ = req.version();
    if (!accepted) {
      return WriteError(404, ErrorCode::kNotFound, "no WebSocket endpoint at this path");
    }
    auto ws = std::make_shared<WsSession<Stream>>(server_, std::move(stream_), executor_, remote_);
    // The connection moves from this session to the WebSocket one; it stays counted once.
    finished_ = true;
    if (server_->Register(ws, /*enforce_cap=*/false)) {
      ws->Accept(std::move(req), std::move(upgrade));
    }
    server_->Unregister(key);
  }

  void WriteResponse(Response response) {
    if (!awaiting_reply_ || finished_) return;  // the connection closed meanwhile
    awaiting_reply_ = false;

    int status = response.status;
    if (status < 200 || status > 599) {
      LogError("handler answered with invalid status {}; sending 500", status);
      status = 500;
      response =
          Response{500, "application/json", JsonError(ErrorCode::kInternal, "internal error"), {}, {}};
    }
    auto res = std::make_unique<BeastResponse>();
    res->version(version_);
    res->result(static_cast<unsigned>(status));
    if (!response.content_type.empty()) {
      res->set(bhttp::field::content_type, response.content_type);
    }
    bool has_cache_control = false;
    for (auto& [name, value] : response.headers) {
      if (!IsToken(name) || !IsSafeValue(value)) {
        LogError("handler header '{}' is not valid; dropped", name);
        continue;
      }
      std::string lower = Lower(name);
      // Framing is the server's business.
      if (lower == "content-length" || lower == "transfer-encoding" || lower == "connection") {
        continue;
      }
      if (lower == "cache-control") has_cache_control = true;
      res->insert(name, value);
    }
    if (!has_cache_control && response.content_type.starts_with("application/json")) {
      res->set(bhttp::field::cache_control, "no-store");
    }
    res->set("X-Content-Type-Options", "nosniff");

    bool bodyless = status == 204 || status == 304;
    if (response.file && !bodyless && !head_) {
      // Streamed: the same head, then the slice as the socket takes it.
      auto file = std::make_unique<FileResponse>(bhttp::status(static_cast<unsigned>(status)), version_);
      for (const auto& field : *res) file->set(field.name_string(), field.value());
      file->body() = std::move(response.file);
      file->content_length(file->body()->length);
      WriteFile(std::move(file), keep_alive_ && !server_->stopping());
      return;
    }
    if (bodyless) {
      // No body and no Content-Length (RFC 9110 15.3.5, 15.4.5).
    } else if (head_ && response.file) {
      res->content_length(response.file->length);
    } else if (head_) {
      res->content_length(response.body.size());
    } else {
      res->body() = std::move(response.body);
      res->content_length(res->body().size());
    }
    Write(std::move(res), keep_alive_ && !server_->stopping());
  }

  void WriteError(int status, ErrorCode code, std::string_view message) {
    awaiting_reply_ = false;
    auto res = std::make_unique<BeastResponse>();
    res->version(version_ >= 10 ? version_ : 11);
    res->result(static_cast<unsigned>(status));
    res->set(bhttp::field::content_type, "application/json");
    res->set(bhttp::field::cache_control, "no-store");
    res->set("X-Content-Type-Options", "nosniff");
    res->body() = JsonError(code, message);
    res->content_length(res->body().size());
    Write(std::move(res), /*keep_alive=*/false);
  }

  void Write(std::unique_ptr<BeastResponse> res, bool keep_alive) {
    res->keep_alive(keep_alive);
    response_ = std::move(res);
    Tcp().expires_after(kWriteTimeout);
    bhttp::async_write(stream_, *response_,
                       [self = Self(), keep_alive](ErrorCodeT ec, std::size_t) {
                         self->response_.reset();
                         if (ec) {
                           LogDebug("write to {}: {}", self->remote_, ec.message());
                           return self->Finish();
                         }
                         if (keep_alive) return self->ReadHeader();
                         self->CloseGracefully();
                       });
  }

  // A file body goes out a chunk per write, each with its own timeout: a big recording on a slow
  // link is not cut at kWriteTimeout, a stalled reader still is.
  void WriteFile(std::unique_ptr<FileResponse> res, bool keep_alive) {
    res->keep_alive(keep_alive);
    file_response_ = std::move(res);
    file_serializer_.emplace(*file_response_);
    WriteFileSome(keep_alive);
  }

  void WriteFileSome(bool keep_alive) {
    Tcp().expires_after(kWriteTimeout);
    bhttp::async_write_some(stream_, *file_serializer_, [self = Self(), keep_alive](ErrorCodeT ec, std::size_t) {
      if (!ec && !self->file_serializer_->is_done()) return self->WriteFileSome(keep_alive);
      self->file_serializer_.reset();
      self->file_response_.reset();
      if (ec) {
        LogDebug("write to {}: {}", self->remote_, ec.message());
        return self->Finish();
      }
      if (keep_alive) return self->ReadHeader();
      self->CloseGracefully();
    });
  }

  void CloseGracefully() {
    if (finished_) return;
    Tcp().expires_after(kCloseTimeout);
    if constexpr (kTls<Stream>) {
      stream_.async_shutdown([self = Self()](ErrorCodeT) { self->Finish(); });
    } else {
      ErrorCodeT ignored;
      Tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
      Drain();
    }
  }

  // Reads and discards until the peer closes, the limit, or kCloseTimeout: closing a socket
  // with unread input makes the kernel send a reset that can destroy our last response.
  void Drain() {
    buffer_.consume(buffer_.size());
    stream_.async_read_some(buffer_.prepare(4096), [self = Self()](ErrorCodeT ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kLingerLimit) return self->Finish();
      self->Drain();
    });
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    awaiting_reply_ = false;
    Tcp().close();
    server_->Unregister(key);
  }

  ServerImpl* const server_;
  Stream stream_;
  const asio::any_io_executor executor_;  // the connection's strand
  const std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::unique_ptr<BeastResponse> response_;  // being written
  std::unique_ptr<FileResponse> file_response_;  // or this, a file body
  std::optional<bhttp::response_serializer<FileSliceBody>> file_serializer_;
  // State below is touched only on the strand.
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  bool awaiting_reply_ = false;
  bool finished_ = false;
  std::size_t drained_ = 0;
};

// ----------------------------------------------------------------------------------------
// Server

bool ServerImpl::Register(const std::shared_ptr<Session>& session, bool enforce_cap) {
  std::lock_guard lock(mutex_);
  if (stopping_) return false;
  if (enforce_cap && sessions_.size() >= options_.max_connections) return false;
  session->key = ++next_key_;
  sessions_.emplace(session->key, session);
  return true;
}

void ServerImpl::Unregister(std::uint64_t key) {
  std::shared_ptr<Session> released;  // destroyed outside the lock
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return;
  released = std::move(it->second);
  sessions_.erase(it);
  if (sessions_.empty()) drained_.notify_all();
}

Status ServerImpl::Start() {
  std::lock_guard stop_lock(stop_mutex_);
  if (started_) return Fail(ErrorCode::kInternal, "server already started");

  if (options_.tls_cert.empty() != options_.tls_key.empty()) {
    return Fail(ErrorCode::kBadRequest, "tls_cert and tls_key must be set together");
  }
  if (!options_.tls_cert.empty()) {
    ssl_ctx_.emplace(asio::ssl::context::tls_server);
    ErrorCodeT ec;
    ssl_ctx_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                              asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                              asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                          ec);
    SSL_CTX_set_min_proto_version(ssl_ctx_->native_handle(), TLS1_2_VERSION);
    if (!ec) ssl_ctx_->use_certificate_chain_file(options_.tls_cert, ec);
    if (ec) {
      ssl_ctx_.reset();
      return Fail(ErrorCode::kBadRequest, fmt::format("cannot load TLS certificate {}: {}",
                                                      options_.tls_cert, ec.message()));
    }
    ssl_ctx_->use_private_key_file(options_.tls_key, asio::ssl::context::pem, ec);
    if (!ec && SSL_CTX_check_private_key(ssl_ctx_->native_handle()) != 1) {
      ec = asio::error::invalid_argument;
    }
    if (ec) {
      ssl_ctx_.reset();
      return Fail(ErrorCode::kBadRequest,
                  fmt::format("cannot load TLS key {} (or it does not match the certificate): {}",
                              options_.tls_key, ec.message()));
    }
  }

  ErrorCodeT ec;
  asio::ip::address address = asio::ip::make_address(options_.host, ec);
  if (ec) {
    return Fail(ErrorCode::kBadRequest,
                fmt::format("listen address '{}' is not an IP address", options_.host));
  }
  tcp::endpoint endpoint(address, options_.port);
  auto fail = [&](std::string_view what) {
    ErrorCodeT ignored;
    acceptor_.close(ignored);
    return Fail(ErrorCode::kUnavailable, fmt::format("cannot {} {}:{}: {}", what, options_.host,
                                                     options_.port, ec.message()));
  };
  if (acceptor_.open(endpoint.protocol(), ec)) return fail("open a socket for");
  if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec)) return fail("configure");
  if (acceptor_.bind(endpoint, ec)) return fail("bind");
  if (acceptor_.listen(asio::socket_base::max_listen_connections, ec)) return fail("listen on");
  port_ = acceptor_.local_endpoint(ec).port();
  if (ec) return fail("query");

  DoAccept();
  started_ = true;
  int n = std::max(1, options_.threads);
  threads_.reserve(n);
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { RunLoop(); });
  LogAt(spdlog::level::info, "listening on {}:{}{}", options_.host, port_,
        ssl_ctx_ ? " (TLS)" : "");
  return {};
}

void ServerImpl::RunLoop() {
  // Handlers should not throw; if one does, log it and keep the thread serving.
  for (;;) {
    try {
      ioc_.run();
      return;
    } catch (const std::exception& e) {
      LogError("exception escaped an I/O handler: {}", e.what());
    }
  }
}

void ServerImpl::DoAccept() {
  acceptor_.async_accept(asio::make_strand(ioc_), [this](ErrorCodeT ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void ServerImpl::OnAccept(ErrorCodeT ec, tcp::socket socket) {
  if (ec == asio::error::operation_aborted || stopping() || !acceptor_.is_open()) return;
  if (ec) {
    // E.g. out of file descriptors: wait a little rather than spin. Operators must see it, since
    // the server stops taking connections meanwhile, but not once per retry.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_accept_warning_ >= std::chrono::seconds(10)) {
      last_accept_warning_ = now;
      LogAt(spdlog::level::warn, "accept failed ({}); new connections wait", ec.message());
    } else {
      LogDebug("accept: {}", ec.message());
    }
    accept_timer_.expires_after(kAcceptRetryDelay);
    accept_timer_.async_wait([this](ErrorCodeT ec) {
      if (!ec && !stopping()) DoAccept();
    });
    return;
  }
  DoAccept();

  tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return;  // already gone
  socket.set_option(tcp::no_delay(true), ec);
  std::string remote_address = RemoteAddress(remote);
  if (ssl_ctx_) {
    auto session = std::make_shared<HttpSession<TlsStream>>(
        this, TlsStream(std::move(socket), *ssl_ctx_), std::move(remote_address));
    if (Register(session, /*enforce_cap=*/true)) {
      session->Run();
    } else {
      LogDebug("refusing connection: limit of {} reached", options_.max_connections);
    }
  } else {
    auto session = std::make_shared<HttpSession<PlainStream>>(this, PlainStream(std::move(socket)),
                                                              std::move(remote_address));
    if (Register(session, /*enforce_cap=*/true)) {
      session->Run();
    } else {
      LogDebug("refusing connection: limit of {} reached", options_.max_connections);
    }
  }
}

void ServerImpl::Stop() {
  std::lock_guard stop_lock(stop_mutex_);
  if (!started_ || stopped_) return;
  stopped_ = true;
  for (const std::thread& t : threads_) {
    assert(t.get_id() != std::this_thread::get_id() && "Stop() called from an I/O thread");
  }

  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [key, session] : sessions_) open.push_back(session);
  }
  asio::post(acceptor_.get_executor(), [this] {
    ErrorCodeT ignored;
    acceptor_.close(ignored);
    accept_timer_.cancel();
  });
  for (auto& session : open) session->Shutdown();
  open.clear();
  {
    std::unique_lock lock(mutex_);
    drained_.wait_for(lock, kStopGrace, [this] { return sessions_.empty(); });
  }

  ioc_.stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  ErrorCodeT ignored;
  acceptor_.close(ignored);  // in case the posted close did not run before ioc_.stop()
  {
    // Waits for application threads inside Reply/WsPeer calls; later calls do nothing.
    std::unique_lock lock(gate_->mutex);
    gate_->open = false;
  }

  // Whatever did not close in time: the threads are gone, so no strand runs any more.
  std::map<std::uint64_t, std::shared_ptr<Session>> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(sessions_);
  }
  for (auto& [key, session] : left) session->AfterStop();
  left.clear();
  LogAt(spdlog::level::info, "stopped listening on {}:{}", options_.host, port_);
}

}  // namespace

std::unique_ptr<Server> MakeServer(Options options, ServerHandler* handler) {
  return std::make_unique<ServerImpl>(std::move(options), handler);
}

FileSlice::~FileSlice() {
  if (fd >= 0) ::close(fd);
}

}  // namespace homeline::http
