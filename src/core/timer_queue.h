#pragma once
// The engine's pending timers, earliest first: the interface of a std::priority_queue
// (push, top, pop, empty, size) over a T ordered by operator> (due, then order of scheduling),
// at O(1) for the timers the engine schedules most.
//
// Most timers come with one of a few delays (a queue's offer timeout, a relaxation step's wait,
// the wrap-up time), and time only moves forward, so the timers scheduled with one delay fall
// due in the order they were scheduled. push(t, delay) appends such a timer to a FIFO lane of
// its delay: no sift through a heap of millions of long timers (a 24 h offer timeout, wrap-ups)
// for every short one. A timer that would break its lane's order, or finds no lane, goes to an
// ordinary heap. top() is the earliest of the heap's top and the lanes' fronts; the order is
// exactly the heap's alone would be.
//
// Single-threaded. Costs: push O(1) into a lane (O(log n) into the heap); top and pop
// O(kLanes) plus O(log n) when the heap's top is taken.

#include <array>
#include <cstddef>
#include <deque>
#include <functional>
#include <queue>
#include <utility>
#include <vector>

#include "common/time.h"

namespace homeline::core {

template <typename T>
class TimerQueue {
 public:
  static constexpr int kLanes = 8;

  void push(const T& t) {
    heap_.push(t);
    ++size_;
  }
  // `delay`: due minus the time it was scheduled at.
  void push(const T& t, DurationMs delay) {
    Lane* lane = LaneFor(delay);
    if (lane != nullptr && (lane->fifo.empty() || !(lane->fifo.back() > t))) {
      lane->fifo.push_back(t);
      ++size_;
      return;
    }
    push(t);
  }
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  // The earliest timer. Not empty().
  const T& top() const { return *Earliest().first; }
  void pop() {
    const auto [t, lane] = Earliest();
    if (lane < 0) {
      heap_.pop();
    } else {
      lanes_[lane].fifo.pop_front();
    }
    --size_;
  }

 private:
  struct Lane {
    DurationMs delay = 0;
    bool used = false;
    std::deque<T> fifo;
  };

  Lane* LaneFor(DurationMs delay) {
    if (last_ != nullptr && last_->delay == delay) return last_;
    Lane* spare = nullptr;
    for (Lane& lane : lanes_) {
      if (lane.used && lane.delay == delay) return last_ = &lane;
      if (spare == nullptr && (!lane.used || lane.fifo.empty())) spare = &lane;
    }
    if (spare == nullptr) return nullptr;
    spare->used = true;
    spare->delay = delay;
    return last_ = spare;
  }
  // The earliest timer and where it is: a lane's index, or -1 for the heap.
  std::pair<const T*, int> Earliest() const {
    const T* best = heap_.empty() ? nullptr : &heap_.top();
    int where = -1;
    for (int i = 0; i < kLanes; ++i) {
      const Lane& lane = lanes_[i];
      if (lane.fifo.empty()) continue;
      if (best == nullptr || *best > lane.fifo.front()) {
        best = &lane.fifo.front();
        where = i;
      }
    }
    return {best, where};
  }

  std::priority_queue<T, std::vector<T>, std::greater<>> heap_;
  std::array<Lane, kLanes> lanes_;
  Lane* last_ = nullptr;  // the lane of the last push with a delay
  std::size_t size_ = 0;
};

}  // namespace homeline::core
