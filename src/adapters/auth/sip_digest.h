#pragma once
// SIP digest credentials (RFC 3261 22, RFC 2617 with MD5): the part that is not libre's.
// Thread-safe, cheap (one MD5).

#include <string>
#include <string_view>

namespace homeline::auth {

// The realm of every Homeline SIP challenge (docs/decisions.md 36). HA1 depends on it:
// changing it invalidates every stored SIP password.
inline constexpr std::string_view kSipRealm = "homeline";

// hex MD5(login:realm:password): the SIP digest credential stored for a user.
std::string SipHa1(std::string_view login, std::string_view password,
                   std::string_view realm = kSipRealm);

}  // namespace homeline::auth
