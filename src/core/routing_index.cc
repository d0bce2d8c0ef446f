#include "core/routing_index.h"

#include <cassert>

namespace homeline::core {

RoutingIndex::PerQueue* RoutingIndex::Find(QueueId q) {
  auto it = queues_.find(q);
  return it == queues_.end() ? nullptr : it->second.get();
}

const RoutingIndex::PerQueue* RoutingIndex::Find(QueueId q) const {
  auto it = queues_.find(q);
  return it == queues_.end() ? nullptr : it->second.get();
}

void RoutingIndex::SetQueueSteps(QueueId q, std::vector<int> thresholds) {
  assert(!thresholds.empty());
  auto& slot = queues_[q];
  if (!slot) slot = std::make_unique<PerQueue>();
  // Waiting contacts keep their step index; the engine re-files them when steps change.
  slot->thresholds = std::move(thresholds);
  for (auto& steps : slot->waiting) {
    if (steps.size() < slot->thresholds.size()) steps.resize(slot->thresholds.size());
  }
}

void RoutingIndex::RemoveQueue(QueueId q) { queues_.erase(q); }

void RoutingIndex::AddWaiting(QueueId q, Channel c, int step, WaitKey k) {
  PerQueue* pq = Find(q);
  assert(pq != nullptr);
  auto& steps = pq->waiting[static_cast<int>(c)];
  if (static_cast<std::size_t>(step) >= steps.size()) steps.resize(step + 1);
  if (steps[step].insert(k).second) ++pq->waiting_count;
}

void RoutingIndex::RemoveWaiting(QueueId q, Channel c, int step, WaitKey k) {
  PerQueue* pq = Find(q);
  if (pq == nullptr) return;
  auto& steps = pq->waiting[static_cast<int>(c)];
  if (static_cast<std::size_t>(step) >= steps.size()) return;
  if (steps[step].erase(k) > 0) --pq->waiting_count;
}

void RoutingIndex::AddAvailable(QueueId q, Channel c, int level, AgentKey k) {
  PerQueue* pq = Find(q);
  assert(pq != nullptr && level >= 1 && level <= kMaxLevel);
  pq->available[static_cast<int>(c)][level].insert(k);
}

void RoutingIndex::RemoveAvailable(QueueId q, Channel c, int level, AgentKey k) {
  PerQueue* pq = Find(q);
  if (pq == nullptr) return;
  pq->available[static_cast<int>(c)][level].erase(k);
}

std::size_t RoutingIndex::WaitingCount(QueueId q) const {
  const PerQueue* pq = Find(q);
  return pq == nullptr ? 0 : pq->waiting_count;
}

}  // namespace homeline::core
