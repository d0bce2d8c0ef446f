#include "adapters/sip/auth_limiter.h"

#include <algorithm>

namespace homeline::sip {

double AuthLimiter::Refill(Bucket& b, std::int64_t now_ms) const {
  if (now_ms > b.at) {
    b.tokens = std::min(options_.burst, b.tokens + (now_ms - b.at) / 1000.0 * options_.per_second);
    b.at = now_ms;
  }
  return b.tokens;
}

bool AuthLimiter::Limited(const std::string& key, std::int64_t now_ms) {
  auto it = buckets_.find(key);
  if (it == buckets_.end()) return false;
  return Refill(it->second, now_ms) < 1.0;
}

void AuthLimiter::Failed(const std::string& key, std::int64_t now_ms) {
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_keys) Prune(now_ms);
    it = buckets_.emplace(key, Bucket{options_.burst, now_ms}).first;
  }
  Bucket& b = it->second;
  Refill(b, now_ms);
  b.tokens = std::max(0.0, b.tokens - 1.0);
}

void AuthLimiter::Prune(std::int64_t now_ms) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (Refill(it->second, now_ms) >= options_.burst) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
  // Still full: every bucket is in use by an attack of many keys; forget the one touched
  // longest ago (an attacker gains at most a fresh burst for it).
  while (buckets_.size() >= options_.max_keys) {
    auto oldest = std::min_element(buckets_.begin(), buckets_.end(),
                                   [](const auto& a, const auto& b) { return a.second.at < b.second.at; });
    buckets_.erase(oldest);
  }
}

}  // namespace homeline::sip
