#include "sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <queue>
#include <random>
#include <string>
#include <variant>

#include "core/engine.h"

namespace homeline::sim {

// ---- Figures ---------------------------------------------------------------------------------

Figures& Figures::operator+=(const Figures& o) {
  offered += o.offered;
  answered += o.answered;
  answered_in_sl += o.answered_in_sl;
  abandoned += o.abandoned;
  abandoned_in_sl += o.abandoned_in_sl;
  unfinished += o.unfinished;
  wait_answered_s += o.wait_answered_s;
  wait_abandoned_s += o.wait_abandoned_s;
  handle_s += o.handle_s;
  staffed_s += o.staffed_s;
  busy_s += o.busy_s;
  return *this;
}

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
double Ratio(double a, double b) { return b > 0 ? a / b : kNaN; }
}  // namespace

double Figures::ServiceLevel() const {
  return Ratio(answered_in_sl, static_cast<double>(answered + abandoned - abandoned_in_sl));
}
double Figures::ServiceLevelOfOffered() const { return Ratio(answered_in_sl, offered); }
double Figures::ServiceLevelOfAnswered() const { return Ratio(answered_in_sl, answered); }
double Figures::Asa() const { return Ratio(wait_answered_s, answered); }
double Figures::AbandonRate() const { return Ratio(abandoned, offered); }
double Figures::Occupancy() const { return Ratio(busy_s, staffed_s); }
double Figures::Aht() const { return Ratio(handle_s, answered); }

namespace {

using core::Engine;
using core::InteractionId;
using core::UserId;

constexpr TimeMs kEpoch = 20458 * kDay;  // 2026-01-05 00:00 UTC, a Monday
constexpr const char* kEndOfShift = "end_of_shift";

std::uint64_t SplitMix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Draws positive durations in ms from a DurationDist.
class Sampler {
 public:
  explicit Sampler(const DurationDist& d) : kind_(d.kind), mean_(d.mean_s) {
    if (kind_ == Distribution::kLogNormal) {
      const double cv2 = (d.sd_s / d.mean_s) * (d.sd_s / d.mean_s);
      const double sigma2 = std::log1p(cv2);
      lognormal_ = std::lognormal_distribution<double>(std::log(d.mean_s) - sigma2 / 2,
                                                       std::sqrt(sigma2));
    }
  }
  DurationMs Draw(std::mt19937_64& rng) {
    double s = mean_;
    if (kind_ == Distribution::kLogNormal) s = lognormal_(rng);
    else if (kind_ == Distribution::kExponential) s = exponential_(rng) * mean_;
    return static_cast<DurationMs>(std::llround(s * 1000.0));
  }

 private:
  Distribution kind_;
  double mean_;
  std::lognormal_distribution<double> lognormal_;
  std::exponential_distribution<double> exponential_{1.0};
};

class Run {
 public:
  Run(const Scenario& s, int replication)
      : s_(s), engine_(core::EngineOptions{SplitMix(s.seed ^ 0x5151), kMinute}) {
    base_seed_ = SplitMix(SplitMix(s.seed) + static_cast<std::uint64_t>(replication));
  }

  Result<RunResult> Go() {
    if (auto st = Setup(); !st) return std::unexpected(st.error());
    const TimeMs limit = s_.horizon() + s_.drain;
    while (true) {
      const TimeMs mine = events_.empty() ? std::numeric_limits<TimeMs>::max() : events_.top().t;
      const auto engine_next = engine_.NextDeadline();
      const TimeMs theirs = engine_next ? *engine_next - kEpoch : std::numeric_limits<TimeMs>::max();
      const TimeMs next = std::min(mine, theirs);
      if (next > limit) break;
      if (theirs <= mine) {
        // RunDue fires everything due by then: a deadline that stays put with no command in
        // between would spin forever.
        if (ran_due_ && theirs <= last_due_)
          return Fail(ErrorCode::kInternal, "simulator: an engine deadline did not advance");
        ran_due_ = true;
        last_due_ = theirs;
        Now(theirs);
        engine_.RunDue();
      } else {
        ran_due_ = false;  // a command may set a timer due at once
        const Ev ev = events_.top();
        events_.pop();
        Now(ev.t);
        if (auto st = Handle(ev); !st) return std::unexpected(st.error());
      }
      if (auto st = Pump(); !st) return std::unexpected(st.error());
    }
    Finish();
    return std::move(result_);
  }

 private:
  enum class Kind : std::uint8_t { kArrival, kHandleEnd, kAbandon, kLogin, kLogout, kGroupTarget };
  struct Ev {
    TimeMs t;
    std::uint64_t order;
    Kind kind;
    std::uint32_t index;  // queue, agent or group
    std::uint64_t id;     // interaction id, or the group's interval
    bool operator>(const Ev& o) const { return t != o.t ? t > o.t : order > o.order; }
  };
  enum class State : std::uint8_t { kWaiting, kInHand, kDone };
  struct Contact {
    TimeMs arrived = 0;
    DurationMs handle = 0;
    DurationMs patience = 0;
    TimeMs answered = 0;
    std::uint32_t queue = 0;
    std::int32_t interval = -1;  // counted in; -1 during the warm-up
    std::uint32_t agent = 0;
    State state = State::kWaiting;
  };
  struct SimAgent {
    UserId user = 0;
    int group = -1;
    bool logged_in = false;
    bool leaving = false;  // shift over: on break until the contacts in hand are done
    int held = 0;
    TimeMs staffed_since = 0;
    TimeMs busy_since = 0;
  };
  struct SimQueue {
    core::QueueId id = 0;
    std::mt19937_64 arrivals_rng, handle_rng, patience_rng, priority_rng;
    Sampler handle;
    std::exponential_distribution<double> patience{1.0};
    double next_arrival_ms = 0;  // exact, so rounding to ms does not bias the rate
    DurationMs wrapup = 0;
  };

  void Now(TimeMs t) {
    now_ = t;
    engine_.SetTime(kEpoch + t);
  }
  void Push(TimeMs t, Kind kind, std::uint32_t index, std::uint64_t id = 0) {
    events_.push(Ev{t, ++order_, kind, index, id});
  }
  static Status Internal(const std::string& what, const Error& e) {
    return Fail(ErrorCode::kInternal, "simulator: " + what + ": " + e.message);
  }

  Status Setup() {
    core::Tenant tenant;
    tenant.slug = "sim";
    tenant.name = "Simulation";
    tenant.settings.break_reasons = {kEndOfShift};
    auto t = engine_.CreateTenant(tenant);
    if (!t) return Internal("tenant", t.error());
    tenant_ = *t;

    std::map<std::string, core::SkillId> skills;
    auto skill_of = [&](const std::string& name) -> Result<core::SkillId> {
      if (auto it = skills.find(name); it != skills.end()) return it->second;
      auto id = engine_.CreateSkill(core::Skill{0, tenant_, name});
      if (!id) return std::unexpected(id.error());
      skills.emplace(name, *id);
      return *id;
    };
    auto membership = [&](const std::map<std::string, int>& have,
                          const core::Capacity& cap) -> Result<core::Membership> {
      core::Membership m;
      m.capacity = cap;
      for (const auto& [name, level] : have) {
        auto id = skill_of(name);
        if (!id) return std::unexpected(id.error());
        m.skills[*id] = level;
      }
      return m;
    };

    const std::uint64_t seed = base_seed_;
    for (std::size_t i = 0; i < s_.queues.size(); ++i) {
      const QueueSpec& spec = s_.queues[i];
      core::Queue q;
      q.tenant = tenant_;
      q.name = spec.name;
      q.strategy = spec.strategy;
      for (const auto& [name, level] : spec.skills) {
        auto id = skill_of(name);
        if (!id) return Internal("skill", id.error());
        q.skills.push_back({*id, level});
      }
      q.sl_threshold = static_cast<DurationMs>(std::llround(spec.sl_threshold_s * 1000));
      q.wrapup = static_cast<DurationMs>(std::llround(spec.wrapup_s * 1000));
      q.priority_step = static_cast<DurationMs>(std::llround(spec.priority_step_s * 1000));
      auto id = engine_.CreateQueue(q);
      if (!id) return Internal("queue '" + spec.name + "'", id.error());
      const std::uint64_t qs = SplitMix(seed + 0x1000 * (i + 1));
      queues_.push_back(SimQueue{*id, std::mt19937_64(SplitMix(qs + 1)),
                                 std::mt19937_64(SplitMix(qs + 2)),
                                 std::mt19937_64(SplitMix(qs + 3)), std::mt19937_64(SplitMix(qs + 4)),
                                 Sampler(spec.handle)});
      queues_.back().wrapup = q.wrapup;
    }

    auto add_agent = [&](const std::string& login, const core::Membership& m,
                         int group) -> Status {
      core::User u;
      u.login = u.name = login;
      auto id = engine_.CreateUser(u);
      if (!id) return Internal("agent '" + login + "'", id.error());
      if (auto st = engine_.SetMember(tenant_, *id, m); !st) return Internal("agent '" + login + "'", st.error());
      engine_.Connected(*id);  // a desktop that never drops: no presence lease runs out
      agents_.push_back(SimAgent{*id, group});
      return {};
    };
    for (const AgentSpec& a : s_.agents) {
      auto m = membership(a.skills, a.capacity);
      if (!m) return Internal("agent '" + a.name + "'", m.error());
      const auto index = static_cast<std::uint32_t>(agents_.size());
      if (auto st = add_agent(a.name, *m, -1); !st) return st;
      for (const Shift& sh : a.shifts) {
        Push(sh.start, Kind::kLogin, index);
        Push(sh.end, Kind::kLogout, index);
      }
    }
    for (std::size_t g = 0; g < s_.groups.size(); ++g) {
      const StaffingGroup& group = s_.groups[g];
      auto m = membership(group.skills, group.capacity);
      if (!m) return Internal("staffing '" + group.name + "'", m.error());
      group_first_.push_back(static_cast<std::uint32_t>(agents_.size()));
      const int most = group.agents.empty() ? 0 : *std::max_element(group.agents.begin(), group.agents.end());
      for (int k = 0; k < most; ++k)
        if (auto st = add_agent(group.name + "-" + std::to_string(k + 1), *m, static_cast<int>(g)); !st)
          return st;
      group_end_.push_back(static_cast<std::uint32_t>(agents_.size()));
      int last = 0;
      for (std::size_t k = 0; k <= group.agents.size(); ++k) {
        const int want = k < group.agents.size() ? group.agents[k] : 0;
        if (want != last) Push(static_cast<TimeMs>(k) * s_.interval, Kind::kGroupTarget, g, k);
        last = want;
      }
    }
    // Dense user id → agent index (ids come from the engine's counter, consecutive here).
    if (!agents_.empty()) {
      first_user_ = agents_.front().user;
      for (std::size_t i = 0; i < agents_.size(); ++i) {
        const std::size_t off = agents_[i].user - first_user_;
        if (agent_of_user_.size() <= off) agent_of_user_.resize(off + 1, -1);
        agent_of_user_[off] = static_cast<int>(i);
      }
    }

    result_.queues.resize(s_.queues.size());
    for (QueueResult& q : result_.queues) q.intervals.resize(s_.intervals());
    result_.all.intervals.resize(s_.intervals());
    for (std::uint32_t i = 0; i < queues_.size(); ++i) ScheduleArrival(i, 0.0);
    engine_.TakeOutbox();  // configuration events
    seen_seq_ = engine_.last_seq();
    return {};
  }

  // The next arrival of queue i at or after `from_ms`: exponential gaps at the rate of the
  // interval they start in; a gap that crosses into the next interval is redrawn there at its
  // rate (memorylessness makes this exact for a piecewise-constant rate).
  void ScheduleArrival(std::uint32_t i, double from_ms) {
    SimQueue& q = queues_[i];
    const std::vector<double>& per = s_.queues[i].arrivals;
    const double len = static_cast<double>(s_.interval);
    double t = from_ms;
    while (true) {
      const auto k = static_cast<std::size_t>(t / len);
      if (k >= per.size()) return;
      const double end = (k + 1) * len;
      if (per[k] > 0) {
        const double gap = std::exponential_distribution<double>(per[k] / len)(q.arrivals_rng);
        if (t + gap < end) {
          q.next_arrival_ms = t + gap;
          Push(static_cast<TimeMs>(std::llround(t + gap)), Kind::kArrival, i);
          return;
        }
      }
      t = end;
    }
  }

  Status Handle(const Ev& ev) {
    switch (ev.kind) {
      case Kind::kArrival: return Arrive(ev.index);
      case Kind::kHandleEnd: return EndOfHandle(ev.id);
      case Kind::kAbandon: return GiveUp(ev.id);
      case Kind::kLogin: return Login(ev.index);
      case Kind::kLogout: return Logout(ev.index);
      case Kind::kGroupTarget: return GroupTarget(ev.index, ev.id);
    }
    return {};
  }

  Contact* Find(InteractionId id) {
    if (id < contacts_base_ || id - contacts_base_ >= contacts_.size()) return nullptr;
    return &contacts_[id - contacts_base_];
  }

  Status Arrive(std::uint32_t qi) {
    SimQueue& q = queues_[qi];
    const QueueSpec& spec = s_.queues[qi];
    Contact c;
    c.arrived = now_;
    c.queue = qi;
    c.handle = q.handle.Draw(q.handle_rng);
    c.patience = spec.patience_s > 0
                     ? static_cast<DurationMs>(std::llround(q.patience(q.patience_rng) * spec.patience_s * 1000))
                     : -1;
    if (now_ >= s_.warmup && now_ < s_.horizon()) c.interval = static_cast<std::int32_t>(now_ / s_.interval);
    ScheduleArrival(qi, q.next_arrival_ms);
    ++result_.events;
    if (c.interval >= 0) Count(c).offered++;

    core::Engine::NewInteraction n;
    n.tenant = tenant_;
    n.channel = spec.channel;
    n.queue = q.id;
    n.priority = spec.priority;
    if (spec.high_priority_share > 0 &&
        std::uniform_real_distribution<double>(0, 1)(q.priority_rng) < spec.high_priority_share)
      n.priority = spec.high_priority;
    auto id = engine_.CreateInteraction(std::move(n));
    if (!id) return Internal("arrival", id.error());
    if (contacts_.empty()) contacts_base_ = *id;
    if (*id != contacts_base_ + contacts_.size())
      return Fail(ErrorCode::kInternal, "simulator: interaction ids are not consecutive");
    contacts_.push_back(c);
    if (auto st = Pump(); !st) return st;
    const Contact& mine = contacts_.back();  // still there: a contact cannot finish as it arrives
    if (mine.state == State::kWaiting && mine.patience >= 0) Push(now_ + mine.patience, Kind::kAbandon, 0, *id);
    return {};
  }

  Figures& Count(const Contact& c) { return result_.queues[c.queue].intervals[c.interval]; }

  Status GiveUp(InteractionId id) {
    Contact* c = Find(id);
    if (c == nullptr || c->state != State::kWaiting) return {};  // answered meanwhile
    if (auto st = engine_.Abandon(id); !st) return Internal("abandon", st.error());
    c->state = State::kDone;
    ++result_.events;
    if (c->interval >= 0) {
      Figures& f = Count(*c);
      f.abandoned++;
      const DurationMs waited = now_ - c->arrived;
      f.wait_abandoned_s += waited / 1000.0;
      if (waited <= static_cast<DurationMs>(s_.queues[c->queue].sl_threshold_s * 1000)) f.abandoned_in_sl++;
    }
    Trim();
    return {};
  }

  Status EndOfHandle(InteractionId id) {
    Contact* c = Find(id);
    if (c == nullptr || c->state != State::kInHand)
      return Fail(ErrorCode::kInternal, "simulator: handle end of a contact not in hand");
    ++result_.events;
    if (queues_[c->queue].wrapup > 0) {
      if (auto st = engine_.EndContact(id, "done"); !st) return Internal("end contact", st.error());
      return {};  // the engine's wrap-up timer completes it
    }
    if (auto st = engine_.WrapUp(agents_[c->agent].user, id, 0, {}); !st) return Internal("wrap-up", st.error());
    return {};
  }

  // Handles what the engine decided: offers are accepted at once; completions free agents.
  Status Pump() {
    // Commands run while a batch is read emit into the engine's outbox: drain until the engine
    // has emitted nothing more (its seq counts every event).
    while (engine_.last_seq() != seen_seq_) {
      seen_seq_ = engine_.last_seq();
      engine_.TakeOutbox(&batch_);
      result_.engine_events += batch_.size();
      for (const core::Event& e : batch_) {
        if (const auto* o = std::get_if<core::Offered>(&e.body)) {
          if (auto st = Answer(o->id, o->agent); !st) return st;
        } else if (const auto* done = std::get_if<core::Completed>(&e.body)) {
          if (auto st = Completed(done->id); !st) return st;
        }
      }
    }
    return {};
  }

  Status Answer(InteractionId id, UserId user) {
    Contact* c = Find(id);
    const std::size_t off = user - first_user_;
    if (c == nullptr || c->state != State::kWaiting || off >= agent_of_user_.size() || agent_of_user_[off] < 0)
      return Fail(ErrorCode::kInternal, "simulator: offer of an unknown contact or agent");
    if (auto st = engine_.Accept(user, id); !st) return Internal("accept", st.error());
    ++result_.events;
    c->state = State::kInHand;
    c->answered = now_;
    c->agent = static_cast<std::uint32_t>(agent_of_user_[off]);
    SimAgent& a = agents_[c->agent];
    if (a.held++ == 0) a.busy_since = now_;
    if (c->interval >= 0) {
      Figures& f = Count(*c);
      f.answered++;
      const DurationMs waited = now_ - c->arrived;
      f.wait_answered_s += waited / 1000.0;
      if (waited <= static_cast<DurationMs>(s_.queues[c->queue].sl_threshold_s * 1000)) f.answered_in_sl++;
    }
    Push(now_ + c->handle, Kind::kHandleEnd, 0, id);
    return {};
  }

  Status Completed(InteractionId id) {
    Contact* c = Find(id);
    if (c == nullptr || c->state != State::kInHand) return {};  // not one the simulator handed out
    c->state = State::kDone;
    if (queues_[c->queue].wrapup > 0) ++result_.events;
    if (c->interval >= 0) Count(*c).handle_s += (now_ - c->answered) / 1000.0;
    const std::uint32_t ai = c->agent;
    Trim();
    SimAgent& a = agents_[ai];
    if (--a.held == 0) {
      AddSpan(a.busy_since, now_, &Figures::busy_s);
      if (a.leaving) return LogoutNow(ai);
    }
    return {};
  }

  // Forgets the finished contacts at the front (ids are consecutive, so the rest keep theirs).
  void Trim() {
    while (!contacts_.empty() && contacts_.front().state == State::kDone) {
      contacts_.pop_front();
      ++contacts_base_;
    }
  }

  Status Login(std::uint32_t ai) {
    SimAgent& a = agents_[ai];
    if (a.logged_in && !a.leaving) return {};
    if (auto st = engine_.SetPresence(a.user, tenant_, core::Presence::kAvailable, ""); !st)
      return Internal("login", st.error());
    if (!a.logged_in) {
      ++result_.events;
      a.logged_in = true;
      a.staffed_since = now_;
    }
    a.leaving = false;
    return {};
  }

  Status Logout(std::uint32_t ai) {
    SimAgent& a = agents_[ai];
    if (!a.logged_in || a.leaving) return {};
    if (a.held == 0) return LogoutNow(ai);
    a.leaving = true;
    if (auto st = engine_.SetPresence(a.user, tenant_, core::Presence::kBreak, kEndOfShift); !st)
      return Internal("end of shift", st.error());
    return {};
  }

  Status LogoutNow(std::uint32_t ai) {
    SimAgent& a = agents_[ai];
    if (auto st = engine_.SetPresence(a.user, tenant_, core::Presence::kOffline, ""); !st)
      return Internal("logout", st.error());
    ++result_.events;
    AddSpan(a.staffed_since, now_, &Figures::staffed_s);
    a.logged_in = false;
    a.leaving = false;
    return {};
  }

  // Brings the group's logged-in agents to its count for interval k: agents finishing their
  // last contacts come back first; idle agents leave before busy ones.
  Status GroupTarget(std::uint32_t g, std::uint64_t k) {
    const StaffingGroup& group = s_.groups[g];
    const int want = k < group.agents.size() ? group.agents[k] : 0;
    int active = 0;
    for (std::uint32_t i = group_first_[g]; i < group_end_[g]; ++i)
      active += agents_[i].logged_in && !agents_[i].leaving;
    for (int pass = 0; pass < 2 && active < want; ++pass) {
      for (std::uint32_t i = group_first_[g]; i < group_end_[g] && active < want; ++i) {
        const SimAgent& a = agents_[i];
        if (pass == 0 ? (a.logged_in && a.leaving) : !a.logged_in) {
          if (auto st = Login(i); !st) return st;
          ++active;
        }
      }
    }
    for (int pass = 0; pass < 2 && active > want; ++pass) {
      for (std::uint32_t i = group_first_[g]; i < group_end_[g] && active > want; ++i) {
        const SimAgent& a = agents_[i];
        if (a.logged_in && !a.leaving && (pass == 1 || a.held == 0)) {
          if (auto st = Logout(i); !st) return st;
          --active;
        }
      }
    }
    return {};
  }

  // Adds agent time [from, to) to the intervals it covers, within [warmup, horizon).
  void AddSpan(TimeMs from, TimeMs to, double Figures::*field) {
    from = std::max(from, s_.warmup);
    to = std::min(to, s_.horizon());
    while (from < to) {
      const auto k = static_cast<std::size_t>(from / s_.interval);
      const TimeMs end = std::min<TimeMs>(to, static_cast<TimeMs>(k + 1) * s_.interval);
      result_.all.intervals[k].*field += (end - from) / 1000.0;
      from = end;
    }
  }

  void Finish() {
    for (const Contact& c : contacts_)
      if (c.state != State::kDone && c.interval >= 0) Count(c).unfinished++;
    for (const SimAgent& a : agents_) {
      if (a.held > 0) AddSpan(a.busy_since, now_, &Figures::busy_s);
      if (a.logged_in) AddSpan(a.staffed_since, now_, &Figures::staffed_s);
    }
    for (std::size_t qi = 0; qi < result_.queues.size(); ++qi) {
      QueueResult& q = result_.queues[qi];
      for (std::size_t k = 0; k < q.intervals.size(); ++k) {
        q.total += q.intervals[k];
        Figures contacts = q.intervals[k];
        contacts.staffed_s = contacts.busy_s = 0;
        result_.all.intervals[k] += contacts;
      }
    }
    for (const Figures& f : result_.all.intervals) result_.all.total += f;
  }

  const Scenario& s_;
  Engine engine_;
  std::uint64_t base_seed_ = 0;
  core::TenantId tenant_ = 0;
  TimeMs now_ = 0;
  bool ran_due_ = false;
  TimeMs last_due_ = 0;
  std::uint64_t order_ = 0;
  std::priority_queue<Ev, std::vector<Ev>, std::greater<>> events_;
  std::vector<SimQueue> queues_;
  std::vector<SimAgent> agents_;
  std::vector<std::uint32_t> group_first_, group_end_;
  UserId first_user_ = 0;
  std::vector<int> agent_of_user_;
  std::deque<Contact> contacts_;
  std::uint64_t seen_seq_ = 0;         // the engine's seq when its outbox was last drained
  std::vector<core::Event> batch_;     // the drained events; its buffer goes back and forth
  InteractionId contacts_base_ = 0;
  RunResult result_;
};

}  // namespace

Result<RunResult> Simulate(const Scenario& s, int replication) {
  if (auto st = Validate(s); !st) return std::unexpected(st.error());
  Run run(s, replication);
  return run.Go();
}

}  // namespace homeline::sim
