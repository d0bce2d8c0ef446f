#include "core/wfm/staffing.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace homeline::core::wfm {

namespace {

// Tolerances so that a figure equal to its target in exact arithmetic counts as met
// (14 / (1 − 0.3) is 20.000000000000004 in doubles).
constexpr double kEps = 1e-9;

// How far metrics m fall short of the targets: ≤ 0 when every target is met, else the largest
// shortfall (SL points, ASA as a fraction of its target, occupancy points). A small slack makes
// a figure equal to its target in exact arithmetic count as met.
double Shortfall(const StaffingInput& in, const QueueMetrics& m) {
  constexpr double kSlack = 1e-12;
  double f = m.occupancy - in.max_occupancy - kSlack;
  if (in.target_sl > 0) f = std::max(f, in.target_sl - m.service_level - kSlack);
  if (in.target_asa_s > 0)
    f = std::max(f, std::isfinite(m.asa_s) ? m.asa_s / in.target_asa_s - 1 - kSlack : 1.0);
  return f;
}

// The same shortfall on a log scale, where it is nearly linear in the number of servers near
// the answer (1 − SL and ASA fall about exponentially as servers are added): used only to
// guess the next count to try.
constexpr double kHuge = 1e300;

double LogShortfall(const StaffingInput& in, const QueueMetrics& m) {
  // Occupancy never exceeds 1: a cap of 1 binds nothing, and its log (≈ 0 below A) must not
  // hide the target that does.
  double h = in.max_occupancy < 1 ? std::log(m.occupancy / in.max_occupancy) : -kHuge;
  if (in.target_sl > 0) h = std::max(h, std::log((1 - m.service_level) / (1 - in.target_sl)));
  if (in.target_asa_s > 0) h = std::max(h, std::log(m.asa_s / in.target_asa_s));
  return h;
}

int CeilDiv(double v) { return static_cast<int>(std::ceil(v - kEps)); }

Status Bad(const std::string& what) { return Fail(ErrorCode::kBadRequest, what); }

}  // namespace

const char* Name(Model m) { return m == Model::kErlangA ? "erlang_a" : "erlang_c"; }

Status Validate(const StaffingInput& in) {
  auto finite = [](double v) { return std::isfinite(v); };
  if (!finite(in.contacts) || in.contacts < 0) return Bad("calls must be a number ≥ 0");
  if (!finite(in.interval_s) || in.interval_s <= 0) return Bad("interval must be > 0 seconds");
  if (!finite(in.aht_s) || in.aht_s <= 0) return Bad("aht must be > 0 seconds");
  if (!finite(in.target_sl) || in.target_sl < 0 || in.target_sl >= 1)
    return Bad("target_sl must be in (0, 1)");
  if (!finite(in.answer_within_s) || in.answer_within_s < 0)
    return Bad("answer_within must be ≥ 0 seconds");
  if (!finite(in.target_asa_s) || in.target_asa_s < 0) return Bad("target_asa must be > 0 seconds");
  if (in.target_sl == 0 && in.target_asa_s == 0)
    return Bad("give a target: target_sl (with answer_within) or target_asa");
  if (!finite(in.patience_s) || in.patience_s < 0) return Bad("patience must be > 0 seconds");
  if (!finite(in.shrinkage) || in.shrinkage < 0 || in.shrinkage >= 1)
    return Bad("shrinkage must be in [0, 1)");
  if (!finite(in.max_occupancy) || in.max_occupancy <= 0 || in.max_occupancy > 1)
    return Bad("max_occupancy must be in (0, 1]");
  if (in.concurrency < 1 || in.concurrency > 100) return Bad("concurrency must be 1..100");
  const double a = in.contacts * in.aht_s / in.interval_s;
  if (!finite(a) || a > kMaxErlangs) return Bad("offered load above 200000 Erlangs");
  // Erlang A's series has about λ·patience terms when far understaffed: keep a solve (run on
  // the server's engine thread by the API) within tens of milliseconds at worst.
  if (in.patience_s > 0 && (in.contacts / in.interval_s * in.patience_s > 1e6 ||
                            in.patience_s / in.aht_s > 1e4))
    return Bad("patience too long for Erlang A at this volume; leave it out (Erlang C)");
  return {};
}

Result<Staffing> SolveStaffing(const StaffingInput& in) {
  if (auto st = Validate(in); !st) return std::unexpected(st.error());
  const Traffic traffic{.arrival_rate = in.contacts / in.interval_s,
                        .aht_s = in.aht_s,
                        .patience_s = in.patience_s};
  const double a = traffic.Erlangs();
  Staffing out;
  out.model = in.patience_s > 0 ? Model::kErlangA : Model::kErlangC;
  out.erlangs = a;
  if (a <= 0) {
    out.metrics = QueueMetrics{.service_level = 1};
    return out;
  }
  const double answer_within = in.answer_within_s;
  const bool erlang_a = out.model == Model::kErlangA;

  // Erlang C: from the first count that is stable and within the occupancy cap, up one at a
  // time (typically a few √A steps), each step O(1). Erlang A keeps every 1/B on the way in
  // inv (inv[k] = 1/B(k, A)), for its search below this count.
  const int start = std::max({1, static_cast<int>(std::floor(a)) + 1,
                              CeilDiv(a / in.max_occupancy)});
  std::vector<double> inv;
  InverseB b{0, 1, 0};
  if (erlang_a) {
    inv.reserve(start + 4 * static_cast<int>(std::sqrt(a)) + 16);
    inv.resize(start + 1);
    FillInverseErlangB(a, inv);
    b = InverseB{start, inv[start], static_cast<double>(start) * (1 / a) * inv[start - 1]};
  } else {
    b = InverseErlangB(start, a);
  }
  auto step_up = [&] {
    b = NextInverseB(a, b);
    if (erlang_a) inv.push_back(b.inv);
  };
  while (Shortfall(in, ErlangCMetrics(b, traffic, answer_within)) > 0) {
    if (b.n >= kMaxServers) return Fail(ErrorCode::kBadRequest, "target not reachable");
    step_up();
  }

  if (!erlang_a) {
    out.servers = b.n;
    out.agents = (b.n + in.concurrency - 1) / in.concurrency;
    while (b.n < out.agents * in.concurrency) b = NextInverseB(a, b);
    out.metrics = ErlangCMetrics(b, traffic, answer_within);
  } else {
    auto at = [&](int k) {
      while (static_cast<int>(inv.size()) <= k) step_up();
      return InverseB{k, inv[k], static_cast<double>(k) * (1 / a) * inv[k - 1]};
    };
    int lo = 0, hi = b.n;  // lo fails (0 always does), hi meets
    int n1 = 0, n2 = 0;    // the last two counts evaluated, and their log shortfalls
    double h1 = 0, h2 = 0;
    auto evaluate = [&](int k) {  // true if k meets the targets; narrows [lo, hi]
      const QueueMetrics m = ErlangAMetrics(at(k), traffic, answer_within);
      n2 = n1;
      h2 = h1;
      n1 = k;
      h1 = LogShortfall(in, m);
      const bool ok = Shortfall(in, m) <= 0;
      (ok ? hi : lo) = k;
      return ok;
    };
    // The Erlang C count nearly always meets the Erlang A targets too (abandonment shortens
    // waits); if not, go up.
    while (!evaluate(hi)) {
      if (hi >= kMaxServers) return Fail(ErrorCode::kBadRequest, "target not reachable");
      ++hi;
    }
    // No count under A·target_sl meets an SL target: SL ≤ P(served) ≤ n/A (carried ≤ n).
    if (in.target_sl > 0) lo = std::clamp(CeilDiv(a * in.target_sl) - 1, 0, hi - 1);
    // Then secant steps on the log shortfall from a second point √A/2 below, kept inside
    // [lo, hi] and falling back to bisection when a step gains little: a handful of
    // evaluations where bisection would take 2·log2 of the gap (Erlang A may need hundreds
    // of agents fewer than Erlang C for large A).
    int next = std::max(lo + 1, hi - std::max(1, static_cast<int>(std::sqrt(a) / 2)));
    while (hi - lo > 1) {
      const int width = hi - lo;
      if (next <= lo || next >= hi) next = lo + width / 2;
      evaluate(next);
      const int gained = width - (hi - lo);
      next = lo + (hi - lo) / 2;
      if (2 * gained >= width || gained >= 2) {  // the secant is doing well: keep it
        const double est = n1 - h1 * (n1 - n2) / (h1 - h2);
        if (std::isfinite(est)) next = static_cast<int>(std::lround(est));
        // Rounded next to the root it would probe one side only: probe the other too.
        if (next == n1) next += h1 > 0 ? 1 : -1;
      }
    }
    out.servers = hi;
    out.agents = (hi + in.concurrency - 1) / in.concurrency;
    out.metrics = ErlangAMetrics(at(out.agents * in.concurrency), traffic, answer_within);
  }
  out.scheduled_agents = CeilDiv(out.agents / (1 - in.shrinkage));
  return out;
}

}  // namespace homeline::core::wfm
