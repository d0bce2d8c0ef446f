#pragma once
// Required agents for one interval and one queue: the smallest number of servers that meets
// a service target (X% answered within Y s, and/or an average speed of answer), under a
// maximum occupancy, by Erlang C or, when a mean patience is given, Erlang A (erlang.h);
// then chat concurrency and shrinkage.
//
// Pure and thread-safe. Cost: O(A) for the Erlang B recursion up to the first candidate
// (floor(A) + 1 for Erlang C), then O(1) per further candidate, typically a few √A of them.
// Erlang A then searches below the Erlang C count (secant steps on the log shortfall, inside a
// bracket): a handful of evaluations, each a series of O(|A − n|·patience/AHT + √(λ·patience))
// terms. Figures (bench/wfm, docs/benchmarks.md): A = 3,000 Erlangs in about 3 µs by
// Erlang C, 16–18 µs by Erlang A.

#include "common/result.h"
#include "core/wfm/erlang.h"

namespace homeline::core::wfm {

enum class Model { kErlangC, kErlangA };
const char* Name(Model m);  // "erlang_c", "erlang_a"

struct StaffingInput {
  double contacts = 0;         // offered per interval (≥ 0)
  double interval_s = 1800;    // interval length, seconds (> 0)
  double aht_s = 0;            // mean handle time per contact, seconds (> 0)
  double target_sl = 0;        // fraction answered within answer_within_s; 0 = no SL target
  double answer_within_s = 0;  // the Y of "X% in Y s" (≥ 0)
  double target_asa_s = 0;     // average speed of answer target; 0 = none
  double patience_s = 0;       // mean patience; > 0 selects Erlang A
  double shrinkage = 0;        // share of paid time off the phones, [0, 1)
  double max_occupancy = 1;    // (0, 1]
  // Contacts one agent handles at once (chat). Modelled as that many servers per agent, each
  // serving one contact in aht_s: exact when handle time does not stretch with concurrency,
  // so aht_s should be the handle time observed at this concurrency.
  int concurrency = 1;
};

struct Staffing {
  Model model = Model::kErlangC;
  double erlangs = 0;        // offered load A = contacts·aht/interval, in contact-servers
  int servers = 0;           // contact slots that meet the targets (the Erlang answer)
  int agents = 0;            // agents on the contacts: ceil(servers / concurrency)
  int scheduled_agents = 0;  // agents / (1 − shrinkage), rounded up: heads to schedule
  // Achieved figures with agents × concurrency servers (≥ servers, so no worse than asked).
  QueueMetrics metrics;
};

// Bad input (negative, NaN, SL target outside (0, 1), no target at all, …) → kBadRequest
// naming the field; a target not reachable within kMaxServers → kBadRequest.
[[nodiscard]] Status Validate(const StaffingInput& in);
[[nodiscard]] Result<Staffing> SolveStaffing(const StaffingInput& in);

inline constexpr int kMaxServers = 1'000'000;
inline constexpr double kMaxErlangs = 200'000;

}  // namespace homeline::core::wfm
