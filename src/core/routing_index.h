#pragma once
// The routing index: for each queue and channel, the waiting contacts in line order and the
// available agents in the queue's strategy order, so both routing decisions are a few peeks:
//  - a contact arrives (or relaxes): best available agent of its queue at its step's level;
//  - an agent frees up: best waiting contact over all queues and channels the agent can take.
//
// Levels: an agent's level in a queue is the highest threshold t (1..10) such that for every
// required skill, proficiency >= min(required, t); 10 meets the queue's own requirement, and a
// relaxation step with min_proficiency m accepts levels >= m. Level 0: not an agent of the queue.
//
// Owned by the Engine; single-threaded like it. Costs: O(log n) per add/remove; a lookup peeks
// at most channels x steps (waiting) or 10 levels (agents) set heads.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "core/types.h"

namespace homeline::core {

constexpr int kMaxLevel = 10;

struct WaitKey {
  std::int64_t score = 0;  // enqueued_at - priority * priority_step: lower goes first
  InteractionId id = 0;    // tie-break: older id first, the same every time
  auto operator<=>(const WaitKey&) const = default;
};

struct AgentKey {
  std::int64_t a = 0;  // strategy's first criterion, lower is better
  std::int64_t b = 0;  // second criterion
  UserId user = 0;     // final tie-break
  auto operator<=>(const AgentKey&) const = default;
};

// One queue an agent serves.
struct QueueFit {
  QueueId queue = 0;
  int level = 0;        // see above
  int proficiency = 0;  // min proficiency over the queue's skills (ranking)
  Strategy strategy = Strategy::kBestProficiency;  // the queue's, to rank without a lookup
};

class RoutingIndex {
 public:
  // Thresholds per step: [0] is the queue's own requirement (kMaxLevel), then one per
  // relaxation step. Call when a queue is created or its steps change.
  void SetQueueSteps(QueueId q, std::vector<int> thresholds);
  void RemoveQueue(QueueId q);

  void AddWaiting(QueueId q, Channel c, int step, WaitKey k);
  void RemoveWaiting(QueueId q, Channel c, int step, WaitKey k);
  void AddAvailable(QueueId q, Channel c, int level, AgentKey k);
  void RemoveAvailable(QueueId q, Channel c, int level, AgentKey k);

  std::size_t WaitingCount(QueueId q) const;

  // Best agent available for a contact of queue q, channel c, at step `step`.
  // skip(user) -> true excludes an agent (one who declined this contact).
  template <typename Skip>
  std::optional<UserId> BestAgent(QueueId q, Channel c, int step, Skip&& skip) const;

  // Best waiting contact over the agent's queues, for the channels in channel_mask
  // (bit i = Channel i). skip(id) -> true excludes a contact (declined by this agent).
  template <typename Skip>
  std::optional<InteractionId> BestWaiting(const std::vector<QueueFit>& fits,
                                           unsigned channel_mask, Skip&& skip) const;

  // Visits every waiting contact id of queue q (any order).
  template <typename Fn>
  void ForEachWaiting(QueueId q, Fn&& fn) const;

 private:
  struct PerQueue {
    std::vector<int> thresholds{kMaxLevel};
    std::array<std::vector<std::set<WaitKey>>, kChannelCount> waiting;
    std::array<std::array<std::set<AgentKey>, kMaxLevel + 1>, kChannelCount> available;
    std::size_t waiting_count = 0;
  };
  PerQueue* Find(QueueId q);
  const PerQueue* Find(QueueId q) const;

  std::unordered_map<QueueId, std::unique_ptr<PerQueue>> queues_;
};

template <typename Skip>
std::optional<UserId> RoutingIndex::BestAgent(QueueId q, Channel c, int step, Skip&& skip) const {
  const PerQueue* pq = Find(q);
  if (pq == nullptr || step < 0 || step >= static_cast<int>(pq->thresholds.size())) return {};
  const int min_level = pq->thresholds[step];
  const AgentKey* best = nullptr;
  const auto& levels = pq->available[static_cast<int>(c)];
  for (int level = kMaxLevel; level >= min_level && level >= 1; --level) {
    for (const AgentKey& k : levels[level]) {
      if (skip(k.user)) continue;
      if (best == nullptr || k < *best) best = &k;
      break;
    }
  }
  if (best == nullptr) return {};
  return best->user;
}

template <typename Skip>
std::optional<InteractionId> RoutingIndex::BestWaiting(const std::vector<QueueFit>& fits,
                                                       unsigned channel_mask, Skip&& skip) const {
  const WaitKey* best = nullptr;
  for (const QueueFit& fit : fits) {
    const PerQueue* pq = Find(fit.queue);
    if (pq == nullptr || pq->waiting_count == 0) continue;
    for (int c = 0; c < kChannelCount; ++c) {
      if ((channel_mask & (1u << c)) == 0) continue;
      const auto& steps = pq->waiting[c];
      for (std::size_t s = 0; s < steps.size(); ++s) {
        if (pq->thresholds[s] > fit.level) continue;
        for (const WaitKey& k : steps[s]) {
          if (best != nullptr && !(k < *best)) break;
          if (skip(k.id)) continue;
          best = &k;
          break;
        }
      }
    }
  }
  if (best == nullptr) return {};
  return best->id;
}

template <typename Fn>
void RoutingIndex::ForEachWaiting(QueueId q, Fn&& fn) const {
  const PerQueue* pq = Find(q);
  if (pq == nullptr) return;
  for (const auto& steps : pq->waiting)
    for (const auto& set : steps)
      for (const WaitKey& k : set) fn(k.id);
}

}  // namespace homeline::core
