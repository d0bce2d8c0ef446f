// TimerQueue must pop in exactly the order a plain min-heap of (due, order) would, whatever mix
// of lanes and heap its timers went to.

#include "core/timer_queue.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <queue>
#include <random>
#include <vector>

namespace homeline::core {
namespace {

struct T {
  TimeMs due = 0;
  std::uint64_t order = 0;
  bool operator>(const T& o) const { return due != o.due ? due > o.due : order > o.order; }
};

TEST(TimerQueue, PopsInHeapOrderWithLanesAndHeapMixed) {
  std::mt19937_64 rng(7);
  TimerQueue<T> q;
  std::priority_queue<T, std::vector<T>, std::greater<>> ref;
  // More distinct delays than lanes, some negative (a step already due), and pushes without a
  // delay; time moves forward and timers are popped as they fall due.
  const DurationMs delays[] = {0, 1, 20'000, 30'000, 60'000, 86'400'000, -5, 7, 11, 13, 500};
  TimeMs now = 1'000;
  std::uint64_t order = 0;
  std::size_t popped = 0;
  for (int step = 0; step < 20'000; ++step) {
    now += static_cast<TimeMs>(rng() % 3);
    const int pushes = static_cast<int>(rng() % 3);
    for (int i = 0; i < pushes; ++i) {
      const DurationMs d = delays[rng() % std::size(delays)];
      const T t{now + d, ++order};
      ref.push(t);
      const unsigned how = rng() % 10;
      if (how == 0) {
        q.push(t);
      } else if (how == 1) {
        q.push(t, delays[rng() % std::size(delays)]);  // a wrong hint costs speed, not order
      } else {
        q.push(t, d);
      }
    }
    ASSERT_EQ(q.size(), ref.size());
    while (!ref.empty() && ref.top().due <= now) {
      ASSERT_FALSE(q.empty());
      EXPECT_EQ(q.top().order, ref.top().order);
      q.pop();
      ref.pop();
      ++popped;
    }
  }
  while (!ref.empty()) {
    ASSERT_FALSE(q.empty());
    ASSERT_EQ(q.top().order, ref.top().order);
    q.pop();
    ref.pop();
  }
  EXPECT_TRUE(q.empty());
  EXPECT_GT(popped, 10'000u);
}

}  // namespace
}  // namespace homeline::core
