#pragma once
// Schedule adherence: what an agent actually did (a timeline of states from the event history)
// against what the published schedule says (AgentSchedule, core/wfm/schedule.h), over a window
// (normally one day of the tenant's time zone, cut at "now" for today). Definitions (docs/wfm.md,
// "Adherence"):
//   scheduled time     time on shift inside the window (work + breaks + lunch)
//   in adherence       scheduled time whose actual state matches the scheduled activity
//                      (work & working, break/lunch & on break), plus out-of-adherence stretches
//                      no longer than the grace (forgiven in full)
//   adherence %        100 × in adherence / scheduled time   (no scheduled time: none)
//   scheduled work     scheduled time minus breaks and lunch
//   worked             time in the working state anywhere in the window (overtime included)
//   conformance %      100 × worked / scheduled work          (may exceed 100; none when 0)
//   stretches          maximal runs where the state does not match the activity, off-shift ones
//                      included (logged in while scheduled off); they do not count in the %.
// Pure: no I/O, no clock; the caller passes the window and the timeline.

#include <cstdint>
#include <optional>
#include <vector>

#include "common/time.h"
#include "core/wfm/schedule.h"

namespace homeline::core::wfm {

// What the agent was doing, as adherence sees it. Working: logged in and ready (available,
// offered, talking, wrap-up). Not ready: on a break (any reason) or parked after missed offers.
enum class AgentState : std::uint8_t { kOffline, kWorking, kNotReady };
const char* Name(AgentState s);  // "offline", "working", "not_ready"

// The agent's state from `at` on, until the next change. A timeline is in time order; before
// its first entry the agent is offline.
struct StateChange {
  TimeMs at = 0;
  AgentState state = AgentState::kOffline;
};

// Does a state match a scheduled activity? Off & offline, work & working, break & not ready.
bool Matches(Activity scheduled, AgentState actual);

struct Stretch {
  TimeMs start = 0;
  TimeMs end = 0;
  Activity scheduled = Activity::kOff;
  AgentState actual = AgentState::kOffline;
  bool forgiven = false;  // no longer than the grace (and not counted against adherence)
};

struct AdherenceOptions {
  DurationMs grace = 5 * 60'000;  // stretches this short or shorter are forgiven
};

struct AdherenceDay {
  TimeMs from = 0;
  TimeMs to = 0;
  DurationMs scheduled = 0;        // on shift (work + segments)
  DurationMs scheduled_work = 0;   // on shift, not on a segment
  DurationMs in_adherence = 0;
  DurationMs worked = 0;
  std::optional<double> adherence_pct;    // none when nothing was scheduled
  std::optional<double> conformance_pct;  // none when no work was scheduled
  std::vector<Stretch> stretches;         // out of adherence, in time order
};

// Adherence of one agent over [from, to). Cost: O((changes + shifts·segments) · log).
AdherenceDay ComputeAdherence(const AgentSchedule& schedule, const std::vector<StateChange>& timeline,
                              TimeMs from, TimeMs to, const AdherenceOptions& options = {});

// The scheduled activity at t and since when it has held without a change (the start of the
// shift/segment/work part, or the end of the previous shift when off; 0 if none before).
struct ActivitySpan {
  Activity activity = Activity::kOff;
  TimeMs since = 0;
};
ActivitySpan ActivitySpanAt(const AgentSchedule& schedule, TimeMs t);

// Live check: the agent has been in `state` since `state_since`. Out of adherence when the
// state does not match the scheduled activity at now for longer than the grace; the stretch
// runs from max(state_since, activity start) to now.
std::optional<Stretch> LiveOutOfAdherence(const AgentSchedule& schedule, AgentState state,
                                          TimeMs state_since, TimeMs now,
                                          const AdherenceOptions& options = {});

}  // namespace homeline::core::wfm
