#pragma once
// Pieces every API route and view shares: the JSON error body and path-id parsing. Pure
// functions, callable from any thread.

#include <cstdint>
#include <optional>
#include <string>

#include "adapters/http/http_server.h"
#include "common/result.h"

namespace homeline::api {

// {"error":{"code","message"}} with `status`; a message that is not UTF-8 is replaced, not thrown.
http::Response ErrorResponse(int status, const std::string& code, const std::string& message);
// The same for an Error: the status and code follow e.code.
http::Response ErrorResponse(const Error& e);

// A path id: decimal digits only, no leading sign, 1 .. 10^19-1; anything else is nullopt.
std::optional<std::uint64_t> ParseId(const std::string& s);

}  // namespace homeline::api
