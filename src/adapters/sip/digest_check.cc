#include "adapters/sip/digest_check.h"

#include <chrono>

#include <fmt/format.h>

#include "adapters/auth/sip_digest.h"
#include "adapters/sip/re_include.h"

namespace homeline::sip {

namespace {

std::int64_t WallSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Str(const struct pl& p) { return pl_isset(&p) ? std::string(p.p, p.l) : std::string(); }

std::string AddrOnly(const struct sa& a) {
  char buf[64];
  re_snprintf(buf, sizeof buf, "%j", &a);
  return buf;
}

// Used nonces remembered for the replay check, at most (each lives nonce_ttl_s).
constexpr std::size_t kMaxUsedNonces = 200000;

}  // namespace

DigestCheck::DigestCheck(DigestOptions options)
    : options_(options), by_address_(options.per_address), by_user_(options.per_user) {
  // An unknown user is checked against this, so that it takes the same work as a wrong
  // password and ends in the same 403.
  const std::string dummy = auth::SipHa1("no such user", NonceCodec().Make(0));
  FromHex(dummy, dummy_ha1_, 16);
}

std::string DigestCheck::Challenge(bool stale) const {
  return fmt::format("Digest realm=\"{}\", nonce=\"{}\", qop=\"auth\", algorithm=MD5{}", auth::kSipRealm,
                     nonces_.Make(WallSeconds()), stale ? ", stale=true" : "");
}

bool DigestCheck::Replayed(const std::string& nonce, const struct pl& qop_pl, const struct pl& nc_pl) {
  std::uint32_t nc = 0;
  const bool qop = pl_isset(&qop_pl);
  if (qop) {
    if (!pl_isset(&nc_pl) || nc_pl.l != 8) return true;
    nc = static_cast<std::uint32_t>(pl_x32(&nc_pl));
    if (nc == 0) return true;
  }
  auto it = used_nonces_.find(nonce);
  if (it != used_nonces_.end()) {
    if (!qop || nc <= it->second) return true;  // without qop a nonce is good once
    it->second = nc;
    return false;
  }
  if (used_nonces_.size() >= kMaxUsedNonces) return true;  // fail closed: a fresh challenge
  used_nonces_.emplace(nonce, nc);
  return false;
}

DigestCheck::Outcome DigestCheck::Check(const struct sip_msg& msg, const struct pl& header,
                                        const Ha1Of& ha1_of, std::string* user) {
  const std::int64_t now_ms = SteadyMs();
  struct httpauth_digest_resp r {};
  if (httpauth_digest_response_decode(&r, &header) != 0) return Outcome::kMalformed;
  // A peer still holding another server's realm gets ours.
  if (pl_strcmp(&r.realm, std::string(auth::kSipRealm).c_str()) != 0) return Outcome::kChallenge;
  *user = Str(r.username);
  const std::string address = AddrOnly(msg.src);
  const std::string user_key = "u:" + *user;
  if (by_address_.Limited(address, now_ms) || by_user_.Limited(user_key, now_ms)) return Outcome::kLimited;
  const std::string nonce = Str(r.nonce);
  switch (nonces_.Verify(nonce, WallSeconds(), options_.nonce_ttl_s)) {
    case NonceCodec::Check::kBad: return Outcome::kChallenge;
    case NonceCodec::Check::kStale: return Outcome::kStale;
    case NonceCodec::Check::kOk: break;
  }
  if (Replayed(nonce, r.qop, r.nc)) return Outcome::kStale;
  const std::uint8_t* ha1 = ha1_of(*user);
  const bool ok = httpauth_digest_response_auth(&r, &msg.met, ha1 ? ha1 : dummy_ha1_) == 0 && ha1 != nullptr;
  if (!ok) {
    by_address_.Failed(address, now_ms);
    by_user_.Failed(user_key, now_ms);
    return Outcome::kFailed;
  }
  return Outcome::kOk;
}

void DigestCheck::Failed(const struct sip_msg& msg, const std::string& user) {
  const std::int64_t now_ms = SteadyMs();
  by_address_.Failed(AddrOnly(msg.src), now_ms);
  by_user_.Failed("u:" + user, now_ms);
}

void DigestCheck::Sweep() {
  const std::int64_t now_s = WallSeconds();
  for (auto it = used_nonces_.begin(); it != used_nonces_.end();) {
    if (now_s - NonceCodec::IssuedAt(it->first) > options_.nonce_ttl_s + 5) {
      it = used_nonces_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace homeline::sip
