#include "core/wfm/adherence.h"

#include <algorithm>

namespace homeline::core::wfm {

const char* Name(AgentState s) {
  switch (s) {
    case AgentState::kOffline: return "offline";
    case AgentState::kWorking: return "working";
    case AgentState::kNotReady: return "not_ready";
  }
  return "offline";
}

bool Matches(Activity scheduled, AgentState actual) {
  switch (scheduled) {
    case Activity::kOff: return actual == AgentState::kOffline;
    case Activity::kWork: return actual == AgentState::kWorking;
    case Activity::kBreak: return actual == AgentState::kNotReady;
  }
  return false;
}

namespace {

AgentState StateAt(const std::vector<StateChange>& timeline, TimeMs t) {
  // Last change at or before t; offline before the first.
  auto it = std::upper_bound(timeline.begin(), timeline.end(), t,
                             [](TimeMs v, const StateChange& c) { return v < c.at; });
  return it == timeline.begin() ? AgentState::kOffline : std::prev(it)->state;
}

}  // namespace

AdherenceDay ComputeAdherence(const AgentSchedule& schedule, const std::vector<StateChange>& timeline,
                              TimeMs from, TimeMs to, const AdherenceOptions& options) {
  AdherenceDay d;
  d.from = from;
  d.to = to;
  if (to <= from) return d;
  // Every instant where the activity or the state may change splits the window into pieces
  // on which both are constant.
  std::vector<TimeMs> cuts{from, to};
  auto cut = [&](TimeMs t) {
    if (t > from && t < to) cuts.push_back(t);
  };
  for (const Shift& s : schedule.shifts) {
    cut(s.start);
    cut(s.end);
    for (const Segment& g : s.segments) {
      cut(g.start);
      cut(g.end);
    }
  }
  for (const StateChange& c : timeline) cut(c.at);
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

  DurationMs mismatched_on_shift = 0;  // before forgiving
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    const TimeMs a = cuts[i], b = cuts[i + 1];
    const DurationMs len = b - a;
    const Activity act = ActivityAt(schedule, a);
    const AgentState st = StateAt(timeline, a);
    if (act != Activity::kOff) d.scheduled += len;
    if (act == Activity::kWork) d.scheduled_work += len;
    if (st == AgentState::kWorking) d.worked += len;
    if (Matches(act, st)) continue;
    if (act != Activity::kOff) mismatched_on_shift += len;
    if (!d.stretches.empty() && d.stretches.back().end == a && d.stretches.back().scheduled == act &&
        d.stretches.back().actual == st) {
      d.stretches.back().end = b;
    } else {
      d.stretches.push_back({a, b, act, st, false});
    }
  }
  DurationMs forgiven = 0;
  for (Stretch& s : d.stretches) {
    s.forgiven = s.end - s.start <= options.grace;
    if (s.forgiven && s.scheduled != Activity::kOff) forgiven += s.end - s.start;
  }
  d.in_adherence = d.scheduled - mismatched_on_shift + forgiven;
  if (d.scheduled > 0) d.adherence_pct = 100.0 * static_cast<double>(d.in_adherence) / static_cast<double>(d.scheduled);
  if (d.scheduled_work > 0)
    d.conformance_pct = 100.0 * static_cast<double>(d.worked) / static_cast<double>(d.scheduled_work);
  return d;
}

ActivitySpan ActivitySpanAt(const AgentSchedule& schedule, TimeMs t) {
  TimeMs last_end = 0;
  for (const Shift& s : schedule.shifts) {
    if (s.end <= t) {
      last_end = std::max(last_end, s.end);
      continue;
    }
    if (t < s.start) continue;
    TimeMs since = s.start;
    for (const Segment& g : s.segments) {
      if (t >= g.start && t < g.end) return {Activity::kBreak, g.start};
      if (g.end <= t) since = std::max(since, g.end);
    }
    return {Activity::kWork, since};
  }
  return {Activity::kOff, last_end};
}

std::optional<Stretch> LiveOutOfAdherence(const AgentSchedule& schedule, AgentState state,
                                          TimeMs state_since, TimeMs now,
                                          const AdherenceOptions& options) {
  const ActivitySpan span = ActivitySpanAt(schedule, now);
  if (Matches(span.activity, state)) return std::nullopt;
  const TimeMs since = std::max(state_since, span.since);
  if (now - since <= options.grace) return std::nullopt;
  return Stretch{since, now, span.activity, state, false};
}

}  // namespace homeline::core::wfm
