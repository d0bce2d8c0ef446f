#pragma once
// libre's timers on a heap (decision 0 in docs/decisions.md: "libre timers: a heap of ours").
//
// libre 1.1.0 (Debian's) keeps each thread's timers in one sorted linked list and tmr_start
// inserts by walking it from the tail, so a short timer (a T1 retransmission) walks past every
// longer one (the transactions kept up to 32 s after each call). Under call load that list
// holds rate x 32 s timers and tmr_start took ~65 % of the SIP thread. re_timers.cc defines
// libre's exported tmr_start/tmr_cancel/tmr_poll/tmr_next_timeout/tmr_status/tmr_debug in our
// binaries: libre.so calls every tmr_* through its PLT, so the executable's definitions (exported
// with --export-dynamic-symbol, see CMakeLists.txt) replace libre's for libre itself too, and
// every timer lives in a TimerHeap (O(log n) start/cancel) instead of the list. struct tmr keeps
// libre's layout and meaning (th non-null while running, jfs the expiry in tmr_jiffies): libre's
// inline tmr_isrunning and its own tmr_get_expire keep working; the list element inside it
// (struct le), which only libre's tmr.c touched, holds the heap and the index instead.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

struct tmr;

namespace homeline::sip {

// A min-heap of libre timers ordered by (expiry, start order): timers due at the same
// millisecond fire in the order they were started, as in libre's list. Not thread-safe: one
// heap per libre context (thread), used only from that thread.
class TimerHeap {
 public:
  using Handler = void (*)(void* arg);

  // Arms t to expire at jfs (absolute, tmr_jiffies' clock) with th(arg); a running t (in this
  // heap or another) is moved. th must not be null (stopping is Cancel).
  void Start(struct tmr* t, std::uint64_t jfs, Handler th, void* arg);
  // Stops t if it is running (t->th cleared); no-op otherwise.
  static void Cancel(struct tmr* t);
  // Removes and returns the earliest timer with expiry <= now (its th left set for the caller
  // to take); nullptr when none is due.
  struct tmr* PopDue(std::uint64_t now);
  // The earliest expiry, if any timer runs.
  [[nodiscard]] std::optional<std::uint64_t> NextExpiry() const;
  [[nodiscard]] std::size_t size() const { return entries_.size(); }
  [[nodiscard]] bool Contains(const struct tmr* t) const;
  // For tests: every entry's index matches its timer and no parent is later than its children.
  [[nodiscard]] bool Valid() const;
  // The running timers, in heap (not expiry) order.
  template <typename F>
  void ForEach(F&& fn) const {
    for (const Entry& e : entries_) fn(e.t);
  }

 private:
  struct Entry {
    std::uint64_t jfs;
    std::uint64_t seq;
    struct tmr* t;
  };
  static bool Before(const Entry& a, const Entry& b) { return a.jfs != b.jfs ? a.jfs < b.jfs : a.seq < b.seq; }
  void Remove(std::size_t i);
  void Place(std::size_t i);  // entries_[i] moved in: sift it up or down, fixing indexes
  void SiftUp(std::size_t i);
  void SiftDown(std::size_t i);
  void Put(std::size_t i, const Entry& e);

  std::vector<Entry> entries_;
  std::uint64_t next_seq_ = 0;
};

// True when libre's own tmr_* calls reach re_timers.cc's definitions (the executable exports
// them). SipStack refuses to start otherwise: our code's timers would be in the heap while
// libre's loop polled its list.
[[nodiscard]] bool LibreTimersInterposed();
// HOMELINE_LIBRE_TIMERS=list in the environment (benchmarks: before/after in one binary) sends
// every tmr_* call on to libre's own sorted list instead; true when that is the case.
[[nodiscard]] bool LibreTimersOnList();
// Running libre timers of the calling thread's libre context (SIP thread: the stack's).
[[nodiscard]] std::size_t LibreTimersRunning();

}  // namespace homeline::sip
