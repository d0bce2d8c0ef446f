#pragma once
// Limits failed digest authentications (docs/decisions.md 38): a token bucket
// per key (a source address, a user name); every failure takes a token, and a key without one
// is limited until the bucket refills. Successes cost nothing. Time is passed in (ms).
//
// Memory is bounded: at most max_keys buckets; when full, buckets that have refilled (they
// hold no information) are dropped first, then the oldest.
//
// Not thread-safe: the registrar uses it on the SIP thread.

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace homeline::sip {

struct LimiterOptions {
  double burst = 10;          // failures allowed at once...
  double per_second = 0.1;    // ...then one every 10 s
  std::size_t max_keys = 100000;
};

class AuthLimiter {
 public:
  explicit AuthLimiter(LimiterOptions options = {}) : options_(options) {}

  // Whether key has used up its failures (its next attempt is refused unchecked).
  bool Limited(const std::string& key, std::int64_t now_ms);
  void Failed(const std::string& key, std::int64_t now_ms);
  std::size_t size() const { return buckets_.size(); }

 private:
  struct Bucket {
    double tokens;
    std::int64_t at;  // when tokens was last brought up to date
  };
  double Refill(Bucket& b, std::int64_t now_ms) const;
  void Prune(std::int64_t now_ms);

  LimiterOptions options_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace homeline::sip
