#pragma once
// Discrete-event simulation of a scenario through the real routing engine (core::Engine, the
// server's own code) on a simulated clock.
//
// The simulator owns the customers and agents' behaviour; the engine owns every routing
// decision. Customers arrive (CreateInteraction), wait, and give up when their patience runs out
// while still waiting (Abandon). Agents log in and out at their shifts' edges (SetPresence; one
// whose shift ends with contacts in hand goes on the break "end_of_shift" and logs out when they
// are done), accept every offer at once (Accept), talk for the drawn handle time, then either
// complete (WrapUp) or, with a wrap-up time, end the contact (EndContact) and let the engine's
// wrap-up timer complete it. Between its own events the simulator advances the engine's clock to
// each engine deadline (SetTime, RunDue), so engine timers fire at their own times.
//
// Randomness: each queue draws from its own streams (arrivals, handle times, patience), seeded
// from the scenario seed and the replication, so a run repeats exactly, and two scenarios that
// differ only in their agents see the same customers (common random numbers: a schedule change
// is compared on the same demand).
//
// An EVENT, for throughput figures, is one of: an arrival, an answer, an abandonment, the end of
// a contact, the end of a wrap-up (only when the queue has a wrap-up time), a login, a logout.
//
// Pure: no I/O, no clock reads, no threads. Cost: a few engine commands per contact.

#include <cstdint>
#include <vector>

#include "common/result.h"
#include "sim/scenario.h"

namespace homeline::sim {

// Counts and sums over contacts that arrived in an interval (by arrival), and agent time spent
// in it (by clock).
struct Figures {
  std::int64_t offered = 0;
  std::int64_t answered = 0;
  std::int64_t answered_in_sl = 0;    // waited at most the queue's threshold
  std::int64_t abandoned = 0;
  std::int64_t abandoned_in_sl = 0;   // gave up within the threshold
  std::int64_t unfinished = 0;        // still waiting or in hand when the run stopped
  double wait_answered_s = 0;
  double wait_abandoned_s = 0;
  double handle_s = 0;                // talk + wrap-up of the answered
  double staffed_s = 0;               // agent-seconds logged in (all agents)
  double busy_s = 0;                  // agent-seconds holding at least one contact

  Figures& operator+=(const Figures& o);

  // As the engine's wallboard: answered in time / (answered + abandoned after the threshold).
  double ServiceLevel() const;
  // Answered in time / offered (Erlang A's definition: every abandonment misses the target).
  double ServiceLevelOfOffered() const;
  // Answered in time / answered (the bank records' definition).
  double ServiceLevelOfAnswered() const;
  double Asa() const;          // mean wait of the answered, s
  double AbandonRate() const;  // abandoned / offered
  double Occupancy() const;    // busy / staffed
  double Agents(double interval_s) const { return staffed_s / interval_s; }
  double Aht() const;          // handle_s / answered
};

struct QueueResult {
  std::vector<Figures> intervals;  // one per interval of the horizon
  Figures total;
};

struct RunResult {
  std::vector<QueueResult> queues;  // in the scenario's order
  QueueResult all;                  // every queue; the only one with agent time
  std::uint64_t events = 0;         // see EVENT above
  std::uint64_t engine_events = 0;  // events the engine emitted
};

// One replication. `replication` selects independent random streams (0, 1, …).
// kBadRequest for a scenario that fails Validate.
[[nodiscard]] Result<RunResult> Simulate(const Scenario& s, int replication = 0);

}  // namespace homeline::sim
