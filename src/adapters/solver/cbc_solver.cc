#include "adapters/solver/cbc_solver.h"

#include <chrono>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

// CBC's headers are its own business: only this file includes them.
#include <CbcModel.hpp>
#include <CbcSolver.hpp>
#include <CoinError.hpp>
#include <CoinMessageHandler.hpp>
#include <CoinPackedMatrix.hpp>
#include <OsiClpSolverInterface.hpp>

namespace homeline::solver {

using core::wfm::MipModel;
using core::wfm::MipOptions;
using core::wfm::MipSolution;
using core::wfm::MipStatus;

namespace {

std::mutex& SolveMutex() {
  static std::mutex m;
  return m;
}

double Finite(double v) {
  if (v == core::wfm::kInf) return COIN_DBL_MAX;
  if (v == -core::wfm::kInf) return -COIN_DBL_MAX;
  return v;
}

}  // namespace

Result<MipSolution> CbcSolver::Solve(const MipModel& model, const MipOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  std::lock_guard lock(SolveMutex());
  try {
    OsiClpSolverInterface lp;
    const int ncols = model.cols();
    const int nrows = model.rows();
    CoinPackedMatrix matrix(false, ncols, nrows, static_cast<CoinBigIndex>(model.index.size()),
                            model.value.data(), model.index.data(), model.row_start.data(),
                            nullptr);
    std::vector<double> cl(model.col_lower), cu(model.col_upper), rl(model.row_lower),
        ru(model.row_upper);
    for (double& v : cl) v = Finite(v);
    for (double& v : cu) v = Finite(v);
    for (double& v : rl) v = Finite(v);
    for (double& v : ru) v = Finite(v);
    lp.loadProblem(matrix, cl.data(), cu.data(), model.obj.data(), rl.data(), ru.data());
    for (int j = 0; j < ncols; ++j)
      if (model.integer[j]) lp.setInteger(j);
    lp.messageHandler()->setLogLevel(0);

    CbcModel cbc(lp);
    cbc.messageHandler()->setLogLevel(0);
    CbcSolverUsefulData data;
    data.noPrinting_ = true;
    data.useSignalHandler_ = false;  // the server owns SIGINT
    CbcMain0(cbc, data);
    cbc.messageHandler()->setLogLevel(0);
    if (!options.start.empty() && static_cast<int>(options.start.size()) == ncols)
      cbc.setBestSolution(options.start.data(), ncols, COIN_DBL_MAX, true);
    const std::string sec = fmt::format("{:.3f}", options.time_limit_s);
    const std::string gap = fmt::format("{:g}", options.relative_gap);
    // -timeMode elapsed: the limit is wall time (CBC counts CPU time by default, which on a
    // busy machine lets a solve run far past what the caller asked).
    const char* argv[] = {"homeline", "-log", "0", "-slog", "0", "-timeMode", "elapsed", "-sec", sec.c_str(),
                          "-ratioGap", gap.c_str(), "-solve", "-quit"};
    CbcMain1(static_cast<int>(std::size(argv)), argv, cbc, nullptr, data);

    MipSolution out;
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double* best = cbc.bestSolution();
    if (best) {
      out.values.assign(best, best + ncols);
      out.objective = cbc.getObjValue();
      out.bound = cbc.getBestPossibleObjValue();
      out.status = cbc.isProvenOptimal() ? MipStatus::kOptimal : MipStatus::kFeasible;
      if (out.status == MipStatus::kOptimal && out.bound > out.objective) out.bound = out.objective;
    } else if (cbc.isProvenInfeasible() || lp.isProvenPrimalInfeasible()) {
      out.status = MipStatus::kInfeasible;
    } else {
      out.status = MipStatus::kNoSolution;
      out.bound = cbc.getBestPossibleObjValue();
    }
    return out;
  } catch (const CoinError& e) {
    return Fail(ErrorCode::kInternal,
                fmt::format("CBC: {} ({})", e.message(), e.methodName()));
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, fmt::format("CBC: {}", e.what()));
  }
}

}  // namespace homeline::solver
