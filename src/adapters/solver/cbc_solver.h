#pragma once
// core::wfm::MipSolver on COIN-OR CBC (branch and cut over the CLP simplex), run with the
// stand-alone solver's default strategy (presolve, cuts, heuristics) under a time limit; when the
// limit is reached it returns the best solution found so far and the proven bound.
//
// Thread-safety: CBC keeps some global state, so solves are serialised by a process-wide mutex;
// a CbcSolver may be called from any thread. A solve blocks its caller for up to the time limit:
// never call it on the engine thread.

#include "core/wfm/mip.h"

namespace homeline::solver {

class CbcSolver final : public core::wfm::MipSolver {
 public:
  [[nodiscard]] Result<core::wfm::MipSolution> Solve(const core::wfm::MipModel& model,
                                                     const core::wfm::MipOptions& options) override;
};

}  // namespace homeline::solver
