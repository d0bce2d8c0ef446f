#pragma once
// Weekly shift schedules: the planning problem (requirement per 15-minute interval, shift
// templates with breaks and a lunch, agents with contracts, availability and preferences), the
// schedule that answers it (per agent a list of shifts with their break and lunch segments),
// and the coverage report (scheduled vs required, under/over per interval, labour cost).
//
// Times inside a problem are minutes from the start of its week (`week_start`, a UTC instant,
// normally Monday 00:00 of the tenant's local time): day d is minutes [1440·d, 1440·(d+1)),
// interval i is minutes [15·i, 15·(i+1)). A week is 7 × 24 hours from week_start, so a week with
// a daylight-saving change keeps its intervals and the shifts keep their UTC instants.
// A solved schedule carries absolute UTC instants (TimeMs), so adherence and calendar exports
// need no week arithmetic.
//
// Pure values and functions: no I/O, no clock. Solving (SolveSchedule) builds an integer
// program and hands it to a MipSolver (core/wfm/mip.h), which the caller injects.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "core/wfm/mip.h"

namespace homeline::core::wfm {

inline constexpr int kIntervalMin = 15;
inline constexpr int kMinutesPerDay = 24 * 60;
inline constexpr int kDaysPerWeek = 7;
inline constexpr int kMinutesPerWeek = kDaysPerWeek * kMinutesPerDay;
inline constexpr int kIntervalsPerDay = kMinutesPerDay / kIntervalMin;   // 96
inline constexpr int kIntervalsPerWeek = kMinutesPerWeek / kIntervalMin;  // 672

// ---- The problem --------------------------------------------------------------------------

// A break or lunch placed inside every shift of a template. It starts within a window measured
// from the shift's start, on the 15-minute grid: earliest ≤ start offset ≤ latest.
struct BreakRule {
  std::string name = "break";   // "break", "lunch", ...
  int length_min = 15;          // multiple of 15
  int earliest_min = 60;        // earliest start, minutes after the shift starts
  int latest_min = 180;         // latest start, minutes after the shift starts
  bool paid = true;             // a lunch is usually unpaid: it does not count as paid hours
};

// A kind of shift: its length, the days and times of day it may start, and the breaks inside.
// Evening and weekend shifts are templates like any other (their starts and days say so);
// pay_factor carries a premium (1.25 = +25 %) on the agent's hourly rate.
struct ShiftTemplate {
  std::string id;                   // unique in the problem, e.g. "day8", "evening6"
  int length_min = 480;             // start to end, breaks included; multiple of 15
  std::vector<int> days;            // 0..6 (day of the week from week_start); empty: every day
  std::vector<int> starts_min;      // allowed starts, minutes after midnight, multiples of 15
  std::vector<BreakRule> breaks;    // in order within the shift; windows must not make them overlap
  double pay_factor = 1.0;
};

enum class Contract : std::uint8_t {
  kEmployee,    // guaranteed min_hours a week
  kContractor,  // no guaranteed hours (min_hours must be 0)
};
const char* Name(Contract c);  // "employee", "contractor"
std::optional<Contract> ParseContract(std::string_view s);

// A span of the week, in minutes from week_start: [start_min, end_min). May cross midnight.
struct WeekSpan {
  int start_min = 0;
  int end_min = 0;
};

// Soft wishes: each shift that misses one costs `penalty` in the objective (currency units).
struct Preferences {
  std::vector<int> days;            // preferred days to work (0..6); empty: no preference
  int earliest_start_min = -1;      // preferred shift starts within [earliest, latest] minutes
  int latest_start_min = -1;        //   after midnight; -1: no preference
  double penalty = 10;
};

struct Agent {
  std::string id;                   // unique in the problem (in the API: the agent's login)
  std::string name;
  Contract contract = Contract::kEmployee;
  double min_hours = 0;             // paid hours a week at least (employees); 0 for contractors
  double max_hours = 40;            // paid hours a week at most
  double hourly_rate = 0;           // pay per paid hour, before a template's pay_factor
  std::vector<std::string> templates;  // templates the agent may work; empty: all
  std::vector<WeekSpan> availability;  // a shift must lie inside one span; empty: any time
  Preferences preferences;
};

// Objective weights, in currency units so they add up with pay: per agent missing (under) or
// extra (over) in one 15-minute interval. Under-staffing must cost far more than pay.
struct Weights {
  double under = 1000;
  double over = 1;
};

struct ScheduleProblem {
  TimeMs week_start = 0;                 // UTC instant of minute 0
  std::vector<int> required;             // agents needed on the phones, per interval (672)
  std::vector<ShiftTemplate> templates;
  std::vector<Agent> agents;
  int min_rest_min = 11 * 60;            // between the end of a shift and the next start
  Weights weights;
};

// ---- The schedule -------------------------------------------------------------------------

enum class SegmentKind : std::uint8_t { kBreak, kLunch };
const char* Name(SegmentKind k);  // "break", "lunch"

// A break or lunch inside a shift (absolute UTC times). The rest of the shift is work.
struct Segment {
  std::string name;                 // the BreakRule's name
  TimeMs start = 0;
  TimeMs end = 0;
  bool paid = true;
};

struct Shift {
  std::string template_id;
  TimeMs start = 0;
  TimeMs end = 0;
  std::vector<Segment> segments;    // breaks and lunch, in time order, inside [start, end)
  double paid_hours = 0;            // length minus unpaid segments
  double cost = 0;                  // paid_hours × rate × the template's pay_factor
};

struct AgentSchedule {
  std::string agent_id;
  std::string name;
  Contract contract = Contract::kEmployee;
  double hourly_rate = 0;
  std::vector<Shift> shifts;        // in time order, at most one starting per day
  double paid_hours = 0;
  double cost = 0;
  double preference_penalty = 0;
};

// What the agent is scheduled to be doing at t: nothing (off), working, or on a segment.
enum class Activity : std::uint8_t { kOff, kWork, kBreak };
Activity ActivityAt(const AgentSchedule& a, TimeMs t);

// ---- The solve and its report -------------------------------------------------------------

enum class SolveStatus : std::uint8_t {
  kOptimal,     // proven optimal (gap within the solver's tolerance)
  kTimeLimit,   // stopped by the time limit: the best schedule found so far
};
const char* Name(SolveStatus s);  // "optimal", "time_limit"

struct Coverage {
  std::vector<int> required;        // per interval
  std::vector<int> scheduled;       // agents working (on shift and not on a break/lunch)
  std::vector<int> under;           // max(0, required − scheduled)
  std::vector<int> over;            // max(0, scheduled − required)
  int under_total = 0;              // agent-intervals
  int over_total = 0;
};

struct ScheduleResult {
  TimeMs week_start = 0;
  std::vector<AgentSchedule> agents;  // every agent of the problem, in its order
  Coverage coverage;
  double labour_cost = 0;
  double preference_penalty = 0;
  double objective = 0;             // under·w + over·w + labour + preferences
  double bound = 0;                 // the solver's best lower bound (LP bound after B&B)
  double gap = 0;                   // (objective − bound) / |objective|
  SolveStatus status = SolveStatus::kOptimal;
  double seconds = 0;               // solver wall time (reported by the solver)
  int variables = 0;                // size of the integer program
  int constraints = 0;
};

// Checks every field (ranges, 15-minute grid, unique ids, references, contractors without
// guaranteed hours, min ≤ max, an employee's minimum reachable within availability) and
// returns kBadRequest naming the first problem, e.g. "agents[3] (alice): ...".
[[nodiscard]] Status Validate(const ScheduleProblem& p);

struct SolveOptions {
  double time_limit_s = 60;
  // Stop once the schedule is proven within this fraction of the bound (0.5 %): closing the
  // last fraction of a percent can take far longer than finding the schedule.
  double relative_gap = 0.005;
};

// Builds the integer program (docs/decisions.md: one binary per agent and feasible shift;
// breaks placed per group of equal shifts; coverage slack for under/over) and solves it with
// `solver` under the time limit, keeping the best schedule found. Errors: kBadRequest for bad
// input or rules no schedule can meet (naming the agent whose rules conflict), kUnavailable
// when the time limit passed before any schedule was found, kInternal from the solver.
// Cost: the solver's (up to the time limit) plus O(agents × shifts) to build and read back.
[[nodiscard]] Result<ScheduleResult> SolveSchedule(const ScheduleProblem& p, MipSolver& solver,
                                                   const SolveOptions& options = {});

// Per-interval scheduled (working, not on a segment) vs required for a given schedule.
Coverage CoverageOf(const ScheduleProblem& p, const std::vector<AgentSchedule>& agents);

}  // namespace homeline::core::wfm
