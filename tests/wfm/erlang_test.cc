// Erlang B, C and A against high-precision values computed independently.
//
// The tables below were produced by tests/wfm/reference.py (mpmath, 60 digits, closed forms
// with incomplete gamma / hypergeometric functions and numerical quadrature, no recursion
// shared with the C++ code): run `python3 tests/wfm/reference.py` and paste its output.
#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "core/wfm/erlang.h"

namespace homeline::core::wfm {
namespace {

struct CRow {
  int n;
  double lambda, aht, t, b, c, sl, asa;
};
struct ARow {
  int n;
  double lambda, aht, t, patience, p_wait, sl, asa, p_abandon;
};

// reference.py output, 2026-11-29 (mpmath 1.2.1).
constexpr CRow kErlangC[] = {
    {14, 0.055555555555555556, 180, 20, 0.056819143386520859, 0.17413193359504984, 0.88835001917946688, 7.8359370117772429},
    {1, 0.0016666666666666667, 120, 10, 0.16666666666666667, 0.2, 0.81289860299367645, 30.0},
    {55, 0.83333333333333333, 60, 15, 0.053748812125758225, 0.38454731793292854, 0.88982534879249537, 4.6145678151951425},
    {300, 2.0, 140, 30, 0.012892052026519754, 0.16381416929292013, 0.99774529671000043, 1.1466991850504409},
    {3050, 16.666666666666667, 180, 20, 0.0058075500909833213, 0.26271627866585978, 0.9989843598473383, 0.94577860319709522},
    {3200, 16.666666666666667, 180, 20, 0.000010360187986062785, 0.00016573725174073965, 0.99999999999996298, 0.00014916352656666568},
};
constexpr ARow kErlangA[] = {
    {14, 0.055555555555555556, 180, 20, 120, 0.12697634007979537, 0.93272958069805967, 2.3453752341521703, 0.022839286531818771},
    {12, 0.055555555555555556, 180, 20, 60, 0.24042610835587457, 0.8603006596476895, 3.5198324085874179, 0.07590179693345054},
    {8, 0.055555555555555556, 180, 20, 300, 0.8475697697402378, 0.2264518211590874, 71.294640884741616, 0.23186413468671067},
    {1, 0.0016666666666666667, 120, 10, 30, 0.17230913551385339, 0.83905181761332624, 0.95477766820390604, 0.13845432243073305},
    {55, 0.83333333333333333, 60, 15, 90, 0.27859768589881399, 0.96919419095485886, 1.49180852078551, 0.017214911092477498},
    {3000, 16.666666666666667, 180, 20, 180, 0.50242788989405433, 0.9927165450523357, 1.3055313137007038, 0.0072834538829745267},
    {3050, 16.666666666666667, 180, 20, 600, 0.22206873815494629, 0.9990797599082645, 0.54977277576275527, 0.00091885794967687552},
    {2900, 16.666666666666667, 180, 20, 90, 0.89377495782737808, 0.96589879347265117, 3.0961964485154348, 0.034101206525846203},
};

double Rel(double got, double want) { return std::abs(got - want) / std::abs(want); }

#define EXPECT_REL(got, want, tol) EXPECT_LE(Rel(got, want), tol) << #got << " = " << (got) << ", want " << (want)

TEST(ErlangC, MatchesHighPrecisionReferenceTo1e9) {
  for (const CRow& r : kErlangC) {
    SCOPED_TRACE(testing::Message() << "n=" << r.n << " A=" << r.lambda * r.aht);
    const double a = r.lambda * r.aht;
    EXPECT_REL(ErlangB(r.n, a), r.b, 1e-9);
    EXPECT_REL(ErlangC(r.n, a), r.c, 1e-9);
    const QueueMetrics m = ErlangCMetrics(r.n, Traffic{.arrival_rate = r.lambda, .aht_s = r.aht}, r.t);
    EXPECT_REL(m.p_wait, r.c, 1e-9);
    EXPECT_REL(m.service_level, r.sl, 1e-9);
    EXPECT_REL(m.asa_s, r.asa, 1e-9);
    // 1 − SL is what the target is about: it must be accurate too.
    EXPECT_REL(1 - m.service_level, 1 - r.sl, 1e-6);
    EXPECT_DOUBLE_EQ(m.occupancy, a / r.n);
    EXPECT_EQ(m.p_abandon, 0);
  }
}

TEST(ErlangA, MatchesHighPrecisionReferenceTo1e6) {
  for (const ARow& r : kErlangA) {
    SCOPED_TRACE(testing::Message() << "n=" << r.n << " A=" << r.lambda * r.aht << " patience=" << r.patience);
    const Traffic t{.arrival_rate = r.lambda, .aht_s = r.aht, .patience_s = r.patience};
    const QueueMetrics m = ErlangAMetrics(r.n, t, r.t);
    EXPECT_REL(m.p_wait, r.p_wait, 1e-6);
    EXPECT_REL(m.service_level, r.sl, 1e-6);
    EXPECT_REL(m.asa_s, r.asa, 1e-6);
    EXPECT_REL(m.p_abandon, r.p_abandon, 1e-6);
    EXPECT_REL(m.occupancy, r.lambda * r.aht * (1 - r.p_abandon) / r.n, 1e-6);
  }
}

TEST(ErlangB, SmallExactValues) {
  EXPECT_DOUBLE_EQ(ErlangB(0, 3), 1);
  EXPECT_DOUBLE_EQ(ErlangB(1, 1), 0.5);
  EXPECT_DOUBLE_EQ(ErlangB(2, 1), 0.2);  // (1/2)/(1 + 1 + 1/2)
  EXPECT_DOUBLE_EQ(ErlangC(2, 1), 1.0 / 3);
  EXPECT_EQ(ErlangC(3, 3), 1);  // unstable: everyone waits
}

TEST(ErlangB, StableForThousandsOfServers) {
  // No factorials or powers: nothing overflows where the answer is representable, and far
  // past the load the probabilities go to 0, never NaN.
  for (int n : {1000, 10000, 100000}) {
    const double a = 0.95 * n;
    const double b = ErlangB(n, a), c = ErlangC(n, a);
    EXPECT_GT(b, 0);
    EXPECT_LT(b, c);
    EXPECT_LT(c, 1);
  }
  EXPECT_EQ(ErlangB(20000, 10), 0);
  EXPECT_EQ(ErlangC(20000, 10), 0);
  const QueueMetrics m = ErlangCMetrics(20000, Traffic{.arrival_rate = 1, .aht_s = 10}, 20);
  EXPECT_EQ(m.service_level, 1);
  EXPECT_EQ(m.asa_s, 0);
  const QueueMetrics ma = ErlangAMetrics(20000, Traffic{.arrival_rate = 1, .aht_s = 10, .patience_s = 60}, 20);
  EXPECT_EQ(ma.p_wait, 0);
  EXPECT_EQ(ma.service_level, 1);
}

TEST(ErlangA, TendsToErlangCAsPatienceGrows) {
  const Traffic base{.arrival_rate = 100.0 / 1800, .aht_s = 180};
  for (int n : {12, 14, 20}) {
    const QueueMetrics c = ErlangCMetrics(n, base, 20);
    // The gap is first order in 1/patience: 100 times the patience, a hundredth of the gap.
    double last_gap = 0;
    for (double patience : {1e5, 1e7, 1e9, 1e11}) {
      Traffic t = base;
      t.patience_s = patience;
      const QueueMetrics a = ErlangAMetrics(n, t, 20);
      const double gap = std::max({Rel(a.p_wait, c.p_wait), Rel(a.service_level, c.service_level),
                                   Rel(a.asa_s, c.asa_s)});
      if (last_gap > 0) {
        EXPECT_GT(last_gap / gap, 50) << "n=" << n << " patience=" << patience;
        EXPECT_LT(last_gap / gap, 200) << "n=" << n << " patience=" << patience;
      }
      last_gap = gap;
    }
    EXPECT_LT(last_gap, 1e-7) << "n=" << n;
  }
  // Also with thousands of servers.
  const Traffic big{.arrival_rate = 3000.0 / 180, .aht_s = 180, .patience_s = 1e8};
  const QueueMetrics c = ErlangCMetrics(3050, big, 20), a = ErlangAMetrics(3050, big, 20);
  EXPECT_REL(a.p_wait, c.p_wait, 1e-5);
  EXPECT_REL(a.service_level, c.service_level, 1e-5);
  EXPECT_REL(a.asa_s, c.asa_s, 1e-5);
}

TEST(ErlangA, StableWhenFarUnderstaffed) {
  // x ≫ y: the series' terms pass 1e300 and are rescaled; everyone waits, most abandon.
  const Traffic t{.arrival_rate = 50, .aht_s = 300, .patience_s = 600};  // A = 15,000
  const QueueMetrics m = ErlangAMetrics(1000, t, 20);
  EXPECT_NEAR(m.p_wait, 1, 1e-12);
  EXPECT_GT(m.p_abandon, 0.9);
  EXPECT_LT(m.p_abandon, 1);
  EXPECT_GE(m.service_level, 0);
  EXPECT_LT(m.service_level, 0.1);
  EXPECT_TRUE(std::isfinite(m.asa_s));
  EXPECT_LE(m.occupancy, 1 + 1e-12);
}

TEST(Erlang, IncrementalRecursionTableAndFromScratchAgree) {
  // Three forms of the same recursion (one step, two steps at a time, a table): equal to
  // rounding, for odd and even n.
  std::vector<double> table(401);
  FillInverseErlangB(123.4, table);
  InverseB b = InverseErlangB(0, 123.4);
  EXPECT_EQ(b.inv, 1);
  EXPECT_EQ(b.inv_minus_one, 0);
  for (int n = 1; n <= 400; ++n) {
    b = NextInverseB(123.4, b);
    const InverseB s = InverseErlangB(n, 123.4);
    EXPECT_EQ(b.n, n);
    EXPECT_EQ(s.n, n);
    EXPECT_LE(Rel(s.inv, b.inv), 1e-14) << n;
    EXPECT_LE(Rel(s.inv_minus_one, b.inv_minus_one), 1e-14) << n;
    EXPECT_LE(Rel(table[n], b.inv), 1e-14) << n;
    EXPECT_LE(Rel(s.inv - 1, s.inv_minus_one), 1e-12) << n;
  }
}

}  // namespace
}  // namespace homeline::core::wfm
