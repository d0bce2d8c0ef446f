#pragma once
// The digest check shared by the registrar (REGISTER from agents' phones) and the calls
// (INVITE from trunks that authenticate instead of being allowed by address): our stateless
// nonces (nonce.h), the replay check, and the failure limiter (auth_limiter.h), per source
// address and per user name. docs/decisions.md 37, 38.
//
// Every failure looks the same to the peer (the caller answers 403): an unknown user is checked
// against a dummy HA1, so it costs as much as a wrong password. A limited source or user is
// refused without its password being checked.
//
// SIP thread only (not thread-safe). libre types are forward-declared.

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "adapters/sip/auth_limiter.h"
#include "adapters/sip/nonce.h"

struct sip_msg;
struct pl;

namespace homeline::sip {

struct DigestOptions {
  std::int64_t nonce_ttl_s = 300;
  LimiterOptions per_address{10, 0.1, 100000};  // 10 failures, then one per 10 s
  LimiterOptions per_user{20, 0.1, 100000};
};

class DigestCheck {
 public:
  enum class Outcome {
    kOk,         // the credentials match: `user` is who sent them
    kChallenge,  // not our realm or nonce: a fresh challenge
    kStale,      // our nonce, expired or used: a fresh challenge with stale=true
    kFailed,     // wrong password or unknown user (counted by the limiter): 403
    kLimited,    // refused unchecked, the source or user has used up its failures: 403
    kMalformed,  // the header does not parse: 400
  };
  // The HA1 (16 bytes) of a user name, or nullptr when there is no such user.
  using Ha1Of = std::function<const std::uint8_t*(const std::string& user)>;

  explicit DigestCheck(DigestOptions options = {});

  // Checks msg's credentials (the value of its Authorization or Proxy-Authorization header);
  // user: the user name they claim (set unless kMalformed).
  Outcome Check(const struct sip_msg& msg, const struct pl& header, const Ha1Of& ha1_of,
                std::string* user);
  // Counts a failure that Check could not see (the registrar: a REGISTER for another's AOR).
  void Failed(const struct sip_msg& msg, const std::string& user);

  // The challenge header's value: `Digest realm="homeline", nonce="...", qop="auth",
  // algorithm=MD5[, stale=true]`.
  std::string Challenge(bool stale) const;

  // Forgets used nonces past their life. About once a second.
  void Sweep();

 private:
  bool Replayed(const std::string& nonce, const struct pl& qop, const struct pl& nc);

  DigestOptions options_;
  NonceCodec nonces_;
  AuthLimiter by_address_, by_user_;
  std::uint8_t dummy_ha1_[16] = {};
  std::unordered_map<std::string, std::uint32_t> used_nonces_;  // nonce -> highest nc seen
};

}  // namespace homeline::sip
