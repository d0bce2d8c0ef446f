#include "adapters/sip/re_timers.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <mutex>
#include <utility>

#include "adapters/sip/re_include.h"

// libre's own accessor for the calling thread's timer list (exported, not in its headers): the
// list's address names the libre context, whose heap we keep.
extern "C" struct list* tmrl_get(void);

namespace homeline::sip {

namespace {

// The heap a running timer is in, and its index there, live in the timer's list element
// (libre's list is not used any more): le.list = the TimerHeap, le.data = the index.
TimerHeap* OwnerOf(const struct tmr* t) { return reinterpret_cast<TimerHeap*>(t->le.list); }
std::size_t IndexOf(const struct tmr* t) { return reinterpret_cast<std::uintptr_t>(t->le.data); }
void SetIndex(struct tmr* t, std::size_t i) { t->le.data = reinterpret_cast<void*>(static_cast<std::uintptr_t>(i)); }

// HOMELINE_LIBRE_TIMERS=list (benchmarks only: the before/after comparison in one binary)
// sends every tmr_* call on to libre's own list implementation (the next definition after ours).
struct LibreOriginals {
  bool use = false;
  void (*start)(struct tmr*, uint64_t, tmr_h*, void*) = nullptr;
  void (*poll)(struct list*) = nullptr;
  uint64_t (*next_timeout)(struct list*) = nullptr;
  int (*status)(struct re_printf*, void*) = nullptr;
};
// One heap per libre context (struct list* from tmrl_get()). A process has one or two (the
// SIP thread's; a stack restarted on a new thread finds the same global context). Never freed:
// timers may outlive any static destructor's turn.
struct Registry {
  std::mutex mu;
  std::vector<std::pair<const struct list*, std::unique_ptr<TimerHeap>>> heaps;
};

TimerHeap& HeapFor(const struct list* l) {
  thread_local const struct list* cached_list = nullptr;
  thread_local TimerHeap* cached = nullptr;
  if (l == cached_list && cached) return *cached;
  static Registry* registry = new Registry();
  std::lock_guard lk(registry->mu);
  TimerHeap* found = nullptr;
  for (auto& [list, heap] : registry->heaps)
    if (list == l) found = heap.get();
  if (!found) {
    registry->heaps.emplace_back(l, std::make_unique<TimerHeap>());
    found = registry->heaps.back().second.get();
  }
  cached_list = l;
  cached = found;
  return *found;
}

const LibreOriginals& Originals() {
  // Read once, before the first timer: the whole process uses one queue or the other.
  static const LibreOriginals originals = [] {
    LibreOriginals o;
    const char* env = std::getenv("HOMELINE_LIBRE_TIMERS");
    if (!env || std::string_view(env) != "list") return o;
    o.start = reinterpret_cast<decltype(o.start)>(dlsym(RTLD_NEXT, "tmr_start"));
    o.poll = reinterpret_cast<decltype(o.poll)>(dlsym(RTLD_NEXT, "tmr_poll"));
    o.next_timeout = reinterpret_cast<decltype(o.next_timeout)>(dlsym(RTLD_NEXT, "tmr_next_timeout"));
    o.status = reinterpret_cast<decltype(o.status)>(dlsym(RTLD_NEXT, "tmr_status"));
    o.use = o.start && o.poll && o.next_timeout && o.status;
    return o;
  }();
  return originals;
}

}  // namespace

// ---- TimerHeap ---------------------------------------------------------------------------------

void TimerHeap::Put(std::size_t i, const Entry& e) {
  entries_[i] = e;
  SetIndex(e.t, i);
}

void TimerHeap::SiftUp(std::size_t i) {
  const Entry e = entries_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!Before(e, entries_[parent])) break;
    Put(i, entries_[parent]);
    i = parent;
  }
  Put(i, e);
}

void TimerHeap::SiftDown(std::size_t i) {
  const Entry e = entries_[i];
  const std::size_t n = entries_.size();
  for (;;) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && Before(entries_[child + 1], entries_[child])) ++child;
    if (!Before(entries_[child], e)) break;
    Put(i, entries_[child]);
    i = child;
  }
  Put(i, e);
}

void TimerHeap::Place(std::size_t i) {
  if (i > 0 && Before(entries_[i], entries_[(i - 1) / 2]))
    SiftUp(i);
  else
    SiftDown(i);
}

void TimerHeap::Start(struct tmr* t, std::uint64_t jfs, Handler th, void* arg) {
  TimerHeap* owner = t->th ? OwnerOf(t) : nullptr;
  t->th = th;
  t->arg = arg;
  t->jfs = jfs;
  const Entry e{jfs, next_seq_++, t};
  if (owner == this) {  // restarted while running: new key in place
    const std::size_t i = IndexOf(t);
    entries_[i] = e;
    Place(i);
    return;
  }
  if (owner) owner->Remove(IndexOf(t));
  t->le.list = reinterpret_cast<struct list*>(this);
  entries_.push_back(e);
  SiftUp(entries_.size() - 1);
}

void TimerHeap::Cancel(struct tmr* t) {
  if (!t || !t->th) return;
  OwnerOf(t)->Remove(IndexOf(t));
  t->th = nullptr;
  t->arg = nullptr;
}

void TimerHeap::Remove(std::size_t i) {
  struct tmr* t = entries_[i].t;
  t->le.list = nullptr;
  t->le.data = nullptr;
  const std::size_t last = entries_.size() - 1;
  if (i != last) {
    entries_[i] = entries_[last];
    entries_.pop_back();
    SetIndex(entries_[i].t, i);
    Place(i);
  } else {
    entries_.pop_back();
  }
}

struct tmr* TimerHeap::PopDue(std::uint64_t now) {
  if (entries_.empty() || entries_[0].jfs > now) return nullptr;
  struct tmr* t = entries_[0].t;
  Remove(0);
  return t;
}

std::optional<std::uint64_t> TimerHeap::NextExpiry() const {
  if (entries_.empty()) return std::nullopt;
  return entries_[0].jfs;
}

bool TimerHeap::Contains(const struct tmr* t) const {
  return t && t->th && OwnerOf(t) == this && IndexOf(t) < entries_.size() && entries_[IndexOf(t)].t == t;
}

bool TimerHeap::Valid() const {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    if (OwnerOf(e.t) != this || IndexOf(e.t) != i || e.t->jfs != e.jfs || !e.t->th) return false;
    if (i > 0 && Before(e, entries_[(i - 1) / 2])) return false;
  }
  return true;
}

bool LibreTimersInterposed() {
  // The first tmr_start in the process's global lookup order is the one libre.so's PLT bound
  // to; it must be this file's.
  void (*ours)(struct tmr*, std::uint64_t, tmr_h*, void*) = &tmr_start;
  return dlsym(RTLD_DEFAULT, "tmr_start") == reinterpret_cast<void*>(ours) &&
         dlsym(RTLD_DEFAULT, "tmr_poll") == reinterpret_cast<void*>(&tmr_poll) &&
         dlsym(RTLD_DEFAULT, "tmr_next_timeout") == reinterpret_cast<void*>(&tmr_next_timeout) &&
         dlsym(RTLD_DEFAULT, "tmr_cancel") == reinterpret_cast<void*>(&tmr_cancel);
}

std::size_t LibreTimersRunning() {
  if (Originals().use) return list_count(tmrl_get());
  return HeapFor(tmrl_get()).size();
}

bool LibreTimersOnList() { return Originals().use; }

}  // namespace homeline::sip

// ---- libre's timer API, replaced (same contracts as libre 1.1.0's src/tmr/tmr.c) ----------------

using homeline::sip::HeapFor;
using homeline::sip::Originals;
using homeline::sip::TimerHeap;

extern "C" {

void tmr_start(struct tmr* tmr, uint64_t delay, tmr_h* th, void* arg) {
  if (const auto& o = Originals(); o.use) return o.start(tmr, delay, th, arg);
  if (!tmr) return;
  if (!th) {
    TimerHeap::Cancel(tmr);
    return;
  }
  HeapFor(tmrl_get()).Start(tmr, delay + tmr_jiffies(), th, arg);
}

void tmr_cancel(struct tmr* tmr) {
  if (const auto& o = Originals(); o.use) return o.start(tmr, 0, nullptr, nullptr);
  TimerHeap::Cancel(tmr);
}

void tmr_poll(struct list* tmrl) {
  if (const auto& o = Originals(); o.use) return o.poll(tmrl);
  TimerHeap& heap = HeapFor(tmrl);
  const uint64_t now = tmr_jiffies();
  // A handler may start (even with delay 0: due now, run in this loop, as libre does) or cancel
  // any timer, this one included.
  while (struct tmr* t = heap.PopDue(now)) {
    tmr_h* th = t->th;
    void* th_arg = t->arg;
    t->th = nullptr;
    if (th) th(th_arg);
  }
}

uint64_t tmr_next_timeout(struct list* tmrl) {
  if (const auto& o = Originals(); o.use) return o.next_timeout(tmrl);
  const auto next = HeapFor(tmrl).NextExpiry();
  if (!next) return 0;
  const uint64_t now = tmr_jiffies();
  return *next <= now ? 1 : *next - now;
}

int tmr_status(struct re_printf* pf, void* unused) {
  if (const auto& o = Originals(); o.use) return o.status(pf, unused);
  (void)unused;
  const TimerHeap& heap = HeapFor(tmrl_get());
  if (heap.size() == 0) return 0;
  int err = re_hprintf(pf, "Timers (%zu):\n", heap.size());
  heap.ForEach([&](const struct tmr* t) {
    err |= re_hprintf(pf, "  %p: th=%p expire=%llums\n", static_cast<const void*>(t),
                      reinterpret_cast<void*>(t->th), static_cast<unsigned long long>(tmr_get_expire(t)));
  });
  return err;
}

void tmr_debug(void) {
  if (Originals().use) {
    if (!list_isempty(tmrl_get())) (void)re_fprintf(stderr, "%H", tmr_status, nullptr);
    return;
  }
  if (HeapFor(tmrl_get()).size() > 0) (void)re_fprintf(stderr, "%H", tmr_status, nullptr);
}

}  // extern "C"
