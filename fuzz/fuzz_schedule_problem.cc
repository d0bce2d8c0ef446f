// libFuzzer target: schedule problems as supervisors post them (POST .../schedules, and the file
// of `homeline schedule`). Properties: ProblemFromJson and Validate never crash or throw; a
// problem that passes Validate builds its integer program (handed to a solver that finds
// nothing) without crashing, and the result is an error, not a schedule.

#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "core/wfm/mip.h"
#include "core/wfm/schedule.h"
#include "core/wfm/schedule_json.h"

using namespace homeline;
using namespace homeline::core::wfm;

namespace {

class NoSolution final : public MipSolver {
 public:
  Result<MipSolution> Solve(const MipModel& m, const MipOptions&) override {
    // The model is well formed: rows index existing columns.
    for (int c : m.index)
      if (c < 0 || c >= m.cols()) std::abort();
    if (m.row_start.size() != static_cast<std::size_t>(m.rows()) + 1) std::abort();
    return MipSolution{};
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  auto p = ProblemFromJson(j);
  if (!p || !Validate(*p)) return 0;
  // Keep each input fast: the fuzzer looks for crashes, not for big models.
  std::size_t starts = 0;
  for (const auto& t : p->templates) starts += t.starts_min.size() * 7;
  if (starts * p->agents.size() > 20000) return 0;
  NoSolution none;
  auto r = SolveSchedule(*p, none, {.time_limit_s = 1});
  if (r) std::abort();  // no solution cannot become a schedule
  return 0;
}
