#pragma once
// Turns a tenant's stored interaction events into the per-queue, per-interval history the
// forecast learns from (core/wfm/forecast.h): contacts offered, and the handle time of those
// handled, on the tenant's local days.
//
// Definitions (docs/wfm.md):
//  - offered: a new interaction (interaction.created without an origin), counted in its
//    queue and in the interval it arrived in. A callback or continuation (origin set, within
//    24 h of the original ending, as the engine allows) is the same demand: it is not counted
//    again, and its handle time goes to the original's interval.
//  - handled, handle time: from the first accept to completion (talk and wrap-up: the time
//    an agent is taken), counted in the interval the contact arrived in, like the bank data.
//    Closed after an accept (e.g. a restart) counts up to the close.
//  - known days: from the day of the queue's first contact to the day before `until` (today
//    is partial). Days in between without any contact count as zero-contact days.
//
// Pure: events in, history out; no I/O, no clock. Feed events in seq order. Not thread-safe
// (one builder per scan). Memory: one small record per open contact and per unanswered one
// that ended in the last 24 h of the events fed.

#include <deque>
#include <map>
#include <unordered_map>

#include "common/time.h"
#include "core/events.h"
#include "core/time_zone.h"
#include "core/wfm/forecast.h"

namespace homeline::core {

class ContactHistoryBuilder {
 public:
  // zone: the tenant's (Engine::ZoneOf): local days and intervals are wall-clock ones, so a day
  // the clocks go forward has no contacts in its skipped intervals, and one they go back
  // counts the repeated hour's contacts in the same intervals. interval_min divides a day.
  ContactHistoryBuilder(std::shared_ptr<const TimeZone> zone, int interval_min);

  // Events other than interaction.created/accepted/completed/closed/abandoned are ignored.
  void Add(TimeMs ts, const EventBody& body);

  // Per queue with at least one contact; known days end before the local day of `until`.
  std::map<QueueId, wfm::History> Finish(TimeMs until);

  std::uint64_t contacts() const { return contacts_; }

 private:
  struct Open {
    QueueId queue = 0;
    wfm::Day day = 0;
    int slot = 0;
    TimeMs accepted_at = -1;
    bool ended = false;  // closed or abandoned unanswered: kept as a callback's origin
  };
  wfm::IntervalTotals& Cell(const Open& o);
  void Finish(std::unordered_map<InteractionId, Open>::iterator it, TimeMs ts, bool handled);

  std::shared_ptr<const TimeZone> zone_;
  int interval_min_;
  std::uint64_t contacts_ = 0;
  std::unordered_map<InteractionId, Open> open_;
  // Unanswered contacts that ended, oldest first: a callback may name one as its origin for
  // as long as the engine keeps it (24 h); then they are dropped.
  std::deque<std::pair<TimeMs, InteractionId>> ended_;
  std::map<QueueId, wfm::History> queues_;
};

}  // namespace homeline::core
