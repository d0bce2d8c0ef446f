#include "core/interval_stats.h"

#include "core/engine.h"

namespace homeline::core {

double IntervalFigures::ServiceLevel() const {
  const std::int64_t base = answered + abandoned - abandoned_in_sl;
  return base > 0 ? static_cast<double>(answered_in_sl) / static_cast<double>(base) : 1.0;
}

double IntervalFigures::AsaSeconds() const {
  return answered > 0 ? static_cast<double>(wait_answered_sum) / 1000.0 / static_cast<double>(answered) : 0;
}

double IntervalFigures::AhtSeconds() const {
  return handled > 0 ? static_cast<double>(handle_sum) / 1000.0 / static_cast<double>(handled) : 0;
}

std::vector<IntervalFigures> TodayByInterval(const std::vector<const Interaction*>& interactions,
                                             const std::function<DurationMs(QueueId)>& threshold_of,
                                             QueueId queue, TimeMs now, DurationMs interval,
                                             const TimeZone* zone) {
  if (interval <= 0 || interval > kDay) interval = 30 * kMinute;
  if (zone == nullptr) zone = TimeZone::Utc().get();
  const TimeMs day_start = std::min(now, zone->DayStart(zone->LocalDay(now)));
  const std::size_t count = static_cast<std::size_t>((now - day_start) / interval) + 1;
  std::vector<IntervalFigures> out(count);
  for (std::size_t i = 0; i < count; ++i) out[i].start = day_start + static_cast<TimeMs>(i) * interval;
  for (const Interaction* ix : interactions) {
    if (queue != 0 && ix->queue != queue) continue;
    if (ix->queued_at < day_start || ix->queued_at > now) continue;
    IntervalFigures& f = out[static_cast<std::size_t>((ix->queued_at - day_start) / interval)];
    f.entered++;
    const DurationMs threshold = threshold_of(ix->queue);
    if (ix->answered_at != 0) {
      f.answered++;
      const DurationMs wait = ix->answered_at - ix->queued_at;
      f.wait_answered_sum += wait;
      if (wait <= threshold) f.answered_in_sl++;
      if (ix->state == InteractionState::kCompleted) {
        f.handled++;
        f.handle_sum += ix->finished_at - ix->answered_at;
      }
    } else if (ix->state == InteractionState::kAbandoned) {
      f.abandoned++;
      if (ix->finished_at - ix->queued_at <= threshold) f.abandoned_in_sl++;
    }
  }
  return out;
}

}  // namespace homeline::core
