// Runs every tests/scenarios/*.scn file against a fresh core::Engine on a simulated clock.
// The language is described in tests/scenarios/README.md. Names in a scenario (tenants, users,
// skills, queues, interactions) map to engine ids here. A line fails with file:line and what was
// expected vs found; the scenario stops at its first failure.
//
// Besides the `expect` lines, after every line the runner checks the invariants no scenario
// should have to spell out:
//  - every reserved/busy/wrap-up state can still resolve: an offer's expiry, a wrap-up timer and
//    a disconnected agent's lease all lie in the future (otherwise a timer was lost);
//  - an agent's work and the interactions' agent fields agree;
//  - routing is work-conserving: no contact waits while an available agent could take it;
//  - a failed command emitted nothing;
// and at the end (and before `restart`) that replaying the event log through the codec gives
// the same agents and interactions as the live engine.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/engine.h"
#include "core/event_codec.h"

namespace homeline::core {
namespace {

constexpr TimeMs kStart = 20458 * kDay + 9 * kHour;  // 2026-01-05 09:00 UTC, a Monday

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct CommandFailed : std::runtime_error {
  CommandFailed(ErrorCode c, const std::string& m) : std::runtime_error(m), code(c) {}
  ErrorCode code;
};

[[noreturn]] void Throw(const std::string& message) { throw Failure(message); }

void Check(const Status& s) {
  if (!s) throw CommandFailed(s.error().code, s.error().message);
}
template <typename T>
T Check(Result<T> r) {
  if (!r) throw CommandFailed(r.error().code, r.error().message);
  return *r;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) out.push_back(part);
  return out;
}

// "30s", "500ms", "2m", "1h", "1m30s".
DurationMs ParseDuration(const std::string& s) {
  DurationMs total = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t used = 0;
    double n = 0;
    try { n = std::stod(s.substr(i), &used); } catch (...) { Throw("bad duration '" + s + "'"); }
    i += used;
    std::size_t j = i;
    while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
    const std::string unit = s.substr(i, j - i);
    const DurationMs scale = unit == "ms" ? 1 : unit == "s" ? kSecond : unit == "m" ? kMinute
                           : unit == "h" ? kHour : unit.empty() && n == 0 ? 0 : -1;
    if (scale < 0) Throw("bad duration unit in '" + s + "' (ms, s, m, h)");
    total += static_cast<DurationMs>(std::llround(n * scale));
    i = j;
  }
  return total;
}

std::string FormatDuration(DurationMs d) {
  if (d % kSecond == 0) return std::to_string(d / kSecond) + "s";
  return std::to_string(d) + "ms";
}

int ParseInt(const std::string& s) {
  try {
    std::size_t used = 0;
    const int n = std::stoi(s, &used);
    if (used == s.size()) return n;
  } catch (...) {
  }
  Throw("bad number '" + s + "'");
}

// A line's words: positional ones in order, key=value ones by key.
struct Words {
  std::vector<std::string> pos;
  std::map<std::string, std::string> kv;

  const std::string& At(std::size_t i, const char* what) const {
    if (i >= pos.size()) Throw(std::string("missing ") + what);
    return pos[i];
  }
  std::string Get(const std::string& key, const std::string& fallback = "") const {
    auto it = kv.find(key);
    return it == kv.end() ? fallback : it->second;
  }
  bool Has(const std::string& key) const { return kv.count(key) > 0; }
};

Words Parse(const std::vector<std::string>& tokens) {
  Words w;
  for (const std::string& t : tokens) {
    const auto eq = t.find('=');
    if (eq == std::string::npos || eq == 0) {
      w.pos.push_back(t);
    } else {
      w.kv[t.substr(0, eq)] = t.substr(eq + 1);
    }
  }
  return w;
}

class Scenario {
 public:
  explicit Scenario(std::string path) : path_(std::move(path)) {}

  // Empty on success, else "file:line: message".
  std::string Run() {
    std::ifstream in(path_);
    if (!in) return path_ + ": cannot open";
    std::string text;
    int number = 0;
    try {
      for (; std::getline(in, text);) {
        ++number;
        std::vector<std::string> tokens;
        std::istringstream words(text);
        for (std::string t; words >> t;) {
          if (t[0] == '#') break;
          tokens.push_back(t);
        }
        if (tokens.empty()) continue;
        Line(tokens);
        CheckInvariants();
      }
      CheckReplay();
    } catch (const Failure& f) {
      return path_ + ":" + std::to_string(number) + ": " + f.what() + "\n  line: " + text;
    } catch (const CommandFailed& f) {
      return path_ + ":" + std::to_string(number) + ": command failed (" +
             ErrorCodeName(f.code) + ": " + f.what() + ")\n  line: " + text;
    }
    return "";
  }

 private:
  void Line(const std::vector<std::string>& tokens) {
    const std::string& verb = tokens[0];
    const Words w = Parse({tokens.begin() + 1, tokens.end()});
    if (verb == "seed") {
      if (engine_->last_seq() != 0) Throw("seed must come before anything else");
      seed_ = static_cast<std::uint64_t>(ParseInt(w.At(0, "seed")));
      engine_ = std::make_unique<Engine>(Options());
      engine_->SetTime(now_);
    } else if (verb == "phones") {
      // "phones required": voice only to agents whose SIP phone is registered (the server's
      // setting when SIP is on).
      if (engine_->last_seq() != 0) Throw("phones must come before anything else");
      if (w.At(0, "required") != "required") Throw("expected: phones required");
      phones_required_ = true;
      engine_ = std::make_unique<Engine>(Options());
      engine_->SetTime(now_);
    } else if (verb == "expect") {
      Expect(w);
    } else if (verb == "fail") {
      const std::string code = w.At(0, "error code");
      if (tokens.size() < 3) Throw("fail needs an error code and a command");
      const std::size_t before = log_.size();
      try {
        Command(tokens[2], Parse({tokens.begin() + 3, tokens.end()}));
      } catch (const CommandFailed& f) {
        if (code != ErrorCodeName(f.code))
          Throw("expected " + code + ", found " + ErrorCodeName(f.code) + " (" + f.what() + ")");
        Drain();
        if (log_.size() != before) Throw("a failed command emitted events");
        return;
      }
      Throw("expected the command to fail with " + code + ", but it succeeded");
    } else {
      Command(verb, w);
    }
  }

  // ---- commands ---------------------------------------------------------------------------

  void Command(const std::string& verb, const Words& w) {
    Engine& e = *engine_;
    if (verb == "tenant") {
      Tenant t;
      t.slug = t.name = w.At(0, "tenant name");
      if (w.Has("max_missed")) t.settings.max_missed_offers = ParseInt(w.Get("max_missed"));
      if (w.Has("lease")) t.settings.presence_lease = ParseDuration(w.Get("lease"));
      if (w.Has("breaks")) t.settings.break_reasons = Split(w.Get("breaks"), ',');
      tenant_ = tenants_[t.slug] = Check(e.CreateTenant(t));
    } else if (verb == "use") {
      tenant_ = TenantOf(w.At(0, "tenant"));
    } else if (verb == "skill") {
      for (const std::string& name : w.pos)
        skills_[{tenant_, name}] = Check(e.CreateSkill(Skill{0, tenant_, name}));
    } else if (verb == "disposition") {
      for (const std::string& code : w.pos)
        dispositions_[{tenant_, code}] = Check(e.CreateDisposition(Disposition{0, tenant_, code, code}));
    } else if (verb == "queue") {
      MakeQueue(w);
    } else if (verb == "agent") {
      MakeAgent(w);
    } else if (verb == "login") {
      e.Connected(UserOf(w.At(0, "agent")));
      SetPresence(w, Presence::kAvailable, "");
    } else if (verb == "ready") {
      SetPresence(w, Presence::kAvailable, "");
    } else if (verb == "break") {
      SetPresence(w, Presence::kBreak, w.At(1, "break reason"));
    } else if (verb == "logout") {
      SetPresence(w, Presence::kOffline, "logout");
    } else if (verb == "connect") {
      e.Connected(UserOf(w.At(0, "agent")));
    } else if (verb == "disconnect") {
      e.Disconnected(UserOf(w.At(0, "agent")));
    } else if (verb == "touch") {
      e.Touch(UserOf(w.At(0, "agent")));
    } else if (verb == "phone") {
      const std::string& state = w.At(1, "registered|unregistered");
      if (state != "registered" && state != "unregistered") Throw("phone NAME registered|unregistered");
      e.SetPhone(UserOf(w.At(0, "agent")), state == "registered");
    } else if (verb == "arrive" || verb == "callback") {
      Arrive(verb, w);
    } else if (verb == "accept") {
      Check(e.Accept(UserOf(w.At(0, "agent")), IxOf(w.At(1, "interaction"))));
    } else if (verb == "reject") {
      Check(e.Reject(UserOf(w.At(0, "agent")), IxOf(w.At(1, "interaction"))));
    } else if (verb == "end") {
      Check(e.EndContact(IxOf(w.At(0, "interaction")), w.pos.size() > 1 ? w.pos[1] : "hangup"));
    } else if (verb == "abandon") {
      Check(e.Abandon(IxOf(w.At(0, "interaction"))));
    } else if (verb == "wrapup") {
      const DispositionId d = w.pos.size() > 2 ? DispositionOf(w.pos[2]) : 0;
      Check(e.WrapUp(UserOf(w.At(0, "agent")), IxOf(w.At(1, "interaction")), d, w.Get("notes")));
    } else if (verb == "extend") {
      Check(e.ExtendWrapUp(UserOf(w.At(0, "agent")), IxOf(w.At(1, "interaction")),
                           ParseDuration(w.At(2, "duration"))));
    } else if (verb == "force") {
      Check(e.ForceComplete(UserOf(w.At(0, "supervisor")), IxOf(w.At(1, "interaction"))));
    } else if (verb == "transfer" && w.Has("agent")) {
      // transfer AGENT ID agent=TARGET as=NEWID: the call continues as NEWID
      const std::string name = w.Get("as");
      if (name.empty() || ixs_.count(name)) Throw("transfer to an agent needs a new name: as=NEWID");
      ixs_[name] = Check(e.TransferToAgent(UserOf(w.At(0, "agent")), IxOf(w.At(1, "interaction")),
                                           UserOf(w.Get("agent"))));
    } else if (verb == "transfer") {
      Check(e.Transfer(UserOf(w.At(0, "agent")), IxOf(w.At(1, "interaction")),
                       QueueOf(w.At(2, "queue"))));
    } else if (verb == "consult") {
      // consult AGENT ID agent=TARGET|queue=Q as=NEWID
      const std::string name = w.Get("as");
      if (name.empty() || ixs_.count(name)) Throw("a consultation needs a new name: as=NEWID");
      ixs_[name] = Check(e.Consult(UserOf(w.At(0, "agent")), IxOf(w.At(1, "interaction")),
                                   w.Has("agent") ? UserOf(w.Get("agent")) : 0,
                                   w.Has("queue") ? QueueOf(w.Get("queue")) : 0));
    } else if (verb == "complete_consult") {
      Check(e.CompleteConsult(UserOf(w.At(0, "agent")), IxOf(w.At(1, "consultation"))));
    } else if (verb == "close_consult") {
      Check(e.CloseConsult(IxOf(w.At(0, "interaction")), w.pos.size() > 1 ? w.pos[1] : "cancelled"));
    } else if (verb == "advance") {
      Advance(ParseDuration(w.At(0, "duration")));
    } else if (verb == "jump") {
      now_ += ParseDuration(w.At(0, "duration"));
      e.SetTime(now_);
      Drain();
      return;  // a command that arrives before the loop fires the timers now due
    } else if (verb == "restart") {
      Restart();
    } else {
      Throw("unknown command '" + verb + "'");
    }
    engine_->RunDue();  // as the server's loop does after each command
    Drain();
  }

  void MakeQueue(const Words& w) {
    Queue q;
    q.tenant = tenant_;
    q.name = w.At(0, "queue name");
    for (const std::string& s : Split(w.Get("skills"), ',')) {
      const auto parts = Split(s, ':');
      q.skills.push_back({SkillOf(parts[0]), parts.size() > 1 ? ParseInt(parts[1]) : 1});
    }
    for (const std::string& s : Split(w.Get("steps"), ',')) {
      const auto parts = Split(s, ':');
      if (parts.size() != 2) Throw("a step is AFTER:PROFICIENCY or AFTER:>QUEUE, not '" + s + "'");
      RelaxStep step{ParseDuration(parts[0]), 1, 0};
      if (parts[1][0] == '>') step.overflow_to = QueueOf(parts[1].substr(1));
      else step.min_proficiency = ParseInt(parts[1]);
      q.steps.push_back(step);
    }
    if (w.Has("strategy")) {
      auto s = ParseStrategy(w.Get("strategy"));
      if (!s) Throw("unknown strategy '" + w.Get("strategy") + "'");
      q.strategy = *s;
    }
    if (w.Has("offer_timeout")) q.offer_timeout = ParseDuration(w.Get("offer_timeout"));
    if (w.Has("wrapup")) q.wrapup = ParseDuration(w.Get("wrapup"));
    if (w.Has("wrapup_max")) q.wrapup_max_extension = ParseDuration(w.Get("wrapup_max"));
    if (w.Has("sl")) q.sl_threshold = ParseDuration(w.Get("sl"));
    if (w.Has("sl_target")) q.sl_target = std::stod(w.Get("sl_target"));
    if (w.Has("priority_step")) q.priority_step = ParseDuration(w.Get("priority_step"));
    queues_[{tenant_, q.name}] = Check(engine_->CreateQueue(q));
  }

  // agent NAME [SKILL=PROFICIENCY]... [CHANNEL=SLOTS]... [role=ROLE]
  void MakeAgent(const Words& w) {
    const std::string& name = w.At(0, "agent name");
    if (!users_.count(name)) {
      User u;
      u.login = u.name = name;
      users_[name] = Check(engine_->CreateUser(u));
    }
    Membership m;
    for (const auto& [key, value] : w.kv) {
      if (key == "role") {
        auto r = ParseRole(value);
        if (!r) Throw("unknown role '" + value + "'");
        m.role = *r;
      } else if (auto c = ParseChannel(key)) {
        m.capacity.slots[static_cast<int>(*c)] = static_cast<std::uint8_t>(ParseInt(value));
      } else {
        m.skills[SkillOf(key)] = ParseInt(value);
      }
    }
    Check(engine_->SetMember(tenant_, users_[name], m));
  }

  void SetPresence(const Words& w, Presence p, const std::string& reason) {
    const UserId u = UserOf(w.At(0, "agent"));
    TenantId t = w.Has("tenant") ? TenantOf(w.Get("tenant")) : engine_->AgentView(u).tenant;
    if (t == 0) t = tenant_;
    Check(engine_->SetPresence(u, t, p, reason, w.Has("force") || w.pos.back() == "force"));
  }

  // arrive ID QUEUE CHANNEL [priority=N] [origin=ID]  |  callback ID ORIGIN [QUEUE]
  void Arrive(const std::string& verb, const Words& w) {
    const std::string& name = w.At(0, "interaction name");
    if (ixs_.count(name)) Throw("interaction " + name + " exists");
    Engine::NewInteraction n;
    n.tenant = tenant_;
    if (verb == "callback") {
      n.channel = Channel::kCallback;
      n.origin = IxOf(w.At(1, "origin interaction"));
      n.queue = w.pos.size() > 2 ? QueueOf(w.pos[2]) : Ix(n.origin).queue;
      n.tenant = Ix(n.origin).tenant;
    } else {
      n.queue = QueueOf(w.At(1, "queue"));
      auto c = ParseChannel(w.At(2, "channel"));
      if (!c) Throw("unknown channel '" + w.pos[2] + "'");
      n.channel = *c;
      if (w.Has("origin")) n.origin = IxOf(w.Get("origin"));
    }
    if (w.Has("priority")) n.priority = ParseInt(w.Get("priority"));
    ixs_[name] = Check(engine_->CreateInteraction(std::move(n)));
  }

  void Advance(DurationMs d) {
    if (d < 0) Throw("time only moves forward");
    const TimeMs target = now_ + d;
    // Fire timers in their order, each at its own time, as the server's loop does.
    for (auto next = engine_->NextDeadline(); next && *next <= target;
         next = engine_->NextDeadline()) {
      engine_->SetTime(*next);
      engine_->RunDue();
      Drain();
    }
    now_ = target;
    engine_->SetTime(now_);
    engine_->RunDue();
  }

  void Drain() {
    for (Event& ev : engine_->TakeOutbox()) {
      if (ev.seq != log_.size() + 1) Throw("event seq " + std::to_string(ev.seq) + " out of order");
      log_.push_back(std::move(ev));
    }
  }

  // What the server does at start: decode the committed log into a fresh engine.
  std::unique_ptr<Engine> Replayed() const {
    auto fresh = std::make_unique<Engine>(Options());
    for (const Event& ev : log_) {
      const std::string type = TypeName(ev.body);
      auto body = DecodePayload(type, EncodePayload(ev.body));
      if (!body) Throw("event " + std::to_string(ev.seq) + " (" + type + ") does not decode: " +
                       body.error().message);
      Check(fresh->Replay(Event{ev.seq, ev.ts, ev.tenant, std::move(*body)}));
    }
    return fresh;
  }

  void Restart() {
    CheckReplay();
    engine_ = Replayed();
    engine_->SetTime(now_);
    engine_->Recover();
  }

  // ---- expectations -----------------------------------------------------------------------

  void Expect(const Words& w) {
    const std::string& what = w.At(0, "what to expect");
    if (what == "offer") {
      const Interaction& ix = Ix(IxOf(w.At(1, "interaction")));
      const std::string want = w.At(2, "agent");
      if (ix.state != InteractionState::kOffered || ix.agent != UserOf(want))
        Throw("expected " + w.pos[1] + " offered to " + want + ", found " + Describe(ix));
    } else if (what == "waiting") {
      const Interaction& ix = Ix(IxOf(w.At(1, "interaction")));
      if (ix.state != InteractionState::kQueued)
        Throw("expected " + w.pos[1] + " waiting, found " + Describe(ix));
      ExpectInteractionFields(ix, w);
    } else if (what == "evicted") {
      const std::string& name = w.At(1, "interaction");
      if (Find(IxOf(name)) != nullptr)
        Throw("expected " + name + " evicted, found " + Describe(*Find(IxOf(name))));
    } else if (what == "state") {
      const Interaction& ix = Ix(IxOf(w.At(1, "interaction")));
      const std::string want = w.At(2, "state");
      if (want != Name(ix.state)) Throw("expected " + w.pos[1] + " " + want + ", found " + Describe(ix));
      ExpectInteractionFields(ix, w);
    } else if (what == "agent") {
      ExpectAgent(w);
    } else if (what == "stat") {
      ExpectStats(w);
    } else {
      Throw("unknown expectation '" + what + "' (offer, waiting, state, evicted, agent, stat)");
    }
  }

  void ExpectInteractionFields(const Interaction& ix, const Words& w) {
    for (const auto& [key, want] : w.kv) {
      std::string found;
      if (key == "agent") found = UserName(ix.agent);
      else if (key == "queue") found = QueueName(ix.queue);
      else if (key == "reason") found = ix.reason;
      else if (key == "step") found = std::to_string(ix.step);
      else if (key == "waited") found = FormatDuration(engine_->now() - ix.enqueued_at);
      else if (key == "disposition") found = ix.disposition ? DispositionName(ix.disposition) : "-";
      else if (key == "forced_by") found = UserName(ix.forced_by);
      else Throw("unknown interaction field '" + key + "'");
      if (key == "waited" ? ParseDuration(want) != engine_->now() - ix.enqueued_at : found != want)
        Throw("expected " + key + "=" + want + ", found " + key + "=" + found + " (" + Describe(ix) + ")");
    }
  }

  // expect agent NAME ACTIVITY [presence=P] [reason=R] [tenant=T] [work=ID,ID|-] [misses=N]
  //   [contacts=N] [phone=registered|unregistered]
  void ExpectAgent(const Words& w) {
    const std::string& name = w.At(1, "agent");
    const Agent a = engine_->AgentView(UserOf(name));
    const std::string want = w.At(2, "activity");
    if (want != Name(a.activity)) Throw("expected agent " + name + " " + want + ", found " + DescribeAgent(a));
    for (const auto& [key, value] : w.kv) {
      std::string found;
      if (key == "presence") found = Name(a.presence);
      else if (key == "reason") found = a.reason;
      else if (key == "tenant") found = TenantName(a.tenant);
      else if (key == "misses") found = std::to_string(a.consecutive_misses);
      else if (key == "contacts") found = std::to_string(a.contacts_today);
      else if (key == "work") found = WorkOf(a);
      else if (key == "phone") found = a.phone ? "registered" : "unregistered";
      else Throw("unknown agent field '" + key + "'");
      if (found != value) Throw("expected agent " + name + " " + key + "=" + value + ", found " + key + "=" + found);
    }
  }

  // expect stat QUEUE [waiting=N] [longest=DUR] [entered=N] [answered=N] [abandoned=N]
  //   [handled=N] [sl=IN/BASE|FRACTION] [asa=DUR] [aht=DUR] [abandon_rate=A/B|FRACTION]
  //   [open=yes|no] [ACTIVITY=N]...
  void ExpectStats(const Words& w) {
    const std::string& queue = w.At(1, "queue");
    const QueueStats s = engine_->Stats(tenant_, QueueOf(queue));
    auto count = [&](const std::string& key, std::int64_t found, const std::string& want) {
      if (found != ParseInt(want))
        Throw("expected " + queue + " " + key + "=" + want + ", found " + std::to_string(found));
    };
    auto fraction = [&](const std::string& key, std::int64_t num, std::int64_t den, double found,
                        const std::string& want) {
      const auto slash = want.find('/');
      const std::string have = std::to_string(num) + "/" + std::to_string(den) + " (" +
                               std::to_string(found) + ")";
      const bool ok = slash == std::string::npos
                          ? std::fabs(std::stod(want) - found) < 1e-6
                          : num == ParseInt(want.substr(0, slash)) && den == ParseInt(want.substr(slash + 1));
      if (!ok) Throw("expected " + queue + " " + key + "=" + want + ", found " + have);
    };
    auto seconds = [&](const std::string& key, double found, const std::string& want) {
      if (std::fabs(ParseDuration(want) / 1000.0 - found) > 1e-6)
        Throw("expected " + queue + " " + key + "=" + want + ", found " + std::to_string(found) + "s");
    };
    for (const auto& [key, want] : w.kv) {
      if (key == "waiting") count(key, static_cast<std::int64_t>(s.waiting), want);
      else if (key == "longest") {
        if (ParseDuration(want) != s.longest_wait)
          Throw("expected " + queue + " longest=" + want + ", found " + FormatDuration(s.longest_wait));
      }
      else if (key == "entered") count(key, s.entered, want);
      else if (key == "answered") count(key, s.answered, want);
      else if (key == "abandoned") count(key, s.abandoned, want);
      else if (key == "handled") count(key, s.handled, want);
      else if (key == "sl")
        fraction(key, s.answered_in_sl, s.answered + s.abandoned - s.abandoned_in_sl, s.service_level, want);
      else if (key == "abandon_rate")
        fraction(key, s.abandoned, s.answered + s.abandoned, s.abandon_rate, want);
      else if (key == "asa") seconds(key, s.asa_s, want);
      else if (key == "aht") seconds(key, s.aht_s, want);
      else if (key == "open") {
        if ((want == "yes") != s.open) Throw("expected " + queue + " open=" + want);
      } else {
        int i = 0;
        while (i < kActivityCount && key != Name(static_cast<Activity>(i))) ++i;
        if (i == kActivityCount) Throw("unknown statistic '" + key + "'");
        count(key, s.agents[i], want);
      }
    }
  }

  // ---- invariants -------------------------------------------------------------------------

  void CheckInvariants() const {
    const Engine& e = *engine_;
    const TimeMs now = e.now();
    if (auto next = e.NextDeadline(); next && *next <= now) return;  // after `jump`
    for (const auto& [name, id] : ixs_) {
      if (Find(id) == nullptr) continue;  // finished and evicted
      const Interaction& ix = Ix(id);
      const bool held = ix.state == InteractionState::kOffered ||
                        ix.state == InteractionState::kConnected ||
                        ix.state == InteractionState::kWrapUp;
      if (held) {
        const Agent* a = e.FindAgent(ix.agent);
        if (a == nullptr || std::count(a->work.begin(), a->work.end(), id) != 1)
          Throw("invariant: " + name + " is " + Name(ix.state) + " with " + UserName(ix.agent) +
                ", who does not hold it");
      }
      if (ix.state == InteractionState::kOffered && ix.offer_expires <= now)
        Throw("invariant: the offer of " + name + " expired but is still pending");
      if (ix.state == InteractionState::kWrapUp && ix.wrapup_until != 0 && ix.wrapup_until <= now)
        Throw("invariant: the wrap-up of " + name + " timed out but is still running");
      if (ix.state == InteractionState::kQueued) CheckNobodyCouldTake(name, ix);
    }
    for (const auto& [name, u] : users_) {
      const Agent* a = e.FindAgent(u);
      if (a == nullptr) continue;
      for (InteractionId id : a->work) {
        const Interaction& ix = Ix(id);
        if (ix.agent != u || !ix.Live() || ix.state == InteractionState::kQueued)
          Throw("invariant: " + name + " holds " + IxName(id) + ", which is " + Describe(ix));
      }
      if (a->presence == Presence::kOffline && !a->work.empty())
        Throw("invariant: " + name + " is offline but holds " + WorkOf(*a));
      const Tenant* t = e.FindTenant(a->tenant);
      if (a->presence != Presence::kOffline && a->connections == 0 && t != nullptr &&
          a->last_seen + t->settings.presence_lease <= now)
        Throw("invariant: " + name + "'s lease expired but the agent is " + Name(a->presence));
    }
  }

  // Work conservation, checked from the configuration alone (not the engine's index).
  void CheckNobodyCouldTake(const std::string& name, const Interaction& ix) const {
    const Queue* q = engine_->FindQueue(ix.tenant, ix.queue);
    if (q == nullptr) return;
    int threshold = kMaxLevel;
    for (int i = 0; i < ix.step && i < static_cast<int>(q->steps.size()); ++i)
      if (q->steps[i].overflow_to == 0) threshold = q->steps[i].min_proficiency;
    for (const auto& [agent, u] : users_) {
      const Agent* a = engine_->FindAgent(u);
      const Membership* m = engine_->FindMember(ix.tenant, u);
      if (a == nullptr || m == nullptr || a->presence != Presence::kAvailable ||
          a->tenant != ix.tenant || m->role == Role::kAdmin)
        continue;
      if (std::count(ix.declined.begin(), ix.declined.end(), u)) continue;
      bool fits = true;
      for (const SkillRequirement& r : q->skills) {
        auto it = m->skills.find(r.skill);
        const int p = it == m->skills.end() ? 0 : it->second;
        fits = fits && p >= 1 && p >= std::min(r.min_proficiency, threshold);
      }
      std::array<int, kChannelCount> used{};
      bool exclusive = false;
      for (InteractionId id : a->work) {
        used[static_cast<int>(Ix(id).channel)]++;
        exclusive = exclusive || IsExclusive(Ix(id).channel);
      }
      const int c = static_cast<int>(ix.channel);
      int cap = m->capacity.slots[c];
      if (ix.channel == Channel::kVoice && phones_required_ && !a->phone) cap = 0;
      const bool free = IsExclusive(ix.channel) ? a->work.empty() && cap >= 1
                                                : !exclusive && used[c] < cap;
      if (fits && free)
        Throw("invariant: " + name + " waits in " + QueueName(ix.queue) + " while " + agent +
              " is available for it");
    }
  }

  // The state a restart would rebuild equals the live state.
  void CheckReplay() const {
    const auto fresh = Replayed();
    for (const auto& [name, id] : ixs_) {
      if (Find(id) == nullptr) continue;  // evicted live; replay alone does not evict
      const std::string live = Describe(Ix(id));
      const Interaction* r = fresh->FindInteraction(Ix(id).tenant, id);
      const std::string replayed = r ? Describe(*r) : "missing";
      if (live != replayed) Throw("replay differs for " + name + ": live " + live + ", replayed " + replayed);
    }
    for (const auto& [name, u] : users_) {
      const std::string live = DescribeAgent(engine_->AgentView(u));
      const std::string replayed = DescribeAgent(fresh->AgentView(u));
      if (live != replayed) Throw("replay differs for " + name + ": live " + live + ", replayed " + replayed);
    }
  }

  // ---- names ------------------------------------------------------------------------------

  template <typename Map, typename Key>
  static auto Lookup(const Map& m, const Key& key, const std::string& what, const std::string& name) {
    auto it = m.find(key);
    if (it == m.end()) Throw("unknown " + what + " '" + name + "'");
    return it->second;
  }
  template <typename Map>
  static std::string ReverseName(const Map& m, std::uint64_t id) {
    if (id == 0) return "-";
    for (const auto& [key, value] : m)
      if (value == id) {
        if constexpr (std::is_same_v<typename Map::key_type, std::string>) return key;
        else return key.second;
      }
    return "#" + std::to_string(id);
  }

  TenantId TenantOf(const std::string& n) const { return Lookup(tenants_, n, "tenant", n); }
  UserId UserOf(const std::string& n) const { return Lookup(users_, n, "agent", n); }
  SkillId SkillOf(const std::string& n) const { return Lookup(skills_, std::pair{tenant_, n}, "skill", n); }
  QueueId QueueOf(const std::string& n) const { return Lookup(queues_, std::pair{tenant_, n}, "queue", n); }
  DispositionId DispositionOf(const std::string& n) const {
    return Lookup(dispositions_, std::pair{tenant_, n}, "disposition", n);
  }
  InteractionId IxOf(const std::string& n) const { return Lookup(ixs_, n, "interaction", n); }
  std::string TenantName(TenantId id) const { return ReverseName(tenants_, id); }
  std::string UserName(UserId id) const { return ReverseName(users_, id); }
  std::string QueueName(QueueId id) const { return ReverseName(queues_, id); }
  std::string DispositionName(DispositionId id) const { return ReverseName(dispositions_, id); }
  std::string IxName(InteractionId id) const { return ReverseName(ixs_, id); }

  const Interaction* Find(InteractionId id) const {
    for (const auto& [name, t] : tenants_)
      if (const Interaction* ix = engine_->FindInteraction(t, id)) return ix;
    return nullptr;
  }
  const Interaction& Ix(InteractionId id) const {
    if (const Interaction* ix = Find(id)) return *ix;
    Throw("interaction " + IxName(id) + " is not in the engine");
  }

  std::string Describe(const Interaction& ix) const {
    std::string s = std::string(Name(ix.state)) + " in " + QueueName(ix.queue);
    if (ix.agent != 0) s += " with " + UserName(ix.agent);
    if (ix.state == InteractionState::kQueued) s += " at step " + std::to_string(ix.step);
    if (!ix.reason.empty()) s += " (" + ix.reason + ")";
    return s;
  }
  std::string WorkOf(const Agent& a) const {
    std::vector<std::string> names;
    for (InteractionId id : a.work) names.push_back(IxName(id));
    std::sort(names.begin(), names.end());
    std::string s;
    for (const std::string& n : names) s += (s.empty() ? "" : ",") + n;
    return s.empty() ? "-" : s;
  }
  std::string DescribeAgent(const Agent& a) const {
    std::string s = std::string(Name(a.activity)) + " (presence " + Name(a.presence);
    if (!a.reason.empty()) s += " " + a.reason;
    if (a.tenant != 0) s += ", tenant " + TenantName(a.tenant);
    return s + ", work " + WorkOf(a) + ")";
  }

  std::string path_;
  std::uint64_t seed_ = 1;
  bool phones_required_ = false;
  EngineOptions Options() const {
    EngineOptions o{seed_};
    o.voice_requires_phone = phones_required_;
    return o;
  }
  TimeMs now_ = kStart;
  std::unique_ptr<Engine> engine_ = [] {
    auto e = std::make_unique<Engine>();
    e->SetTime(kStart);
    return e;
  }();
  std::vector<Event> log_;
  TenantId tenant_ = 0;
  std::map<std::string, TenantId> tenants_;
  std::map<std::string, UserId> users_;
  std::map<std::pair<TenantId, std::string>, SkillId> skills_;
  std::map<std::pair<TenantId, std::string>, QueueId> queues_;
  std::map<std::pair<TenantId, std::string>, DispositionId> dispositions_;
  std::map<std::string, InteractionId> ixs_;
};

std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(HOMELINE_SCENARIO_DIR))
    if (entry.path().extension() == ".scn") out.push_back(entry.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

class ScenarioTest : public testing::TestWithParam<std::string> {};

TEST_P(ScenarioTest, Passes) {
  const std::string failure = Scenario(GetParam()).Run();
  if (!failure.empty()) ADD_FAILURE() << failure;
}

INSTANTIATE_TEST_SUITE_P(Scn, ScenarioTest, testing::ValuesIn(ScenarioFiles()),
                         [](const testing::TestParamInfo<std::string>& info) {
                           std::string name = std::filesystem::path(info.param).stem().string();
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
}  // namespace homeline::core
