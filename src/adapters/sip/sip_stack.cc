#include "adapters/sip/sip_stack.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cassert>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

// re_timers.h before libre's headers (their bool macros break <optional>).
#include "adapters/sip/re_timers.h"
#include "adapters/sip/re_include.h"

namespace homeline::sip {

namespace {

// mqueue message ids.
constexpr int kWork = 1;
constexpr int kStop = 2;

// libre's hash table sizes (buckets) for client and server transactions, TCP connections and
// sessions: small tables make every lookup a list walk under load (the spike measured it).
constexpr std::uint32_t kHashSize = 4096;

constexpr const char* kAllow = "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, REGISTER\r\n";

// A free port on host for both UDP and TCP is found by asking the kernel for a UDP one; the
// caller retries when TCP turns out to be taken.
std::uint16_t ProbeUdpPort(const struct sa& addr) {
  const int fd = ::socket(sa_af(&addr), SOCK_DGRAM, 0);
  if (fd < 0) return 0;
  struct sa a = addr;
  sa_set_port(&a, 0);
  std::uint16_t port = 0;
  if (::bind(fd, &a.u.sa, a.len) == 0) {
    struct sa got;
    sa_init(&got, sa_af(&addr));
    socklen_t len = sizeof(got.u);
    if (::getsockname(fd, &got.u.sa, &len) == 0) {
      got.len = len;
      port = sa_port(&got);
    }
  }
  ::close(fd);
  return port;
}

}  // namespace

struct SipStack::Impl {
  StackOptions options;
  std::thread thread;
  std::thread::id thread_id;

  // Guards the inbox and the doorbell, which other threads use.
  std::mutex mu;
  std::deque<std::function<void()>> inbox;
  struct mqueue* mq = nullptr;  // null once the SIP thread has stopped taking work
  bool stop_requested = false;
  bool joined = false;

  // SIP thread only.
  struct ::sip* sip = nullptr;
  struct sip_lsnr* lsnr = nullptr;
  struct ::sipsess_sock* sessions = nullptr;
  std::vector<RequestHandler> request_handlers;
  InviteHandler invite_handler;
  std::vector<std::function<void()>> shutdown_hooks;
  std::uint16_t bound_port = 0;

  // ---- libre callbacks (SIP thread) ----------------------------------------------------------

  static void OnLibreLog(int level, const char* p, std::size_t len, void*) {
    std::string_view line(p, len);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    spdlog::debug("libre: {}", line);
  }

  static void OnMqueue(int id, void* data, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    if (id == kStop) {
      re_cancel();
      return;
    }
    std::deque<std::function<void()>> work;
    {
      std::lock_guard lk(self->mu);
      work.swap(self->inbox);
    }
    for (auto& fn : work) fn();
  }

  static bool OnRequest(const struct sip_msg* msg, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    // In-dialog requests (BYE, re-INVITE, INFO and REFER in a call, ACK) are sipsess's.
    if (pl_isset(&msg->to.tag)) return false;
    for (const RequestHandler& h : self->request_handlers) {
      if (h(*msg)) return true;
    }
    if (!pl_strcmp(&msg->met, "OPTIONS")) {
      // Phones ping the registrar with OPTIONS to keep their NAT binding open.
      sip_replyf(self->sip, msg, 200, "OK", "%sContent-Length: 0\r\n\r\n", kAllow);
      return true;
    }
    return false;  // INVITE goes on to sipsess (OnConnect); libre answers the rest
  }

  static void OnConnect(const struct sip_msg* msg, void* arg) {
    auto* self = static_cast<Impl*>(arg);
    if (self->invite_handler) {
      self->invite_handler(*msg);
      return;
    }
    // No calls code plugged in: nobody may call.
    (void)sip_treply(nullptr, self->sip, msg, 403, "Forbidden");
  }

  // ---- thread --------------------------------------------------------------------------------

  // Sets up libre on the calling (SIP) thread.
  Status Open() {
    // Our timers and libre's must be one queue (re_timers.h): a binary that does not export
    // the tmr_* definitions would leave ours unpolled.
    if (!LibreTimersInterposed())
      return Fail(ErrorCode::kInternal, "sip: libre's tmr_* are not re_timers.cc's (link with homeline_sip's options)");
    if (int err = libre_init(); err != 0) return Fail(ErrorCode::kInternal, fmt::format("libre_init: {}", err));
    // libre's own warnings (e.g. "sip: msg decode err" for every undecodable datagram) would
    // let any sender flood our stderr: only its errors are printed.
    dbg_init(DBG_ERR, DBG_NONE);
    dbg_handler_set(OnLibreLog, this);
    struct sa laddr;
    if (sa_set_str(&laddr, options.host.c_str(), options.port) != 0)
      return Fail(ErrorCode::kBadRequest, "sip: bad listen address '" + options.host + "'");
    struct sa laddr6 {};
    if (!options.host6.empty() && sa_set_str(&laddr6, options.host6.c_str(), options.port) != 0)
      return Fail(ErrorCode::kBadRequest, "sip: bad listen address '" + options.host6 + "'");
    const int attempts = options.port == 0 ? 10 : 1;
    int err = 0;
    const char* what = "";
    for (int i = 0; i < attempts; ++i) {
      std::uint16_t port = options.port;
      if (port == 0) port = ProbeUdpPort(laddr);
      sa_set_port(&laddr, port);
      err = sip_alloc(&sip, nullptr, kHashSize, kHashSize, kHashSize, options.software.c_str(), nullptr,
                      nullptr);
      if (err != 0) return Fail(ErrorCode::kInternal, fmt::format("sip_alloc: {}", std::strerror(err)));
      what = "udp";
      err = sip_transp_add(sip, SIP_TRANSP_UDP, &laddr);
      if (err == 0) {
        what = "tcp";
        err = sip_transp_add(sip, SIP_TRANSP_TCP, &laddr);
      }
      if (err == 0 && !options.host6.empty()) {
        sa_set_port(&laddr6, port);
        what = "udp, second address";
        err = sip_transp_add(sip, SIP_TRANSP_UDP, &laddr6);
        if (err == 0) {
          what = "tcp, second address";
          err = sip_transp_add(sip, SIP_TRANSP_TCP, &laddr6);
        }
      }
      if (err == 0) {
        bound_port = port;
        break;
      }
      sip_close(sip, true);
      sip = static_cast<struct ::sip*>(mem_deref(sip));
    }
    if (err != 0)
      return Fail(ErrorCode::kUnavailable, fmt::format("sip: cannot listen on {}:{} ({}): {}", options.host,
                                                       options.port, what, std::strerror(err)));
    // Our listener goes first, so the registrar and OPTIONS are answered before sipsess looks
    // at a request.
    err = sip_listen(&lsnr, sip, true, OnRequest, this);
    if (err == 0) err = sipsess_listen(&sessions, sip, static_cast<int>(kHashSize), OnConnect, this);
    if (err == 0) err = mqueue_alloc(&mq, OnMqueue, this);
    if (err != 0) return Fail(ErrorCode::kInternal, fmt::format("sip: listen: {}", std::strerror(err)));
    return {};
  }

  void Close() {
    {
      std::lock_guard lk(mu);
      inbox.clear();
    }
    for (auto it = shutdown_hooks.rbegin(); it != shutdown_hooks.rend(); ++it) (*it)();
    shutdown_hooks.clear();
    request_handlers.clear();
    invite_handler = nullptr;
    if (sessions) sipsess_close_all(sessions);
    sessions = static_cast<struct ::sipsess_sock*>(mem_deref(sessions));
    lsnr = static_cast<struct sip_lsnr*>(mem_deref(lsnr));
    if (sip) sip_close(sip, true);
    sip = static_cast<struct ::sip*>(mem_deref(sip));
    struct mqueue* q = nullptr;
    {
      std::lock_guard lk(mu);
      q = mq;
      mq = nullptr;
      inbox.clear();
    }
    mem_deref(q);
    libre_close();
  }

  void Run(std::promise<Status>& started) {
    thread_id = std::this_thread::get_id();
    if (auto st = Open(); !st) {
      Close();
      started.set_value(st);
      return;
    }
    started.set_value(Status{});
    // NULL: libre installs no signal handlers (the server's signal thread owns SIGINT/SIGTERM).
    (void)re_main(nullptr);
    Close();
  }
};

SipStack::SipStack() : impl_(std::make_unique<Impl>()) {}

SipStack::~SipStack() { Stop(); }

Result<std::unique_ptr<SipStack>> SipStack::Start(const StackOptions& options) {
  std::unique_ptr<SipStack> stack(new SipStack());
  Impl& impl = *stack->impl_;
  impl.options = options;
  std::promise<Status> started;
  auto ready = started.get_future();
  impl.thread = std::thread([&impl, &started] { impl.Run(started); });
  Status st = ready.get();
  if (!st) {
    impl.thread.join();
    impl.joined = true;
    return std::unexpected(st.error());
  }
  stack->host_ = options.host;
  stack->host6_ = options.host6;
  stack->port_ = impl.bound_port;
  return stack;
}

void SipStack::Stop() {
  Impl& impl = *impl_;
  assert(!OnSipThread());
  {
    std::lock_guard lk(impl.mu);
    if (impl.joined) return;
    if (!impl.stop_requested && impl.mq) (void)mqueue_push(impl.mq, kStop, nullptr);
    impl.stop_requested = true;
  }
  if (impl.thread.joinable()) impl.thread.join();
  std::lock_guard lk(impl.mu);
  impl.joined = true;
}

void SipStack::Post(std::function<void()> fn) {
  std::lock_guard lk(impl_->mu);
  if (!impl_->mq || impl_->stop_requested) return;
  const bool ring = impl_->inbox.empty();
  impl_->inbox.push_back(std::move(fn));
  // One doorbell for a batch: the handler drains everything queued by then.
  if (ring) (void)mqueue_push(impl_->mq, kWork, nullptr);
}

bool SipStack::OnSipThread() const { return std::this_thread::get_id() == impl_->thread_id; }

struct ::sip* SipStack::sip() const {
  assert(OnSipThread());
  return impl_->sip;
}

struct ::sipsess_sock* SipStack::sessions() const {
  assert(OnSipThread());
  return impl_->sessions;
}

void SipStack::AddRequestHandler(RequestHandler handler) {
  assert(OnSipThread());
  impl_->request_handlers.push_back(std::move(handler));
}

void SipStack::SetInviteHandler(InviteHandler handler) {
  assert(OnSipThread());
  impl_->invite_handler = std::move(handler);
}

void SipStack::AddShutdownHook(std::function<void()> hook) {
  assert(OnSipThread());
  impl_->shutdown_hooks.push_back(std::move(hook));
}

}  // namespace homeline::sip
