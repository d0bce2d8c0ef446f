#pragma once
// The routing index: for each queue, the waiting contacts of each channel in line order and
// the available agents in the queue's strategy order, so both routing decisions are a few peeks:
//  - a contact arrives (or relaxes): best available agent of its queue at its step's level;
//  - an agent frees up: best waiting contact over all queues and channels the agent can take.
//
// Levels: an agent's level in a queue is the highest threshold t (1..10) such that for every
// required skill, proficiency >= min(required, t); 10 meets the queue's own requirement, and a
// relaxation step with min_proficiency m accepts levels >= m. Level 0: not an agent of the queue.
//
// Each (queue, channel, step) line and each (queue, level) agent set is a 4-ary min-heap of
// (key, handle). Every filed entry gets a handle, which the owner keeps and removes or re-keys
// the entry by; the index finds where each handle sits. A heap rather than a
// balanced tree because filing and unfiling are the routing hot path: no node allocation (the
// heaps and the handle table keep their capacity), O(log n) with a small constant, and the
// head is the answer. The order is exact: waiting by (score, id), agents by AgentKey.
//
// Agents come and go far more often than their keys change: a busy agent frees a chat slot,
// takes the next chat, is full again. So an agent's entries are filed once per queue it
// serves (one entry for all channels: see below), and marked active while the agent has room
// for some channel; an inactive entry stays in its heap (the agent coming back costs nothing)
// until it reaches the head, where BestAgent drops it (the handle stays with its owner, and
// re-activating files it again). Inactive entries are never chosen, nor entries whose agent
// has no room for the contact's channel.
//
// One entry per (queue, level) rather than per (queue, channel, level): an agent's idle time
// restarts after most contacts, and each entry then sinks once when it reaches its heap's
// head; with an entry per channel it sank in three heaps, and an agent holding one chat was
// dropped from (and later refiled into) every voice heap. The price: a contact looks past
// head agents that have room only for other channels (BestAgent's walk): callgrind counts
// fewer instructions and 9 % fewer cache misses per decision all the same (docs/benchmarks.md,
// routing round 7).
//
// One agent has entries in many heaps, and its figures change with every contact. So the
// index keeps each agent's figures (room per channel, idle since, contacts and talk time
// today) once, in an AgentCell its entries share, and an entry's current key is computed from
// them and the entry's fixed part (see CurrentKey): updating an agent is O(1) whatever the
// number of its queues. The figures only grow during a day (later idle start, more contacts,
// more talk time, a later offer), so a heap keeps the key an entry was filed with, a lower
// bound of its current one, and moves the entry down when it reaches the head (or is compared
// below it). A key that gets smaller (a new day, a random draw) must be re-sifted at once
// (Resift, SetFixed). The choice is exact either way.
//
// Owned by the Engine; single-threaded like it. Costs: O(log n) per add/remove/re-key, O(1) to
// update an agent's figures, no allocation once warm; a lookup peeks at most channels x steps
// (waiting) or 10 levels (agents) heap heads, and walks below a head only past entries its
// `skip` excludes, whose agent has no room for the channel, or whose key is out of date (an
// agent's walk re-keys those it passes).

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <new>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/types.h"

namespace homeline::core {

constexpr int kMaxLevel = 10;
// Lines per queue and channel: the queue's own plus one per relaxation step (the engine
// refuses queues with more steps), so a queue's non-empty lines fit in a 16-bit mask.
constexpr int kMaxSteps = 16;

struct WaitKey {
  std::int64_t score = 0;  // enqueued_at - priority * priority_step: lower goes first
  InteractionId id = 0;    // tie-break: older id first, the same every time
  auto operator<=>(const WaitKey&) const = default;
  // The same order as <=>, spelled out: it is the index's inner loop.
  bool operator<(const WaitKey& o) const { return score != o.score ? score < o.score : id < o.id; }
};

struct AgentKey {
  std::int64_t a = 0;  // strategy's first criterion, lower is better
  std::int64_t b = 0;  // second criterion
  UserId user = 0;     // final tie-break
  auto operator<=>(const AgentKey&) const = default;
  bool operator<(const AgentKey& o) const {
    return a != o.a ? a < o.a : b != o.b ? b < o.b : user < o.user;
  }
};

// Names one filed entry; kNoHandle: not filed.
using IndexHandle = std::uint32_t;
constexpr IndexHandle kNoHandle = ~IndexHandle{0};

// Dense number of a queue inside the index (stable until the queue is removed), so the agent
// side reaches a queue's lines without hashing its id.
using QueueSlot = std::uint32_t;

// One queue an agent serves. 16 bytes: an agent's look over its queues (BestWaiting) reads
// all of them, a dozen in a large center, on every release.
struct QueueFit {
  QueueId queue = 0;
  std::int8_t level = 0;        // see above, 0..kMaxLevel
  std::int8_t proficiency = 0;  // min proficiency over the queue's skills (ranking), 0..10
  Strategy strategy = Strategy::kBestProficiency;  // the queue's, to rank without a lookup
  QueueSlot slot = 0;   // the queue's slot in the index
};
static_assert(sizeof(QueueFit) == 16);

// The allocator of the agent heaps: their items are 32 bytes, and a 4-ary heap's children
// 4i+1..4i+4 are 128 bytes that start 32 bytes after a multiple of 128 from the first item.
// Starting the array 32 bytes past a cache line puts every group of children in exactly two
// cache lines (three otherwise): a head sinking through the heap reads a third fewer lines.
template <typename T>
struct ChildAlignedAllocator {
  static constexpr std::size_t kLine = 64;
  static constexpr std::size_t kShift = kLine - sizeof(T);
  using value_type = T;
  ChildAlignedAllocator() = default;
  template <typename U>
  ChildAlignedAllocator(const ChildAlignedAllocator<U>&) {}  // NOLINT: rebind
  T* allocate(std::size_t n) {
    auto* p = static_cast<std::byte*>(::operator new(n * sizeof(T) + kShift, std::align_val_t{kLine}));
    return reinterpret_cast<T*>(p + kShift);
  }
  void deallocate(T* p, std::size_t) {
    ::operator delete(reinterpret_cast<std::byte*>(p) - kShift, std::align_val_t{kLine});
  }
  template <typename U>
  bool operator==(const ChildAlignedAllocator<U>&) const { return true; }
};

class RoutingIndex {
 public:
  // Thresholds per step: [0] is the queue's own requirement (kMaxLevel), then one per
  // relaxation step; `strategy` ranks its agents. Call when a queue is created or changes,
  // then file its agents again (AddAvailable with the same strategy). Returns its slot.
  QueueSlot SetQueue(QueueId q, std::vector<int> thresholds, Strategy strategy);
  // Entries still filed in the queue stay valid handles; removing them later is a no-op
  // apart from freeing the handle.
  void RemoveQueue(QueueId q);
  std::optional<QueueSlot> SlotOf(QueueId q) const;

  // `check` marks a contact some agent declined: only such entries are passed to the skip
  // predicate of BestWaiting (the others are taken without asking).
  IndexHandle AddWaiting(QueueSlot slot, Channel c, int step, WaitKey k, bool check);
  void RemoveWaiting(IndexHandle h);
  // An agent's shared figures. SetAgent is O(1); `room` has bit c when the agent can take a
  // contact of channel c now (its entries of other channels are inactive).
  using AgentRef = std::uint32_t;
  static constexpr AgentRef kNoAgent = ~AgentRef{0};
  AgentRef AddAgent(UserId u);
  void SetAgent(AgentRef r, unsigned room, TimeMs idle_since, std::int64_t contacts,
                DurationMs talk);
  // An entry of agent r, of level `level`, for contacts of queue q (every channel), ranked by
  // strategy s; `fixed` is the part of the key that is the entry's own (minus proficiency,
  // the queue's last offer to the agent, a random draw). Filed when the agent has room.
  IndexHandle AddAvailable(QueueId q, int level, AgentRef r, Strategy s, std::int64_t fixed);
  void RemoveAvailable(IndexHandle h);
  void SetFixed(IndexHandle h, std::int64_t fixed);
  // Files again the agent's entries that were dropped while it had no room. Call when the
  // agent gains room (after SetAgent). The index keeps each agent's dropped entries in a
  // list, so this costs nothing when none were dropped.
  void RefileDropped(AgentRef r);
  // Moves the entry up if its key got smaller than the one it was filed with (the agent's
  // figures went down: a new day).
  void Resift(IndexHandle h);

  std::size_t WaitingCount(QueueId q) const;

  // Best agent available for a contact of the queue in `slot`, channel c, at step `step`.
  // skip(user) -> true excludes an agent (one who declined this contact). Not const: drops
  // the inactive entries it finds at heap heads.
  template <typename Skip>
  std::optional<UserId> BestAgent(QueueSlot slot, Channel c, int step, Skip&& skip);

  // Best waiting contact per channel over the agent's queues, for the channels in
  // channel_mask (bit i = Channel i): best[c] is lowered to the best contact of channel c
  // that ranks before its current value (start from empty). skip(id) -> true excludes a
  // contact (declined by this agent). The caller picks across channels, and after an offer
  // needs to look again only at the channel it took from: an offer changes no other line.
  template <typename Skip>
  void BestWaiting(const std::vector<QueueFit>& fits, unsigned channel_mask, Skip&& skip,
                   std::array<std::optional<WaitKey>, kChannelCount>& best) const;

  // Visits every waiting contact id of queue q (any order).
  template <typename Fn>
  void ForEachWaiting(QueueId q, Fn&& fn) const;

 private:
  struct WaitItem {
    WaitKey key;
    IndexHandle handle;
    bool check;
  };
  struct AgentItem {
    AgentKey key;
    IndexHandle handle;
    AgentRef agent;  // so that a look at a head needs no Place
  };
  static_assert(sizeof(AgentItem) == 32, "see ChildAlignedAllocator");
  using AgentHeap = std::vector<AgentItem, ChildAlignedAllocator<AgentItem>>;
  struct PerQueue {
    // What every operation on the queue reads first, in the record's first cache line: filing
    // or taking a contact read three lines of this record and the thresholds' allocation
    // before (docs/benchmarks.md, routing round 8).
    QueueId id = 0;
    std::uint32_t waiting_count = 0;
    Strategy strategy = Strategy::kBestProficiency;  // of every agent entry filed here
    std::uint8_t steps = 1;  // thresholds[0, steps) are in use
    std::array<std::uint8_t, kMaxSteps> thresholds{kMaxLevel};
    // Bit s of nonempty[c]: line (c, s) has contacts; bit s of admits[level]: an agent of that
    // level may take contacts at step s. BestWaiting visits only lines in both.
    std::array<std::uint16_t, kChannelCount> nonempty{};
    std::array<std::uint16_t, kMaxLevel + 1> admits{};
    // heads[level]: per channel, the first contact an agent of that level may take, over all
    // lines (kept when a line's head changes), so that an agent's lookup costs one comparison
    // per queue and channel instead of a walk over the lines. By level, then channel: the
    // agent looks at one level and the channels it has room for, which is one cache line
    // (voice, chat and email; callbacks and tasks in the next); a line's head change
    // rewrites only the levels its step admits.
    struct alignas(64) LevelHeads {
      std::uint8_t any = 0;    // bit c: some line of channel c this level may take has contacts
      std::uint8_t check = 0;  // bit c: key[c] was declined by someone: walk the lines instead
      std::array<WaitKey, kChannelCount> key{};
    };
    std::array<LevelHeads, kMaxLevel + 1> heads{};
    std::array<std::vector<std::vector<WaitItem>>, kChannelCount> waiting;  // [channel][step]
    std::array<AgentHeap, kMaxLevel + 1> available;  // [level], every channel
  };
  // Where a handle's entry sits.
  struct Place {
    // kDropped: an agent entry taken out of its heap while the agent had no room;
    // kDetached: its queue is gone.
    enum Kind : std::uint8_t { kFree, kWaiting, kAvailable, kDropped, kDetached } kind = kFree;
    std::uint8_t channel = 0;  // waiting entries
    std::uint8_t bucket = 0;   // step (waiting) or level (available)
    Strategy strategy = Strategy::kBestProficiency;  // agent entries
    QueueSlot slot = 0;
    QueueId queue = 0;        // to tell a reused slot from the entry's own queue
    AgentRef agent = 0;       // agent entries: their AgentCell
    std::int64_t fixed = 0;   // agent entries: their own part of the key
  };
  struct AgentCell {
    UserId user = 0;
    unsigned room = 0;
    TimeMs idle_since = 0;
    std::int64_t contacts = 0;
    DurationMs talk = 0;
    // Its entries of kind kDropped: regaining room refiles them without a look at the others.
    std::vector<IndexHandle> dropped;
  };
  AgentKey CurrentKey(const Place& p) const;
  // Has room for some channel: an entry of an agent without room is dropped at a head.
  bool Active(const Place& p) const { return cells_[p.agent].room != 0; }
  // The current key of an item of a queue ranking by strategy s, from the agent's cell: reads
  // the item's Place only for a key part that can change (round robin, random). The heap key
  // of an entry ranked by proficiency keeps the fixed part it was filed with.
  AgentKey CurrentKey(Strategy s, const AgentItem& it) const {
    const AgentCell& a = cells_[it.agent];
    switch (s) {
      case Strategy::kBestProficiency: return {it.key.a, a.idle_since, a.user};
      case Strategy::kLongestIdle: return {a.idle_since, 0, a.user};
      case Strategy::kFewestContacts: return {a.contacts, a.idle_since, a.user};
      case Strategy::kLeastTalkTime: return {a.talk, a.idle_since, a.user};
      case Strategy::kRoundRobin:
      case Strategy::kRandom: break;
    }
    return {places_[it.handle].fixed, 0, a.user};
  }
  bool Active(const AgentItem& it) const { return cells_[it.agent].room != 0; }
  bool HasRoom(const AgentItem& it, int channel) const {
    return (cells_[it.agent].room >> channel) & 1u;
  }

  // Files a kDropped entry whose agent has room for its channel; false if it stays out.
  bool Refile(IndexHandle h);
  // Recomputes heads[level] of the channel for levels min_level and up (the levels a line
  // whose head changed admits).
  static void RefreshHeads(PerQueue& pq, int channel, int min_level = 1);
  static int MinLevel(const PerQueue& pq, int step);
  // Drops inactive entries from the head and moves down a head whose key got worse, until
  // the head is active and up to date (or the heap is empty).
  void SettleHead(AgentHeap& heap, Strategy strategy);
  // Gives the entry at heap[pos] its current key k (not smaller than its heap key) and moves
  // it down its subtree to where k belongs.
  void Rekey(AgentHeap& heap, std::uint32_t pos, const AgentKey& k,
             Strategy strategy);
  PerQueue* Find(QueueId q);
  const PerQueue* Find(QueueId q) const;
  IndexHandle NewHandle(Place p);
  void FreeHandle(IndexHandle h);

  // Heaps are 4-ary: half the depth of a binary heap for the same comparisons, so half the
  // moves (each also writes the item's position into places_) when a head is re-keyed or
  // dropped and sinks to the bottom, which is the index's most frequent heap operation.
  static constexpr std::uint32_t kArity = 4;
  // Heap primitives; with kTrack, every move writes the item's position back into pos_.
  // Lines always track (an offer takes a contact from the middle of its line). Agent heaps
  // track only for the random strategy, whose redraws move entries up and down by handle on
  // every reindex: for the others, the heaps' most frequent moves (a head that sinks, an
  // entry refiled at the bottom) then write nothing outside the heap, and the rare removal
  // or re-sift by handle (the agent's queues change, a new day) finds the entry by a scan.
  static constexpr bool Tracks(Strategy s) { return s == Strategy::kRandom; }
  static std::uint32_t PositionOf(const AgentHeap& heap, IndexHandle h);
  template <bool kTrack, typename Heap> void SiftUp(Heap& heap, std::uint32_t pos);
  template <bool kTrack, typename Heap> void SiftDown(Heap& heap, std::uint32_t pos);
  template <bool kTrack, typename Heap> void EraseAt(Heap& heap, std::uint32_t pos);
  // The item with the smallest current key (cur(item); the heap key is a lower bound of it)
  // below `bound` (or any, if null) that ok() accepts. Walks below an item only if ok()
  // rejects it or its key is out of date, as everything under an item ranks after it.
  template <typename Item, typename Ok, typename Cur>
  const Item* BestIn(const std::vector<Item>& heap, const decltype(Item::key)* bound, Ok&& ok,
                     Cur&& cur) const;

  std::vector<PerQueue*> queues_;  // by slot; null: free slot
  // The records, kQueueChunk to an allocation, one after another (29 cache lines apart): one
  // allocation each, a record took the allocator's 2 kB size class, so the same row of every
  // queue fell into the same few sets of a cache.
  static constexpr std::size_t kQueueChunk = 16;
  std::vector<std::unique_ptr<PerQueue[]>> queue_store_;
  std::vector<QueueSlot> free_slots_;
  std::unordered_map<QueueId, QueueSlot> slot_of_;
  std::vector<Place> places_;  // by handle
  // By handle: the entry's index in its heap (lines, and agent heaps that track: see
  // Tracks). Apart from places_ (48 bytes each), as every move in a tracked heap writes it: a
  // dense table keeps those writes in fewer cache lines.
  std::vector<std::uint32_t> pos_;
  std::vector<AgentCell> cells_;  // by AgentRef
  std::vector<IndexHandle> free_handles_;
  mutable std::vector<std::uint32_t> walk_;  // BestIn's stack, kept for its capacity
};

template <typename Item, typename Ok, typename Cur>
const Item* RoutingIndex::BestIn(const std::vector<Item>& heap, const decltype(Item::key)* bound,
                                 Ok&& ok, Cur&& cur) const {
  using Key = decltype(Item::key);
  if (heap.empty() || (bound != nullptr && !(heap[0].key < *bound))) return nullptr;
  if (ok(heap[0]) && cur(heap[0]) == heap[0].key) return &heap[0];  // the usual case
  const Item* best = nullptr;
  Key best_key{};
  const bool bounded = bound != nullptr;
  if (bounded) best_key = *bound;
  walk_.clear();
  walk_.push_back(0);
  while (!walk_.empty()) {
    const std::uint32_t i = walk_.back();
    walk_.pop_back();
    if (i >= heap.size() || ((best || bounded) && !(heap[i].key < best_key))) continue;
    if (ok(heap[i])) {
      const Key key = cur(heap[i]);
      if ((!best && !bounded) || key < best_key) {
        best = &heap[i];
        best_key = key;
      }
      if (key == heap[i].key) continue;  // up to date: nothing below ranks before it
    }
    for (std::uint32_t c = kArity * i + 1; c <= kArity * i + kArity; ++c) walk_.push_back(c);
  }
  return best;
}

template <typename Skip>
std::optional<UserId> RoutingIndex::BestAgent(QueueSlot slot, Channel c, int step, Skip&& skip) {
  PerQueue* pq = slot < queues_.size() ? queues_[slot] : nullptr;
  if (pq == nullptr || step < 0 || step >= pq->steps) return {};
  const int min_level = pq->thresholds[step];
  std::optional<AgentKey> best;  // current key of the best so far
  const int ch = static_cast<int>(c);
  auto& levels = pq->available;
  const Strategy strategy = pq->strategy;
  auto ok = [&](const AgentItem& it) { return HasRoom(it, ch) && !skip(it.key.user); };
  for (int level = kMaxLevel; level >= min_level && level >= 1; --level) {
    auto& heap = levels[level];
    SettleHead(heap, strategy);  // the head is now active and up to date
    if (heap.empty() || (best && !(heap[0].key < *best))) continue;
    if (ok(heap[0])) {
      best = heap[0].key;  // the usual case
      continue;
    }
    // The head has no room for this channel (or declined the contact): look below it. An
    // entry found out of date on the way is re-keyed where it belongs in its subtree (work
    // its reaching the head would cost anyway), so a walk descends only below entries that
    // are up to date and not acceptable, and the next walk finds them settled.
    walk_.clear();
    for (std::uint32_t c = 1; c <= kArity; ++c) walk_.push_back(c);
    while (!walk_.empty()) {
      const std::uint32_t i = walk_.back();
      walk_.pop_back();
      if (i >= heap.size() || (best && !(heap[i].key < *best))) continue;
      const AgentKey key = CurrentKey(strategy, heap[i]);
      if (heap[i].key < key) {
        Rekey(heap, i, key, strategy);
        walk_.push_back(i);  // look at what took its place
        continue;
      }
      if (ok(heap[i])) {
        best = key;  // nothing below ranks before it
        continue;
      }
      for (std::uint32_t c = kArity * i + 1; c <= kArity * i + kArity; ++c) walk_.push_back(c);
    }
  }
  if (!best) return {};
  return best->user;
}

template <typename Skip>
void RoutingIndex::BestWaiting(const std::vector<QueueFit>& fits, unsigned channel_mask,
                               Skip&& skip,
                               std::array<std::optional<WaitKey>, kChannelCount>& best) const {
  auto ok = [&](const WaitItem& it) { return !it.check || !skip(it.key.id); };
  for (const QueueFit& fit : fits) {
    const PerQueue* pq = fit.slot < queues_.size() ? queues_[fit.slot] : nullptr;
    if (pq == nullptr) continue;
    const PerQueue::LevelHeads& row = pq->heads[fit.level];
    for (unsigned cm = channel_mask & row.any; cm != 0; cm &= cm - 1) {
      const int c = std::countr_zero(cm);
      const WaitKey& key = row.key[c];
      if (best[c] && !(key < *best[c])) continue;
      if (((row.check >> c) & 1u) == 0) {
        best[c] = key;
        continue;
      }
      const unsigned admit = pq->admits[fit.level];
      for (unsigned lines = pq->nonempty[c] & admit; lines != 0; lines &= lines - 1) {
        const auto& heap = pq->waiting[c][std::countr_zero(lines)];
        const WaitItem* found = BestIn(heap, best[c] ? &*best[c] : nullptr, ok,
                                       [](const WaitItem& it) { return it.key; });
        if (found != nullptr) best[c] = found->key;
      }
    }
  }
}

template <typename Fn>
void RoutingIndex::ForEachWaiting(QueueId q, Fn&& fn) const {
  const PerQueue* pq = Find(q);
  if (pq == nullptr) return;
  for (const auto& steps : pq->waiting)
    for (const auto& heap : steps)
      for (const WaitItem& it : heap) fn(it.key.id);
}

}  // namespace homeline::core
