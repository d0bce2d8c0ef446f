#pragma once
// URL component decoding shared by the server and Request::QueryParam.

#include <string>
#include <string_view>

namespace homeline::http {

// Decodes %XX escapes; with plus_is_space, '+' becomes ' ' (query strings, forms).
// Malformed escapes are kept as they are. Never fails; the result may contain any byte.
std::string PercentDecode(std::string_view in, bool plus_is_space);

}  // namespace homeline::http
