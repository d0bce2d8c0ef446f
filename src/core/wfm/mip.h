#pragma once
// A mixed-integer linear program in plain arrays, and the interface of a solver for it.
// Core builds models (schedule.cc) and reads solutions; the solver itself is an adapter
// (adapters/solver: COIN-OR CBC), injected by the caller, so core never includes a solver's
// headers and tests may swap in a fake.
//
//   minimize  Σ obj[j]·x[j]
//   subject to row_lower[i] ≤ Σ a[i][j]·x[j] ≤ row_upper[i]
//              col_lower[j] ≤ x[j] ≤ col_upper[j],  x[j] integer where integer[j]

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "common/result.h"

namespace homeline::core::wfm {

inline constexpr double kInf = std::numeric_limits<double>::infinity();

struct MipModel {
  std::vector<double> col_lower, col_upper, obj;
  std::vector<std::uint8_t> integer;          // 1: integer column
  // Rows, compressed by row: row r holds entries [row_start[r], row_start[r + 1]).
  std::vector<int> row_start{0};
  std::vector<int> index;
  std::vector<double> value;
  std::vector<double> row_lower, row_upper;

  int cols() const { return static_cast<int>(obj.size()); }
  int rows() const { return static_cast<int>(row_lower.size()); }
  int AddCol(double lower, double upper, double cost, bool is_integer) {
    col_lower.push_back(lower);
    col_upper.push_back(upper);
    obj.push_back(cost);
    integer.push_back(is_integer ? 1 : 0);
    return cols() - 1;
  }
  // Entries are appended with Put, then closed as one row by EndRow.
  void Put(int col, double v) {
    index.push_back(col);
    value.push_back(v);
  }
  int EndRow(double lower, double upper) {
    row_lower.push_back(lower);
    row_upper.push_back(upper);
    row_start.push_back(static_cast<int>(index.size()));
    return rows() - 1;
  }
};

struct MipOptions {
  double time_limit_s = 60;
  double relative_gap = 1e-4;         // stop when (incumbent − bound)/|incumbent| is below this
  std::vector<double> start;          // optional feasible solution to start from (size cols())
};

enum class MipStatus : std::uint8_t {
  kOptimal,      // proven within relative_gap
  kFeasible,     // time limit reached with a solution: the best found so far
  kInfeasible,   // proven infeasible
  kNoSolution,   // time limit reached before any solution was found
};

struct MipSolution {
  MipStatus status = MipStatus::kNoSolution;
  std::vector<double> values;         // size cols() when a solution exists
  double objective = 0;
  double bound = 0;                   // best proven lower bound (root LP bound, improved by B&B)
  double seconds = 0;                 // wall time of the solve
};

// Solves one model. May block for up to the time limit (plus the time to stop), so callers on a
// latency-sensitive thread run it elsewhere. Errors (kInternal) are the solver's own failures,
// not infeasibility, which is a status.
class MipSolver {
 public:
  virtual ~MipSolver() = default;
  [[nodiscard]] virtual Result<MipSolution> Solve(const MipModel& model,
                                                  const MipOptions& options) = 0;
};

}  // namespace homeline::core::wfm
