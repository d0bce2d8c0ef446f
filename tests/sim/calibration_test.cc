// Replaying the bank's recorded demand (tests/data/bank/sim_calibration_tue.toml, made from the
// per-call records by make_sim_calibration.py) with the agents the records show lands near the
// service level, abandon rate and ASA those records show. docs/wfm.md ("Calibration") has the
// figures; the bounds here are about twice the differences measured there.

#include <gtest/gtest.h>

#include <cmath>

#include "sim/scenario_toml.h"
#include "sim/summary.h"

namespace homeline::sim {
namespace {

TEST(Calibration, BankTuesdayLandsNearTheRecords) {
  auto s = LoadScenario(HOMELINE_SOURCE_DIR "/tests/data/bank/sim_calibration_tue.toml");
  ASSERT_TRUE(s) << s.error().message;
  auto sum = Replicate(*s, 8);
  ASSERT_TRUE(sum) << sum.error().message;
  const Row& t = sum->all.total;
  const auto& seen = s->observed;
  EXPECT_NEAR(t.offered.mean, seen.at("offered"), 0.03 * seen.at("offered"));
  EXPECT_NEAR(t.abandon_rate.mean, seen.at("abandon_rate"), 0.02);
  EXPECT_NEAR(t.service_level_answered.mean, seen.at("service_level_answered"), 0.08);
  EXPECT_NEAR(t.asa_s.mean, seen.at("asa_s"), 10);
  // A busy center, as the records show it (not an idle one that meets every target).
  EXPECT_GT(t.occupancy.mean, 0.75);
}

}  // namespace
}  // namespace homeline::sim
