#include "core/engine.h"

#include <algorithm>
#include <cassert>
#include <cstdio>

#include "core/wfm/forecast.h"  // dates and rules of calendar events

namespace homeline::core {

namespace {

std::int64_t DayOf(TimeMs t) { return t >= 0 ? t / kDay : (t - kDay + 1) / kDay; }

bool ValidSlug(const std::string& s, std::size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                    c == '.';
    if (!ok) return false;
  }
  return true;
}

// A tenant's skill names and disposition codes: slugs, unique within the tenant. `self` is the
// entity being renamed (0 when new), which may keep its own name.
template <typename T>
Status CheckName(const std::string& name, std::uint64_t self, const std::vector<const T*>& others,
                 std::string T::*field, const char* what) {
  if (!ValidSlug(name, 64))
    return Fail(ErrorCode::kBadRequest, std::string(what) + " must be 1-64 of a-z 0-9 - _ .");
  for (const T* o : others)
    if (o->*field == name && o->id != self)
      return Fail(ErrorCode::kConflict, std::string(what) + " '" + name + "' exists");
  return {};
}

// Level and ranking proficiency of a member in a queue (see routing_index.h).
QueueFit FitOf(const Queue& q, const Membership& m) {
  QueueFit fit{q.id, kMaxLevel, 0};
  if (q.skills.empty()) return fit;
  int prof = kMaxLevel;
  for (const SkillRequirement& req : q.skills) {
    auto it = m.skills.find(req.skill);
    const int p = it == m.skills.end() ? 0 : it->second;
    if (p <= 0) return QueueFit{q.id, 0, 0};
    prof = std::min(prof, p);
    if (p < req.min_proficiency) fit.level = static_cast<std::int8_t>(std::min<int>(fit.level, p));
  }
  fit.proficiency = static_cast<std::int8_t>(prof);
  return fit;
}

}  // namespace

const char* Name(Activity a) {
  switch (a) {
    case Activity::kOffline: return "offline";
    case Activity::kAvailable: return "available";
    case Activity::kBreak: return "break";
    case Activity::kMissed: return "missed";
    case Activity::kReserved: return "reserved";
    case Activity::kBusy: return "busy";
    case Activity::kWrapUp: return "wrap_up";
  }
  return "offline";
}

Engine::Engine(EngineOptions options) : options_(options), rng_(options.seed) {}
Engine::~Engine() = default;

// ---- time, timers, events --------------------------------------------------------------------

void Engine::SetTime(TimeMs now) { now_ = std::max(now_, now); }

std::optional<TimeMs> Engine::NextDeadline() const {
  std::optional<TimeMs> next;
  if (!timers_.empty()) next = timers_.top().due;
  if (!finished_.empty()) {
    const TimeMs evict = finished_.front().at + options_.finished_retention;
    if (!next || evict < *next) next = evict;
  }
  return next;
}

void Engine::RunDue() {
  while (!timers_.empty() && timers_.top().due <= now_) {
    Timer t = timers_.top();
    timers_.pop();
    FireTimer(t);
    Dispatch();
  }
  EvictFinished();
}

void Engine::NoteFinished(const Interaction& ix) { finished_.push_back({ix.finished_at, ix.id}); }

void Engine::EvictFinished() {
  while (!finished_.empty() && finished_.front().at + options_.finished_retention <= now_) {
    const Finished f = finished_.front();
    finished_.pop_front();
    auto it = interactions_.find(f.id);
    // Finished states are final; the check guards the invariant rather than a known case.
    if (it == interactions_.end() || it->second.Live() || it->second.finished_at != f.at) continue;
    assert(it->second.wait_handle == kNoHandle);
    if (ix_memo_ == &it->second) ix_memo_ = nullptr;
    interactions_.erase(it);
    chats_.erase(f.id);
    recorded_calls_.erase(f.id);
    number_consults_.erase(f.id);
  }
}

void Engine::TakeOutbox(std::vector<Event>* out) {
  out->clear();
  out->swap(outbox_);
}

std::vector<Event> Engine::TakeOutbox() {
  std::vector<Event> out;
  out.swap(outbox_);
  // No regrowth on the hot path (a regrowth moves every event): room for half as many
  // again as the last batch held.
  outbox_.reserve(std::max<std::size_t>(64, out.size() + out.size() / 2));
  return out;
}

void Engine::Schedule(Timer::Kind kind, TimeMs due, std::uint64_t a, std::int64_t b) {
  if (replaying_) return;  // Recover() schedules what survives
  const Timer t{due, ++timer_order_, kind, a, b};
  // Leases are pushed by hand at irregular delays; the others come with a few fixed ones.
  if (kind == Timer::kLease) {
    timers_.push(t);
  } else {
    timers_.push(t, due - now_);
  }
}

template <typename Body>
void Engine::Emit(TenantId t, Body&& body) {
  // Built in place in the outbox and applied from there: the event (with a new contact's
  // customer, subject and data) is moved once, never copied.
  static_assert(!std::is_lvalue_reference_v<Body>, "events are moved into the outbox");
  using B = std::decay_t<Body>;
  B& b = body;
  EmitFields<B>(t, std::move(b));
}

template <typename Body, typename... Fields>
void Engine::EmitFields(TenantId t, Fields&&... fields) {
  Event& e = outbox_.emplace_back(++seq_, now_, t, std::in_place_type<Body>,
                                  std::forward<Fields>(fields)...);
  ApplyBody(*std::get_if<Body>(&e.body), e.ts);  // the type is known: no visit
}

void Engine::EmitChat(TenantId t, ChatStarted b) { Emit(t, std::move(b)); }
void Engine::EmitChat(TenantId t, ChatMessage b) { Emit(t, std::move(b)); }
void Engine::EmitVoice(TenantId t, EventBody body) {
  std::visit([&](auto& b) { Emit(t, std::move(b)); }, body);
}

Status Engine::Replay(const Event& event) {
  if (event.seq != seq_ + 1) {
    return Fail(ErrorCode::kInternal, "event log gap: expected seq " + std::to_string(seq_ + 1) +
                                          ", got " + std::to_string(event.seq));
  }
  replaying_ = true;
  seq_ = event.seq;
  now_ = std::max(now_, event.ts);
  Apply(event);
  FlushReindex();
  dirty_agents_.clear();
  dirty_interactions_.clear();
  return {};
}

void Engine::Recover() {
  replaying_ = false;
  std::vector<InteractionId> live;
  for (const auto& [id, ix] : interactions_)
    if (ix.Live()) live.push_back(id);
  std::sort(live.begin(), live.end());
  for (InteractionId id : live) {
    const Interaction& ix = IxAt(id);
    const bool realtime = IsRealTime(ix.channel);
    switch (ix.state) {
      case InteractionState::kQueued:
        if (realtime) Emit(ix.tenant, Closed{id, "restart"});
        break;
      case InteractionState::kOffered:
        Emit(ix.tenant, OfferEnded{id, ix.agent, OfferResult::kWithdrawn});
        if (realtime) Emit(ix.tenant, Closed{id, "restart"});
        break;
      case InteractionState::kConnected:
        if (realtime) {
          Emit(ix.tenant, Closed{id, "restart"});
        } else {
          Emit(ix.tenant, InteractionMoved{id, ix.queue, "restart"});
        }
        break;
      case InteractionState::kWrapUp: {
        Completed c;
        c.id = id;
        c.timed_out = true;
        Emit(ix.tenant, std::move(c));
        break;
      }
      default: break;
    }
  }
  std::vector<UserId> online;
  for (const auto& [u, a] : agents_)
    if (a.presence != Presence::kOffline) online.push_back(u);
  std::sort(online.begin(), online.end());
  for (UserId u : online) {
    Emit(agents_.at(u).tenant, PresenceChanged{u, 0, Presence::kOffline, "restart"});
  }
  for (const auto& [id, ix] : interactions_)
    if (ix.state == InteractionState::kQueued) ScheduleStep(ix);
  RecoverCdrLegs();  // calls (and their recordings) died with the process
  Dispatch();
  EvictFinished();  // what the log still holds but retention is over for
}

// ---- apply: the only place state changes -----------------------------------------------------

void Engine::Apply(const Event& e) {
  std::visit([&](const auto& b) { ApplyBody(b, e.ts); }, e.body);
}

template <typename B>
void Engine::ApplyBody(const B& b, TimeMs t) {
  auto bump = [this](std::uint64_t id) { next_id_ = std::max(next_id_, id + 1); };
  if constexpr (std::is_same_v<B, TenantSet>) {
    auto [it, added] = tenants_.insert_or_assign(b.tenant->id, *b.tenant);
    auto& zone = tenant_zones_[b.tenant->id];
    if (!zone || zone->name() != b.tenant->settings.timezone) {
      // A name the lookup does not know (stored before it was checked, or a zone database
      // that lost it) replays as UTC rather than failing the log.
      zone = ResolveZone(b.tenant->settings.timezone, options_.zones);
      if (!zone) zone = TimeZone::Utc();
      if (!added) Rezone(b.tenant->id);
    }
    bump(b.tenant->id);
  } else if constexpr (std::is_same_v<B, UserSet>) {
    auto it = users_.find(b.user->id);
    if (it != users_.end()) user_by_login_.erase(it->second.login);
    users_[b.user->id] = *b.user;
    user_by_login_[b.user->login] = b.user->id;
    bump(b.user->id);
  } else if constexpr (std::is_same_v<B, UserSipSet>) {
    if (b.ha1.empty()) {
      sip_ha1_.erase(b.user);
    } else {
      sip_ha1_[b.user] = b.ha1;
    }
  } else if constexpr (std::is_same_v<B, MemberSet>) {
    members_[b.user][b.tenant] = *b.member;
    auto it = agents_.find(b.user);
    if (it != agents_.end() && it->second.tenant == b.tenant) {
      RecomputeFits(it->second);
      ReindexAgent(it->second);
      dirty_agents_.push_back(b.user);
    }
  } else if constexpr (std::is_same_v<B, MemberRemoved>) {
    auto it = members_.find(b.user);
    if (it != members_.end()) it->second.erase(b.tenant);
    auto ag = agents_.find(b.user);
    if (ag != agents_.end() && ag->second.tenant == b.tenant) {
      RecomputeFits(ag->second);
      ReindexAgent(ag->second);
    }
  } else if constexpr (std::is_same_v<B, SkillSet>) {
    skills_[b.skill.id] = b.skill;
    bump(b.skill.id);
  } else if constexpr (std::is_same_v<B, SkillDeleted>) {
    skills_.erase(b.skill);
    for (auto& [u, per_tenant] : members_) {
      auto it = per_tenant.find(b.tenant);
      if (it != per_tenant.end()) it->second.skills.erase(b.skill);
    }
  } else if constexpr (std::is_same_v<B, QueueSet>) {
    const Queue& queue = *b.queue;
    const bool existed = queues_.count(queue.id) > 0;
    std::vector<InteractionId> waiting;
    if (existed) index_.ForEachWaiting(queue.id, [&](InteractionId id) {
      waiting.push_back(id);
    });
    for (InteractionId id : waiting) UnfileWaiting(IxAt(id));
    Queue& stored = queues_[queue.id];
    stored = queue;
    bump(queue.id);
    const QueueSlot slot = RefreshQueueSteps(queue);
    queue_by_id_[queue.id] = QueueRef{&stored, &day_stats_[queue.id], slot};
    for (InteractionId id : waiting) {
      FileWaiting(IxAt(id));
      dirty_interactions_.push_back(id);
    }
    RecomputeTenantFits(queue.tenant);
  } else if constexpr (std::is_same_v<B, QueueDeleted>) {
    if (queue_memo_ != nullptr && queue_memo_->queue->id == b.queue) queue_memo_ = nullptr;
    queues_.erase(b.queue);
    queue_by_id_.erase(b.queue);
    queue_voice_.erase(b.queue);
    index_.RemoveQueue(b.queue);
    RecomputeTenantFits(b.tenant);
  } else if constexpr (std::is_same_v<B, HoursSet>) {
    hours_[b.hours->id] = *b.hours;
    if (b.hours->timezone.empty()) {
      hours_zones_.erase(b.hours->id);
    } else {
      auto zone = ResolveZone(b.hours->timezone, options_.zones);
      hours_zones_[b.hours->id] = zone ? std::move(zone) : TimeZone::Utc();
    }
    bump(b.hours->id);
  } else if constexpr (std::is_same_v<B, HoursDeleted>) {
    hours_.erase(b.hours);
    hours_zones_.erase(b.hours);
  } else if constexpr (std::is_same_v<B, DispositionSet>) {
    auto [it, added] = dispositions_.insert_or_assign(b.disposition->id, *b.disposition);
    if (added) disposition_count_[b.disposition->tenant]++;
    bump(b.disposition->id);
  } else if constexpr (std::is_same_v<B, DispositionDeleted>) {
    if (dispositions_.erase(b.disposition) > 0) disposition_count_[b.tenant]--;
  } else if constexpr (std::is_same_v<B, SessionCreated>) {
    sessions_[b.token_hash] = Session{b.user, b.expires};
  } else if constexpr (std::is_same_v<B, SessionRevoked>) {
    sessions_.erase(b.token_hash);
  } else if constexpr (std::is_same_v<B, PresenceChanged>) {
    Agent& a = AgentOf(b.user);
    RollDay(a);
    a.tenant = b.presence == Presence::kOffline ? 0 : b.tenant;
    RollDay(a);  // working for another tenant: its zone cuts the day from now on
    if (b.presence == Presence::kAvailable && a.presence != Presence::kAvailable) {
      a.consecutive_misses = 0;
      if (a.work.empty()) a.idle_since = t;
    }
    a.presence = b.presence;
    a.reason = b.reason;
    a.presence_since = t;
    if (b.presence != Presence::kOffline && a.last_seen < t) a.last_seen = t;
    RecomputeFits(a);
    ReindexAgent(a);
    UpdateActivity(a);
    dirty_agents_.push_back(b.user);
    if (b.presence != Presence::kOffline && a.connections == 0) {
      Tenant* tn = tenants_.count(b.tenant) ? &tenants_[b.tenant] : nullptr;
      const DurationMs lease = tn ? tn->settings.presence_lease : 120 * kSecond;
      Schedule(Timer::kLease, a.last_seen + lease, b.user, 0);
    }
  } else if constexpr (std::is_same_v<B, InteractionCreated>) {
    bump(b.id);
    // Built in place: an Interaction is large and owns strings.
    Interaction& ix = interactions_.try_emplace(b.id).first->second;
    ix.id = b.id;
    ix.tenant = b.tenant;
    ix.channel = b.channel;
    ix.queue = b.queue;
    ix.priority = b.priority;
    ix.text = b.text;  // the event's block, shared (usually none)
    ix.origin = b.origin;
    ix.created_at = t;
    ix.enqueued_at = b.enqueued_at;
    ix.queued_at = t;
    ix.directed = b.directed;
    ix.consult = b.consult;
    if (b.consult) open_consults_[b.origin] = b.id;
    StatsOf(b.queue).entered++;
    if (ix.directed == 0) {
      FileWaiting(ix);
      dirty_interactions_.push_back(b.id);
      ScheduleStep(ix);
    }  // else: its offer follows in the same command (Continue), outside the line
  } else if constexpr (std::is_same_v<B, OutboundStarted>) {
    bump(b.id);
    Interaction& ix = interactions_.try_emplace(b.id).first->second;
    ix.id = b.id;
    ix.tenant = b.tenant;
    ix.channel = Channel::kVoice;
    ix.queue = b.queue;
    ix.text = b.text;
    ix.outbound = true;
    ix.created_at = t;
    ix.enqueued_at = t;
    ix.queued_at = t;
    ix.state = InteractionState::kConnected;
    ix.agent = b.agent;
    ix.answered_at = t;
    Agent& a = AgentOf(b.agent);
    RollDay(a);
    AddWork(a, ix);
    a.contacts_today++;
    ReindexAgent(a);
    UpdateActivity(a);
  } else if constexpr (std::is_same_v<B, InteractionMoved>) {
    Interaction& ix = IxAt(b.id);
    if (ix.state == InteractionState::kQueued) {
      UnfileWaiting(ix);
    } else if (ix.agent != 0) {
      Agent& a = AgentOf(ix.agent);
      RemoveWork(a, ix);
      if (b.reason == "transfer") ix.declined.push_back(ix.agent);
      if (ix.state == InteractionState::kConnected && b.reason == "transfer") {
        a.talk_today += t - ix.answered_at;
      }
      ReindexAgent(a);
      UpdateActivity(a);
      dirty_agents_.push_back(a.user);
    }
    const bool new_queue = ix.queue != b.queue;
    ix.queue = b.queue;
    ix.state = InteractionState::kQueued;
    ix.agent = 0;
    ix.reason = b.reason;
    if (new_queue) {
      ix.queued_at = t;
      ix.step = 0;
      StatsOf(b.queue).entered++;
    }
    FileWaiting(ix);
    dirty_interactions_.push_back(b.id);
    ScheduleStep(ix);
  } else if constexpr (std::is_same_v<B, InteractionStepped>) {
    Interaction& ix = IxAt(b.id);
    UnfileWaiting(ix);
    ix.step = b.step;
    FileWaiting(ix);
    dirty_interactions_.push_back(b.id);
    ScheduleStep(ix);
  } else if constexpr (std::is_same_v<B, Offered>) {
    Interaction& ix = IxAt(b.id);
    UnfileWaiting(ix);
    ix.state = InteractionState::kOffered;
    ix.agent = b.agent;
    ix.offer_expires = b.expires;
    Agent& a = AgentOf(b.agent);
    RollDay(a);
    AddWork(a, ix);
    NoteOffer(a, ix.queue);
    // An agent pulling contacts (RouteAgent) may take several in a row; its entries
    // are settled once it is done, before any contact looks for an agent (Dispatch).
    if (routing_agents_) {
      DeferReindex(a);
    } else {
      ReindexAgent(a);
    }
    UpdateActivity(a);
    Schedule(Timer::kOfferExpiry, b.expires, b.id, b.expires);
  } else if constexpr (std::is_same_v<B, OfferEnded>) {
    Interaction& ix = IxAt(b.id);
    Agent& a = AgentOf(b.agent);
    RemoveWork(a, ix);
    if (b.result == OfferResult::kExpired) a.consecutive_misses++;
    if (b.result != OfferResult::kWithdrawn) ix.declined.push_back(b.agent);
    ix.state = InteractionState::kQueued;
    ix.agent = 0;
    ix.offer_expires = 0;
    if (ix.directed != 0 && ix.consult) {
      // A consultation asked of one agent ends with that offer: RouteInteraction closes it
      // in the same command, it never waits in line.
    } else {
      ix.directed = 0;  // a transferred call goes back in line, keeping its place
      FileWaiting(ix);
      ScheduleStep(ix);  // a step that fell due during the offer applies now
    }
    ReindexAgent(a);
    UpdateActivity(a);
    dirty_interactions_.push_back(b.id);
    dirty_agents_.push_back(b.agent);
  } else if constexpr (std::is_same_v<B, Accepted>) {
    Interaction& ix = IxAt(b.id);
    SetHeldState(AgentOf(ix.agent), ix, InteractionState::kConnected);
    ix.answered_at = t;
    const Queue* q = QueueById(ix.queue);
    DayStats& s = StatsOf(ix.queue);
    s.answered++;
    s.wait_answered_sum += t - ix.queued_at;
    if (q == nullptr || t - ix.queued_at <= q->sl_threshold) s.answered_in_sl++;
    Agent& a = AgentOf(b.agent);
    RollDay(a);
    a.consecutive_misses = 0;
    a.contacts_today++;
    ReindexAgent(a);
    UpdateActivity(a);
  } else if constexpr (std::is_same_v<B, ContactEnded>) {
    Interaction& ix = IxAt(b.id);
    SetHeldState(AgentOf(ix.agent), ix, InteractionState::kWrapUp);
    ix.contact_ended_at = t;
    ix.reason = b.reason;
    const Queue* q = QueueById(ix.queue);
    ix.wrapup_until = (q != nullptr && q->wrapup > 0) ? t + q->wrapup : 0;
    Agent& a = AgentOf(ix.agent);
    RollDay(a);
    a.talk_today += t - ix.answered_at;
    // least_talk_time ranks by talk_today; the agent gains no room, so its entries may wait
    // for the command's Dispatch (which flushes before any contact looks for an agent).
    DeferReindex(a);
    UpdateActivity(a);
    if (ix.wrapup_until != 0 && !skip_wrapup_timer_)
      Schedule(Timer::kWrapUpEnd, ix.wrapup_until, b.id, ix.wrapup_until);
    if (auto open = open_consults_.find(b.id); open != open_consults_.end()) {
      // Completed (CompleteConsult): the consultation is the customer's call from now on.
      // Otherwise (the call ended under it) it stays open until closed.
      if (b.reason == "transferred") {
        IxAt(open->second).consult = false;
        open_consults_.erase(open);
      }
    }
  } else if constexpr (std::is_same_v<B, WrapUpExtended>) {
    Interaction& ix = IxAt(b.id);
    ix.wrapup_until = b.until;
    Schedule(Timer::kWrapUpEnd, b.until, b.id, b.until);
  } else if constexpr (std::is_same_v<B, Completed>) {
    Interaction& ix = IxAt(b.id);
    Agent& a = AgentOf(ix.agent);
    RemoveWork(a, ix);
    if (ix.consult) open_consults_.erase(ix.origin);
    ix.state = InteractionState::kCompleted;
    ix.finished_at = t;
    NoteFinished(ix);
    ix.disposition = b.disposition;
    if (!b.notes.empty() || !ix.notes.empty()) ix.notes = b.notes;
    ix.forced_by = b.forced_by;
    if (b.timed_out) ix.reason = "wrap_up_timeout";
    if (!ix.outbound) {
      DayStats& s = StatsOf(ix.queue);
      s.handled++;
      s.handle_sum += t - ix.answered_at;
    }
    if (a.work.empty()) a.idle_since = t;
    // The agent only gains free slots: its index entries may wait until it has pulled
    // its next contact (Dispatch), which usually takes the slots again.
    DeferReindex(a);
    UpdateActivity(a);
    dirty_agents_.push_back(a.user);
  } else if constexpr (std::is_same_v<B, Abandoned>) {
    Interaction& ix = IxAt(b.id);
    // Only a queued or offered contact is abandoned; an offer gone is no work done, so the
    // agent's idle time runs on (as when an offer ends).
    TakeOffHands(ix, std::nullopt);
    if (ix.consult) open_consults_.erase(ix.origin);
    ix.state = InteractionState::kAbandoned;
    ix.finished_at = t;
    NoteFinished(ix);
    ix.agent = 0;
    const Queue* q = QueueById(ix.queue);
    DayStats& s = StatsOf(ix.queue);
    s.abandoned++;
    if (q != nullptr && t - ix.queued_at <= q->sl_threshold) s.abandoned_in_sl++;
  } else if constexpr (std::is_same_v<B, Closed>) {
    Interaction& ix = IxAt(b.id);
    TakeOffHands(ix, t);
    if (ix.consult) open_consults_.erase(ix.origin);
    ix.state = InteractionState::kClosed;
    ix.finished_at = t;
    NoteFinished(ix);
    ix.reason = b.reason;
  } else if constexpr (std::is_same_v<B, ChatStarted>) {
    ApplyChat(b);
  } else if constexpr (std::is_same_v<B, ChatMessage>) {
    ApplyChat(b, t);
  } else if constexpr (std::is_same_v<B, ScheduleStored> || std::is_same_v<B, SchedulePublished>) {
    ApplySchedule(b, t);
  } else if constexpr (std::is_same_v<B, CalendarEventSet>) {  // workforce management
    calendar_[b.event->id] = *b.event;
    bump(b.event->id);
  } else if constexpr (std::is_same_v<B, CalendarEventDeleted>) {
    calendar_.erase(b.id);
  } else if constexpr (std::is_same_v<B, TrunkSet> || std::is_same_v<B, TrunkDeleted> ||
                       std::is_same_v<B, NumberSet> || std::is_same_v<B, NumberDeleted> ||
                       std::is_same_v<B, QueueVoiceSet> || std::is_same_v<B, IvrMenuSet> ||
                       std::is_same_v<B, IvrMenuDeleted>) {  // voice (engine_voice.cc)
    ApplyVoice(b);
  } else if constexpr (std::is_same_v<B, CdrLegStarted> || std::is_same_v<B, CdrLegAnswered> ||
                       std::is_same_v<B, CdrLegEnded> || std::is_same_v<B, RecordingStarted> ||
                       std::is_same_v<B, RecordingPaused> || std::is_same_v<B, RecordingEnded> ||
                       std::is_same_v<B, MonitorStarted> || std::is_same_v<B, MonitorChanged> ||
                       std::is_same_v<B, MonitorEnded> || std::is_same_v<B, CallHold> ||
                       std::is_same_v<B, NumberConsultStarted> ||
                       std::is_same_v<B, NumberConsultAnswered> ||
                       std::is_same_v<B, NumberConsultEnded>) {
    ApplyVoice(b, t);
  }
}

// ---- routing ---------------------------------------------------------------------------------

void Engine::Dispatch() {
  if (replaying_) return;
  // Each pass may dirty more (an offer changes an agent); bounded because every offer removes
  // a waiting contact or fills an agent slot. Agents first: a freed agent picks the best
  // contact over all its queues, and its deferred index entries are settled (FlushReindex)
  // before any contact looks for an agent.
  while (!dirty_interactions_.empty() || !dirty_agents_.empty()) {
    dirty_agents_scratch_.clear();
    dirty_agents_scratch_.swap(dirty_agents_);
    routing_agents_ = true;
    for (UserId u : dirty_agents_scratch_) RouteAgent(u);
    routing_agents_ = false;
    FlushReindex();
    dirty_interactions_scratch_.clear();
    dirty_interactions_scratch_.swap(dirty_interactions_);
    for (InteractionId id : dirty_interactions_scratch_) RouteInteraction(id);
  }
  FlushReindex();
}

void Engine::DeferReindex(const Agent& a) {
  if (std::find(reindex_later_.begin(), reindex_later_.end(), a.user) == reindex_later_.end())
    reindex_later_.push_back(a.user);
}

void Engine::FlushReindex() {
  for (UserId u : reindex_later_) ReindexAgent(agents_.at(u));
  reindex_later_.clear();
}

void Engine::RouteInteraction(InteractionId id) {
  auto it = interactions_.find(id);
  if (it == interactions_.end() || it->second.state != InteractionState::kQueued) return;
  const Interaction& ix = it->second;
  if (ix.directed != 0) {
    // Only a consultation whose one offer ended is queued and directed (see OfferEnded).
    Emit(ix.tenant, Closed{id, "consult_failed"});
    return;
  }
  const QueueRef* ref = QueueRefOf(ix.queue);
  if (ref == nullptr) return;
  const Queue* q = ref->queue;
  auto agent = index_.BestAgent(ref->slot, ix.channel, ix.step, [&](UserId u) {
    return std::find(ix.declined.begin(), ix.declined.end(), u) != ix.declined.end();
  });
  if (!agent) return;
  Emit(ix.tenant, Offered{id, *agent, now_ + q->offer_timeout});
}

void Engine::RouteAgent(UserId u) {
  auto it = agents_.find(u);
  if (it == agents_.end()) return;
  Agent& a = it->second;
  unsigned mask = FreeChannels(a);
  if (mask == 0) return;
  auto declined = [&](InteractionId id) {
    const auto& d = IxAt(id).declined;
    return std::find(d.begin(), d.end(), u) != d.end();
  };
  std::array<std::optional<WaitKey>, kChannelCount> best{};
  index_.BestWaiting(a.fits, mask, declined, best);
  for (int guard = 0; guard < 64; ++guard) {
    int pick = -1;
    for (int c = 0; c < kChannelCount; ++c) {
      if ((mask & (1u << c)) != 0 && best[c] && (pick < 0 || *best[c] < *best[pick])) pick = c;
    }
    if (pick < 0) return;
    const Interaction& ix = IxAt(best[pick]->id);
    Emit(ix.tenant, Offered{ix.id, u, now_ + QueueById(ix.queue)->offer_timeout});
    // The offer took one contact off one line and gave the agent work: no channel becomes
    // free and no other line changed, so only the line of the channel taken is looked at
    // again.
    mask &= FreeChannels(a);
    if ((mask & (1u << pick)) == 0) continue;
    best[pick].reset();
    index_.BestWaiting(a.fits, 1u << pick, declined, best);
  }
}

void Engine::FireTimer(const Timer& t) {
  switch (t.kind) {
    case Timer::kOfferExpiry: {
      auto it = interactions_.find(t.a);
      if (it == interactions_.end()) return;
      Interaction& ix = it->second;
      if (ix.state != InteractionState::kOffered || ix.offer_expires != t.b) return;
      const UserId agent = ix.agent;
      Emit(ix.tenant, OfferEnded{ix.id, agent, OfferResult::kExpired});
      Agent& a = AgentOf(agent);
      const Tenant* tn = FindTenant(ix.tenant);
      const int max_missed = tn ? tn->settings.max_missed_offers : 3;
      if (max_missed > 0 && a.consecutive_misses >= max_missed &&
          a.presence == Presence::kAvailable) {
        WithdrawOffers(a);
        Emit(ix.tenant, PresenceChanged{agent, a.tenant, Presence::kMissed, "missed_offers"});
      }
      return;
    }
    case Timer::kStep: {
      auto it = interactions_.find(t.a);
      if (it == interactions_.end()) return;
      Interaction& ix = it->second;
      if (ix.state != InteractionState::kQueued || ix.step != t.b) return;
      const Queue* q = QueueById(ix.queue);
      if (q == nullptr || ix.step >= static_cast<int>(q->steps.size())) return;
      const RelaxStep& step = q->steps[ix.step];
      if (step.overflow_to != 0 && queues_.count(step.overflow_to) &&
          queues_.at(step.overflow_to).tenant == ix.tenant) {
        Emit(ix.tenant, InteractionMoved{ix.id, step.overflow_to, "overflow"});
      } else {
        Emit(ix.tenant, InteractionStepped{ix.id, ix.step + 1});
      }
      return;
    }
    case Timer::kWrapUpEnd: {
      auto it = interactions_.find(t.a);
      if (it == interactions_.end()) return;
      Interaction& ix = it->second;
      if (ix.state != InteractionState::kWrapUp || ix.wrapup_until != t.b) return;
      Completed c;
      c.id = ix.id;
      c.timed_out = true;
      Emit(ix.tenant, std::move(c));
      return;
    }
    case Timer::kLease: {
      auto it = agents_.find(t.a);
      if (it == agents_.end()) return;
      Agent& a = it->second;
      if (a.presence == Presence::kOffline || a.connections > 0) return;
      const Tenant* tn = FindTenant(a.tenant);
      const DurationMs lease = tn ? tn->settings.presence_lease : 120 * kSecond;
      if (a.last_seen + lease > now_) {
        Schedule(Timer::kLease, a.last_seen + lease, a.user, 0);
        return;
      }
      const TenantId tenant = a.tenant;
      ReleaseWork(a, "lease_expired");
      Emit(tenant, PresenceChanged{a.user, tenant, Presence::kOffline, "lease_expired"});
      return;
    }
  }
}

void Engine::WithdrawOffers(Agent& a) {
  const std::vector<InteractionId> work = a.work;
  for (InteractionId id : work) {
    const Interaction& ix = IxAt(id);
    if (ix.state == InteractionState::kOffered)
      Emit(ix.tenant, OfferEnded{id, a.user, OfferResult::kWithdrawn});
  }
}

void Engine::ReleaseWork(Agent& a, const std::string& reason) {
  const std::vector<InteractionId> work = a.work;
  for (InteractionId id : work) {
    const Interaction& ix = IxAt(id);
    switch (ix.state) {
      case InteractionState::kOffered:
        Emit(ix.tenant, OfferEnded{id, a.user, OfferResult::kWithdrawn});
        break;
      case InteractionState::kConnected:
        Emit(ix.tenant, InteractionMoved{id, ix.queue, reason});
        break;
      case InteractionState::kWrapUp: {
        Completed c;
        c.id = id;
        c.timed_out = true;
        Emit(ix.tenant, std::move(c));
        break;
      }
      default: break;
    }
  }
}

// ---- index maintenance -----------------------------------------------------------------------

void Engine::FileWaiting(Interaction& ix) {
  const QueueRef* ref = QueueRefOf(ix.queue);
  if (ref == nullptr) return;
  const Queue* q = ref->queue;
  ix.score = ix.enqueued_at - ix.priority * q->priority_step;
  const int max_step = static_cast<int>(q->steps.size());
  ix.step = std::clamp(ix.step, 0, max_step);
  if (ix.wait_handle != kNoHandle) index_.RemoveWaiting(ix.wait_handle);
  ix.wait_handle = index_.AddWaiting(ref->slot, ix.channel, ix.step, WaitKey{ix.score, ix.id},
                                     !ix.declined.empty());
}

void Engine::UnfileWaiting(Interaction& ix) {
  index_.RemoveWaiting(ix.wait_handle);
  ix.wait_handle = kNoHandle;
}

void Engine::ScheduleStep(const Interaction& ix) {
  const Queue* q = QueueById(ix.queue);
  if (q == nullptr || ix.step >= static_cast<int>(q->steps.size())) return;
  Schedule(Timer::kStep, ix.queued_at + q->steps[ix.step].after, ix.id, ix.step);
}

const Engine::QueueRef* Engine::QueueRefOf(QueueId id) const {
  if (queue_memo_ != nullptr && queue_memo_->queue->id == id) return queue_memo_;
  auto it = queue_by_id_.find(id);
  if (it == queue_by_id_.end()) return nullptr;
  queue_memo_ = &it->second;
  return queue_memo_;
}

const Queue* Engine::QueueById(QueueId id) const {
  const QueueRef* r = QueueRefOf(id);
  return r == nullptr ? nullptr : r->queue;
}

QueueSlot Engine::RefreshQueueSteps(const Queue& q) {
  std::vector<int> thresholds{kMaxLevel};
  for (const RelaxStep& s : q.steps) {
    thresholds.push_back(s.overflow_to != 0 ? thresholds.back()
                                            : std::clamp(s.min_proficiency, 1, kMaxLevel));
  }
  return index_.SetQueue(q.id, std::move(thresholds), q.strategy);
}

void Engine::RecomputeFits(Agent& a) {
  a.fits.clear();
  a.fits_version++;
  a.random_fits = false;
  a.round_robin_fits = false;
  a.capacity = Capacity{{}};
  if (a.tenant == 0) return;
  const Membership* m = FindMember(a.tenant, a.user);
  if (m == nullptr) return;
  a.capacity = m->capacity;
  for (const auto& [id, q] : queues_) {
    if (q.tenant != a.tenant) continue;
    QueueFit fit = FitOf(q, *m);
    fit.strategy = q.strategy;
    const auto slot = index_.SlotOf(id);
    if (fit.level < 1 || !slot) continue;
    fit.slot = *slot;
    a.fits.push_back(fit);
    a.random_fits = a.random_fits || fit.strategy == Strategy::kRandom;
    a.round_robin_fits = a.round_robin_fits || fit.strategy == Strategy::kRoundRobin;
  }
}

void Engine::RecomputeTenantFits(TenantId t) {
  for (auto& [u, a] : agents_) {
    if (a.tenant != t) continue;
    RecomputeFits(a);
    ReindexAgent(a);
    dirty_agents_.push_back(u);
  }
}

unsigned Engine::FreeChannels(const Agent& a) const {
  if (a.presence != Presence::kAvailable || a.tenant == 0) return 0;
  unsigned mask = 0;
  for (int c = 0; c < kChannelCount; ++c) {
    const Channel ch = static_cast<Channel>(c);
    if (IsExclusive(ch) && a.used[c] > 0) return 0;  // a call takes the whole agent
    int cap = a.capacity[ch];
    if (ch == Channel::kVoice && options_.voice_requires_phone && !a.phone) cap = 0;
    const bool free = IsExclusive(ch) ? (a.work.empty() && cap >= 1) : a.used[c] < cap;
    if (free) mask |= 1u << c;
  }
  return mask;
}

std::int64_t Engine::FixedKey(const Agent& a, const QueueFit& fit) const {
  switch (fit.strategy) {
    case Strategy::kBestProficiency: return -fit.proficiency;
    case Strategy::kRoundRobin: {
      auto it = std::lower_bound(a.last_offer.begin(), a.last_offer.end(), fit.queue,
                                 [](const auto& e, QueueId q) { return e.first < q; });
      return it == a.last_offer.end() || it->first != fit.queue
                 ? 0
                 : static_cast<std::int64_t>(it->second);
    }
    default: return 0;  // random: drawn in ReindexAgent
  }
}

void Engine::ReindexAgent(Agent& a) {
  const unsigned mask = FreeChannels(a);
  const Agent::IndexedBy by{mask, a.fits_version, a.idle_since, a.contacts_today, a.talk_today};
  if (by == a.indexed_by && !a.random_fits) return;  // nothing the index knows changed
  if (a.index_ref == RoutingIndex::kNoAgent) a.index_ref = index_.AddAgent(a.user);
  const Agent::IndexedBy was = a.indexed_by;
  a.indexed_by = by;
  // O(1) however many queues the agent serves: its entries share these figures.
  index_.SetAgent(a.index_ref, mask, a.idle_since, a.contacts_today, a.talk_today);
  if (by.fits != was.fits) {
    // New queues, levels or capacity: one entry per queue served if the agent has capacity
    // for some channel; the index files them if it has room now.
    for (const Agent::Entry& e : a.entries) index_.RemoveAvailable(e.handle);
    a.entries.clear();
    bool capacity = false;
    for (int c = 0; c < kChannelCount; ++c)
      capacity = capacity || a.capacity[static_cast<Channel>(c)] > 0;
    for (std::uint32_t f = 0; capacity && f < a.fits.size(); ++f) {
      const QueueFit& fit = a.fits[f];
      const IndexHandle h = index_.AddAvailable(fit.queue, fit.level, a.index_ref, fit.strategy,
                                                FixedKey(a, fit));
      a.entries.push_back(Agent::Entry{fit.queue, fit.level, h, f});
    }
  } else {
    // Room again: file what the index dropped while the agent was full.
    if (was.mask == 0 && mask != 0) index_.RefileDropped(a.index_ref);
    // A new day: counts start again from zero, keys got smaller.
    if (a.contacts_today < was.contacts || a.talk_today < was.talk) {
      for (const Agent::Entry& e : a.entries) index_.Resift(e.handle);
    }
  }
  if (a.random_fits && mask != 0) {
    // A new draw per queue on every reindex (the random strategy's rank).
    for (const Agent::Entry& e : a.entries) {
      if (a.fits[e.fit].strategy == Strategy::kRandom)
        index_.SetFixed(e.handle, static_cast<std::int64_t>(rng_() >> 1));
    }
  }
}

void Engine::NoteOffer(Agent& a, QueueId q) {
  ++offer_counter_;
  auto last = std::lower_bound(a.last_offer.begin(), a.last_offer.end(), q,
                               [](const auto& e, QueueId id) { return e.first < id; });
  if (last != a.last_offer.end() && last->first == q) {
    last->second = offer_counter_;
  } else {
    a.last_offer.insert(last, {q, offer_counter_});
  }
  // Round robin ranks by the queue's last offer: only that queue's entries change (a later
  // offer only makes the key bigger, which the index takes lazily). A queue's entries rank by
  // its strategy (fits are recomputed when it changes).
  if (!a.round_robin_fits) return;
  const Queue* queue = QueueById(q);
  if (queue == nullptr || queue->strategy != Strategy::kRoundRobin) return;
  auto it = std::lower_bound(a.entries.begin(), a.entries.end(), q,
                             [](const Agent::Entry& e, QueueId id) { return e.queue < id; });
  for (; it != a.entries.end() && it->queue == q; ++it) {
    if (a.fits[it->fit].strategy == Strategy::kRoundRobin)
      index_.SetFixed(it->handle, static_cast<std::int64_t>(offer_counter_));
  }
}

void Engine::UpdateActivity(Agent& a) {
  Activity next;
  const bool offered = a.held[0] > 0, connected = a.held[1] > 0, wrapup = a.held[2] > 0;
  if (connected) next = Activity::kBusy;
  else if (wrapup) next = Activity::kWrapUp;
  else if (offered) next = Activity::kReserved;
  else if (a.presence == Presence::kAvailable) next = Activity::kAvailable;
  else if (a.presence == Presence::kBreak) next = Activity::kBreak;
  else if (a.presence == Presence::kMissed) next = Activity::kMissed;
  else next = Activity::kOffline;
  if (next == a.activity) return;
  const TimeMs t = std::max(now_, a.activity_since);
  a.time_in_activity_today[static_cast<int>(a.activity)] += t - a.activity_since;
  a.activity = next;
  a.activity_since = t;
}

void Engine::RollDay(Agent& a) {
  const bool today = now_ >= a.day_from && now_ < a.day_until;
  // Offline (tenant 0), the day of the last tenant worked for goes on.
  if (today && (a.tenant == a.day_tenant || a.tenant == 0)) return;
  if (a.tenant != 0) a.day_tenant = a.tenant;
  const DayWindow w = DayAround(a.day_tenant, now_);
  a.day_from = w.from;
  a.day_until = w.until;
  if (today) return;  // another tenant's zone: the same figures, a new end of day
  a.contacts_today = 0;
  a.talk_today = 0;
  a.time_in_activity_today.fill(0);
  a.activity_since = std::max(a.activity_since, w.from);
}

Engine::DayStats& Engine::StatsOf(QueueId q) {
  const QueueRef* r = QueueRefOf(q);
  DayStats& s = r != nullptr ? *r->stats : day_stats_[q];
  if (now_ < s.from || now_ >= s.until) {
    const DayWindow w = DayAround(r != nullptr ? r->queue->tenant : 0, now_);
    s = DayStats{};
    s.from = w.from;
    s.until = w.until;
  }
  return s;
}

Engine::DayWindow Engine::DayAround(TenantId t, TimeMs at) const {
  const TimeZone& zone = *ZoneOf(t);
  const std::int64_t day = zone.LocalDay(at);
  DayWindow w{zone.DayStart(day), zone.DayStart(day + 1)};
  // Local time runs back over midnight in a few historical zones: keep `at` inside its day.
  w.from = std::min(w.from, at);
  w.until = std::max(w.until, at + 1);
  return w;
}

void Engine::Rezone(TenantId t) {
  for (const Queue* q : Queues(t)) {
    auto it = day_stats_.find(q->id);
    if (it == day_stats_.end() || now_ < it->second.from || now_ >= it->second.until) continue;
    const DayWindow w = DayAround(t, now_);
    it->second.from = w.from;
    it->second.until = w.until;
  }
  for (auto& [u, a] : agents_) {
    if (a.day_tenant != t || now_ < a.day_from || now_ >= a.day_until) continue;
    const DayWindow w = DayAround(t, now_);
    a.day_from = w.from;
    a.day_until = w.until;
  }
}

const std::shared_ptr<const TimeZone>& Engine::ZoneOf(TenantId t) const {
  auto it = tenant_zones_.find(t);
  return it != tenant_zones_.end() ? it->second : TimeZone::Utc();
}

const std::shared_ptr<const TimeZone>& Engine::ZoneOfHours(const BusinessHours& h) const {
  auto it = hours_zones_.find(h.id);
  return it != hours_zones_.end() ? it->second : ZoneOf(h.tenant);
}

Status Engine::CheckZone(const std::string& name, const char* field) const {
  if (ResolveZone(name, options_.zones) != nullptr) return {};
  // Quoted up to 64 bytes, cut on a character boundary: the message must stay UTF-8 for JSON.
  std::size_t n = std::min<std::size_t>(name.size(), 64);
  while (n > 0 && n < name.size() && (static_cast<unsigned char>(name[n]) & 0xC0) == 0x80) --n;
  return Fail(ErrorCode::kBadRequest,
              std::string(field) + ": unknown time zone '" + name.substr(0, n) +
                  "': give an IANA name such as 'Europe/Berlin' or 'America/New_York', or a UTC "
                  "offset such as '+02:00'");
}

Interaction& Engine::IxAt(InteractionId id) {
  if (ix_memo_ != nullptr && ix_memo_->id == id) return *ix_memo_;
  Interaction& ix = interactions_.at(id);
  ix_memo_ = &ix;
  return ix;
}

Agent& Engine::AgentOf(UserId u) {
  if (agent_memo_ != nullptr && agent_memo_->user == u) return *agent_memo_;
  auto [it, inserted] = agents_.try_emplace(u);
  agent_memo_ = &it->second;
  if (inserted) {
    it->second.user = u;
    it->second.activity_since = now_;
    it->second.work.reserve(8);  // a full desk (3 chats, 2 emails, ...) without regrowth
  }
  return it->second;
}

namespace {
int HeldIndex(InteractionState s) {
  switch (s) {
    case InteractionState::kOffered: return 0;
    case InteractionState::kConnected: return 1;
    case InteractionState::kWrapUp: return 2;
    default: return -1;
  }
}
}  // namespace

void Engine::AddWork(Agent& a, const Interaction& ix) {
  a.work.push_back(ix.id);
  a.used[static_cast<int>(ix.channel)]++;
  if (const int h = HeldIndex(ix.state); h >= 0) a.held[h]++;
}

void Engine::RemoveWork(Agent& a, const Interaction& ix) {
  auto it = std::find(a.work.begin(), a.work.end(), ix.id);
  if (it == a.work.end()) return;
  a.work.erase(it);
  a.used[static_cast<int>(ix.channel)]--;
  if (const int h = HeldIndex(ix.state); h >= 0) a.held[h]--;
}

void Engine::TakeOffHands(Interaction& ix, std::optional<TimeMs> idle_from) {
  if (ix.state == InteractionState::kQueued) UnfileWaiting(ix);
  if (ix.agent == 0 || HeldIndex(ix.state) < 0) return;
  Agent& a = AgentOf(ix.agent);
  RemoveWork(a, ix);
  if (idle_from && a.work.empty()) a.idle_since = *idle_from;
  ReindexAgent(a);
  UpdateActivity(a);
  dirty_agents_.push_back(a.user);
}

void Engine::SetHeldState(Agent& a, Interaction& ix, InteractionState s) {
  const bool in_hand = std::find(a.work.begin(), a.work.end(), ix.id) != a.work.end();
  if (in_hand) {
    if (const int h = HeldIndex(ix.state); h >= 0) a.held[h]--;
  }
  ix.state = s;
  if (in_hand) {
    if (const int h = HeldIndex(ix.state); h >= 0) a.held[h]++;
  }
}

// ---- validation helpers ----------------------------------------------------------------------

Status Engine::CheckTenant(TenantId t) const {
  if (!tenants_.count(t)) return Fail(ErrorCode::kNotFound, "no such tenant");
  return {};
}

bool Engine::SlugTaken(const std::string& slug, TenantId except) const {
  for (const auto& [id, t] : tenants_)
    if (t.slug == slug && id != except) return true;
  return false;
}

Status Engine::ValidateQueue(const Queue& q) const {
  if (q.name.empty() || q.name.size() > 100) return Fail(ErrorCode::kBadRequest, "queue name must be 1-100 characters");
  for (const Queue* other : Queues(q.tenant))
    if (other->name == q.name && other->id != q.id) return Fail(ErrorCode::kConflict, "a queue with this name exists");
  for (const SkillRequirement& r : q.skills) {
    if (FindSkill(q.tenant, r.skill) == nullptr) return Fail(ErrorCode::kBadRequest, "unknown skill " + std::to_string(r.skill));
    if (r.min_proficiency < 1 || r.min_proficiency > 10) return Fail(ErrorCode::kBadRequest, "min_proficiency must be 1-10");
  }
  if (q.steps.size() >= kMaxSteps)
    return Fail(ErrorCode::kBadRequest, "at most " + std::to_string(kMaxSteps - 1) + " relaxation steps");
  DurationMs prev = -1;
  for (const RelaxStep& s : q.steps) {
    if (s.after <= prev) return Fail(ErrorCode::kBadRequest, "relaxation steps must have increasing after_s");
    prev = s.after;
    if (s.overflow_to != 0) {
      if (s.overflow_to == q.id) return Fail(ErrorCode::kBadRequest, "a queue cannot overflow to itself");
      if (FindQueue(q.tenant, s.overflow_to) == nullptr) return Fail(ErrorCode::kBadRequest, "unknown overflow queue");
    } else if (s.min_proficiency < 1 || s.min_proficiency > 10) {
      return Fail(ErrorCode::kBadRequest, "step min_proficiency must be 1-10");
    }
  }
  if (q.sl_target < 0 || q.sl_target > 1) return Fail(ErrorCode::kBadRequest, "sl_target must be 0-1");
  if (q.offer_timeout < kSecond) return Fail(ErrorCode::kBadRequest, "offer_timeout_s must be at least 1");
  if (q.hours != 0 && FindHours(q.tenant, q.hours) == nullptr) return Fail(ErrorCode::kBadRequest, "unknown business hours");
  return {};
}

Status Engine::ValidateHours(const BusinessHours& h) const {
  if (h.name.empty() || h.name.size() > 100) return Fail(ErrorCode::kBadRequest, "hours name must be 1-100 characters");
  for (const WeeklyRange& r : h.ranges) {
    if (r.day < 0 || r.day > 6 || r.start_min < 0 || r.end_min > 1440 || r.start_min >= r.end_min)
      return Fail(ErrorCode::kBadRequest, "bad weekly range");
  }
  if (!h.timezone.empty()) {
    const BusinessHours* old = h.id != 0 ? FindHours(h.tenant, h.id) : nullptr;
    if (old == nullptr || old->timezone != h.timezone)
      if (auto st = CheckZone(h.timezone, "timezone"); !st) return st;
  }
  return {};
}

Status Engine::CheckMembership(TenantId t, const Membership& m) const {
  for (const auto& [skill, prof] : m.skills) {
    if (FindSkill(t, skill) == nullptr) return Fail(ErrorCode::kBadRequest, "unknown skill " + std::to_string(skill));
    if (prof < 1 || prof > 10) return Fail(ErrorCode::kBadRequest, "proficiency must be 1-10");
  }
  for (std::uint8_t s : m.capacity.slots)
    if (s > kMaxSlots)
      return Fail(ErrorCode::kBadRequest, "capacity must be 0-" + std::to_string(kMaxSlots));
  return {};
}

// ---- configuration commands ------------------------------------------------------------------

Result<TenantId> Engine::CreateTenant(Tenant t) {
  if (!ValidSlug(t.slug, 32)) return Fail(ErrorCode::kBadRequest, "slug must be 1-32 of a-z 0-9 - _ .");
  if (t.name.empty() || t.name.size() > 200) return Fail(ErrorCode::kBadRequest, "name must be 1-200 characters");
  if (SlugTaken(t.slug, 0)) return Fail(ErrorCode::kConflict, "tenant slug taken");
  if (auto st = CheckZone(t.settings.timezone, "settings.timezone"); !st) return std::unexpected(st.error());
  t.id = next_id_++;
  Emit(t.id, TenantSet{t});
  return t.id;
}

Status Engine::UpdateTenant(const Tenant& t) {
  const Tenant* old = FindTenant(t.id);
  if (old == nullptr) return Fail(ErrorCode::kNotFound, "no such tenant");
  if (!ValidSlug(t.slug, 32)) return Fail(ErrorCode::kBadRequest, "slug must be 1-32 of a-z 0-9 - _ .");
  if (t.name.empty() || t.name.size() > 200) return Fail(ErrorCode::kBadRequest, "name must be 1-200 characters");
  if (SlugTaken(t.slug, t.id)) return Fail(ErrorCode::kConflict, "tenant slug taken");
  if (t.settings.max_missed_offers < 0 || t.settings.presence_lease < 5 * kSecond)
    return Fail(ErrorCode::kBadRequest, "bad tenant settings");
  // An unchanged name passes: one stored before names were checked must not block other edits.
  if (t.settings.timezone != old->settings.timezone)
    if (auto st = CheckZone(t.settings.timezone, "settings.timezone"); !st) return st;
  Emit(t.id, TenantSet{t});
  return {};
}

Result<UserId> Engine::CreateUser(User u) {
  if (!ValidSlug(u.login, 64)) return Fail(ErrorCode::kBadRequest, "login must be 1-64 of a-z 0-9 - _ .");
  if (user_by_login_.count(u.login)) return Fail(ErrorCode::kConflict, "login taken");
  // Logins and trunks' digest user names share the SIP realm: a user must not shadow a trunk.
  if (trunk_by_user_.count(u.login))
    return Fail(ErrorCode::kConflict, "login '" + u.login + "' is a trunk's SIP user name");
  if (u.name.size() > 200) return Fail(ErrorCode::kBadRequest, "name too long");
  u.id = next_id_++;
  Emit(0, UserSet{u});
  return u.id;
}

Status Engine::UpdateUser(const User& u) {
  const User* old = FindUser(u.id);
  if (old == nullptr) return Fail(ErrorCode::kNotFound, "no such user");
  if (u.login != old->login) return Fail(ErrorCode::kBadRequest, "login cannot change");
  if (u.name.size() > 200) return Fail(ErrorCode::kBadRequest, "name too long");
  Emit(0, UserSet{u});
  if (u.disabled) {
    auto it = agents_.find(u.id);
    if (it != agents_.end() && it->second.presence != Presence::kOffline) {
      const TenantId t = it->second.tenant;
      ReleaseWork(it->second, "user_disabled");
      Emit(t, PresenceChanged{u.id, t, Presence::kOffline, "user_disabled"});
    }
  }
  Dispatch();
  return {};
}

Status Engine::SetMember(TenantId t, UserId u, const Membership& m) {
  if (auto s = CheckTenant(t); !s) return s;
  if (FindUser(u) == nullptr) return Fail(ErrorCode::kNotFound, "no such user");
  if (auto s = CheckMembership(t, m); !s) return s;
  Emit(t, MemberSet{t, u, m});
  Dispatch();
  return {};
}

Status Engine::RemoveMember(TenantId t, UserId u) {
  if (FindMember(t, u) == nullptr) return Fail(ErrorCode::kNotFound, "no such member");
  auto it = agents_.find(u);
  if (it != agents_.end() && it->second.tenant == t && it->second.presence != Presence::kOffline) {
    ReleaseWork(it->second, "member_removed");
    Emit(t, PresenceChanged{u, t, Presence::kOffline, "member_removed"});
  }
  Emit(t, MemberRemoved{t, u});
  Dispatch();
  return {};
}

Result<SkillId> Engine::CreateSkill(Skill s) {
  if (auto st = CheckTenant(s.tenant); !st) return std::unexpected(st.error());
  if (auto st = CheckName(s.name, 0, Skills(s.tenant), &Skill::name, "skill name"); !st)
    return std::unexpected(st.error());
  s.id = next_id_++;
  Emit(s.tenant, SkillSet{s});
  return s.id;
}

Status Engine::UpdateSkill(const Skill& s) {
  if (FindSkill(s.tenant, s.id) == nullptr) return Fail(ErrorCode::kNotFound, "no such skill");
  if (auto st = CheckName(s.name, s.id, Skills(s.tenant), &Skill::name, "skill name"); !st) return st;
  Emit(s.tenant, SkillSet{s});
  return {};
}

Status Engine::DeleteSkill(TenantId t, SkillId id) {
  if (FindSkill(t, id) == nullptr) return Fail(ErrorCode::kNotFound, "no such skill");
  for (const Queue* q : Queues(t))
    for (const SkillRequirement& r : q->skills)
      if (r.skill == id) return Fail(ErrorCode::kConflict, "skill is required by queue " + q->name);
  Emit(t, SkillDeleted{t, id});
  return {};
}

Result<QueueId> Engine::CreateQueue(Queue q) {
  if (auto st = CheckTenant(q.tenant); !st) return std::unexpected(st.error());
  q.id = 0;
  if (auto st = ValidateQueue(q); !st) return std::unexpected(st.error());
  q.id = next_id_++;
  Emit(q.tenant, QueueSet{q});
  Dispatch();
  return q.id;
}

Status Engine::UpdateQueue(const Queue& q) {
  if (FindQueue(q.tenant, q.id) == nullptr) return Fail(ErrorCode::kNotFound, "no such queue");
  if (auto st = ValidateQueue(q); !st) return st;
  Emit(q.tenant, QueueSet{q});
  Dispatch();
  return {};
}

Status Engine::DeleteQueue(TenantId t, QueueId id) {
  if (FindQueue(t, id) == nullptr) return Fail(ErrorCode::kNotFound, "no such queue");
  for (const auto& [iid, ix] : interactions_)
    if (ix.queue == id && ix.Live()) return Fail(ErrorCode::kConflict, "queue has live interactions");
  for (const Queue* q : Queues(t))
    for (const RelaxStep& s : q->steps)
      if (s.overflow_to == id) return Fail(ErrorCode::kConflict, "queue " + q->name + " overflows to it");
  for (const PhoneNumber* n : Numbers(t))
    if (n->queue == id) return Fail(ErrorCode::kConflict, "number " + n->e164 + " routes to it");
  for (const IvrMenu* m : IvrMenus(t)) {
    bool uses = m->on_failure.kind == IvrActionKind::kQueue && m->on_failure.id == id;
    for (const auto& [key, a] : m->options) uses = uses || (a.kind == IvrActionKind::kQueue && a.id == id);
    if (uses) return Fail(ErrorCode::kConflict, "IVR menu " + m->name + " leads to it");
  }
  Emit(t, QueueDeleted{t, id});
  Dispatch();
  return {};
}

Result<HoursId> Engine::CreateHours(BusinessHours h) {
  if (auto st = CheckTenant(h.tenant); !st) return std::unexpected(st.error());
  if (auto st = ValidateHours(h); !st) return std::unexpected(st.error());
  h.id = next_id_++;
  Emit(h.tenant, HoursSet{h});
  return h.id;
}

Status Engine::UpdateHours(const BusinessHours& h) {
  if (FindHours(h.tenant, h.id) == nullptr) return Fail(ErrorCode::kNotFound, "no such business hours");
  if (auto st = ValidateHours(h); !st) return st;
  Emit(h.tenant, HoursSet{h});
  return {};
}

Status Engine::DeleteHours(TenantId t, HoursId id) {
  if (FindHours(t, id) == nullptr) return Fail(ErrorCode::kNotFound, "no such business hours");
  for (const Queue* q : Queues(t))
    if (q->hours == id) return Fail(ErrorCode::kConflict, "used by queue " + q->name);
  Emit(t, HoursDeleted{t, id});
  return {};
}

Result<DispositionId> Engine::CreateDisposition(Disposition d) {
  if (auto st = CheckTenant(d.tenant); !st) return std::unexpected(st.error());
  if (auto st = CheckName(d.code, 0, Dispositions(d.tenant), &Disposition::code, "disposition code"); !st)
    return std::unexpected(st.error());
  d.id = next_id_++;
  Emit(d.tenant, DispositionSet{d});
  return d.id;
}

Status Engine::UpdateDisposition(const Disposition& d) {
  if (FindDisposition(d.tenant, d.id) == nullptr) return Fail(ErrorCode::kNotFound, "no such disposition");
  if (auto st = CheckName(d.code, d.id, Dispositions(d.tenant), &Disposition::code, "disposition code"); !st)
    return st;
  Emit(d.tenant, DispositionSet{d});
  return {};
}

Status Engine::DeleteDisposition(TenantId t, DispositionId id) {
  if (FindDisposition(t, id) == nullptr) return Fail(ErrorCode::kNotFound, "no such disposition");
  Emit(t, DispositionDeleted{t, id});
  return {};
}

Status Engine::CreateSession(const std::string& token_hash, UserId u, TimeMs expires) {
  if (FindUser(u) == nullptr) return Fail(ErrorCode::kNotFound, "no such user");
  Emit(0, SessionCreated{token_hash, u, expires});
  return {};
}

Status Engine::RevokeSession(const std::string& token_hash) {
  if (!sessions_.count(token_hash)) return Fail(ErrorCode::kNotFound, "no such session");
  Emit(0, SessionRevoked{token_hash});
  return {};
}

// ---- agent commands --------------------------------------------------------------------------

Status Engine::SetPresence(UserId u, TenantId t, Presence p, const std::string& reason,
                           bool force) {
  const User* user = FindUser(u);
  if (user == nullptr) return Fail(ErrorCode::kNotFound, "no such user");
  const Tenant* tenant = FindTenant(t);
  if (tenant == nullptr) return Fail(ErrorCode::kNotFound, "no such tenant");
  const Membership* m = FindMember(t, u);
  if (m == nullptr) return Fail(ErrorCode::kNotFound, "not a member of this tenant");
  Agent& a = AgentOf(u);
  if (p == Presence::kOffline) {
    if (a.presence == Presence::kOffline || a.tenant != t) return {};
    for (InteractionId id : a.work) {
      const auto st = IxAt(id).state;
      if (!force && (st == InteractionState::kConnected || st == InteractionState::kWrapUp))
        return Fail(ErrorCode::kConflict, "finish the contacts in hand first");
    }
    ReleaseWork(a, force ? "forced_logout" : "logout");
    Emit(t, PresenceChanged{u, t, Presence::kOffline, reason});
    Dispatch();
    return {};
  }
  if (user->disabled) return Fail(ErrorCode::kForbidden, "user is disabled");
  if (m->role == Role::kAdmin) return Fail(ErrorCode::kForbidden, "admins do not take contacts");
  if (p == Presence::kBreak) {
    const auto& reasons = tenant->settings.break_reasons;
    if (std::find(reasons.begin(), reasons.end(), reason) == reasons.end())
      return Fail(ErrorCode::kBadRequest, "unknown break reason '" + reason + "'");
  }
  const std::string why = p == Presence::kBreak ? reason : std::string();
  if (a.tenant != 0 && a.tenant != t) {
    if (!a.work.empty()) return Fail(ErrorCode::kConflict, "finish the contacts of the other tenant first");
    Emit(a.tenant, PresenceChanged{u, a.tenant, Presence::kOffline, "switched_tenant"});
  }
  if (a.presence == p && a.tenant == t && a.reason == why) return {};
  // Not ready: pending offers go back at once rather than waiting to expire (not a miss).
  if (p != Presence::kAvailable) WithdrawOffers(a);
  Emit(t, PresenceChanged{u, t, p, why});
  Dispatch();
  return {};
}

Status Engine::SetSipCredential(UserId u, std::string ha1) {
  if (FindUser(u) == nullptr) return Fail(ErrorCode::kNotFound, "no such user");
  const bool hex = ha1.size() == 32 && std::all_of(ha1.begin(), ha1.end(), [](char ch) {
                     return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
                   });
  if (!ha1.empty() && !hex) return Fail(ErrorCode::kBadRequest, "ha1 must be 32 lower-case hex digits");
  Emit(0, UserSipSet{u, std::move(ha1)});
  return {};
}

void Engine::SetPhone(UserId u, bool registered) {
  if (FindUser(u) == nullptr) return;
  Agent& a = AgentOf(u);
  if (a.phone == registered) return;
  a.phone = registered;
  if (a.tenant == 0) return;  // offline: nothing to route
  ReindexAgent(a);
  dirty_agents_.push_back(u);
  Dispatch();
}

void Engine::Touch(UserId u) {
  auto it = agents_.find(u);
  if (it != agents_.end()) it->second.last_seen = std::max(it->second.last_seen, now_);
}

void Engine::Connected(UserId u) {
  Agent& a = AgentOf(u);
  a.connections++;
  a.last_seen = now_;
}

void Engine::Disconnected(UserId u) {
  auto it = agents_.find(u);
  if (it == agents_.end() || it->second.connections == 0) return;
  Agent& a = it->second;
  a.connections--;
  a.last_seen = now_;
  if (a.connections == 0 && a.presence != Presence::kOffline) {
    const Tenant* tn = FindTenant(a.tenant);
    Schedule(Timer::kLease, now_ + (tn ? tn->settings.presence_lease : 120 * kSecond), u, 0);
  }
}

// ---- interaction commands --------------------------------------------------------------------

Result<InteractionId> Engine::CreateInteraction(NewInteraction&& n) {
  // A queue of the tenant exists only if the tenant does (tenants are never deleted), so the
  // tenant is looked up only to tell which of the two is missing.
  const Queue* q = FindQueue(n.tenant, n.queue);
  if (q == nullptr) {
    if (auto st = CheckTenant(n.tenant); !st) return std::unexpected(st.error());
    return Fail(ErrorCode::kNotFound, "no such queue");
  }
  if (n.priority < 0 || n.priority > 100) return Fail(ErrorCode::kBadRequest, "priority must be 0-100");
  if (n.subject.size() > 1000) return Fail(ErrorCode::kBadRequest, "subject too long");
  if (n.data.size() > 16 * 1024) return Fail(ErrorCode::kBadRequest, "data too large");
  if (IsRealTime(n.channel) && !IsOpen(*q, now_)) return Fail(ErrorCode::kConflict, "queue is closed");
  TimeMs enqueued_at = now_;
  const Interaction* origin = nullptr;
  if (n.origin != 0) {
    origin = FindInteraction(n.tenant, n.origin);
    if (origin == nullptr) return Fail(ErrorCode::kNotFound, "no such origin interaction");
    if (origin->state == InteractionState::kConnected || origin->state == InteractionState::kWrapUp)
      return Fail(ErrorCode::kConflict, "origin interaction is being handled");
    enqueued_at = origin->enqueued_at;
  }
  const InteractionId id = next_id_++;
  if (origin != nullptr && origin->Live()) {
    if (origin->state == InteractionState::kOffered)
      Emit(n.tenant, OfferEnded{origin->id, origin->agent, OfferResult::kWithdrawn});
    Emit(n.tenant, Closed{n.origin, "continued_as_" + std::to_string(id)});
  }
  std::shared_ptr<const ContactText> text;
  if (!n.customer.name.empty() || !n.customer.phone.empty() || !n.customer.email.empty() ||
      !n.subject.empty() || !n.data.empty()) {
    text = std::make_shared<const ContactText>(
        ContactText{std::move(n.customer), std::move(n.subject), std::move(n.data)});
  }
  EmitFields<InteractionCreated>(n.tenant, id, n.tenant, n.channel, n.queue, n.priority,
                                 enqueued_at, n.origin, std::move(text));
  Dispatch();
  return id;
}

Result<InteractionId> Engine::StartOutbound(UserId agent, TenantId t, QueueId q,
                                            Customer customer, std::string subject) {
  if (FindQueue(t, q) == nullptr) return Fail(ErrorCode::kNotFound, "no such queue");
  if (FindMember(t, agent) == nullptr) return Fail(ErrorCode::kNotFound, "not a member of the tenant");
  if (subject.size() > 1000) return Fail(ErrorCode::kBadRequest, "subject too long");
  const Agent* a = FindAgent(agent);
  if (a == nullptr || a->presence == Presence::kOffline || a->tenant != t)
    return Fail(ErrorCode::kConflict, "log in to the tenant first (available or not ready)");
  if (a->used[static_cast<int>(Channel::kVoice)] > 0)
    return Fail(ErrorCode::kConflict, "you already have a call (offered, connected or in wrap-up)");
  if (options_.voice_requires_phone && !a->phone)
    return Fail(ErrorCode::kConflict, "your phone is not registered");
  const InteractionId id = next_id_++;
  std::shared_ptr<const ContactText> text;
  if (!customer.name.empty() || !customer.phone.empty() || !customer.email.empty() || !subject.empty())
    text = std::make_shared<const ContactText>(ContactText{std::move(customer), std::move(subject), {}});
  EmitFields<OutboundStarted>(t, id, t, q, agent, std::move(text));
  Dispatch();
  return id;
}

Status Engine::Accept(UserId agent, InteractionId id) {
  auto it = interactions_.find(id);
  if (it == interactions_.end()) return Fail(ErrorCode::kNotFound, "no such interaction");
  const Interaction& ix = it->second;
  if (ix.state != InteractionState::kOffered || ix.agent != agent)
    return Fail(ErrorCode::kConflict, "no offer of this interaction to you (expired or taken)");
  // The expiry timer may not have run yet when the answer comes: the offer is over all the same.
  if (now_ >= ix.offer_expires) return Fail(ErrorCode::kConflict, "the offer expired");
  Emit(ix.tenant, Accepted{id, agent});
  Dispatch();
  return {};
}

Status Engine::Reject(UserId agent, InteractionId id) {
  auto it = interactions_.find(id);
  if (it == interactions_.end()) return Fail(ErrorCode::kNotFound, "no such interaction");
  const Interaction& ix = it->second;
  if (ix.state != InteractionState::kOffered || ix.agent != agent)
    return Fail(ErrorCode::kConflict, "no offer of this interaction to you (expired or taken)");
  // The expiry timer may not have run yet when the answer comes: the offer is over all the same.
  if (now_ >= ix.offer_expires) return Fail(ErrorCode::kConflict, "the offer expired");
  Emit(ix.tenant, OfferEnded{id, agent, OfferResult::kRejected});
  Dispatch();
  return {};
}

Status Engine::EndContact(InteractionId id, const std::string& reason) {
  auto it = interactions_.find(id);
  if (it == interactions_.end()) return Fail(ErrorCode::kNotFound, "no such interaction");
  if (it->second.state != InteractionState::kConnected)
    return Fail(ErrorCode::kConflict, std::string("interaction is ") + Name(it->second.state));
  Emit(it->second.tenant, ContactEnded{id, reason});
  Dispatch();
  return {};
}

Status Engine::Abandon(InteractionId id) {
  auto it = interactions_.find(id);
  if (it == interactions_.end()) return Fail(ErrorCode::kNotFound, "no such interaction");
  const Interaction& ix = it->second;
  switch (ix.state) {
    case InteractionState::kQueued:
    case InteractionState::kOffered:
      Emit(ix.tenant, Abandoned{id});
      Dispatch();
      return {};
    case InteractionState::kConnected:
      return EndContact(id, "customer_left");
    default:
      return Fail(ErrorCode::kConflict, std::string("interaction is ") + Name(ix.state));
  }
}

Status Engine::WrapUp(UserId agent, InteractionId id, DispositionId disposition, std::string notes) {
  auto it = interactions_.find(id);
  if (it == interactions_.end()) return Fail(ErrorCode::kNotFound, "no such interaction");
  const Interaction& ix = it->second;
  if (ix.agent != agent || (ix.state != InteractionState::kWrapUp && ix.state != InteractionState::kConnected))
    return Fail(ErrorCode::kConflict, "this interaction is not in your hands");
  if (notes.size() > 8000) return Fail(ErrorCode::kBadRequest, "notes too long");
  if (disposition != 0 && FindDisposition(ix.tenant, disposition) == nullptr)
    return Fail(ErrorCode::kBadRequest, "unknown disposition");
  if (disposition == 0 && HasDispositions(ix.tenant))
    return Fail(ErrorCode::kBadRequest, "a disposition is required");
  if (ix.state == InteractionState::kConnected) {
    // Completed follows in this command: a wrap-up timer would only go stale in the heap.
    skip_wrapup_timer_ = true;
    Emit(ix.tenant, ContactEnded{id, "agent_ended"});
    skip_wrapup_timer_ = false;
  }
  Completed c;
  c.id = id;
  c.disposition = disposition;
  c.notes = std::move(notes);
  Emit(ix.tenant, std::move(c));
  Dispatch();
  return {};
}

Status Engine::ExtendWrapUp(UserId agent, InteractionId id, DurationMs more) {
  auto it = interactions_.find(id);
  if (it == interactions_.end()) return Fail(ErrorCode::kNotFound, "no such interaction");
  const Interaction& ix = it->second;
  if (ix.agent != agent || ix.state != InteractionState::kWrapUp)
    return Fail(ErrorCode::kConflict, "this interaction is not in wrap-up with you");
  if (more <= 0) return Fail(ErrorCode::kBadRequest, "seconds must be positive");
  if (ix.wrapup_until == 0) return {};  // no timer running: nothing to extend
  const Queue* q = FindQueue(ix.tenant, ix.queue);
  const DurationMs base = q ? q->wrapup : 0;
  const DurationMs max_ext = q ? q->wrapup_max_extension : 0;
  const TimeMs until = ix.wrapup_until + more;
  if (until - ix.contact_ended_at - base > max_ext)
    return Fail(ErrorCode::kConflict, "wrap-up extension limit reached");
  Emit(ix.tenant, WrapUpExtended{id, until});
  return {};
}

Status Engine::ForceComplete(UserId supervisor, InteractionId id) {
  auto it = interactions_.find(id);
  if (it == interactions_.end()) return Fail(ErrorCode::kNotFound, "no such interaction");
  const Membership* m = FindMember(it->second.tenant, supervisor);
  if (m == nullptr || m->role == Role::kAgent)
    return Fail(ErrorCode::kForbidden, "only a supervisor of the tenant may force-complete");
  if (it->second.state != InteractionState::kWrapUp)
    return Fail(ErrorCode::kConflict, "interaction is not in wrap-up");
  Completed c;
  c.id = id;
  c.forced_by = supervisor;
  Emit(it->second.tenant, std::move(c));
  Dispatch();
  return {};
}

Status Engine::Transfer(UserId agent, InteractionId id, QueueId to) {
  auto it = interactions_.find(id);
  if (it == interactions_.end()) return Fail(ErrorCode::kNotFound, "no such interaction");
  const Interaction& ix = it->second;
  if (ix.agent != agent || ix.state != InteractionState::kConnected)
    return Fail(ErrorCode::kConflict, "this interaction is not connected to you");
  if (FindQueue(ix.tenant, to) == nullptr) return Fail(ErrorCode::kNotFound, "no such queue");
  if (OpenConsultOf(id) != 0) return Fail(ErrorCode::kConflict, "a consultation is open");
  Emit(ix.tenant, InteractionMoved{id, to, "transfer"});
  Dispatch();
  return {};
}

bool Engine::ConsultOpen(const Interaction& ix) const { return ix.consult && ix.Live(); }

InteractionId Engine::OpenConsultOf(InteractionId origin) const {
  auto it = open_consults_.find(origin);
  if (it == open_consults_.end()) return 0;
  auto k = interactions_.find(it->second);
  return k != interactions_.end() && ConsultOpen(k->second) ? it->second : 0;
}

Result<InteractionId> Engine::Continue(UserId agent, InteractionId id, UserId to_agent,
                                       QueueId to_queue, bool consult) {
  auto it = interactions_.find(id);
  if (it == interactions_.end()) return Fail(ErrorCode::kNotFound, "no such interaction");
  const Interaction& ix = it->second;
  if (ix.agent != agent || ix.state != InteractionState::kConnected)
    return Fail(ErrorCode::kConflict, "this interaction is not connected to you");
  if (ix.channel != Channel::kVoice)
    return Fail(ErrorCode::kConflict, "only calls are transferred to an agent or consulted");
  if (ConsultOpen(ix)) return Fail(ErrorCode::kConflict, "a consultation cannot be handed on");
  if (OpenConsultOf(id) != 0) return Fail(ErrorCode::kConflict, "a consultation is open");
  QueueId queue = ix.queue;
  if (to_agent != 0) {
    const Membership* m = FindMember(ix.tenant, to_agent);
    if (m == nullptr) return Fail(ErrorCode::kNotFound, "no such agent");
    if (to_agent == agent) return Fail(ErrorCode::kConflict, "the call is already yours");
    auto ag = agents_.find(to_agent);
    const bool free = m->role != Role::kAdmin && ag != agents_.end() &&
                      ag->second.tenant == ix.tenant &&
                      (FreeChannels(ag->second) & (1u << static_cast<int>(Channel::kVoice))) != 0;
    if (!free) return Fail(ErrorCode::kConflict, "the agent is not available for a call");
  } else {
    if (FindQueue(ix.tenant, to_queue) == nullptr) return Fail(ErrorCode::kNotFound, "no such queue");
    queue = to_queue;
  }
  const InteractionId next = next_id_++;
  const TenantId tenant = ix.tenant;
  const TimeMs expires = now_ + QueueById(queue)->offer_timeout;
  EmitFields<InteractionCreated>(tenant, next, tenant, ix.channel, queue, ix.priority,
                                 ix.enqueued_at, id, ix.text, to_agent, consult);
  if (!consult) Emit(tenant, ContactEnded{id, "transferred"});
  if (to_agent != 0) Emit(tenant, Offered{next, to_agent, expires});
  Dispatch();
  return next;
}

Result<InteractionId> Engine::TransferToAgent(UserId agent, InteractionId id, UserId to) {
  if (to == 0) return Fail(ErrorCode::kNotFound, "no such agent");
  return Continue(agent, id, to, 0, false);
}

Result<InteractionId> Engine::Consult(UserId agent, InteractionId id, UserId to_agent,
                                      QueueId to_queue) {
  return Continue(agent, id, to_agent, to_queue, true);
}

Status Engine::CompleteConsult(UserId agent, InteractionId id) {
  auto it = interactions_.find(id);
  if (it == interactions_.end()) return Fail(ErrorCode::kNotFound, "no such interaction");
  const Interaction& k = it->second;
  if (!ConsultOpen(k)) return Fail(ErrorCode::kConflict, "not an open consultation");
  if (k.state != InteractionState::kConnected)
    return Fail(ErrorCode::kConflict, "the consultation is not answered yet");
  const Interaction* origin = FindInteraction(k.tenant, k.origin);
  if (origin == nullptr || origin->agent != agent || origin->state != InteractionState::kConnected)
    return Fail(ErrorCode::kConflict, "the call is not connected to you");
  Emit(origin->tenant, ContactEnded{origin->id, "transferred"});  // k becomes the call (Apply)
  Dispatch();
  return {};
}

Status Engine::CloseConsult(InteractionId id, const std::string& reason) {
  auto it = interactions_.find(id);
  if (it == interactions_.end()) return Fail(ErrorCode::kNotFound, "no such interaction");
  const Interaction& ix = it->second;
  if (!ConsultOpen(ix)) return Fail(ErrorCode::kConflict, "not an open consultation");
  if (ix.state == InteractionState::kOffered)
    Emit(ix.tenant, OfferEnded{id, ix.agent, OfferResult::kWithdrawn});
  // Withdrawn from a directed offer, it is closed right here (not by RouteInteraction).
  if (IxAt(id).Live()) Emit(IxAt(id).tenant, Closed{id, reason});
  Dispatch();
  return {};
}

// ---- reads -----------------------------------------------------------------------------------

const Tenant* Engine::FindTenant(TenantId t) const {
  auto it = tenants_.find(t);
  return it == tenants_.end() ? nullptr : &it->second;
}

const Tenant* Engine::FindTenantBySlug(const std::string& slug) const {
  for (const auto& [id, t] : tenants_)
    if (t.slug == slug) return &t;
  return nullptr;
}

const User* Engine::FindUser(UserId u) const {
  auto it = users_.find(u);
  return it == users_.end() ? nullptr : &it->second;
}

const User* Engine::FindUserByLogin(const std::string& login) const {
  auto it = user_by_login_.find(login);
  return it == user_by_login_.end() ? nullptr : FindUser(it->second);
}

const std::string* Engine::SipHa1(UserId u) const {
  auto it = sip_ha1_.find(u);
  return it == sip_ha1_.end() ? nullptr : &it->second;
}

const Membership* Engine::FindMember(TenantId t, UserId u) const {
  auto it = members_.find(u);
  if (it == members_.end()) return nullptr;
  auto m = it->second.find(t);
  return m == it->second.end() ? nullptr : &m->second;
}

std::vector<std::pair<TenantId, Role>> Engine::TenantsOf(UserId u) const {
  std::vector<std::pair<TenantId, Role>> out;
  auto it = members_.find(u);
  if (it == members_.end()) return out;
  for (const auto& [t, m] : it->second) out.emplace_back(t, m.role);
  return out;
}

std::vector<UserId> Engine::MembersOf(TenantId t) const {
  std::vector<UserId> out;
  for (const auto& [u, per_tenant] : members_)
    if (per_tenant.count(t)) out.push_back(u);
  return out;
}

template <typename Map>
static auto FindIn(const Map& m, TenantId t, std::uint64_t id) -> const typename Map::mapped_type* {
  auto it = m.find(id);
  return it == m.end() || it->second.tenant != t ? nullptr : &it->second;
}

template <typename Map>
static auto ListIn(const Map& m, TenantId t) {
  std::vector<const typename Map::mapped_type*> out;
  for (const auto& [id, v] : m)
    if (v.tenant == t) out.push_back(&v);
  return out;
}

const Skill* Engine::FindSkill(TenantId t, SkillId id) const { return FindIn(skills_, t, id); }
const Queue* Engine::FindQueue(TenantId t, QueueId id) const {
  const Queue* q = QueueById(id);
  return q == nullptr || q->tenant != t ? nullptr : q;
}
const BusinessHours* Engine::FindHours(TenantId t, HoursId id) const { return FindIn(hours_, t, id); }
const Disposition* Engine::FindDisposition(TenantId t, DispositionId id) const {
  return FindIn(dispositions_, t, id);
}
std::vector<const Skill*> Engine::Skills(TenantId t) const { return ListIn(skills_, t); }
std::vector<const Queue*> Engine::Queues(TenantId t) const { return ListIn(queues_, t); }
std::vector<const BusinessHours*> Engine::Hours(TenantId t) const { return ListIn(hours_, t); }
bool Engine::HasDispositions(TenantId t) const {
  auto it = disposition_count_.find(t);
  return it != disposition_count_.end() && it->second > 0;
}

std::vector<const Disposition*> Engine::Dispositions(TenantId t) const {
  return ListIn(dispositions_, t);
}

std::optional<UserId> Engine::SessionUser(const std::string& token_hash) const {
  auto it = sessions_.find(token_hash);
  if (it == sessions_.end() || it->second.expires <= now_) return std::nullopt;
  const User* u = FindUser(it->second.user);
  if (u == nullptr || u->disabled) return std::nullopt;
  return it->second.user;
}

const Interaction* Engine::FindInteraction(TenantId t, InteractionId id) const {
  auto it = interactions_.find(id);
  return it == interactions_.end() || it->second.tenant != t ? nullptr : &it->second;
}

std::vector<const Interaction*> Engine::Interactions(TenantId t, bool live_only) const {
  std::vector<const Interaction*> out;
  for (const auto& [id, ix] : interactions_)
    if (ix.tenant == t && (!live_only || ix.Live())) out.push_back(&ix);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->id < b->id; });
  return out;
}

const Agent* Engine::FindAgent(UserId u) const {
  auto it = agents_.find(u);
  return it == agents_.end() ? nullptr : &it->second;
}

Agent Engine::AgentView(UserId u) const {
  const Agent* a = FindAgent(u);
  Agent view;
  if (a != nullptr) {
    view = *a;
  } else {
    view.user = u;
  }
  // Bring "today" figures up to now without changing the engine.
  if (now_ < view.day_from || now_ >= view.day_until) {
    view.contacts_today = 0;
    view.talk_today = 0;
    view.time_in_activity_today.fill(0);
    const DayWindow w = DayAround(view.tenant != 0 ? view.tenant : view.day_tenant, now_);
    view.activity_since = std::max(view.activity_since, w.from);
    view.day_from = w.from;
    view.day_until = w.until;
  }
  view.time_in_activity_today[static_cast<int>(view.activity)] += now_ - view.activity_since;
  return view;
}

QueueStats Engine::Stats(TenantId t, QueueId q) const {
  QueueStats out;
  out.queue = q;
  const Queue* queue = FindQueue(t, q);
  if (queue == nullptr) return out;
  out.waiting = index_.WaitingCount(q);
  index_.ForEachWaiting(q, [&](InteractionId id) {
    out.longest_wait = std::max(out.longest_wait, now_ - interactions_.at(id).queued_at);
  });
  auto it = day_stats_.find(q);
  if (it != day_stats_.end() && now_ >= it->second.from && now_ < it->second.until) {
    static_cast<DayFigures&>(out) = it->second;
  }
  const std::int64_t sl_base = out.answered + out.abandoned - out.abandoned_in_sl;
  out.service_level = sl_base > 0 ? static_cast<double>(out.answered_in_sl) / sl_base : 1.0;
  out.asa_s = out.answered > 0 ? out.wait_answered_sum / 1000.0 / out.answered : 0;
  out.aht_s = out.handled > 0 ? out.handle_sum / 1000.0 / out.handled : 0;
  const std::int64_t finished = out.answered + out.abandoned;
  out.abandon_rate = finished > 0 ? static_cast<double>(out.abandoned) / finished : 0;
  for (UserId u : MembersOf(t)) {
    const Membership* m = FindMember(t, u);
    if (m->role == Role::kAdmin || FitOf(*queue, *m).level < 1) continue;
    const Agent* a = FindAgent(u);
    const Activity act = (a == nullptr || a->tenant != t) ? Activity::kOffline : a->activity;
    out.agents[static_cast<int>(act)]++;
  }
  out.open = IsOpen(*queue, now_);
  return out;
}

bool Engine::IsOpen(const Queue& q, TimeMs at) const {
  if (q.hours == 0) return true;
  const BusinessHours* h = FindHours(q.tenant, q.hours);
  if (h == nullptr) return true;
  // Local wall time in the hours' zone: the ranges are wall-clock times, whatever the offset.
  const TimeMs local = ZoneOfHours(*h)->ToLocal(at);
  const std::int64_t day = DayOf(local);
  std::int64_t y;
  unsigned m, d;
  CivilFromDays(day, &y, &m, &d);
  char date[16];
  std::snprintf(date, sizeof date, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  for (const std::string& closed : h->closed_dates)
    if (closed == date) return false;
  const int weekday = static_cast<int>(((day % 7) + 7 + 4) % 7);  // 1970-01-01 was a Thursday
  const int minute = static_cast<int>((local - day * kDay) / kMinute);
  for (const WeeklyRange& r : h->ranges)
    if (r.day == weekday && minute >= r.start_min && minute < r.end_min) return true;
  return false;
}

// ---- schedules (WFM) --------------------------------------------------------------------------
// Kept apart from routing: nothing here touches the routing state.

void Engine::ApplySchedule(const ScheduleStored& b, TimeMs) {
  schedules_[b.schedule->id] = *b.schedule;
  next_id_ = std::max(next_id_, b.schedule->id + 1);
}

void Engine::ApplySchedule(const SchedulePublished& b, TimeMs t) {
  auto it = schedules_.find(b.schedule);
  if (it == schedules_.end()) return;
  StoredSchedule& s = it->second;
  for (auto& [id, other] : schedules_)
    if (id != s.id && other.tenant == s.tenant && other.state == ScheduleState::kPublished &&
        other.result.week_start == s.result.week_start)
      other.state = ScheduleState::kSuperseded;
  s.state = ScheduleState::kPublished;
  s.published_by = b.by;
  s.published_at = t;
}

Result<ScheduleId> Engine::StoreSchedule(StoredSchedule s) {
  if (auto st = CheckTenant(s.tenant); !st) return std::unexpected(st.error());
  if (s.users.size() != s.result.agents.size())
    return Fail(ErrorCode::kInternal, "schedule: one user per agent");
  if (Schedules(s.tenant).size() >= kMaxSchedulesPerTenant)
    return Fail(ErrorCode::kConflict,
                "the tenant keeps at most " + std::to_string(kMaxSchedulesPerTenant) + " schedules");
  s.id = next_id_++;
  s.created_at = now_;
  s.state = ScheduleState::kDraft;
  s.published_by = 0;
  s.published_at = 0;
  const ScheduleId id = s.id;
  const TenantId t = s.tenant;
  Emit(t, ScheduleStored{std::move(s)});
  return id;
}

Status Engine::PublishSchedule(TenantId t, ScheduleId id, UserId by) {
  const StoredSchedule* s = FindSchedule(t, id);
  if (s == nullptr) return Fail(ErrorCode::kNotFound, "no such schedule");
  if (s->state != ScheduleState::kDraft)
    return Fail(ErrorCode::kConflict, std::string("the schedule is ") + Name(s->state) + ", not a draft");
  Emit(t, SchedulePublished{t, id, by});
  return {};
}

const StoredSchedule* Engine::FindSchedule(TenantId t, ScheduleId id) const {
  auto it = schedules_.find(id);
  return it == schedules_.end() || it->second.tenant != t ? nullptr : &it->second;
}

std::vector<const StoredSchedule*> Engine::Schedules(TenantId t) const {
  std::vector<const StoredSchedule*> out;
  for (const auto& [id, s] : schedules_)
    if (s.tenant == t) out.push_back(&s);
  return out;
}

// ---- workforce management: forecast calendar -------------------------------------------------

Result<CalendarEventId> Engine::CreateCalendarEvent(CalendarEntry e) {
  if (auto st = CheckTenant(e.tenant); !st) return std::unexpected(st.error());
  if (e.name.empty() || e.name.size() > 200)
    return Fail(ErrorCode::kBadRequest, "name must be 1-200 characters");
  const auto first = wfm::ParseDate(e.first_day);
  const auto last = wfm::ParseDate(e.last_day);
  if (!first) return Fail(ErrorCode::kBadRequest, "first_day must be a date YYYY-MM-DD");
  if (!last) return Fail(ErrorCode::kBadRequest, "last_day must be a date YYYY-MM-DD");
  const wfm::CalendarEvent ce{.name = e.name, .first_day = *first, .last_day = *last,
                              .multiplier = e.multiplier};
  if (auto st = wfm::Validate(ce); !st) return std::unexpected(st.error());
  if (e.queue != 0 && FindQueue(e.tenant, e.queue) == nullptr)
    return Fail(ErrorCode::kBadRequest, "queue: no such queue");
  e.id = next_id_++;
  Emit(e.tenant, CalendarEventSet{e});
  return e.id;
}

Status Engine::DeleteCalendarEvent(TenantId t, CalendarEventId id) {
  if (FindCalendarEvent(t, id) == nullptr)
    return Fail(ErrorCode::kNotFound, "no such calendar event");
  Emit(t, CalendarEventDeleted{t, id});
  return {};
}

const CalendarEntry* Engine::FindCalendarEvent(TenantId t, CalendarEventId id) const {
  return FindIn(calendar_, t, id);
}

std::vector<const CalendarEntry*> Engine::CalendarEvents(TenantId t) const {
  return ListIn(calendar_, t);
}

}  // namespace homeline::core
