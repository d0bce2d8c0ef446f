#pragma once
// Registrar: agents' phones REGISTER here with digest authentication (RFC 3261 10, 22).
//
// - User name = the Homeline login, realm "homeline", credential = HA1 from the engine
//   (user.sip_set); the domain of the AOR is not checked (a phone may say sip:alice@anything).
// - Nonces: our own (nonce.h), valid 5 minutes; an expired one gets a new challenge with
//   stale=true; a nonce's nc must grow (qop=auth) and a nonce without qop is good once, so a
//   captured REGISTER cannot be played again.
// - One binding per user: the latest REGISTER wins (its Contact, the address and transport it
//   came from, for NAT); an unREGISTER of another contact changes nothing. Expiry is clamped
//   to [min_expires, max_expires]; below min gets 423.
// - Bindings are qualified with OPTIONS (libre gives no notice when a TCP connection closes):
//   a phone that answers nothing, or whose connection cannot be opened, loses its binding.
// - Failures answer the same 403 whether the user is unknown or the password wrong (an unknown
//   user is checked against a dummy HA1, so it costs the same). Failed attempts are limited per
//   source address and per user (auth_limiter.h); once limited, attempts get the same 403
//   without their password being checked.
//
// Threads: construct, Install, SetCredential from any thread; Lookup and stats on the SIP
// thread (stats() from any). The phone sink is called on the SIP thread; it must post.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "adapters/sip/auth_limiter.h"
#include "core/types.h"

namespace homeline::sip {

class SipStack;

struct RegistrarOptions {
  std::int64_t nonce_ttl_s = 300;
  std::uint32_t min_expires = 60;
  std::uint32_t max_expires = 600;   // also what a REGISTER without Expires gets
  std::uint32_t qualify_interval_s = 30;  // 0: no OPTIONS
  // A phone that has not answered an OPTIONS after this long loses its binding (0: only when
  // libre's transaction gives up, 32 s over UDP).
  std::uint32_t qualify_timeout_s = 8;
  LimiterOptions per_address{10, 0.1, 100000};  // 10 failures, then one per 10 s
  LimiterOptions per_user{20, 0.1, 100000};
};

// Where a user's phone is reached.
struct PhoneBinding {
  std::string contact;    // the Contact URI it registered, e.g. sip:alice@192.168.1.20:5062
  std::string route;      // where it registered from: sip:203.0.113.9:40312[;transport=tcp]
  std::string transport;  // "udp" or "tcp"
  std::string source;     // 203.0.113.9:40312
  std::string user_agent;
};

struct RegistrarStats {
  std::uint64_t bindings = 0;
  std::uint64_t registers = 0;       // successful REGISTERs (including refreshes)
  std::uint64_t auth_failures = 0;   // 403 for a wrong password, unknown user, bad nonce
  std::uint64_t auth_limited = 0;    // attempts refused unchecked by the limiter
  std::uint64_t expired = 0;         // bindings dropped at expiry
  std::uint64_t qualify_failed = 0;  // bindings dropped for not answering OPTIONS
};

class Registrar {
 public:
  using PhoneSink = std::function<void(core::UserId user, bool registered)>;

  Registrar(SipStack& stack, RegistrarOptions options, PhoneSink sink);
  ~Registrar();
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  // Takes REGISTER from the stack; drops everything when the stack stops. Call once.
  void Install();

  // The user's credential (hex HA1), or ha1 empty: the user may no longer register (removed,
  // disabled), and a binding it has is dropped. Any thread.
  void SetCredential(const std::string& login, core::UserId user, const std::string& ha1);

  // SIP thread.
  std::optional<PhoneBinding> Lookup(const std::string& login) const;
  RegistrarStats stats() const;  // any thread

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace homeline::sip
