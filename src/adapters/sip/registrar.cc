#include "adapters/sip/registrar.h"

#include <chrono>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "adapters/auth/sip_digest.h"
#include "adapters/sip/digest_check.h"
#include "adapters/sip/nonce.h"
#include "adapters/sip/re_include.h"
#include "adapters/sip/sip_stack.h"

namespace homeline::sip {

namespace {

std::int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Str(const struct pl& p) { return pl_isset(&p) ? std::string(p.p, p.l) : std::string(); }

std::string AddrPort(const struct sa& a) {
  char buf[64];
  re_snprintf(buf, sizeof buf, "%J", &a);
  return buf;
}

constexpr std::uint32_t kSweepMs = 1000;

}  // namespace

struct Registrar::Impl {
  struct Credential {
    core::UserId user = 0;
    std::uint8_t ha1[16] = {};
  };
  struct Binding {
    Impl* owner = nullptr;
    std::string login;
    core::UserId user = 0;
    PhoneBinding phone;
    std::int64_t expires_ms = 0;  // steady clock
    std::int64_t next_qualify_ms = 0;
    std::int64_t qualify_sent_ms = 0;  // when the outstanding OPTIONS went out
    struct sip_request* qualify = nullptr;  // outstanding OPTIONS (libre nulls it when done)
  };

  SipStack& stack;
  RegistrarOptions options;
  PhoneSink sink;
  DigestCheck digest;  // nonces, replays, failure limits

  // SIP thread only.
  std::unordered_map<std::string, Credential> credentials;  // by login
  std::unordered_map<std::string, Binding> bindings;        // by login (node-stable)
  struct tmr sweep_timer {};
  bool running = false;

  std::atomic<std::uint64_t> n_bindings{0}, n_registers{0}, n_failures{0}, n_limited{0},
      n_expired{0}, n_qualify_failed{0};

  Impl(SipStack& s, RegistrarOptions o, PhoneSink k)
      : stack(s), options(o), sink(std::move(k)),
        digest(DigestOptions{o.nonce_ttl_s, o.per_address, o.per_user}) {}

  // ---- replies ------------------------------------------------------------------------------

  void Challenge(const struct sip_msg& msg, bool stale) {
    (void)sip_replyf(stack.sip(), &msg, 401, "Unauthorized", "WWW-Authenticate: %s\r\nContent-Length: 0\r\n\r\n",
                     digest.Challenge(stale).c_str());
  }

  // The one answer to every failed or refused authentication.
  void Forbidden(const struct sip_msg& msg) { (void)sip_reply(stack.sip(), &msg, 403, "Forbidden"); }

  // ---- REGISTER -----------------------------------------------------------------------------

  bool OnRequest(const struct sip_msg& msg) {
    if (pl_strcmp(&msg.met, "REGISTER") != 0) return false;
    OnRegister(msg);
    return true;
  }

  void OnRegister(const struct sip_msg& msg) {
    const std::int64_t now_ms = SteadyMs();
    const struct sip_hdr* ah = sip_msg_hdr(&msg, SIP_HDR_AUTHORIZATION);
    if (ah == nullptr) {
      Challenge(msg, false);
      return;
    }
    std::string login;
    const auto ha1_of = [this](const std::string& user) -> const std::uint8_t* {
      auto it = credentials.find(user);
      return it == credentials.end() ? nullptr : it->second.ha1;
    };
    switch (digest.Check(msg, ah->val, ha1_of, &login)) {
      case DigestCheck::Outcome::kMalformed:
        (void)sip_reply(stack.sip(), &msg, 400, "Bad Authorization");
        return;
      case DigestCheck::Outcome::kChallenge:
        Challenge(msg, false);
        return;
      case DigestCheck::Outcome::kStale:
        Challenge(msg, true);
        return;
      case DigestCheck::Outcome::kLimited:
        ++n_limited;
        Forbidden(msg);
        return;
      case DigestCheck::Outcome::kFailed:
        Refused(msg, login);
        return;
      case DigestCheck::Outcome::kOk:
        break;
    }
    // The To header names whose phone this is: only one's own.
    if (Str(msg.to.uri.user) != login) {
      digest.Failed(msg, login);
      Refused(msg, login);
      return;
    }
    Bind(msg, login, credentials.at(login).user, now_ms);
  }

  void Refused(const struct sip_msg& msg, const std::string& login) {
    ++n_failures;
    spdlog::debug("sip: registration refused for '{}' from {}", login, AddrPort(msg.src));
    Forbidden(msg);
  }

  void Bind(const struct sip_msg& msg, const std::string& login, core::UserId user,
            std::int64_t now_ms) {
    const struct sip_hdr* ch = sip_msg_hdr(&msg, SIP_HDR_CONTACT);
    auto existing = bindings.find(login);
    if (ch == nullptr) {  // a query: what is bound
      if (existing == bindings.end()) {
        (void)sip_replyf(stack.sip(), &msg, 200, "OK", "Content-Length: 0\r\n\r\n");
      } else {
        const auto left = std::max<std::int64_t>(0, (existing->second.expires_ms - now_ms) / 1000);
        (void)sip_replyf(stack.sip(), &msg, 200, "OK", "Contact: <%s>;expires=%lld\r\nContent-Length: 0\r\n\r\n",
                         existing->second.phone.contact.c_str(), static_cast<long long>(left));
      }
      return;
    }
    std::uint32_t expires = options.max_expires;
    if (pl_isset(&msg.expires)) expires = pl_u32(&msg.expires);
    if (!pl_strcmp(&ch->val, "*")) {
      if (expires != 0) {
        (void)sip_reply(stack.sip(), &msg, 400, "Bad Request");
        return;
      }
      Unbind(login, "unregistered");
      (void)sip_replyf(stack.sip(), &msg, 200, "OK", "Content-Length: 0\r\n\r\n");
      return;
    }
    struct sip_addr ca {};
    if (sip_addr_decode(&ca, &ch->val) != 0) {
      (void)sip_reply(stack.sip(), &msg, 400, "Bad Contact");
      return;
    }
    struct pl ev {};
    if (msg_param_decode(&ca.params, "expires", &ev) == 0) expires = pl_u32(&ev);
    const std::string contact = Str(ca.auri);
    if (expires == 0) {
      // Only the registered contact may go: an old phone signing off leaves the new one.
      if (existing != bindings.end() && existing->second.phone.contact == contact) Unbind(login, "unregistered");
      (void)sip_replyf(stack.sip(), &msg, 200, "OK", "Content-Length: 0\r\n\r\n");
      return;
    }
    if (expires < options.min_expires) {
      (void)sip_replyf(stack.sip(), &msg, 423, "Interval Too Brief", "Min-Expires: %u\r\nContent-Length: 0\r\n\r\n",
                       options.min_expires);
      return;
    }
    expires = std::min(expires, options.max_expires);
    const bool fresh = existing == bindings.end();
    Binding& b = fresh ? bindings[login] : existing->second;
    if (!fresh && b.phone.contact != contact) {
      b.qualify = static_cast<struct sip_request*>(mem_deref(b.qualify));  // was for the old phone
    }
    b.owner = this;
    b.login = login;
    b.user = user;
    const std::string transport = sip_transp_param(msg.tp);
    b.phone.contact = contact;
    b.phone.transport = transport;
    b.phone.source = AddrPort(msg.src);
    b.phone.route = "sip:" + b.phone.source + (msg.tp == SIP_TRANSP_UDP ? "" : ";transport=" + transport);
    const struct sip_hdr* ua = sip_msg_hdr(&msg, SIP_HDR_USER_AGENT);
    b.phone.user_agent = ua ? Str(ua->val).substr(0, 200) : std::string();
    b.expires_ms = now_ms + std::int64_t{expires} * 1000;
    b.next_qualify_ms = now_ms + std::int64_t{options.qualify_interval_s} * 1000;
    ++n_registers;
    n_bindings = bindings.size();
    (void)sip_replyf(stack.sip(), &msg, 200, "OK", "Contact: <%s>;expires=%u\r\nContent-Length: 0\r\n\r\n",
                     contact.c_str(), expires);
    if (fresh) {
      spdlog::info("sip: {} registered {} via {} from {} for {} s", login, contact, transport,
                   b.phone.source, expires);
      sink(user, true);
    }
  }

  void Unbind(const std::string& login, const char* why) {
    auto it = bindings.find(login);
    if (it == bindings.end()) return;
    mem_deref(it->second.qualify);  // its handler is not called any more
    const core::UserId user = it->second.user;
    spdlog::info("sip: {} {} ({})", login, why, it->second.phone.source);
    bindings.erase(it);
    n_bindings = bindings.size();
    sink(user, false);
  }

  // ---- expiry and qualify (every second) ----------------------------------------------------

  static void OnSweep(void* arg) {
    auto* self = static_cast<Impl*>(arg);
    self->Sweep();
    tmr_start(&self->sweep_timer, kSweepMs, OnSweep, self);
  }

  void Sweep() {
    const std::int64_t now_ms = SteadyMs();
    std::vector<std::string> expired, due, unreachable;
    for (auto& [login, b] : bindings) {
      if (b.expires_ms <= now_ms) {
        expired.push_back(login);
      } else if (b.qualify != nullptr && options.qualify_timeout_s > 0 &&
                 now_ms - b.qualify_sent_ms >= std::int64_t{options.qualify_timeout_s} * 1000) {
        // Not libre's 32 s transaction timeout: a dead phone would be offered calls that long.
        unreachable.push_back(login);
      } else if (options.qualify_interval_s > 0 && b.qualify == nullptr && b.next_qualify_ms <= now_ms) {
        due.push_back(login);
        b.next_qualify_ms = now_ms + std::int64_t{options.qualify_interval_s} * 1000;
      }
    }
    for (const std::string& login : expired) {
      ++n_expired;
      Unbind(login, "expired");
    }
    for (const std::string& login : unreachable) {
      ++n_qualify_failed;
      Unbind(login, "unreachable");  // cancels the OPTIONS: its handler is not called
    }
    // Outside the walk: a request's handler may drop a binding.
    for (const std::string& login : due) {
      auto it = bindings.find(login);
      if (it != bindings.end()) Qualify(it->second);
    }
    digest.Sweep();
  }

  void Qualify(Binding& b) {
    struct uri route {};
    struct pl rp;
    pl_set_str(&rp, b.phone.route.c_str());
    if (uri_decode(&route, &rp) != 0) return;
    const int err = sip_requestf(&b.qualify, stack.sip(), true, "OPTIONS", b.phone.contact.c_str(), &route,
                                 nullptr, nullptr, OnQualified, &b,
                                 "To: <%s>\r\n"
                                 "From: <sip:homeline@%s>;tag=%016llx\r\n"
                                 "Call-ID: %016llx\r\n"
                                 "CSeq: 1 OPTIONS\r\n"
                                 "Max-Forwards: 70\r\n"
                                 "Content-Length: 0\r\n\r\n",
                                 b.phone.contact.c_str(), stack.host().c_str(),
                                 static_cast<unsigned long long>(rand_u64()),
                                 static_cast<unsigned long long>(rand_u64()));
    if (err != 0) spdlog::debug("sip: OPTIONS to {}: {}", b.login, std::strerror(err));
    b.qualify_sent_ms = SteadyMs();
  }

  static void OnQualified(int err, const struct sip_msg* msg, void* arg) {
    auto* b = static_cast<Binding*>(arg);
    if (err == 0 && msg != nullptr && msg->scode < 200) return;  // provisional: wait
    b->qualify = nullptr;  // done: libre releases the request after this handler
    if (err == 0) return;  // any final answer: the phone is there
    ++b->owner->n_qualify_failed;
    b->owner->Unbind(b->login, "unreachable");  // erases b
  }

  // ---- credentials --------------------------------------------------------------------------

  void SetCredential(const std::string& login, core::UserId user, const std::string& ha1) {
    Impl::Credential c;
    c.user = user;
    if (ha1.empty() || !FromHex(ha1, c.ha1, 16)) {
      credentials.erase(login);
      Unbind(login, "credential removed");
      return;
    }
    credentials[login] = c;
  }

  void Close() {
    tmr_cancel(&sweep_timer);
    for (auto& [login, b] : bindings) b.qualify = static_cast<struct sip_request*>(mem_deref(b.qualify));
    bindings.clear();
    n_bindings = 0;
    running = false;
  }
};

Registrar::Registrar(SipStack& stack, RegistrarOptions options, PhoneSink sink)
    : impl_(std::make_shared<Impl>(stack, options, std::move(sink))) {}

Registrar::~Registrar() = default;

void Registrar::Install() {
  std::shared_ptr<Impl> impl = impl_;
  impl->stack.Post([impl] {
    impl->running = true;
    tmr_init(&impl->sweep_timer);
    tmr_start(&impl->sweep_timer, kSweepMs, Impl::OnSweep, impl.get());
    impl->stack.AddRequestHandler([impl](const struct sip_msg& msg) { return impl->OnRequest(msg); });
    impl->stack.AddShutdownHook([impl] { impl->Close(); });
  });
}

void Registrar::SetCredential(const std::string& login, core::UserId user, const std::string& ha1) {
  std::shared_ptr<Impl> impl = impl_;
  impl->stack.Post([impl, login, user, ha1] { impl->SetCredential(login, user, ha1); });
}

std::optional<PhoneBinding> Registrar::Lookup(const std::string& login) const {
  auto it = impl_->bindings.find(login);
  if (it == impl_->bindings.end()) return std::nullopt;
  return it->second.phone;
}

RegistrarStats Registrar::stats() const {
  RegistrarStats s;
  s.bindings = impl_->n_bindings;
  s.registers = impl_->n_registers;
  s.auth_failures = impl_->n_failures;
  s.auth_limited = impl_->n_limited;
  s.expired = impl_->n_expired;
  s.qualify_failed = impl_->n_qualify_failed;
  return s;
}

}  // namespace homeline::sip
