#include "adapters/auth/sip_digest.h"

#include <openssl/evp.h>

namespace homeline::auth {

std::string SipHa1(std::string_view login, std::string_view password, std::string_view realm) {
  std::string text;
  text.reserve(login.size() + realm.size() + password.size() + 2);
  text.append(login).append(":").append(realm).append(":").append(password);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // MD5 is what SIP digest (and every phone) speaks; it is not used for anything else.
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

}  // namespace homeline::auth
