#pragma once
// Password hashing and session tokens (libsodium).
// Thread-safe. HashPassword/VerifyPassword cost tens of milliseconds by design (argon2id):
// call them off the engine thread.

#include <string>
#include <string_view>

namespace homeline::auth {

// Initialises libsodium; call once at start. Returns false if it cannot.
bool Init();

// argon2id hash string (includes salt and parameters). Empty on failure (out of memory).
std::string HashPassword(std::string_view password);

// Constant-time verification against a hash from HashPassword.
bool VerifyPassword(std::string_view hash, std::string_view password);

// A new bearer token: 32 random bytes, hex. Only its TokenHash is stored.
std::string NewToken();

// BLAKE2b hash of a token, hex; what the store keeps and the engine looks up.
std::string TokenHash(std::string_view token);

}  // namespace homeline::auth
