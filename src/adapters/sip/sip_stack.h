#pragma once
// SipStack: libre's SIP stack on a thread of its own.
//
// libre keeps its state per thread and is not thread-safe, so every libre call (and every
// handler registered here) runs on the SIP thread. Other threads hand work over with Post(),
// which queues a closure on a locked deque and rings an mqueue (a pipe) as the doorbell.
//
// The stack listens on UDP and TCP at the same host:port. It answers out-of-dialog OPTIONS
// (phones ping with them) and rejects new INVITEs with 403 until a handler is set; everything
// else is for the handlers plugged in here: the registrar (REGISTER), the calls code (INVITE
// through sipsess, out-of-dialog INFO/REFER). In-dialog requests (BYE, re-INVITE, INFO, REFER
// inside a call) belong to libre's sipsess, whose per-session handlers the calls code passes to
// sipsess_accept/sipsess_connect.
//
// Thread-safety: Start, Stop, Post, port() and host() from any thread; everything marked "SIP
// thread" only from closures run by Post or from handlers.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"

// libre's types, left opaque here so that users of this header need not include libre.
struct sip;
struct sip_msg;
struct sipsess_sock;

namespace homeline::sip {

struct StackOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 5060;  // 0: a free port (the same for UDP and TCP)
  std::string software = "homeline";  // Server / User-Agent header
  // A second address to listen on at the same port (UDP and TCP): SIP over IPv6 next to IPv4
  // ("::1"); "" none. Last, so that {host, port, software} initialisers keep working.
  std::string host6;
};

class SipStack {
 public:
  // Out-of-dialog request handler: returns true when it answered the request. Handlers are
  // asked in the order they were added; the first to take a request ends the search.
  using RequestHandler = std::function<bool(const ::sip_msg& msg)>;
  // A new INVITE (no To tag): accept it with sipsess_accept(sessions(), &msg, ...) or reply.
  using InviteHandler = std::function<void(const ::sip_msg& msg)>;

  // Binds UDP and TCP on host:port and starts the SIP thread. Fails (kUnavailable) when the
  // address cannot be bound. Only one stack per process: libre has global state.
  [[nodiscard]] static Result<std::unique_ptr<SipStack>> Start(const StackOptions& options);
  ~SipStack();  // Stop()

  SipStack(const SipStack&) = delete;
  SipStack& operator=(const SipStack&) = delete;

  // Runs the shutdown hooks and closes libre on the SIP thread, then joins it. Posted work not
  // yet run is dropped. Idempotent.
  void Stop();

  // Runs fn on the SIP thread, after what was posted before it. Dropped after Stop.
  void Post(std::function<void()> fn);
  [[nodiscard]] bool OnSipThread() const;

  const std::string& host() const { return host_; }
  const std::string& host6() const { return host6_; }  // Options::host6 ("" : no IPv6)
  std::uint16_t port() const { return port_; }  // the bound port (UDP and TCP)

  // ---- SIP thread ------------------------------------------------------------------------------
  struct ::sip* sip() const;
  struct ::sipsess_sock* sessions() const;
  void AddRequestHandler(RequestHandler handler);
  void SetInviteHandler(InviteHandler handler);
  // Run on the SIP thread when the stack stops, before libre is torn down (in reverse order of
  // addition): end calls, free per-call state.
  void AddShutdownHook(std::function<void()> hook);

  struct Impl;

 private:
  SipStack();
  std::unique_ptr<Impl> impl_;
  std::string host_;
  std::string host6_;
  std::uint16_t port_ = 0;
};

}  // namespace homeline::sip
