#include "core/wfm/erlang.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace homeline::core::wfm {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Sums over j ≥ 0 of w_j = z^j / ((y+1)(y+2)…(y+j)) with the weights of erlang.h, for z = x
// and, in the same pass (sharing the 1/(y+j+1)), for z = x·q. Each sum is exp(its log_scale)
// times the value held, so z ≫ y cannot overflow.
struct Sums {
  double log_scale = 0;
  double w = 0;         // Σ w_j = M(y, x)
  double ab = 0;        // Σ w_j (j+1)/(y+j+1)
  double served = 0;    // Σ w_j y/(y+j+1)
  double served_h = 0;  // Σ w_j y/(y+j+1) · Σ_{k=1}^{j+1} 1/(y+k)
  double log_scale_q = 0;
  double served_q = 0;  // Σ (xq)^j/((y+1)…(y+j)) · y/(y+j+1) = (y/(y+1))·M(y+1, xq)
};

// Terms are summed in blocks of kBlock between checks (convergence, rescaling). A term is at
// most x/(y+1) times the one before, so for x ≤ 1e13 (erlang.h) a block grows by at most 1e104
// and rescaling above 1e200 never overflows.
constexpr int kBlock = 8;
constexpr double kRescaleAbove = 1e200;
constexpr double kLogRescale = 460.51701859880916;  // ln(1e200)
constexpr long kMaxTerms = 50'000'000;              // a bound on pathological inputs only

// Past its peak (ratio r < 1) a series' ratios only fall, so what is left after a term w is
// below w·Σ r^i·(growth of the weights, at most linear) = w/(1−r)².
bool Negligible(double w, double r, double against) {
  if (r >= 1) return false;
  const double one_minus = 1 - r;
  return w <= 1e-17 * against * one_minus * one_minus;
}

Sums SeriesSums(double y, double x, double q) {
  Sums s;
  double xq = x * q;
  double w = 1, wq = 1;
  double h = 0;  // Σ_{k=1}^{j+1} 1/(y+k)
  double d = y + 1;  // y + j + 1
  for (long j = 0; j < kMaxTerms; j += kBlock) {
    double inv_d = 0;
    for (int k = 0; k < kBlock; ++k, d += 1) {
      inv_d = 1 / d;
      s.w += w;
      s.ab += w * (d - y) * inv_d;
      const double served = w * y * inv_d;
      s.served += served;
      h += inv_d;
      s.served_h += served * h;
      w *= x * inv_d;
      s.served_q += wq * y * inv_d;
      wq *= xq * inv_d;  // 0 once converged: no subnormal arithmetic
    }
    if (w > kRescaleAbove) {
      constexpr double f = 1 / kRescaleAbove;
      w *= f;
      s.w *= f;
      s.ab *= f;
      s.served *= f;
      s.served_h *= f;
      s.log_scale += kLogRescale;
    }
    if (wq > kRescaleAbove) {
      wq /= kRescaleAbove;
      s.served_q /= kRescaleAbove;
      s.log_scale_q += kLogRescale;
    }
    const double r = x * inv_d;
    if (xq != 0 && (wq == 0 || Negligible(wq, r * q, s.served_q))) xq = wq = 0;
    if (xq == 0 && (w == 0 || Negligible(w, r, std::fmin(s.ab, s.served)))) break;
  }
  return s;
}

QueueMetrics Unstable(double occupancy) {
  return QueueMetrics{.p_wait = 1, .service_level = 0, .asa_s = kInf, .p_abandon = 0,
                      .occupancy = occupancy};
}

}  // namespace

InverseB NextInverseB(double a, const InverseB& b) {
  const int n = b.n + 1;
  const double minus_one = static_cast<double>(n) * (1 / a) * b.inv;  // as InverseErlangB
  return InverseB{n, 1 + minus_one, minus_one};
}

// Two steps at a time, I(k+1) = (1 + c_{k+1}) + c_{k+1}·c_k·I(k−1) with c_k = k/A: one
// multiply-add per two servers on the dependency chain (the latency that bounds this loop),
// I(k) computed beside it. All terms positive, so as stable as the one-step form.
InverseB InverseErlangB(int n, double a) {
  assert(n >= 0 && a > 0);
  if (n == 0) return InverseB{};
  const double inv_a = 1 / a;
  double before = 1, mid = 1;  // I(k−1) at the top of the loop; I(k−2)
  int k = 1;
  for (; k + 1 <= n; k += 2) {
    const double c1 = k * inv_a, c2 = (k + 1) * inv_a;
    mid = 1 + c1 * before;
    before = (1 + c2) + (c2 * c1) * before;
  }
  if (k - 1 == n) return InverseB{n, before, n * inv_a * mid};  // n even: I(n), I(n−1)
  const double minus_one = n * inv_a * before;                    // n odd: one more step
  return InverseB{n, 1 + minus_one, minus_one};
}

void FillInverseErlangB(double a, std::span<double> out) {
  assert(a > 0);
  if (out.empty()) return;
  const double inv_a = 1 / a;
  const std::size_t size = out.size();
  double before = 1;
  out[0] = 1;
  std::size_t k = 1;
  for (; k + 1 < size; k += 2) {
    const double c1 = static_cast<double>(k) * inv_a, c2 = static_cast<double>(k + 1) * inv_a;
    out[k] = 1 + c1 * before;
    before = (1 + c2) + (c2 * c1) * before;
    out[k + 1] = before;
  }
  if (k < size) out[k] = 1 + static_cast<double>(k) * inv_a * before;
}

double ErlangB(int n, double a) {
  if (a <= 0) return 0;
  return 1 / InverseErlangB(n, a).inv;
}

double ErlangC(int n, double a) {
  if (a <= 0) return 0;
  if (n <= a) return 1;
  const double inv = InverseErlangB(n, a).inv;
  return static_cast<double>(n) / ((static_cast<double>(n) - a) * inv + a);
}

QueueMetrics ErlangCMetrics(const InverseB& b, const Traffic& t, double answer_within_s) {
  const double a = t.Erlangs();
  const double n = b.n;
  if (a <= 0) return QueueMetrics{.service_level = 1};
  if (n <= a) return Unstable(1);
  // inv = +inf (n far above a) gives c = 0: nobody waits.
  const double c = n / ((n - a) * b.inv + a);
  const double excess_rate = (n - a) / t.aht_s;  // nμ − λ
  return QueueMetrics{.p_wait = c,
                      .service_level = 1 - c * std::exp(-excess_rate * answer_within_s),
                      .asa_s = c / excess_rate,
                      .p_abandon = 0,
                      .occupancy = a / n};
}

QueueMetrics ErlangCMetrics(int n, const Traffic& t, double answer_within_s) {
  if (t.Erlangs() <= 0) return QueueMetrics{.service_level = 1};
  return ErlangCMetrics(InverseErlangB(n, t.Erlangs()), t, answer_within_s);
}

QueueMetrics ErlangAMetrics(const InverseB& b, const Traffic& t, double answer_within_s) {
  assert(t.patience_s > 0);
  const double a = t.Erlangs();
  if (a <= 0) return QueueMetrics{.service_level = 1};
  if (b.n <= 0) return QueueMetrics{.p_wait = 1, .service_level = 0, .asa_s = 0, .p_abandon = 1};
  const double gamma = 1 / t.patience_s;
  const double x = t.arrival_rate * t.patience_s;            // λ/γ
  const double y = b.n * t.patience_s / t.aht_s;             // nμ/γ
  const double gt = gamma * answer_within_s;
  const Sums s = SeriesSums(y, x, std::exp(-gt));
  // P(wait) = M/(I − 1 + M) = 1/(1 + (I − 1)/M), with M = s.w·e^scale.
  const double ratio = b.inv_minus_one * std::exp(-s.log_scale) / s.w;
  const double p_wait = std::isinf(ratio) ? 0 : 1 / (1 + ratio);
  const double ab_given_wait = s.ab / s.w;
  const double wait_served_given_wait = s.served_h / (gamma * s.w);  // E[V; served | wait]
  // P(served, V > t | wait) = q^{y+1} e^{x(1−q)} · (y/(y+1))·M(y+1, xq) / M(y, x).
  const double late_given_wait =
      s.served_q <= 0 ? 0
                      : std::exp(-(y + 1) * gt - x * std::expm1(-gt) + s.log_scale_q -
                                 s.log_scale + std::log(s.served_q / s.w));
  const double p_abandon = p_wait * ab_given_wait;
  const double p_served = 1 - p_abandon;
  return QueueMetrics{
      .p_wait = p_wait,
      .service_level = std::clamp(1 - p_wait * (ab_given_wait + late_given_wait), 0.0, 1.0),
      .asa_s = p_served > 0 ? p_wait * wait_served_given_wait / p_served : kInf,
      .p_abandon = p_abandon,
      .occupancy = a * p_served / b.n,
  };
}

QueueMetrics ErlangAMetrics(int n, const Traffic& t, double answer_within_s) {
  if (t.Erlangs() <= 0) return QueueMetrics{.service_level = 1};
  return ErlangAMetrics(InverseErlangB(n, t.Erlangs()), t, answer_within_s);
}

}  // namespace homeline::core::wfm
