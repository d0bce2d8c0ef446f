// The simulator against queueing theory (Erlang C and A, with its own confidence intervals),
// and its bookkeeping: conservation of contacts, shifts, skills, reproducibility.

#include <gtest/gtest.h>

#include <cmath>

#include "core/wfm/erlang.h"
#include "sim/simulator.h"
#include "sim/summary.h"

namespace homeline::sim {
namespace {

namespace wfm = core::wfm;

// One voice queue, exponential handle times (M/M/n), `agents` agents logged in for `hours`
// and one more (so the last callers are served as the rest were), constant arrivals for
// `hours`, the first hour not counted (the run starts empty).
Scenario SingleQueue(double per_hour, double aht_s, int agents, double patience_s, int hours) {
  Scenario s;
  s.seed = 11;
  s.interval = 30 * kMinute;
  s.warmup = kHour;
  QueueSpec q;
  q.name = "q";
  q.skills = {{"voice", 1}};
  q.handle = {Distribution::kExponential, aht_s, 0};
  q.patience_s = patience_s;
  q.arrivals.assign(2 * hours, per_hour / 2);
  s.queues.push_back(q);
  for (int i = 0; i < agents; ++i) {
    AgentSpec a;
    a.name = "a" + std::to_string(i);
    a.skills = {{"voice", 5}};
    a.shifts = {{0, (hours + 1) * kHour}};
    s.agents.push_back(a);
  }
  return s;
}

// Occupancy over the intervals with arrivals, after the warm-up.
double Occupancy(const RunResult& r, int hours) {
  double busy = 0, staffed = 0;
  for (int k = 2; k < 2 * hours; ++k) busy += r.all.intervals[k].busy_s, staffed += r.all.intervals[k].staffed_s;
  return busy / staffed;
}

// |simulated − theory| within the simulation's 95 % confidence half-width, and that half-width
// below `width` of the value (a wider one would make the check say nothing).
void ExpectWithin(const Estimate& e, double theory, const char* what, double width = 0.1) {
  ASSERT_GE(e.n, 2) << what;
  EXPECT_LE(std::abs(e.mean - theory), e.ci95) << what << ": simulated " << e.mean << " ± " << e.ci95
                                               << ", theory " << theory;
  EXPECT_LT(e.ci95, width * theory) << what << ": confidence interval too wide";
}

Estimate OccupancyEstimate(const Scenario& s, int reps, int hours) {
  std::vector<double> v;
  double sum = 0, ss = 0;
  for (int r = 0; r < reps; ++r) {
    auto run = Simulate(s, r);
    EXPECT_TRUE(run);
    v.push_back(Occupancy(*run, hours));
    sum += v.back();
  }
  Estimate e;
  e.n = reps;
  e.mean = sum / reps;
  for (double x : v) ss += (x - e.mean) * (x - e.mean);
  e.ci95 = StudentT95(reps - 1) * std::sqrt(ss / (reps - 1) / reps);
  return e;
}

TEST(Simulator, AgreesWithErlangC) {
  // 8 Erlangs on 10 agents: P(wait) 0.41, SL(20 s) 0.71, ASA 20 s, occupancy 0.8.
  const double per_hour = 240, aht = 120;
  const int n = 10;
  const Scenario s = SingleQueue(per_hour, aht, n, 0, 13);
  auto sum = Replicate(s, 12);
  ASSERT_TRUE(sum) << sum.error().message;
  const wfm::Traffic traffic{per_hour / 3600, aht, 0};
  const wfm::QueueMetrics m = wfm::ErlangCMetrics(n, traffic, 20);
  const Row& t = sum->queues[0].total;
  ExpectWithin(t.service_level_offered, m.service_level, "service level");
  // Waits are long-tailed and correlated from one caller to the next: ASA varies the most.
  ExpectWithin(t.asa_s, m.asa_s, "ASA", 0.3);
  ExpectWithin(OccupancyEstimate(s, 4, 13), m.occupancy, "occupancy");
  EXPECT_EQ(t.abandoned.mean, 0);
}

TEST(Simulator, AgreesWithErlangA) {
  // The same load with impatient callers (mean patience 60 s): some leave, the rest wait less.
  const double per_hour = 270, aht = 120, patience = 60;
  const int n = 9;
  const Scenario s = SingleQueue(per_hour, aht, n, patience, 13);
  auto sum = Replicate(s, 12);
  ASSERT_TRUE(sum) << sum.error().message;
  const wfm::Traffic traffic{per_hour / 3600, aht, patience};
  const wfm::QueueMetrics m = wfm::ErlangAMetrics(n, traffic, 20);
  const Row& t = sum->queues[0].total;
  ExpectWithin(t.abandon_rate, m.p_abandon, "abandon rate");
  ExpectWithin(t.service_level_offered, m.service_level, "service level");
  ExpectWithin(t.asa_s, m.asa_s, "ASA", 0.3);
  EXPECT_GT(m.p_abandon, 0.05);  // the case exercises abandonment
}

TEST(Simulator, EveryContactIsAccountedFor) {
  Scenario s = SingleQueue(300, 150, 8, 45, 6);
  s.queues[0].handle = {Distribution::kLogNormal, 150, 120};
  s.queues[0].wrapup_s = 10;
  s.drain = 0;  // stop at the horizon: some contacts are left unfinished
  auto r = Simulate(s);
  ASSERT_TRUE(r) << r.error().message;
  const Figures& t = r->queues[0].total;
  EXPECT_GT(t.offered, 1000);
  EXPECT_GT(t.abandoned, 0);
  EXPECT_EQ(t.offered, t.answered + t.abandoned + t.unfinished);
  // Handle time includes the 10 s of wrap-up run by the engine's timer; handle_s counts only
  // the answered contacts that also completed, so the mean is a bit below 160.
  EXPECT_NEAR(t.handle_s / t.answered, 160, 15);
  // 8 agents for the 6 counted hours (the first not counted, one more after the arrivals).
  EXPECT_NEAR(r->all.total.staffed_s, 8 * 6 * 3600.0, 1e-6);
  EXPECT_LE(r->all.total.busy_s, r->all.total.staffed_s);
  // arrivals, answers, abandons, contact ends, wrap-up ends, 8 logins
  EXPECT_GT(r->events, 3 * static_cast<std::uint64_t>(t.offered));
}

TEST(Simulator, RepeatsExactlyAndReplicationsDiffer) {
  const Scenario s = SingleQueue(200, 180, 12, 90, 3);
  auto a = Simulate(s, 0), b = Simulate(s, 0), c = Simulate(s, 1);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->events, b->events);
  EXPECT_EQ(a->queues[0].total.answered_in_sl, b->queues[0].total.answered_in_sl);
  EXPECT_EQ(a->queues[0].total.wait_answered_s, b->queues[0].total.wait_answered_s);
  EXPECT_NE(a->queues[0].total.wait_answered_s, c->queues[0].total.wait_answered_s);
}

TEST(Simulator, SameCustomersWhateverTheAgents) {
  // Common random numbers: changing the staff leaves the demand as it was.
  Scenario s = SingleQueue(200, 180, 12, 90, 3);
  auto a = Simulate(s);
  s.agents.resize(9);
  auto b = Simulate(s);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->queues[0].total.offered, b->queues[0].total.offered);
  EXPECT_GT(b->queues[0].total.abandoned, a->queues[0].total.abandoned);
}

TEST(Simulator, PriorityReordersTheLineOnly) {
  // Everyone at priority 1 is the same line as everyone at 0; a priority share reorders who
  // waits (the engine's rule), on the very same customers.
  Scenario s = SingleQueue(260, 120, 9, 0, 4);
  auto plain = Simulate(s);
  s.queues[0].high_priority_share = 1;
  auto all_high = Simulate(s);
  s.queues[0].high_priority_share = 0.3;
  s.queues[0].priority_step_s = 600;
  auto mixed = Simulate(s);
  ASSERT_TRUE(plain && all_high && mixed);
  const Figures &a = plain->queues[0].total, &b = all_high->queues[0].total, &c = mixed->queues[0].total;
  EXPECT_EQ(a.answered_in_sl, b.answered_in_sl);
  EXPECT_EQ(a.wait_answered_s, b.wait_answered_s);
  EXPECT_EQ(a.offered, c.offered);
  EXPECT_NE(a.answered_in_sl, c.answered_in_sl);
  // Priority that ignores handle times leaves the mean wait as it was (Kleinrock's conservation
  // law), in expectation: close, not equal, in one run.
  EXPECT_NEAR(c.wait_answered_s / a.wait_answered_s, 1.0, 0.15);
}

TEST(Simulator, AgentsWorkOnlyTheirShifts) {
  // Contacts all day; one agent 09:00-10:00 and another 10:00-11:00. Nobody answers outside.
  Scenario s;
  s.interval = 15 * kMinute;
  QueueSpec q;
  q.name = "q";
  q.handle = {Distribution::kFixed, 60, 0};
  q.patience_s = 120;
  q.arrivals.assign(s.intervals(), 10);  // 40 per hour: 2/3 of one agent
  s.queues.push_back(q);
  s.agents = {AgentSpec{"early", {}, {}, {{9 * kHour, 10 * kHour}}},
              AgentSpec{"late", {}, {}, {{10 * kHour, 11 * kHour}}}};
  auto r = Simulate(s);
  ASSERT_TRUE(r) << r.error().message;
  for (int k = 0; k < s.intervals(); ++k) {
    const Figures& f = r->queues[0].intervals[k];
    const bool staffed = k >= 36 && k < 44;
    if (!staffed && k != 35) {  // a contact from 08:58 may be answered at 09:00
      EXPECT_EQ(f.answered, 0) << "interval " << k;
    }
    if (staffed) {
      EXPECT_GT(f.answered, 0) << "interval " << k;
    }
    const Figures& all = r->all.intervals[k];
    EXPECT_NEAR(all.staffed_s, staffed ? 900 : 0, staffed ? 60 : 0) << "interval " << k;
  }
  EXPECT_NEAR(r->all.total.staffed_s, 2 * 3600, 60);  // plus a last call past 11:00
}

TEST(Simulator, SkillsDecideWhoServes) {
  // Spanish contacts need spanish ≥ 5: only the Spanish speaker may take them.
  Scenario s;
  QueueSpec es;
  es.name = "es";
  es.skills = {{"spanish", 5}};
  es.handle = {Distribution::kFixed, 100, 0};
  es.arrivals.assign(s.intervals(), 6);
  QueueSpec en = es;
  en.name = "en";
  en.skills = {{"english", 5}};
  s.queues = {es, en};
  s.agents = {AgentSpec{"ana", {{"spanish", 8}, {"english", 3}}, {}, {{0, s.horizon()}}},
              AgentSpec{"bob", {{"english", 9}}, {}, {{0, s.horizon()}}}};
  auto r = Simulate(s);
  ASSERT_TRUE(r) << r.error().message;
  // Each queue alone loads its agent at 1/3; ana may never take english ones (3 < 5).
  EXPECT_EQ(r->queues[0].total.answered, r->queues[0].total.offered);
  EXPECT_EQ(r->queues[1].total.answered, r->queues[1].total.offered);
  // Voice takes the whole agent: busy time is 100 s per answered contact.
  const double answered = r->queues[0].total.answered + r->queues[1].total.answered;
  EXPECT_NEAR(r->all.total.busy_s, answered * 100, 100);
}

TEST(Simulator, StaffingGroupFollowsItsCounts) {
  Scenario s;
  s.interval = 30 * kMinute;
  QueueSpec q;
  q.name = "q";
  q.handle = {Distribution::kLogNormal, 200, 150};
  q.patience_s = 100;
  q.arrivals.assign(s.intervals(), 0);
  for (int k = 16; k < 40; ++k) q.arrivals[k] = 60;
  s.queues.push_back(q);
  StaffingGroup g;
  g.name = "team";
  g.agents.assign(s.intervals(), 0);
  for (int k = 16; k < 40; ++k) g.agents[k] = k < 24 ? 4 : 8;
  s.groups.push_back(g);
  auto r = Simulate(s);
  ASSERT_TRUE(r) << r.error().message;
  for (int k = 16; k < 40; ++k) EXPECT_NEAR(r->all.intervals[k].staffed_s / 1800, g.agents[k], 1e-9) << k;
  EXPECT_EQ(r->all.intervals[10].staffed_s, 0);
  // At 20:00 the agents leave, those on a call once it is over (within a few handle times).
  EXPECT_GT(r->all.intervals[40].staffed_s, 0);
  EXPECT_LT(r->all.intervals[40].staffed_s, 8 * 1800);
  EXPECT_EQ(r->all.intervals[42].staffed_s, 0);
  // Understaffed mornings lose more callers than the afternoons.
  double morning = 0, afternoon = 0;
  for (int k = 16; k < 24; ++k) morning += r->queues[0].intervals[k].abandoned;
  for (int k = 24; k < 32; ++k) afternoon += r->queues[0].intervals[k].abandoned;
  EXPECT_GT(morning, 2 * afternoon);
}

TEST(Simulator, RejectsBadScenarios) {
  Scenario s = SingleQueue(100, 100, 2, 0, 2);
  s.queues[0].handle.mean_s = 0;
  auto r = Simulate(s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kBadRequest);
  s = SingleQueue(100, 100, 2, 0, 2);
  s.agents[1].shifts = {{5 * kHour, 6 * kHour}, {5 * kHour + 1, 7 * kHour}};
  EXPECT_FALSE(Simulate(s));
  s = SingleQueue(100, 100, 2, 0, 2);
  s.interval = 7 * kMinute;
  EXPECT_FALSE(Simulate(s));
  EXPECT_FALSE(Replicate(SingleQueue(100, 100, 2, 0, 2), 0));
}

TEST(Summary, StudentT) {
  EXPECT_NEAR(StudentT95(1), 12.706, 1e-3);
  EXPECT_NEAR(StudentT95(9), 2.262, 1e-3);
  EXPECT_NEAR(StudentT95(60), 2.000, 2e-3);
  EXPECT_NEAR(StudentT95(1000), 1.962, 2e-3);
}

}  // namespace
}  // namespace homeline::sim
