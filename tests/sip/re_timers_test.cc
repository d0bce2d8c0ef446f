// libre's timers on our heap (re_timers.h): the heap keeps libre's order (expiry, then start
// order) through starts, restarts and cancels, checked against a reference model; and in a
// running SipStack libre's own loop polls it and libre's own code starts its timers in it.
#include "adapters/sip/re_timers.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "adapters/sip/sip_stack.h"
// libre's headers last (their bool macros break <optional>).
#include "adapters/sip/re_include.h"

namespace homeline::sip {
namespace {

void Noop(void*) {}

// Pops everything due at `now`, clearing th as tmr_poll does; returns the timers in order.
std::vector<struct tmr*> Drain(TimerHeap& h, std::uint64_t now) {
  std::vector<struct tmr*> out;
  while (struct tmr* t = h.PopDue(now)) {
    t->th = nullptr;
    out.push_back(t);
  }
  return out;
}

TEST(TimerHeap, FiresByExpiryThenStartOrder) {
  TimerHeap h;
  struct tmr a {}, b {}, c {}, d {};
  h.Start(&a, 100, Noop, nullptr);
  h.Start(&b, 50, Noop, nullptr);
  h.Start(&c, 100, Noop, nullptr);  // same expiry as a, started later: after a
  h.Start(&d, 10, Noop, nullptr);
  EXPECT_TRUE(h.Valid());
  EXPECT_EQ(h.NextExpiry(), 10u);
  EXPECT_TRUE(Drain(h, 9).empty());
  EXPECT_EQ(Drain(h, 50), (std::vector<struct tmr*>{&d, &b}));
  EXPECT_EQ(Drain(h, 1000), (std::vector<struct tmr*>{&a, &c}));
  EXPECT_EQ(h.size(), 0u);
  EXPECT_FALSE(h.NextExpiry());
}

TEST(TimerHeap, RestartMovesARunningTimerAndCancelStopsIt) {
  TimerHeap h;
  struct tmr a {}, b {}, c {};
  int arg = 7;
  h.Start(&a, 10, Noop, nullptr);
  h.Start(&b, 20, Noop, nullptr);
  h.Start(&c, 30, Noop, nullptr);
  h.Start(&a, 40, Noop, &arg);  // restarted: later now, and one entry only
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(a.jfs, 40u);
  EXPECT_EQ(a.arg, &arg);
  EXPECT_TRUE(h.Valid());
  TimerHeap::Cancel(&b);
  EXPECT_EQ(b.th, nullptr);  // tmr_isrunning(&b) is false
  EXPECT_FALSE(h.Contains(&b));
  TimerHeap::Cancel(&b);  // cancelling a stopped timer does nothing
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(Drain(h, 100), (std::vector<struct tmr*>{&c, &a}));
}

TEST(TimerHeap, ATimerMovesBetweenHeaps) {
  TimerHeap one, two;
  struct tmr a {};
  one.Start(&a, 10, Noop, nullptr);
  two.Start(&a, 20, Noop, nullptr);
  EXPECT_EQ(one.size(), 0u);
  EXPECT_TRUE(two.Contains(&a));
  EXPECT_TRUE(one.Valid());
  EXPECT_TRUE(two.Valid());
}

// Random starts, restarts, cancels and polls against a model: an ordered set of
// (expiry, start number, timer).
TEST(TimerHeap, MatchesAnOrderedModelUnderRandomOperations) {
  std::mt19937 rng(12345);
  TimerHeap h;
  std::vector<struct tmr> timers(300);
  for (auto& t : timers) tmr_init(&t);
  std::set<std::tuple<std::uint64_t, std::uint64_t, struct tmr*>> model;
  std::map<struct tmr*, std::pair<std::uint64_t, std::uint64_t>> key;
  std::uint64_t now = 1000, seq = 0;
  for (int step = 0; step < 200000; ++step) {
    const int op = static_cast<int>(rng() % 10);
    struct tmr* t = &timers[rng() % timers.size()];
    if (op < 6) {  // start or restart, some at the same millisecond
      const std::uint64_t jfs = now + (rng() % 4 == 0 ? 0 : rng() % 40000);
      if (auto it = key.find(t); it != key.end()) model.erase({it->second.first, it->second.second, t});
      h.Start(t, jfs, Noop, nullptr);
      model.insert({jfs, seq, t});
      key[t] = {jfs, seq++};
    } else if (op < 8) {
      TimerHeap::Cancel(t);
      if (auto it = key.find(t); it != key.end()) {
        model.erase({it->second.first, it->second.second, t});
        key.erase(it);
      }
      ASSERT_EQ(t->th, nullptr);
    } else {
      now += rng() % 3000;
      for (struct tmr* fired : Drain(h, now)) {
        ASSERT_FALSE(model.empty());
        ASSERT_EQ(std::get<2>(*model.begin()), fired);
        ASSERT_LE(std::get<0>(*model.begin()), now);
        key.erase(fired);
        model.erase(model.begin());
      }
      ASSERT_TRUE(model.empty() || std::get<0>(*model.begin()) > now);
    }
    ASSERT_EQ(h.size(), model.size());
    if (step % 997 == 0) {
      ASSERT_TRUE(h.Valid());
    }
    if (!model.empty()) {
      ASSERT_EQ(h.NextExpiry(), std::get<0>(*model.begin()));
    }
  }
  for (auto& t : timers) TimerHeap::Cancel(&t);
  EXPECT_EQ(h.size(), 0u);
}

// In a running stack: libre's loop polls our heap (a timer of ours fires while nothing else
// happens, so tmr_next_timeout is ours too) and libre's own code starts its timers there (a
// client transaction's retransmission timer).
TEST(LibreTimers, LibrePollsAndStartsOurHeap) {
  ASSERT_TRUE(LibreTimersInterposed());
  StackOptions o;
  o.port = 0;
  auto stack = SipStack::Start(o);
  ASSERT_TRUE(stack.has_value()) << stack.error().message;
  SipStack& s = **stack;

  struct tmr t {};
  std::promise<std::chrono::steady_clock::time_point> fired;
  const auto t0 = std::chrono::steady_clock::now();
  s.Post([&] {
    tmr_start(
        &t, 30, [](void* arg) { static_cast<std::promise<std::chrono::steady_clock::time_point>*>(arg)->set_value(std::chrono::steady_clock::now()); },
        &fired);
  });
  auto f = fired.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_GE(f.get() - t0, std::chrono::milliseconds(29));

  std::promise<std::pair<std::size_t, std::size_t>> counts;
  struct sip_request* req = nullptr;
  s.Post([&] {
    const std::size_t before = LibreTimersRunning();
    // An OPTIONS to a port nobody answers on: libre arms the transaction's timers.
    const std::string uri = "sip:127.0.0.1:9";
    (void)sip_requestf(&req, s.sip(), true, "OPTIONS", uri.c_str(), nullptr, nullptr, nullptr, nullptr, nullptr,
                       "Content-Length: 0\r\n\r\n");
    counts.set_value({before, LibreTimersRunning()});
  });
  auto c = counts.get_future().get();
  EXPECT_GT(c.second, c.first);
  std::promise<void> freed;
  s.Post([&] {
    req = static_cast<struct sip_request*>(mem_deref(req));
    freed.set_value();
  });
  freed.get_future().wait();
  s.Stop();
}

}  // namespace
}  // namespace homeline::sip
