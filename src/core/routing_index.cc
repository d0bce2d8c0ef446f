#include "core/routing_index.h"

#include <algorithm>
#include <cassert>
#include <utility>

namespace homeline::core {

RoutingIndex::PerQueue* RoutingIndex::Find(QueueId q) {
  auto it = slot_of_.find(q);
  return it == slot_of_.end() ? nullptr : queues_[it->second];
}

const RoutingIndex::PerQueue* RoutingIndex::Find(QueueId q) const {
  auto it = slot_of_.find(q);
  return it == slot_of_.end() ? nullptr : queues_[it->second];
}

std::optional<QueueSlot> RoutingIndex::SlotOf(QueueId q) const {
  auto it = slot_of_.find(q);
  if (it == slot_of_.end()) return std::nullopt;
  return it->second;
}

QueueSlot RoutingIndex::SetQueue(QueueId q, std::vector<int> thresholds, Strategy strategy) {
  assert(!thresholds.empty() && thresholds.size() <= kMaxSteps);
  auto [it, inserted] = slot_of_.try_emplace(q, 0);
  if (inserted) {
    if (!free_slots_.empty()) {
      it->second = free_slots_.back();
      free_slots_.pop_back();
    } else {
      it->second = static_cast<QueueSlot>(queues_.size());
      queues_.emplace_back();
      if (queue_store_.size() * kQueueChunk < queues_.size())
        queue_store_.push_back(std::make_unique<PerQueue[]>(kQueueChunk));
    }
    // A free slot's record was emptied when its queue was removed.
    queues_[it->second] = &queue_store_[it->second / kQueueChunk][it->second % kQueueChunk];
    queues_[it->second]->id = q;
  }
  PerQueue& pq = *queues_[it->second];
  // Waiting contacts keep their step index; the engine re-files them when steps change.
  pq.steps = static_cast<std::uint8_t>(thresholds.size());
  pq.thresholds.fill(0);
  for (std::size_t s = 0; s < thresholds.size(); ++s)
    pq.thresholds[s] = static_cast<std::uint8_t>(thresholds[s]);
  if (Tracks(strategy) && !Tracks(pq.strategy)) {
    // Its agent heaps moved their items without telling pos_ until now.
    for (const auto& heap : pq.available)
      for (std::uint32_t i = 0; i < heap.size(); ++i) pos_[heap[i].handle] = i;
  }
  pq.strategy = strategy;
  for (auto& steps : pq.waiting) steps.resize(kMaxSteps);  // never moves a line afterwards
  for (int level = 0; level <= kMaxLevel; ++level) {
    unsigned admit = 0;
    for (std::size_t s = 0; s < pq.steps; ++s)
      if (level >= 1 && pq.thresholds[s] <= level) admit |= 1u << s;
    pq.admits[level] = static_cast<std::uint16_t>(admit);
  }
  for (int c = 0; c < kChannelCount; ++c) RefreshHeads(pq, c);
  return it->second;
}

std::uint32_t RoutingIndex::PositionOf(const AgentHeap& heap, IndexHandle h) {
  const auto it = std::find_if(heap.begin(), heap.end(),
                               [h](const AgentItem& a) { return a.handle == h; });
  assert(it != heap.end());
  return static_cast<std::uint32_t>(it - heap.begin());
}

void RoutingIndex::RemoveQueue(QueueId q) {
  auto it = slot_of_.find(q);
  if (it == slot_of_.end()) return;
  const QueueSlot slot = it->second;
  PerQueue& pq = *queues_[slot];
  // Handles still out there must not point into a slot that a new queue may reuse.
  for (const auto& steps : pq.waiting)
    for (const auto& heap : steps)
      for (const WaitItem& w : heap) places_[w.handle].kind = Place::kDetached;
  for (const auto& heap : pq.available)
    for (const AgentItem& a : heap) places_[a.handle].kind = Place::kDetached;
  pq = PerQueue{};
  queues_[slot] = nullptr;
  free_slots_.push_back(slot);
  slot_of_.erase(it);
}

void RoutingIndex::RefreshHeads(PerQueue& pq, int channel, int min_level) {
  const auto bit = static_cast<std::uint8_t>(1u << channel);
  for (int level = std::max(1, min_level); level <= kMaxLevel; ++level) {
    // The lines this level may take (their steps' thresholds are at most the level).
    const WaitItem* best = nullptr;
    for (unsigned lines = pq.nonempty[channel] & pq.admits[level]; lines != 0;
         lines &= lines - 1) {
      const WaitItem& top = pq.waiting[channel][std::countr_zero(lines)][0];
      if (best == nullptr || top.key < best->key) best = &top;
    }
    PerQueue::LevelHeads& row = pq.heads[level];
    if (best == nullptr) {
      row.any &= static_cast<std::uint8_t>(~bit);
      row.check &= static_cast<std::uint8_t>(~bit);
      continue;
    }
    row.any |= bit;
    row.key[channel] = best->key;
    if (best->check) {
      row.check |= bit;
    } else {
      row.check &= static_cast<std::uint8_t>(~bit);
    }
  }
}

int RoutingIndex::MinLevel(const PerQueue& pq, int step) {
  // A line past the queue's steps (they were cut; the engine files its contacts again) counts
  // for no level.
  return step < pq.steps ? pq.thresholds[step] : kMaxLevel + 1;
}

IndexHandle RoutingIndex::NewHandle(Place p) {
  IndexHandle h;
  if (!free_handles_.empty()) {
    h = free_handles_.back();
    free_handles_.pop_back();
    places_[h] = p;
  } else {
    h = static_cast<IndexHandle>(places_.size());
    places_.push_back(p);
    pos_.push_back(0);
  }
  return h;
}

void RoutingIndex::FreeHandle(IndexHandle h) {
  places_[h].kind = Place::kFree;
  free_handles_.push_back(h);
}

template <bool kTrack, typename Heap>
void RoutingIndex::SiftUp(Heap& heap, std::uint32_t pos) {
  using Item = typename Heap::value_type;
  Item item = std::move(heap[pos]);
  while (pos > 0) {
    const std::uint32_t parent = (pos - 1) / kArity;
    if (!(item.key < heap[parent].key)) break;
    heap[pos] = std::move(heap[parent]);
    if constexpr (kTrack) pos_[heap[pos].handle] = pos;
    pos = parent;
  }
  heap[pos] = std::move(item);
  if constexpr (kTrack) pos_[heap[pos].handle] = pos;
}

template <bool kTrack, typename Heap>
void RoutingIndex::SiftDown(Heap& heap, std::uint32_t pos) {
  using Item = typename Heap::value_type;
  const std::uint32_t n = static_cast<std::uint32_t>(heap.size());
  Item item = std::move(heap[pos]);
  for (;;) {
    const std::uint32_t first = kArity * pos + 1;
    if (first >= n) break;
    std::uint32_t child = first;
    if (first + kArity <= n) {
      static_assert(kArity == 4);
      // Keys in a heap are unique: the smallest of four as a small tournament.
      const std::uint32_t a = heap[first + 1].key < heap[first].key ? first + 1 : first;
      const std::uint32_t b = heap[first + 3].key < heap[first + 2].key ? first + 3 : first + 2;
      child = heap[b].key < heap[a].key ? b : a;
    } else {
      for (std::uint32_t c = first + 1; c < n; ++c)
        if (heap[c].key < heap[child].key) child = c;
    }
    if (!(heap[child].key < item.key)) break;
    heap[pos] = std::move(heap[child]);
    if constexpr (kTrack) pos_[heap[pos].handle] = pos;
    pos = child;
  }
  heap[pos] = std::move(item);
  if constexpr (kTrack) pos_[heap[pos].handle] = pos;
}

template <bool kTrack, typename Heap>
void RoutingIndex::EraseAt(Heap& heap, std::uint32_t pos) {
  using Item = typename Heap::value_type;
  const std::uint32_t last = static_cast<std::uint32_t>(heap.size()) - 1;
  if (pos != last) {
    heap[pos] = std::move(heap[last]);
    heap.pop_back();
    // The moved item may belong above or below its new place.
    if (pos > 0 && heap[pos].key < heap[(pos - 1) / kArity].key) {
      SiftUp<kTrack>(heap, pos);
    } else {
      SiftDown<kTrack>(heap, pos);
    }
  } else {
    heap.pop_back();
  }
}

IndexHandle RoutingIndex::AddWaiting(QueueSlot slot, Channel c, int step, WaitKey k, bool check) {
  assert(slot < queues_.size() && queues_[slot] && step >= 0 && step < kMaxSteps);
  PerQueue& pq = *queues_[slot];
  const int ch = static_cast<int>(c);
  auto& heap = pq.waiting[ch][step];
  Place place;
  place.kind = Place::kWaiting;
  place.channel = static_cast<std::uint8_t>(ch);
  place.bucket = static_cast<std::uint8_t>(step);
  place.slot = slot;
  place.queue = pq.id;
  const IndexHandle h = NewHandle(place);
  heap.push_back(WaitItem{k, h, check});
  SiftUp<true>(heap, static_cast<std::uint32_t>(heap.size() - 1));
  ++pq.waiting_count;
  pq.nonempty[ch] |= static_cast<std::uint16_t>(1u << step);
  if (pos_[h] == 0) RefreshHeads(pq, ch, MinLevel(pq, step));  // a new head of its line
  return h;
}

void RoutingIndex::RemoveWaiting(IndexHandle h) {
  if (h == kNoHandle) return;
  const Place p = places_[h];
  if (p.kind == Place::kWaiting) {
    PerQueue& pq = *queues_[p.slot];
    auto& heap = pq.waiting[p.channel][p.bucket];
    const std::uint32_t pos = pos_[h];
    EraseAt<true>(heap, pos);
    --pq.waiting_count;
    if (heap.empty()) pq.nonempty[p.channel] &= static_cast<std::uint16_t>(~(1u << p.bucket));
    // Keys are unique, so only taking the head changes the head (an item moved up from
    // the bottom ranks after it).
    if (pos == 0) RefreshHeads(pq, p.channel, MinLevel(pq, p.bucket));
  }
  FreeHandle(h);
}

RoutingIndex::AgentRef RoutingIndex::AddAgent(UserId u) {
  cells_.emplace_back().user = u;
  return static_cast<AgentRef>(cells_.size() - 1);
}

void RoutingIndex::SetAgent(AgentRef r, unsigned room, TimeMs idle_since, std::int64_t contacts,
                            DurationMs talk) {
  AgentCell& a = cells_[r];
  a.room = room;
  a.idle_since = idle_since;
  a.contacts = contacts;
  a.talk = talk;
}

AgentKey RoutingIndex::CurrentKey(const Place& p) const {
  const AgentCell& a = cells_[p.agent];
  switch (p.strategy) {
    case Strategy::kBestProficiency: return {p.fixed, a.idle_since, a.user};
    case Strategy::kLongestIdle: return {a.idle_since, 0, a.user};
    case Strategy::kRoundRobin: return {p.fixed, 0, a.user};
    case Strategy::kFewestContacts: return {a.contacts, a.idle_since, a.user};
    case Strategy::kLeastTalkTime: return {a.talk, a.idle_since, a.user};
    case Strategy::kRandom: return {p.fixed, 0, a.user};
  }
  return {0, 0, a.user};
}

IndexHandle RoutingIndex::AddAvailable(QueueId q, int level, AgentRef r, Strategy s,
                                       std::int64_t fixed) {
  auto it = slot_of_.find(q);
  assert(it != slot_of_.end() && level >= 1 && level <= kMaxLevel);
  assert(s == queues_[it->second]->strategy);
  Place place{Place::kDropped, 0, static_cast<std::uint8_t>(level), s, it->second, q, r, fixed};
  const IndexHandle h = NewHandle(place);
  if (!Refile(h) && places_[h].kind == Place::kDropped) cells_[r].dropped.push_back(h);
  return h;
}

void RoutingIndex::RemoveAvailable(IndexHandle h) {
  if (h == kNoHandle) return;
  const Place p = places_[h];
  if (p.kind == Place::kAvailable) {
    PerQueue& pq = *queues_[p.slot];
    auto& heap = pq.available[p.bucket];
    if (Tracks(pq.strategy)) {
      EraseAt<true>(heap, pos_[h]);
    } else {
      EraseAt<false>(heap, PositionOf(heap, h));
    }
  } else if (p.kind == Place::kDropped) {
    auto& dropped = cells_[p.agent].dropped;
    dropped.erase(std::find(dropped.begin(), dropped.end(), h));
  }
  FreeHandle(h);
}

void RoutingIndex::SetFixed(IndexHandle h, std::int64_t fixed) {
  const std::int64_t was = places_[h].fixed;
  places_[h].fixed = fixed;
  // A bigger key (round robin's next offer) leaves the heap key a lower bound: taken lazily.
  if (fixed < was) Resift(h);
}

bool RoutingIndex::Refile(IndexHandle h) {
  Place& p = places_[h];
  if (p.kind != Place::kDropped || !Active(p)) return false;
  if (p.slot >= queues_.size() || !queues_[p.slot] || queues_[p.slot]->id != p.queue) {
    p.kind = Place::kDetached;
    return false;
  }
  PerQueue& pq = *queues_[p.slot];
  auto& heap = pq.available[p.bucket];
  p.kind = Place::kAvailable;
  heap.push_back(AgentItem{CurrentKey(p), h, p.agent});
  const auto last = static_cast<std::uint32_t>(heap.size() - 1);
  if (Tracks(pq.strategy)) {
    SiftUp<true>(heap, last);
  } else {
    SiftUp<false>(heap, last);
  }
  return true;
}

void RoutingIndex::RefileDropped(AgentRef r) {
  auto& dropped = cells_[r].dropped;
  // In the order they were dropped; the heaps' order does not depend on it (keys are unique).
  std::size_t kept = 0;
  for (std::size_t i = 0; i < dropped.size(); ++i) {
    const IndexHandle h = dropped[i];
    Refile(h);
    if (places_[h].kind == Place::kDropped) dropped[kept++] = h;
  }
  dropped.resize(kept);
}

void RoutingIndex::Resift(IndexHandle h) {
  const Place& p = places_[h];
  if (p.kind != Place::kAvailable) return;
  PerQueue& pq = *queues_[p.slot];
  auto& heap = pq.available[p.bucket];
  const AgentKey k = CurrentKey(p);
  const bool track = Tracks(pq.strategy);
  const std::uint32_t pos = track ? pos_[h] : PositionOf(heap, h);
  if (k < heap[pos].key) {
    heap[pos].key = k;
    if (track) {
      SiftUp<true>(heap, pos);
    } else {
      SiftUp<false>(heap, pos);
    }
  }
}

void RoutingIndex::SettleHead(AgentHeap& heap, Strategy strategy) {
  while (!heap.empty()) {
    const AgentItem& top = heap[0];
    assert(places_[top.handle].strategy == strategy);
    if (!Active(top)) {
      places_[top.handle].kind = Place::kDropped;
      cells_[top.agent].dropped.push_back(top.handle);
      if (Tracks(strategy)) {
        EraseAt<true>(heap, 0);
      } else {
        EraseAt<false>(heap, 0);
      }
      continue;
    }
    const AgentKey k = CurrentKey(strategy, top);
    if (!(heap[0].key < k)) return;
    heap[0].key = k;
    if (Tracks(strategy)) {
      SiftDown<true>(heap, 0);
    } else {
      SiftDown<false>(heap, 0);
    }
  }
}

void RoutingIndex::Rekey(AgentHeap& heap, std::uint32_t pos, const AgentKey& k,
                         Strategy strategy) {
  heap[pos].key = k;
  if (Tracks(strategy)) {
    SiftDown<true>(heap, pos);
  } else {
    SiftDown<false>(heap, pos);
  }
}

std::size_t RoutingIndex::WaitingCount(QueueId q) const {
  const PerQueue* pq = Find(q);
  return pq == nullptr ? 0 : pq->waiting_count;
}

}  // namespace homeline::core
