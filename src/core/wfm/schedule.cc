#include "core/wfm/schedule.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <set>
#include <tuple>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace homeline::core::wfm {

const char* Name(Contract c) { return c == Contract::kContractor ? "contractor" : "employee"; }

std::optional<Contract> ParseContract(std::string_view s) {
  if (s == "employee") return Contract::kEmployee;
  if (s == "contractor") return Contract::kContractor;
  return std::nullopt;
}

const char* Name(SegmentKind k) { return k == SegmentKind::kLunch ? "lunch" : "break"; }

const char* Name(SolveStatus s) { return s == SolveStatus::kOptimal ? "optimal" : "time_limit"; }

Activity ActivityAt(const AgentSchedule& a, TimeMs t) {
  for (const Shift& s : a.shifts) {
    if (t < s.start || t >= s.end) continue;
    for (const Segment& g : s.segments)
      if (t >= g.start && t < g.end) return Activity::kBreak;
    return Activity::kWork;
  }
  return Activity::kOff;
}

namespace {

constexpr int kMaxAgents = 5000;
constexpr int kMaxTemplates = 100;
constexpr int kMaxRequired = 1'000'000;
constexpr double kMaxRate = 1e6;
constexpr double kMaxAgentShifts = 4e6;

Status Bad(std::string what) { return Fail(ErrorCode::kBadRequest, std::move(what)); }

bool OnGrid(int m) { return m % kIntervalMin == 0; }
bool Finite(double v) { return std::isfinite(v); }

// A shift the problem allows: a template starting at a minute of the week. Every agent who
// works it is interchangeable in coverage, so its breaks are placed per group (below).
struct ShiftClass {
  int tmpl = 0;
  int start = 0;  // minute of the week
  int end = 0;
  int day = 0;
  int paid_min = 0;
};

// The shifts the problem's templates allow, in (start, template) order.
std::vector<ShiftClass> Classes(const ScheduleProblem& p) {
  std::vector<ShiftClass> out;
  for (int t = 0; t < static_cast<int>(p.templates.size()); ++t) {
    const ShiftTemplate& st = p.templates[t];
    int unpaid = 0;
    for (const BreakRule& b : st.breaks)
      if (!b.paid) unpaid += b.length_min;
    for (int d = 0; d < kDaysPerWeek; ++d) {
      if (!st.days.empty() && std::find(st.days.begin(), st.days.end(), d) == st.days.end())
        continue;
      for (int s : st.starts_min) {
        const int start = d * kMinutesPerDay + s;
        // A shift running past the week would cover demand this problem does not know.
        if (start + st.length_min > kMinutesPerWeek) continue;
        out.push_back({t, start, start + st.length_min, d, st.length_min - unpaid});
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const ShiftClass& a, const ShiftClass& b) {
    return std::pair(a.start, a.tmpl) < std::pair(b.start, b.tmpl);
  });
  return out;
}

bool Allows(const Agent& a, const ScheduleProblem& p, const ShiftClass& c) {
  if (!a.templates.empty() &&
      std::find(a.templates.begin(), a.templates.end(), p.templates[c.tmpl].id) ==
          a.templates.end())
    return false;
  if (a.availability.empty()) return true;
  for (const WeekSpan& w : a.availability)
    if (w.start_min <= c.start && c.end <= w.end_min) return true;
  return false;
}

double PreferencePenalty(const Agent& a, const ShiftClass& c) {
  const Preferences& pr = a.preferences;
  double pen = 0;
  if (!pr.days.empty() && std::find(pr.days.begin(), pr.days.end(), c.day) == pr.days.end())
    pen += pr.penalty;
  if (pr.earliest_start_min >= 0) {
    const int s = c.start - c.day * kMinutesPerDay;
    if (s < pr.earliest_start_min || s > pr.latest_start_min) pen += pr.penalty;
  }
  return pen;
}

double ShiftCost(const ScheduleProblem& p, const Agent& a, const ShiftClass& c) {
  return c.paid_min / 60.0 * a.hourly_rate * p.templates[c.tmpl].pay_factor;
}

// The most paid minutes an agent can reach in a week counting only one shift per day (rest
// rules can only lower it): a quick, exact-enough check for an employee's minimum.
int MaxPaidMinutes(const ScheduleProblem& p, const Agent& a, const std::vector<ShiftClass>& cs) {
  std::array<int, kDaysPerWeek> best{};
  for (const ShiftClass& c : cs)
    if (Allows(a, p, c)) best[c.day] = std::max(best[c.day], c.paid_min);
  int sum = 0;
  for (int b : best) sum += b;
  return sum;
}

// The integer program. Columns:
//   x[a][k]   binary: agent a works shift class k (only classes the agent's availability and
//             templates allow); cost = pay + preference penalties.
//   n[k]      integer: how many agents work class k (= Σa x[a][k]).
//   y[k][j][p] integer: how many of them take break j at offset p within its window
//             (Σp y[k][j][p] = n[k]). Agents in one class are interchangeable for coverage, so
//             breaks are placed per class, not per agent: exact, and the size does not grow
//             with the number of agents (decision in docs/decisions.md).
//   u[i], o[i] ≥ 0: under- and over-staffing in interval i, weighted.
// Rows: coverage per interval (work of n minus breaks of y, + u − o = required); the links
// above; per agent: at most one shift starting per day, paid hours within [min, max], and
// rest: shifts whose [start, end + rest) overlap cannot both be worked, written as the
// maximal cliques of that interval graph (one row per clique, found by a sweep).
struct Model {
  MipModel mip;
  std::vector<ShiftClass> classes;
  std::vector<int> n_col;                        // per class, -1 if no agent may work it
  struct BreakVar { int cls, rule, offset, col; };
  std::vector<BreakVar> y;
  struct Choice { int cls, col; };
  std::vector<std::vector<Choice>> x;             // per agent
  std::vector<int> u_col, o_col;
};

void AddAgentRows(const ScheduleProblem& p, const Agent& a, const std::vector<ShiftClass>& cs,
                  const std::vector<Model::Choice>& xs, MipModel& m) {
  if (xs.empty()) return;
  // One shift per day.
  std::array<std::vector<int>, kDaysPerWeek> by_day;
  for (const auto& ch : xs) by_day[cs[ch.cls].day].push_back(ch.col);
  for (const auto& cols : by_day) {
    if (cols.size() < 2) continue;
    for (int c : cols) m.Put(c, 1);
    m.EndRow(-kInf, 1);
  }
  // Paid hours. Contractors have no minimum; everybody has a maximum.
  const double lo = a.contract == Contract::kEmployee ? a.min_hours * 60 - 1e-6 : -kInf;
  const double hi = a.max_hours * 60 + 1e-6;
  for (const auto& ch : xs) m.Put(ch.col, cs[ch.cls].paid_min);
  m.EndRow(lo, hi);
  // Rest: maximal cliques of the intervals [start, end + rest). Ends sort before starts at the
  // same minute (half-open intervals that touch do not conflict).
  struct Ev { int t; int kind; int i; };  // kind 0 = end, 1 = start
  std::vector<Ev> ev;
  ev.reserve(xs.size() * 2);
  for (int i = 0; i < static_cast<int>(xs.size()); ++i) {
    const ShiftClass& c = cs[xs[i].cls];
    ev.push_back({c.start, 1, i});
    ev.push_back({c.end + p.min_rest_min, 0, i});
  }
  std::sort(ev.begin(), ev.end(), [](const Ev& l, const Ev& r) {
    return std::tie(l.t, l.kind, l.i) < std::tie(r.t, r.kind, r.i);
  });
  std::vector<int> active;  // indexes into xs
  bool grew = false;
  for (const Ev& e : ev) {
    if (e.kind == 1) {
      active.push_back(e.i);
      grew = true;
      continue;
    }
    if (grew && active.size() >= 2) {
      // A clique whose shifts all start on one day is already the day row.
      const int d0 = cs[xs[active.front()].cls].day;
      bool one_day = true;
      for (int i : active) one_day = one_day && cs[xs[i].cls].day == d0;
      if (!one_day) {
        for (int i : active) m.Put(xs[i].col, 1);
        m.EndRow(-kInf, 1);
      }
    }
    grew = false;
    active.erase(std::find(active.begin(), active.end(), e.i));
  }
}

Model Build(const ScheduleProblem& p, const std::vector<int>& agent_subset, bool coverage) {
  Model md;
  MipModel& m = md.mip;
  md.classes = Classes(p);
  const auto& cs = md.classes;
  const int nc = static_cast<int>(cs.size());
  md.x.resize(p.agents.size());
  std::vector<std::vector<int>> takers(nc);  // x columns per class
  for (int a : agent_subset) {
    const Agent& ag = p.agents[a];
    for (int k = 0; k < nc; ++k) {
      if (!Allows(ag, p, cs[k])) continue;
      const int col = m.AddCol(0, 1, ShiftCost(p, ag, cs[k]) + PreferencePenalty(ag, cs[k]), true);
      md.x[a].push_back({k, col});
      takers[k].push_back(col);
    }
  }
  for (int a : agent_subset) AddAgentRows(p, p.agents[a], cs, md.x[a], m);
  if (!coverage) return md;

  md.n_col.assign(nc, -1);
  // Work per interval, by column: +1 for n over the shift, −1 for y over its break.
  std::vector<std::vector<std::pair<int, double>>> cover(kIntervalsPerWeek);
  for (int k = 0; k < nc; ++k) {
    if (takers[k].empty()) continue;
    const int n = m.AddCol(0, static_cast<double>(takers[k].size()), 0, true);
    md.n_col[k] = n;
    for (int c : takers[k]) m.Put(c, 1);
    m.Put(n, -1);
    m.EndRow(0, 0);
    for (int i = cs[k].start / kIntervalMin; i < cs[k].end / kIntervalMin; ++i)
      cover[i].push_back({n, 1});
    const ShiftTemplate& st = p.templates[cs[k].tmpl];
    for (int j = 0; j < static_cast<int>(st.breaks.size()); ++j) {
      const BreakRule& b = st.breaks[j];
      std::vector<int> cols;
      for (int off = b.earliest_min; off <= b.latest_min; off += kIntervalMin) {
        const int y = m.AddCol(0, static_cast<double>(takers[k].size()), 0, true);
        md.y.push_back({k, j, off, y});
        cols.push_back(y);
        const int from = (cs[k].start + off) / kIntervalMin;
        for (int i = from; i < from + b.length_min / kIntervalMin; ++i) cover[i].push_back({y, -1});
      }
      for (int c : cols) m.Put(c, 1);
      m.Put(n, -1);
      m.EndRow(0, 0);
    }
  }
  md.u_col.resize(kIntervalsPerWeek);
  md.o_col.resize(kIntervalsPerWeek);
  for (int i = 0; i < kIntervalsPerWeek; ++i) {
    md.u_col[i] = m.AddCol(0, kInf, p.weights.under, false);
    md.o_col[i] = m.AddCol(0, kInf, p.weights.over, false);
    for (auto [c, v] : cover[i]) m.Put(c, v);
    m.Put(md.u_col[i], 1);
    m.Put(md.o_col[i], -1);
    m.EndRow(p.required[i], p.required[i]);
  }
  return md;
}

TimeMs At(const ScheduleProblem& p, int minute) { return p.week_start + minute * kMinute; }

}  // namespace

Status Validate(const ScheduleProblem& p) {
  if (p.required.size() != static_cast<std::size_t>(kIntervalsPerWeek))
    return Bad(fmt::format("required must have {} values (15-minute intervals of a week), not {}",
                           kIntervalsPerWeek, p.required.size()));
  for (std::size_t i = 0; i < p.required.size(); ++i)
    if (p.required[i] < 0 || p.required[i] > kMaxRequired)
      return Bad(fmt::format("required[{}] must be 0..{}", i, kMaxRequired));
  if (p.templates.empty()) return Bad("templates: give at least one shift template");
  if (p.templates.size() > static_cast<std::size_t>(kMaxTemplates))
    return Bad(fmt::format("templates: at most {}", kMaxTemplates));
  if (p.agents.empty()) return Bad("agents: give at least one agent");
  if (p.agents.size() > static_cast<std::size_t>(kMaxAgents))
    return Bad(fmt::format("agents: at most {}", kMaxAgents));
  if (p.min_rest_min < 0 || p.min_rest_min > 48 * 60)
    return Bad("min_rest must be 0..48 hours");
  if (!Finite(p.weights.under) || p.weights.under < 0 || !Finite(p.weights.over) ||
      p.weights.over < 0 || p.weights.under > 1e9 || p.weights.over > 1e9)
    return Bad("weights.under and weights.over must be numbers ≥ 0");

  std::set<std::string> tids;
  for (std::size_t t = 0; t < p.templates.size(); ++t) {
    const ShiftTemplate& st = p.templates[t];
    const std::string at = fmt::format("templates[{}] ({})", t, st.id);
    if (st.id.empty() || st.id.size() > 64) return Bad(fmt::format("templates[{}]: id must be 1..64 characters", t));
    if (!tids.insert(st.id).second) return Bad(fmt::format("{}: duplicate id", at));
    if (st.length_min < kIntervalMin || st.length_min > 16 * 60 || !OnGrid(st.length_min))
      return Bad(fmt::format("{}: length must be 15 minutes..16 hours, on the 15-minute grid", at));
    if (st.starts_min.empty() || st.starts_min.size() > static_cast<std::size_t>(kIntervalsPerDay))
      return Bad(fmt::format("{}: give 1..96 allowed start times", at));
    for (int s : st.starts_min)
      if (s < 0 || s >= kMinutesPerDay || !OnGrid(s))
        return Bad(fmt::format("{}: start times must be 00:00..23:45 on the 15-minute grid", at));
    for (int d : st.days)
      if (d < 0 || d >= kDaysPerWeek) return Bad(fmt::format("{}: days must be 0..6", at));
    if (!Finite(st.pay_factor) || st.pay_factor <= 0 || st.pay_factor > 10)
      return Bad(fmt::format("{}: pay_factor must be in (0, 10]", at));
    if (st.breaks.size() > 8) return Bad(fmt::format("{}: at most 8 breaks", at));
    int prev_end = 0;
    for (std::size_t j = 0; j < st.breaks.size(); ++j) {
      const BreakRule& b = st.breaks[j];
      const std::string bt = fmt::format("{}: breaks[{}] ({})", at, j, b.name);
      if (b.name.empty() || b.name.size() > 32)
        return Bad(fmt::format("{}: breaks[{}]: name must be 1..32 characters", at, j));
      if (b.length_min < kIntervalMin || !OnGrid(b.length_min))
        return Bad(fmt::format("{}: length must be a positive multiple of 15 minutes", bt));
      if (!OnGrid(b.earliest_min) || !OnGrid(b.latest_min) || b.earliest_min < 0 ||
          b.latest_min < b.earliest_min)
        return Bad(fmt::format("{}: window must satisfy 0 ≤ earliest ≤ latest, on the 15-minute grid", bt));
      if (b.latest_min + b.length_min > st.length_min)
        return Bad(fmt::format("{}: must end inside the shift (latest start + length ≤ {} min)", bt,
                               st.length_min));
      if (b.earliest_min < prev_end)
        return Bad(fmt::format("{}: its window may overlap the previous break; breaks must be in "
                               "order with windows that cannot overlap", bt));
      prev_end = b.latest_min + b.length_min;
    }
  }

  const auto classes = Classes(p);
  // The model has up to a column per agent and shift: keep a solve within memory and time.
  const double pairs = static_cast<double>(classes.size()) * static_cast<double>(p.agents.size());
  if (pairs > kMaxAgentShifts)
    return Bad(fmt::format("too large: {} agents × {} possible shifts; at most {:g} pairs (fewer "
                           "start times or templates)",
                           p.agents.size(), classes.size(), kMaxAgentShifts));
  std::set<std::string> aids;
  for (std::size_t i = 0; i < p.agents.size(); ++i) {
    const Agent& a = p.agents[i];
    const std::string at = fmt::format("agents[{}] ({})", i, a.id);
    if (a.id.empty() || a.id.size() > 64) return Bad(fmt::format("agents[{}]: id must be 1..64 characters", i));
    if (!aids.insert(a.id).second) return Bad(fmt::format("{}: duplicate id", at));
    if (!Finite(a.min_hours) || !Finite(a.max_hours) || a.min_hours < 0 ||
        a.max_hours > kDaysPerWeek * 24 || a.min_hours > a.max_hours)
      return Bad(fmt::format("{}: hours must satisfy 0 ≤ min_hours ≤ max_hours ≤ 168", at));
    if (a.contract == Contract::kContractor && a.min_hours > 0)
      return Bad(fmt::format("{}: contractors have no guaranteed hours (min_hours must be 0)", at));
    if (!Finite(a.hourly_rate) || a.hourly_rate < 0 || a.hourly_rate > kMaxRate)
      return Bad(fmt::format("{}: hourly_rate must be a number ≥ 0", at));
    for (const std::string& t : a.templates)
      if (!tids.contains(t)) return Bad(fmt::format("{}: unknown template '{}'", at, t));
    if (a.availability.size() > 100) return Bad(fmt::format("{}: at most 100 availability spans", at));
    for (const WeekSpan& w : a.availability)
      if (w.start_min < 0 || w.end_min > kMinutesPerWeek || w.start_min >= w.end_min)
        return Bad(fmt::format("{}: availability spans must lie within the week, start before end", at));
    const Preferences& pr = a.preferences;
    for (int d : pr.days)
      if (d < 0 || d >= kDaysPerWeek) return Bad(fmt::format("{}: preferred days must be 0..6", at));
    if ((pr.earliest_start_min >= 0) != (pr.latest_start_min >= 0) ||
        pr.earliest_start_min >= kMinutesPerDay || pr.latest_start_min >= kMinutesPerDay ||
        pr.latest_start_min < pr.earliest_start_min)
      return Bad(fmt::format("{}: preferred start window must be a valid from..to within a day", at));
    if (!Finite(pr.penalty) || pr.penalty < 0 || pr.penalty > 1e9)
      return Bad(fmt::format("{}: preference penalty must be a number ≥ 0", at));
    if (a.contract == Contract::kEmployee && a.min_hours > 0) {
      const int reach = MaxPaidMinutes(p, a, classes);
      if (reach + 1e-6 < a.min_hours * 60)
        return Bad(fmt::format("{}: minimum of {:g} h a week cannot be reached: availability and "
                               "templates allow at most {:g} h",
                               at, a.min_hours, reach / 60.0));
    }
  }
  return {};
}

Coverage CoverageOf(const ScheduleProblem& p, const std::vector<AgentSchedule>& agents) {
  Coverage c;
  c.required = p.required;
  c.scheduled.assign(kIntervalsPerWeek, 0);
  auto index = [&](TimeMs t) {
    return static_cast<int>((t - p.week_start) / (kIntervalMin * kMinute));
  };
  for (const AgentSchedule& a : agents)
    for (const Shift& s : a.shifts) {
      for (int i = std::max(0, index(s.start)); i < std::min(kIntervalsPerWeek, index(s.end)); ++i)
        ++c.scheduled[i];
      for (const Segment& g : s.segments)
        for (int i = std::max(0, index(g.start)); i < std::min(kIntervalsPerWeek, index(g.end)); ++i)
          --c.scheduled[i];
    }
  c.under.resize(kIntervalsPerWeek);
  c.over.resize(kIntervalsPerWeek);
  for (int i = 0; i < kIntervalsPerWeek; ++i) {
    const int req = i < static_cast<int>(p.required.size()) ? p.required[i] : 0;
    c.under[i] = std::max(0, req - c.scheduled[i]);
    c.over[i] = std::max(0, c.scheduled[i] - req);
    c.under_total += c.under[i];
    c.over_total += c.over[i];
  }
  return c;
}

Result<ScheduleResult> SolveSchedule(const ScheduleProblem& p, MipSolver& solver,
                                     const SolveOptions& options) {
  if (auto st = Validate(p); !st) return std::unexpected(st.error());
  if (!Finite(options.time_limit_s) || options.time_limit_s <= 0 || options.time_limit_s > 3600)
    return Fail(ErrorCode::kBadRequest, "time limit must be in (0, 3600] seconds");
  std::vector<int> all(p.agents.size());
  for (std::size_t a = 0; a < all.size(); ++a) all[a] = static_cast<int>(a);
  Model md = Build(p, all, true);
  MipOptions mo;
  mo.time_limit_s = options.time_limit_s;
  mo.relative_gap = options.relative_gap;
  auto sol = solver.Solve(md.mip, mo);
  if (!sol) return std::unexpected(sol.error());
  if (sol->status == MipStatus::kInfeasible) {
    // Coverage is soft, so only one agent's own rules can conflict (hours against rest, days
    // and availability): find whom, solving each agent alone (a few columns each).
    for (int a : all) {
      Model one = Build(p, {a}, false);
      if (one.mip.cols() == 0) continue;  // no shift possible: Validate checked its minimum
      MipOptions o1;
      o1.time_limit_s = 5;
      o1.relative_gap = 1;
      auto s1 = solver.Solve(one.mip, o1);
      if (s1 && s1->status == MipStatus::kInfeasible)
        return Fail(ErrorCode::kBadRequest,
                    fmt::format("agents[{}] ({}): no week meets this agent's rules (min {:g} h, "
                                "max {:g} h, one shift a day, {:g} h rest, availability)",
                                a, p.agents[a].id, p.agents[a].min_hours, p.agents[a].max_hours,
                                p.min_rest_min / 60.0));
    }
    return Fail(ErrorCode::kBadRequest, "the rules admit no schedule");
  }
  if (sol->status == MipStatus::kNoSolution)
    return Fail(ErrorCode::kUnavailable,
                fmt::format("no schedule found within the time limit of {:g} s; allow more time",
                            options.time_limit_s));
  const std::vector<double>& v = sol->values;
  if (v.size() != static_cast<std::size_t>(md.mip.cols()))
    return Fail(ErrorCode::kInternal, "solver returned a solution of the wrong size");

  ScheduleResult r;
  r.week_start = p.week_start;
  r.variables = md.mip.cols();
  r.constraints = md.mip.rows();
  const auto& cs = md.classes;
  // Who works each class, then hand the class's break offsets out among them.
  std::vector<std::vector<std::pair<int, int>>> members(cs.size());  // (agent, shift index)
  r.agents.resize(p.agents.size());
  for (std::size_t a = 0; a < p.agents.size(); ++a) {
    const Agent& ag = p.agents[a];
    AgentSchedule& out = r.agents[a];
    out.agent_id = ag.id;
    out.name = ag.name;
    out.contract = ag.contract;
    out.hourly_rate = ag.hourly_rate;
    for (const auto& ch : md.x[a]) {
      if (v[ch.col] < 0.5) continue;
      const ShiftClass& c = cs[ch.cls];
      Shift s;
      s.template_id = p.templates[c.tmpl].id;
      s.start = At(p, c.start);
      s.end = At(p, c.end);
      s.paid_hours = c.paid_min / 60.0;
      s.cost = ShiftCost(p, ag, c);
      out.preference_penalty += PreferencePenalty(ag, c);
      members[ch.cls].push_back({static_cast<int>(a), static_cast<int>(out.shifts.size())});
      out.shifts.push_back(std::move(s));
    }
  }
  // y values per (class, rule): the solver's counts, handed out in order. Its counts sum to the
  // class's size; rounding is guarded so every member gets exactly one offset per rule.
  std::map<std::pair<int, int>, std::vector<std::pair<int, int>>> offsets;  // -> (offset, count)
  for (const auto& b : md.y) {
    const int cnt = static_cast<int>(std::lround(v[b.col]));
    if (cnt > 0) offsets[{b.cls, b.rule}].push_back({b.offset, cnt});
  }
  for (std::size_t k = 0; k < cs.size(); ++k) {
    if (members[k].empty()) continue;
    const ShiftTemplate& st = p.templates[cs[k].tmpl];
    for (int j = 0; j < static_cast<int>(st.breaks.size()); ++j) {
      const BreakRule& b = st.breaks[j];
      const auto& offs = offsets[{static_cast<int>(k), j}];
      std::size_t oi = 0;
      int used = 0;
      for (auto [a, si] : members[k]) {
        while (oi < offs.size() && used >= offs[oi].second) ++oi, used = 0;
        const int off = oi < offs.size() ? offs[oi].first : b.earliest_min;
        ++used;
        Shift& s = r.agents[a].shifts[si];
        s.segments.push_back({b.name, s.start + off * kMinute,
                              s.start + (off + b.length_min) * kMinute, b.paid});
      }
    }
  }
  for (AgentSchedule& a : r.agents)
    for (const Shift& s : a.shifts) {
      a.paid_hours += s.paid_hours;
      a.cost += s.cost;
    }
  for (const AgentSchedule& a : r.agents) {
    r.labour_cost += a.cost;
    r.preference_penalty += a.preference_penalty;
  }
  r.coverage = CoverageOf(p, r.agents);
  r.objective = r.coverage.under_total * p.weights.under + r.coverage.over_total * p.weights.over +
                r.labour_cost + r.preference_penalty;
  r.bound = std::min(sol->bound, r.objective);
  r.gap = r.objective > 0 ? (r.objective - r.bound) / r.objective : 0;
  r.status = sol->status == MipStatus::kOptimal ? SolveStatus::kOptimal : SolveStatus::kTimeLimit;
  r.seconds = sol->seconds;
  return r;
}

}  // namespace homeline::core::wfm
