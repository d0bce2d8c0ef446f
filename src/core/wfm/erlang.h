#pragma once
// Queueing formulas for staffing: Erlang B, Erlang C (M/M/n) and Erlang A (M/M/n+M, customers
// who abandon after an exponential patience). Pure functions of their arguments; thread-safe;
// no allocation. Costs are stated per function.
//
// Notation: λ arrival rate (1/s), 1/μ mean handle time (s), 1/γ mean patience (s), n servers,
// A = λ/μ offered load in Erlangs, ρ = A/n.
//
// Erlang B is computed by the recursion on its inverse, I(0) = 1, I(n) = 1 + (n/A)·I(n−1)
// (I = 1/B; Jagerman 1974, "Some properties of the Erlang loss function"), taken two steps at a
// time from scratch. Each step damps the relative error it inherits (the factor
// (n/A)·I(n−1)/I(n) is below 1), so the result is accurate to a few ulps·n for thousands of
// servers; no factorials, no powers. I(n) grows
// without bound only when n ≫ A (past A + 37·√A it overflows to +inf, which every formula
// below reads as "no waiting at all").
//
// Erlang C, from I: C(n, A) = n / ((n − A)·I + A) for n > A, 1 otherwise, and
//   P(wait > t) = C·exp(−(nμ − λ)t),   ASA = C / (nμ − λ).
//
// Erlang A (Palm 1946; Garnett, Mandelbaum & Reiman 2002, "Designing a call center with
// impatient customers", M&SOM 4(3); Mandelbaum & Zeltyn 2007, "Service engineering in action:
// the Palm/Erlang-A queue"). With x = λ/γ and y = nμ/γ, let
//   M(y, x) = Σ_{j≥0} x^j / ((y+1)(y+2)…(y+j)) = ₁F₁(1; y+1; x) = y·e^x·x^−y·γ(y, x)
// (γ the lower incomplete gamma function). An arrival finds j ≥ 0 others waiting with
// probability ∝ x^j/((y+1)…(y+j)) given that all servers are busy, and then
//   P(wait)          = M / (I − 1 + M)                      (GMR eq. for π_n-based P(W>0))
//   P(ab | wait)     = Σ_j w_j (j+1)/(y+j+1) / M            (= 1/(ρM) + 1 − 1/ρ, GMR)
//   P(served, V > t | wait) = y/(y+1) · q^{y+1} · e^{x(1−q)} · M(y+1, xq) / M(y, x),  q = e^{−γt}
//   E[V; served | wait]     = Σ_j w_j · y/(y+j+1) · Σ_{k=1}^{j+1} 1/(γ(y+k)) / M
// where w_j = x^j/((y+1)…(y+j)) and V is the offered wait (time until a server would take the
// contact). The last two follow from V given j waiting ahead being a sum of exponentials with
// rates γ(y+j), …, γy, whose density is γ·(y)_{j+1}/j!·(1−e^{−γu})^j·e^{−γyu}. These series
// have positive terms only (no cancellation); they are summed with rescaling (no overflow) until
// the geometric bound on the rest is below 1e−17 of the sum. The service level is
//   SL(t) = P(answered within t) = 1 − P(wait)·(P(ab | wait) + P(served, V > t | wait)),
// over all arrivals: an abandoned contact did not meet the target. ASA is the mean wait of the
// answered contacts. As patience → ∞ these tend to Erlang C's (tested).
// Cost of Erlang A: O(n) for B plus O(|x − y| + √x) series terms (about 3 ns each); x ≤ 1e13.

#include <span>

namespace homeline::core::wfm {

// The inverse of Erlang B, 1/B(n, A), and 1/B − 1 = (n/A)·1/B(n−1, A) kept apart, so P(wait)
// has no cancellation when B is close to 1.
struct InverseB {
  int n = 0;
  double inv = 1;            // 1/B(n, A)
  double inv_minus_one = 0;  // 1/B(n, A) − 1
};

// Steps the recursion: Next(a, {n, …}) is for n+1. O(1).
InverseB NextInverseB(double a, const InverseB& b);
// 1/B(n, A) from scratch. O(n). a > 0, n ≥ 0.
InverseB InverseErlangB(int n, double a);

// out[k] = 1/B(k, A) for every k < out.size(), as InverseErlangB computes them. O(size).
void FillInverseErlangB(double a, std::span<double> out);

double ErlangB(int n, double a);  // blocking probability of M/M/n/n
double ErlangC(int n, double a);  // P(wait) in M/M/n; 1 when n ≤ a

struct Traffic {
  double arrival_rate = 0;  // λ, contacts per second
  double aht_s = 0;         // mean handle time 1/μ, seconds (> 0)
  double patience_s = 0;    // mean patience 1/γ, seconds; 0 means customers never abandon
  double Erlangs() const { return arrival_rate * aht_s; }
};

struct QueueMetrics {
  double p_wait = 0;         // P(an arrival finds every server busy)
  double service_level = 0;  // P(answered within t), over all arrivals
  double asa_s = 0;          // mean wait of answered contacts; +inf when unstable
  double p_abandon = 0;      // 0 under Erlang C
  double occupancy = 0;      // carried load / servers: λ(1 − P(ab))/(nμ), ≤ 1
};

// M/M/n metrics (Erlang C) for n ≥ 1 servers; for n ≤ A the queue is unstable: p_wait 1,
// service_level 0, asa +inf, occupancy 1. `b` must be InverseErlangB(n, A).
QueueMetrics ErlangCMetrics(const InverseB& b, const Traffic& traffic, double answer_within_s);
QueueMetrics ErlangCMetrics(int n, const Traffic& traffic, double answer_within_s);

// M/M/n+M metrics (Erlang A) for n ≥ 1; traffic.patience_s > 0. Stable for any load.
QueueMetrics ErlangAMetrics(const InverseB& b, const Traffic& traffic, double answer_within_s);
QueueMetrics ErlangAMetrics(int n, const Traffic& traffic, double answer_within_s);

}  // namespace homeline::core::wfm
