#include "sim/summary.h"

#include <cmath>
#include <functional>
#include <limits>

namespace homeline::sim {

double StudentT95(int df) {
  static constexpr double kTable[] = {
      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
      2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
      2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (df < 1) return std::numeric_limits<double>::quiet_NaN();
  if (df <= 30) return kTable[df - 1];
  // Beyond the table, the first terms of the Cornish-Fisher expansion around z = 1.96.
  const double z = 1.959964, v = df;
  return z + (z * z * z + z) / (4 * v) + (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * v * v);
}

namespace {

Estimate Estimate95(const std::vector<double>& values) {
  Estimate e;
  double sum = 0;
  for (double v : values)
    if (!std::isnan(v)) sum += v, ++e.n;
  if (e.n == 0) {
    e.mean = e.ci95 = std::numeric_limits<double>::quiet_NaN();
    return e;
  }
  e.mean = sum / e.n;
  if (e.n < 2) {
    e.ci95 = std::numeric_limits<double>::quiet_NaN();
    return e;
  }
  double ss = 0;
  for (double v : values)
    if (!std::isnan(v)) ss += (v - e.mean) * (v - e.mean);
  e.ci95 = StudentT95(e.n - 1) * std::sqrt(ss / (e.n - 1) / e.n);
  return e;
}

// span_s[i]: the time run i's agent-seconds are averaged over (agents = staffed / span).
Row Summarize(const std::vector<const Figures*>& f, const std::vector<double>& span_s) {
  std::vector<double> v(f.size());
  auto est = [&](const std::function<double(const Figures&)>& get) {
    for (std::size_t i = 0; i < f.size(); ++i) v[i] = get(*f[i]);
    return Estimate95(v);
  };
  Row r;
  r.offered = est([](const Figures& x) { return static_cast<double>(x.offered); });
  r.answered = est([](const Figures& x) { return static_cast<double>(x.answered); });
  r.abandoned = est([](const Figures& x) { return static_cast<double>(x.abandoned); });
  r.unfinished = est([](const Figures& x) { return static_cast<double>(x.unfinished); });
  r.service_level = est([](const Figures& x) { return x.ServiceLevel(); });
  r.service_level_offered = est([](const Figures& x) { return x.ServiceLevelOfOffered(); });
  r.service_level_answered = est([](const Figures& x) { return x.ServiceLevelOfAnswered(); });
  r.asa_s = est([](const Figures& x) { return x.Asa(); });
  r.abandon_rate = est([](const Figures& x) { return x.AbandonRate(); });
  r.aht_s = est([](const Figures& x) { return x.Aht(); });
  r.occupancy = est([](const Figures& x) { return x.Occupancy(); });
  for (std::size_t i = 0; i < f.size(); ++i) v[i] = span_s[i] > 0 ? f[i]->Agents(span_s[i]) : std::numeric_limits<double>::quiet_NaN();
  r.agents = Estimate95(v);
  return r;
}

QueueSummary SummarizeQueue(const Scenario& s, const std::vector<const QueueResult*>& q) {
  QueueSummary out;
  const double interval_s = static_cast<double>(s.interval) / kSecond;
  std::vector<const Figures*> f(q.size());
  const std::vector<double> interval(q.size(), interval_s);
  for (int k = 0; k < s.intervals(); ++k) {
    for (std::size_t i = 0; i < q.size(); ++i) f[i] = &q[i]->intervals[k];
    out.intervals.push_back(Summarize(f, interval));
  }
  // The total's agents are averaged over the intervals that had agents or contacts (a day's
  // 24 hours would dilute an 08:00-18:00 desk).
  std::vector<double> active(q.size(), 0);
  for (std::size_t i = 0; i < q.size(); ++i) {
    f[i] = &q[i]->total;
    for (const Figures& x : q[i]->intervals)
      if (x.staffed_s > 0 || x.offered > 0) active[i] += interval_s;
  }
  out.total = Summarize(f, active);
  return out;
}

}  // namespace

Summary Summarize(const Scenario& s, const std::vector<RunResult>& runs) {
  Summary out;
  out.replications = static_cast<int>(runs.size());
  std::vector<const QueueResult*> q(runs.size());
  for (std::size_t qi = 0; qi < s.queues.size(); ++qi) {
    for (std::size_t i = 0; i < runs.size(); ++i) q[i] = &runs[i].queues[qi];
    out.queues.push_back(SummarizeQueue(s, q));
    out.queues.back().name = s.queues[qi].name;
    out.queues.back().sl_threshold_s = s.queues[qi].sl_threshold_s;
  }
  for (std::size_t i = 0; i < runs.size(); ++i) {
    q[i] = &runs[i].all;
    out.events += runs[i].events;
    out.engine_events += runs[i].engine_events;
  }
  out.all = SummarizeQueue(s, q);
  out.all.name = "all";
  return out;
}

Result<Summary> Replicate(const Scenario& s, int replications) {
  if (replications < 1 || replications > 1000)
    return Fail(ErrorCode::kBadRequest, "replications must be 1-1000");
  std::vector<RunResult> runs;
  for (int r = 0; r < replications; ++r) {
    auto run = Simulate(s, r);
    if (!run) return std::unexpected(run.error());
    runs.push_back(std::move(*run));
  }
  return Summarize(s, runs);
}

}  // namespace homeline::sim
