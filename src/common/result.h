#pragma once
// Expected failures travel as values: Result<T> is std::expected<T, Error>.
// Broken invariants are asserts, not Errors.

#include <expected>
#include <string>
#include <utility>

namespace homeline {

// Error codes map one-to-one to the API's error codes and HTTP statuses
// (see adapters/api/api.cc: StatusOf).
enum class ErrorCode {
  kBadRequest,       // malformed input, wrong types, missing fields -> 400
  kUnauthorized,     // no or bad credentials -> 401
  kForbidden,        // authenticated, but the role does not allow it -> 403
  kNotFound,         // no such entity, or one of another tenant -> 404
  kConflict,         // the entity's state does not allow it now -> 409
  kTooLarge,         // body over the size limit -> 413
  kRateLimited,      // too many attempts -> 429
  kUnavailable,      // store or dependency down -> 503
  kInternal,         // a bug; logged -> 500
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <typename T>
using Result = std::expected<T, Error>;

using Status = std::expected<void, Error>;

inline std::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error{code, std::move(message)});
}

const char* ErrorCodeName(ErrorCode code);  // "bad_request", "not_found", ...
int HttpStatusOf(ErrorCode code);

}  // namespace homeline
