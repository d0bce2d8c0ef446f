#pragma once
// Today's figures per interval (30 minutes by default) for the wallboard's charts, computed
// from the interaction records the engine holds. Finished contacts stay in memory for 24 hours
// (EngineOptions::finished_retention), so the whole current local day is there.
//
// A contact counts in the interval in which it entered its current queue (queued_at): the
// contacts offered in that interval, and how they ended (answered within the queue's threshold,
// abandoned, handled). The rules are the engine's day counters' (QueueStats): answered in SL is
// answered_at − queued_at ≤ threshold; an abandon before the threshold does not count against
// the service level. A contact transferred to another queue counts in the queue it is in now.
//
// Pure: no clock reads; `now` is given. Cost: one pass over the records.

#include <cstdint>
#include <functional>
#include <vector>

#include "common/time.h"
#include "core/time_zone.h"
#include "core/types.h"

namespace homeline::core {

struct Interaction;

struct IntervalFigures {
  TimeMs start = 0;
  std::int64_t entered = 0;
  std::int64_t answered = 0;
  std::int64_t answered_in_sl = 0;
  std::int64_t abandoned = 0;
  std::int64_t abandoned_in_sl = 0;
  std::int64_t handled = 0;
  DurationMs wait_answered_sum = 0;
  DurationMs handle_sum = 0;

  // answered_in_sl / (answered + abandoned − abandoned_in_sl); 1 with nothing to count.
  double ServiceLevel() const;
  double AsaSeconds() const;
  double AhtSeconds() const;
};

// The intervals of now's local day in `zone` (null: UTC), from local midnight up to and
// including the one holding `now`; intervals are `interval` long in real time, so a day the
// clocks change has two fewer or two more half hours. queue == 0 takes every queue.
// threshold_of gives a queue's service-level threshold.
std::vector<IntervalFigures> TodayByInterval(const std::vector<const Interaction*>& interactions,
                                             const std::function<DurationMs(QueueId)>& threshold_of,
                                             QueueId queue, TimeMs now,
                                             DurationMs interval = 30 * kMinute,
                                             const TimeZone* zone = nullptr);

}  // namespace homeline::core
