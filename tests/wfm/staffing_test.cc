// Required agents: the classic textbook case, each constraint, minimality, bad input.
#include <cmath>

#include <gtest/gtest.h>

#include "core/wfm/staffing.h"

namespace homeline::core::wfm {
namespace {

StaffingInput Classic() {
  return StaffingInput{.contacts = 100, .interval_s = 1800, .aht_s = 180, .target_sl = 0.8,
                       .answer_within_s = 20};
}

TEST(Staffing, ClassicCase) {
  // 100 calls per 30 minutes, 3-minute calls, 80% in 20 s: 14 agents at SL 0.888; with 30%
  // shrinkage 14 / 0.7 = 20 scheduled (exactly 20, not 21 from 20.000000000000004).
  StaffingInput in = Classic();
  in.shrinkage = 0.3;
  const auto r = SolveStaffing(in);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->model, Model::kErlangC);
  EXPECT_DOUBLE_EQ(r->erlangs, 10);
  EXPECT_EQ(r->servers, 14);
  EXPECT_EQ(r->agents, 14);
  EXPECT_EQ(r->scheduled_agents, 20);
  EXPECT_NEAR(r->metrics.service_level, 0.888, 0.0005);
  EXPECT_NEAR(r->metrics.p_wait, 0.1741, 0.0001);
  EXPECT_NEAR(r->metrics.asa_s, 7.84, 0.01);
  EXPECT_NEAR(r->metrics.occupancy, 10.0 / 14, 1e-12);
  // 13 would not do.
  EXPECT_LT(ErlangCMetrics(13, Traffic{.arrival_rate = 100.0 / 1800, .aht_s = 180}, 20).service_level, 0.8);
}

TEST(Staffing, AsaTarget) {
  StaffingInput in = Classic();
  in.target_sl = 0;
  in.target_asa_s = 5;
  const auto r = SolveStaffing(in);
  ASSERT_TRUE(r);
  EXPECT_LE(r->metrics.asa_s, 5);
  const Traffic t{.arrival_rate = 100.0 / 1800, .aht_s = 180};
  EXPECT_GT(ErlangCMetrics(r->servers - 1, t, 0).asa_s, 5);
}

TEST(Staffing, MaximumOccupancy) {
  // A = 100 Erlangs needs few extra agents for 80/20, but at most 85% occupancy needs 118.
  StaffingInput in{.contacts = 1000, .interval_s = 1800, .aht_s = 180, .target_sl = 0.8,
                   .answer_within_s = 20, .max_occupancy = 0.85};
  const auto r = SolveStaffing(in);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->agents, 118);  // ceil(100 / 0.85)
  EXPECT_LE(r->metrics.occupancy, 0.85);
  in.max_occupancy = 1;
  EXPECT_LT(SolveStaffing(in)->agents, 118);
}

TEST(Staffing, ChatConcurrencyDividesServers) {
  StaffingInput in = Classic();
  in.concurrency = 3;
  const auto r = SolveStaffing(in);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->servers, 14);
  EXPECT_EQ(r->agents, 5);  // ceil(14 / 3)
  // Reported at the 15 slots those agents give.
  EXPECT_GT(r->metrics.service_level, 0.888);
  EXPECT_NEAR(r->metrics.occupancy, 10.0 / 15, 1e-12);
}

TEST(Staffing, ErlangAIsMinimalAndNeedsNoMoreThanErlangC) {
  for (double patience : {30.0, 120.0, 600.0, 1e6}) {
    StaffingInput in = Classic();
    in.patience_s = patience;
    const auto r = SolveStaffing(in);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->model, Model::kErlangA);
    EXPECT_LE(r->agents, 14) << patience;
    EXPECT_GE(r->metrics.service_level, 0.8);
    EXPECT_GT(r->metrics.p_abandon, 0);
    const Traffic t{.arrival_rate = 100.0 / 1800, .aht_s = 180, .patience_s = patience};
    EXPECT_LT(ErlangAMetrics(r->agents - 1, t, 20).service_level, 0.8) << patience;
  }
  // With very patient callers it is Erlang C's answer.
  StaffingInput in = Classic();
  in.patience_s = 1e6;
  EXPECT_EQ(SolveStaffing(in)->agents, 14);
}

TEST(Staffing, ThousandsOfErlangs) {
  StaffingInput in{.contacts = 30000, .interval_s = 1800, .aht_s = 180, .target_sl = 0.8,
                   .answer_within_s = 20};
  const auto c = SolveStaffing(in);
  ASSERT_TRUE(c);
  EXPECT_GT(c->agents, 3000);
  EXPECT_LT(c->agents, 3100);
  EXPECT_LT(ErlangCMetrics(c->agents - 1, Traffic{.arrival_rate = 30000.0 / 1800, .aht_s = 180}, 20)
                .service_level, 0.8);
  in.patience_s = 180;
  const auto a = SolveStaffing(in);
  ASSERT_TRUE(a);
  EXPECT_LE(a->agents, c->agents);
  EXPECT_GE(a->metrics.service_level, 0.8);
}

TEST(Staffing, NoContactsNeedNoAgents) {
  StaffingInput in = Classic();
  in.contacts = 0;
  const auto r = SolveStaffing(in);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->agents, 0);
  EXPECT_EQ(r->scheduled_agents, 0);
  EXPECT_EQ(r->metrics.service_level, 1);
}

TEST(Staffing, BadInputIsRefusedNamingTheField) {
  auto refused = [](StaffingInput in, const char* field) {
    const auto r = SolveStaffing(in);
    ASSERT_FALSE(r) << field;
    EXPECT_EQ(r.error().code, ErrorCode::kBadRequest);
    EXPECT_NE(r.error().message.find(field), std::string::npos) << r.error().message;
  };
  StaffingInput in = Classic();
  in.contacts = -1;
  refused(in, "calls");
  in = Classic();
  in.contacts = std::nan("");
  refused(in, "calls");
  in = Classic();
  in.aht_s = 0;
  refused(in, "aht");
  in = Classic();
  in.interval_s = 0;
  refused(in, "interval");
  in = Classic();
  in.target_sl = 1;
  refused(in, "target_sl");
  in = Classic();
  in.target_sl = 0;
  refused(in, "target");
  in = Classic();
  in.shrinkage = 1;
  refused(in, "shrinkage");
  in = Classic();
  in.max_occupancy = 0;
  refused(in, "max_occupancy");
  in = Classic();
  in.concurrency = 0;
  refused(in, "concurrency");
  in = Classic();
  in.patience_s = -5;
  refused(in, "patience");
  in = Classic();
  in.contacts = 1e12;
  refused(in, "load");
}

}  // namespace
}  // namespace homeline::core::wfm

namespace homeline::core::wfm {
namespace {

// The search (steps up for Erlang C, secant and bisection below it for Erlang A) against the
// plain answer: every count from 1 up, the first that meets every target.
TEST(Staffing, SearchFindsTheSmallestCountOnAGridOfInputs) {
  int checked = 0;
  for (double erlangs : {0.3, 2.0, 9.7, 55.0, 240.0})
    for (double aht : {30.0, 240.0})
      for (double patience : {0.0, 20.0, 300.0})
        for (double sl : {0.0, 0.5, 0.95})
          for (double asa : {0.0, 15.0})
            for (double occ : {0.7, 1.0}) {
              if (sl == 0 && asa == 0) continue;
              const StaffingInput in{.contacts = erlangs * 900 / aht, .interval_s = 900,
                                     .aht_s = aht, .target_sl = sl, .answer_within_s = 10,
                                     .target_asa_s = asa, .patience_s = patience,
                                     .max_occupancy = occ};
              const auto r = SolveStaffing(in);
              ASSERT_TRUE(r) << r.error().message;
              const Traffic t{.arrival_rate = in.contacts / 900, .aht_s = aht, .patience_s = patience};
              auto meets = [&](int n) {
                const QueueMetrics m = patience > 0 ? ErlangAMetrics(n, t, 10) : ErlangCMetrics(n, t, 10);
                return (sl == 0 || m.service_level >= sl - 1e-12) &&
                       (asa == 0 || m.asa_s <= asa * (1 + 1e-12)) && m.occupancy <= occ + 1e-12;
              };
              int want = 1;
              while (!meets(want)) ++want;
              EXPECT_EQ(r->servers, want) << "A=" << erlangs << " aht=" << aht << " patience="
                                          << patience << " sl=" << sl << " asa=" << asa
                                          << " occ=" << occ;
              ++checked;
            }
  EXPECT_GT(checked, 200);
}

}  // namespace
}  // namespace homeline::core::wfm
