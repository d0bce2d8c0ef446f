#include "core/contact_history.h"

namespace homeline::core {

namespace {
wfm::Day LocalDay(TimeMs local) { return local >= 0 ? local / kDay : (local - kDay + 1) / kDay; }
}  // namespace

ContactHistoryBuilder::ContactHistoryBuilder(std::shared_ptr<const TimeZone> zone, int interval_min)
    : zone_(std::move(zone)), interval_min_(interval_min) {}

wfm::IntervalTotals& ContactHistoryBuilder::Cell(const Open& o) {
  wfm::History& h = queues_[o.queue];
  if (h.known.empty()) h.interval_min = interval_min_;
  return h.MutableDay(o.day)[o.slot];
}

void ContactHistoryBuilder::Finish(std::unordered_map<InteractionId, Open>::iterator it, TimeMs ts,
                                   bool handled) {
  Open& o = it->second;
  if (o.ended) return;
  if (handled && o.accepted_at >= 0) {
    wfm::IntervalTotals& c = Cell(o);
    c.handled += 1;
    c.handle_s += static_cast<double>(std::max<TimeMs>(0, ts - o.accepted_at)) / kSecond;
    open_.erase(it);
    return;
  }
  o.ended = true;
  ended_.emplace_back(ts, it->first);
}

void ContactHistoryBuilder::Add(TimeMs ts, const EventBody& body) {
  while (!ended_.empty() && ended_.front().first < ts - kDay) {
    open_.erase(ended_.front().second);
    ended_.pop_front();
  }
  if (const auto* c = std::get_if<InteractionCreated>(&body)) {
    if (c->origin != 0) {
      // A callback or continuation: the original's demand, not a new contact.
      auto it = open_.find(c->origin);
      if (it != open_.end()) {
        Open o = it->second;
        o.accepted_at = -1;
        o.ended = false;
        open_[c->id] = o;
        return;
      }
    }
    const TimeMs local = zone_->ToLocal(ts);
    const wfm::Day day = LocalDay(local);
    Open o{.queue = c->queue,
           .day = day,
           .slot = static_cast<int>((local - day * kDay) / (interval_min_ * kMinute))};
    Cell(o).offered += 1;
    ++contacts_;
    open_[c->id] = o;
  } else if (const auto* a = std::get_if<Accepted>(&body)) {
    auto it = open_.find(a->id);
    if (it != open_.end() && it->second.accepted_at < 0) it->second.accepted_at = ts;
  } else if (const auto* d = std::get_if<Completed>(&body)) {
    if (auto it = open_.find(d->id); it != open_.end()) Finish(it, ts, true);
  } else if (const auto* x = std::get_if<Closed>(&body)) {
    if (auto it = open_.find(x->id); it != open_.end()) Finish(it, ts, true);
  } else if (const auto* b = std::get_if<Abandoned>(&body)) {
    if (auto it = open_.find(b->id); it != open_.end()) Finish(it, ts, false);
  }
}

std::map<QueueId, wfm::History> ContactHistoryBuilder::Finish(TimeMs until) {
  const wfm::Day today = LocalDay(zone_->ToLocal(until));
  std::map<QueueId, wfm::History> out;
  for (auto& [q, h] : queues_) {
    // Every day from the first contact's to yesterday is observed; today is partial.
    for (wfm::Day d = h.first_day; d < today; ++d) h.MutableDay(d);
    if (h.EndDay() > today) {
      h.known.resize(static_cast<std::size_t>(std::max<wfm::Day>(0, today - h.first_day)));
      h.cells.resize(h.known.size() * static_cast<std::size_t>(h.SlotsPerDay()));
    }
    if (!h.known.empty()) out.emplace(q, std::move(h));
  }
  queues_.clear();
  return out;
}

}  // namespace homeline::core
