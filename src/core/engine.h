#pragma once
// The contact-center engine: tenants, users, skills, queues, agents' presence, interactions and
// routing, and the real-time statistics. No I/O, no threads, no clock reads: the owner sets the
// time (SetTime), calls commands, fires due timers (RunDue), and drains the events the engine
// emitted (TakeOutbox) to commit them. The same engine runs in the server, in the scenario tests
// on a simulated clock, and in the simulator.
//
// Threads: single-threaded. The owner serialises every call.
// Errors: commands return Result; a failed command changed nothing and emitted nothing.
// Durability: every change is an Event applied through Apply(); Replay() rebuilds the state from
// committed events, and Recover() then closes what could not survive a restart.
// Memory: a finished interaction (completed, abandoned, closed) is evicted from memory
// `finished_retention` after it finished (RunDue does it; the event log keeps it). Afterwards
// FindInteraction and Interactions no longer return it, commands naming it fail with
// kNotFound, and it can no longer be the origin of a callback. Live interactions stay however
// long they last.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "core/chat.h"
#include "core/events.h"
#include "core/node_pool.h"
#include "core/routing_index.h"
#include "core/time_zone.h"
#include "core/timer_queue.h"
#include "core/types.h"

namespace homeline::core {

// What an agent is doing, as supervisors see it.
enum class Activity : std::uint8_t {
  kOffline, kAvailable, kBreak, kMissed, kReserved, kBusy, kWrapUp,
};
constexpr int kActivityCount = 7;
const char* Name(Activity a);

struct Interaction {
  // Fields ordered so that the small ones share words: a new contact's record is written
  // whole, to fresh memory, on every arrival, so each byte less is less memory traffic.
  InteractionId id = 0;
  TenantId tenant = 0;
  QueueId queue = 0;
  InteractionId origin = 0;
  // A directed offer (transfer or consultation to an agent, decisions.md 49): only this agent
  // is offered the contact, and it is not in its queue's line meanwhile. 0: routed as usual.
  UserId directed = 0;
  // A consultation: the agent of `origin` asked another agent (or a queue) while the customer
  // waits on hold. It is never a contact of its own: cancelled, it closes without wrap-up.
  bool consult = false;
  // Customer, subject and data: the block of the event that created it (null: all empty).
  std::shared_ptr<const ContactText> text;
  const Customer& customer() const { return TextOf(text).customer; }
  const std::string& subject() const { return TextOf(text).subject; }
  const std::string& data() const { return TextOf(text).data; }

  Channel channel = Channel::kTask;
  InteractionState state = InteractionState::kQueued;
  bool outbound = false;  // an agent's outbound call (StartOutbound); not in the queue's figures
  int priority = 0;
  int step = 0;            // relaxation step reached in the current queue
  IndexHandle wait_handle = kNoHandle;  // its entry in the routing index while queued
  TimeMs created_at = 0;
  TimeMs enqueued_at = 0;  // place in line
  TimeMs queued_at = 0;    // entered the current queue (relaxation steps count from here)
  std::int64_t score = 0;  // line order key (see WaitKey)
  UserId agent = 0;        // offered to / handled by
  TimeMs offer_expires = 0;
  TimeMs answered_at = 0;
  TimeMs contact_ended_at = 0;
  TimeMs wrapup_until = 0;  // 0: no timer
  TimeMs finished_at = 0;
  std::vector<UserId> declined;  // agents who rejected or missed it; not offered again
  DispositionId disposition = 0;
  std::string notes;
  std::string reason;  // why it moved, ended or closed
  UserId forced_by = 0;

  bool Live() const {
    return state == InteractionState::kQueued || state == InteractionState::kOffered ||
           state == InteractionState::kConnected || state == InteractionState::kWrapUp;
  }
};

struct Agent {
  UserId user = 0;
  TenantId tenant = 0;  // the tenant the person works for now; 0 when offline
  Presence presence = Presence::kOffline;
  std::string reason;
  TimeMs presence_since = 0;
  Activity activity = Activity::kOffline;
  TimeMs activity_since = 0;
  std::vector<InteractionId> work;  // offered, connected or in wrap-up
  int consecutive_misses = 0;
  TimeMs idle_since = 0;
  // Today's figures, for strategies and "my day": the local day (in the zone of the tenant
  // the person works for) that runs over [day_from, day_until) in UTC.
  TimeMs day_from = 1;
  TimeMs day_until = 0;  // empty until the first change: the first one starts a day
  TenantId day_tenant = 0;  // whose zone cut the day
  int contacts_today = 0;
  DurationMs talk_today = 0;
  std::array<DurationMs, kActivityCount> time_in_activity_today{};
  // Lease: the desktop's WebSocket connections, or the last API call.
  int connections = 0;
  TimeMs last_seen = 0;
  // A SIP phone of the person is registered (SetPhone; not durable, like the lease).
  bool phone = false;

  // Derived from `work` and the states of its contacts, kept in step by the engine so that
  // routing does not look every contact in hand up.
  std::array<std::uint8_t, kChannelCount> used{};  // contacts in hand per channel
  std::array<std::uint8_t, 3> held{};              // offered, connected, in wrap-up

  // Routing index entries: one per queue served (fit), in that order, for every channel the
  // agent has capacity for; none without capacity. The index files those of an agent with
  // room (see routing_index.h).
  struct Entry {
    QueueId queue;
    int level;
    IndexHandle handle;
    std::uint32_t fit;  // index in `fits`
  };
  std::vector<Entry> entries;
  std::vector<QueueFit> fits;  // queues of the current tenant this agent serves
  // What the index was last told about the agent: when none of it changed, reindexing is a
  // no-op.
  struct IndexedBy {
    unsigned mask = 0;  // free channels
    std::uint64_t fits = 0;
    TimeMs idle_since = 0;
    int contacts = 0;
    DurationMs talk = 0;
    bool operator==(const IndexedBy&) const = default;
  };
  IndexedBy indexed_by;
  std::uint64_t fits_version = 0;  // bumped when `fits` are recomputed
  bool random_fits = false;        // some fit ranks at random: redrawn on every reindex
  bool round_robin_fits = false;   // some fit ranks by last offer (see NoteOffer)
  RoutingIndex::AgentRef index_ref = RoutingIndex::kNoAgent;  // its figures in the index
  Capacity capacity{{}};       // of the current tenant's membership; all 0 when offline
  // Round robin's rank: per queue, the offer counter at the queue's last offer to the agent.
  // Sorted by queue, a few entries (the queues it was offered from): an offer allocates no
  // node, as a hash map did.
  std::vector<std::pair<QueueId, std::uint64_t>> last_offer;
};

// A queue's counts and sums for one local day of its tenant, as the engine keeps them.
struct DayFigures {
  std::int64_t entered = 0;
  std::int64_t answered = 0;
  std::int64_t answered_in_sl = 0;
  std::int64_t abandoned = 0;
  std::int64_t abandoned_in_sl = 0;  // left before the threshold: not counted against SL
  std::int64_t handled = 0;          // completed after wrap-up
  DurationMs wait_answered_sum = 0;
  DurationMs handle_sum = 0;         // answer to completion (talk + wrap-up)
};

// Today's figures of a queue, with what follows from them and the live line.
struct QueueStats : DayFigures {
  QueueId queue = 0;
  std::size_t waiting = 0;
  DurationMs longest_wait = 0;
  double service_level = 1.0;        // answered_in_sl / (answered + abandoned - abandoned_in_sl)
  double asa_s = 0;
  double aht_s = 0;
  double abandon_rate = 0;           // abandoned / (answered + abandoned)
  std::array<int, kActivityCount> agents{};  // agents of the queue by activity
  bool open = true;
};

struct EngineOptions {
  std::uint64_t seed = 1;  // for the random strategy
  DurationMs finished_retention = 24 * kHour;  // see "Memory" above
  // Voice capacity counts only while the agent's SIP phone is registered (SetPhone). The
  // server turns it on when SIP is on; off, voice is offered to agents without phones (the
  // API-driven flows and the simulator).
  bool voice_requires_phone = false;
  // Named time zones (IANA names) for tenants' and business hours' `timezone`; fixed offsets
  // ("+02:00") need none. The server passes the system's zone files (adapters/tz); without a
  // lookup only fixed offsets are accepted, and a stored name replays as UTC.
  ZoneLookup zones;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // ---- time, timers, events ------------------------------------------------------------------
  // Time only moves forward; earlier values are ignored.
  void SetTime(TimeMs now);
  TimeMs now() const { return now_; }
  // Earliest pending timer (or eviction), if any. Timers fire only through RunDue().
  std::optional<TimeMs> NextDeadline() const;
  // Fires every timer due at now(), then routes what changed; evicts finished interactions
  // whose retention ended.
  void RunDue();
  // Events emitted since the last call, in seq order.
  std::vector<Event> TakeOutbox();
  // The same into *out, whose old events are dropped and whose buffer the engine keeps for the
  // next ones: a caller that drains after every command (the simulator) allocates nothing.
  void TakeOutbox(std::vector<Event>* out);
  std::uint64_t last_seq() const { return seq_; }

  // ---- recovery ------------------------------------------------------------------------------
  // Applies a committed event without routing or emitting. Events must come in seq order.
  [[nodiscard]] Status Replay(const Event& event);
  // After replay: closes live real-time interactions, puts durable ones (email, task, callback)
  // back in line, completes wrap-ups, and logs every agent out, with reason "restart".
  void Recover();

  // ---- configuration -------------------------------------------------------------------------
  Result<TenantId> CreateTenant(Tenant t);
  Status UpdateTenant(const Tenant& t);
  Result<UserId> CreateUser(User u);
  Status UpdateUser(const User& u);
  // The rules SetMember applies to a membership of tenant t: skills of the tenant, proficiency
  // 1..10, at most kMaxSlots per channel. kBadRequest naming the first rule broken.
  Status CheckMembership(TenantId t, const Membership& m) const;
  Status SetMember(TenantId t, UserId u, const Membership& m);
  Status RemoveMember(TenantId t, UserId u);
  Result<SkillId> CreateSkill(Skill s);
  Status UpdateSkill(const Skill& s);
  Status DeleteSkill(TenantId t, SkillId id);
  Result<QueueId> CreateQueue(Queue q);
  Status UpdateQueue(const Queue& q);
  Status DeleteQueue(TenantId t, QueueId id);
  Result<HoursId> CreateHours(BusinessHours h);
  Status UpdateHours(const BusinessHours& h);
  Status DeleteHours(TenantId t, HoursId id);
  Result<DispositionId> CreateDisposition(Disposition d);
  Status UpdateDisposition(const Disposition& d);
  Status DeleteDisposition(TenantId t, DispositionId id);
  Status CreateSession(const std::string& token_hash, UserId u, TimeMs expires);
  // The user's SIP digest credential: ha1 is 32 lower-case hex digits (MD5 of
  // login:realm:password, computed by the caller), or empty to remove it.
  Status SetSipCredential(UserId u, std::string ha1);
  // Whether the user's SIP phone is registered (the registrar says so). Not an event: phones
  // register again after a restart. With voice_requires_phone, voice is offered only to agents
  // whose phone is registered; a phone that registers makes the agent routable for voice at
  // once.
  void SetPhone(UserId u, bool registered);
  Status RevokeSession(const std::string& token_hash);

  // ---- workforce management: forecast calendar -------------------------------------------------
  // Name 1..200 characters; dates "YYYY-MM-DD", first ≤ last, at most 366 days; multiplier in
  // (0, 100]; queue 0 (every queue) or one of the tenant's. kBadRequest naming the field.
  Result<CalendarEventId> CreateCalendarEvent(CalendarEntry e);
  Status DeleteCalendarEvent(TenantId t, CalendarEventId id);
  const CalendarEntry* FindCalendarEvent(TenantId t, CalendarEventId id) const;
  std::vector<const CalendarEntry*> CalendarEvents(TenantId t) const;  // by id

  // ---- voice: trunks, numbers, queue voice settings (core/voice.h, engine_voice.cc) -----------
  // Commands check and canonicalise (kBadRequest naming the field; kConflict for a number or
  // digest user name taken server-wide; kNotFound for another tenant's id), then emit.
  // Trunk: name 1..100; sources parse as IP prefixes (ParseIpPrefix), at most kMaxTrunkSources,
  // stored canonical and deduplicated; inbound_user 1..64 of [A-Za-z0-9._-] and unique among
  // trunks and user logins, with a password 1..128 (a user without a password is refused);
  // outbound_host a host name or address (no spaces, ':' only inside an IPv6 address), port
  // 1..65535; caller_id E.164 (NormalizeE164) or ""; outbound_priority 0..kMaxTrunkPriority;
  // dial_timeout whole seconds kMinDialTimeout..kMaxDialTimeout.
  Result<TrunkId> CreateTrunk(Trunk t);
  Status UpdateTrunk(const Trunk& t);
  // kConflict while a number names it.
  Status DeleteTrunk(TenantId t, TrunkId id);
  const Trunk* FindTrunk(TenantId t, TrunkId id) const;
  std::vector<const Trunk*> Trunks(TenantId t) const;  // by id
  // Number: e164 normalised (NormalizeE164), unique server-wide; exactly one target, a queue or
  // an IVR menu of the tenant; trunk 0 or one of the tenant's; name at most 100.
  Result<NumberId> CreateNumber(PhoneNumber n);
  Status UpdateNumber(const PhoneNumber& n);
  Status DeleteNumber(TenantId t, NumberId id);
  const PhoneNumber* FindNumberById(TenantId t, NumberId id) const;
  std::vector<const PhoneNumber*> Numbers(TenantId t) const;  // by id
  // Queue voice settings: files ValidPromptFile or ""; greeting_text at most 1000 bytes;
  // position interval 0 or 10 s..1 h. kNotFound for an unknown queue.
  Status SetQueueVoice(QueueVoice v);
  // The queue's settings, or the defaults (QueueVoice{} with the queue's ids) when none were
  // set; nullopt for an unknown queue.
  std::optional<QueueVoice> VoiceOf(TenantId t, QueueId q) const;

  // IVR menus: name 1..100; prompt_file ValidPromptFile or "", prompt_text at most
  // kMaxIvrPromptText (one line); option keys 0-9 * #; every action complete (a queue or menu
  // of the tenant, an E.164 number); timeout 1..60 s; max_retries 0..10. A menu may lead to
  // itself or to menus that lead back (a caller's steps are bounded by kMaxIvrSteps).
  // Delete: kConflict while a number or another menu leads to it.
  Result<IvrMenuId> CreateIvrMenu(IvrMenu m);
  Status UpdateIvrMenu(const IvrMenu& m);
  Status DeleteIvrMenu(TenantId t, IvrMenuId id);
  const IvrMenu* FindIvrMenu(TenantId t, IvrMenuId id) const;
  std::vector<const IvrMenu*> IvrMenus(TenantId t) const;  // by id

  // ---- call detail records (docs/decisions.md, CDR model) ----
  // The SIP code reports each leg's life; the engine stamps the times (now()), checks the
  // order, and emits cdr.leg_started / cdr.leg_answered / cdr.leg_ended. Only live legs stay
  // in memory (at most kMaxLiveCdrLegs); the CDR routes read finished ones from the log.
  // Start: kNotFound for an unknown tenant or a `call` that is not a live leg of the tenant;
  // kBadRequest for from/to over 256 bytes or a role other than customer starting a call;
  // kUnavailable past kMaxLiveCdrLegs. Returns the leg's id (a new call's id too).
  Result<CdrLegId> StartCdrLeg(CdrLegStart s);
  // kNotFound (unknown, ended, another tenant's); kConflict when already answered.
  Status AnswerCdrLeg(TenantId t, CdrLegId leg);
  // kNotFound as above; kBadRequest for kAnswered on a leg never answered, or a cause over 256
  // bytes. `interaction` (when not 0) records the interaction learnt since the start.
  Status EndCdrLeg(TenantId t, CdrLegId leg, CdrResult result, std::string cause, CdrParty by,
                   InteractionId interaction = 0);
  const CdrLeg* FindCdrLeg(TenantId t, CdrLegId leg) const;  // live legs only
  std::size_t live_cdr_legs() const { return cdr_legs_.size(); }
  static constexpr std::size_t kMaxLiveCdrLegs = 200000;

  // ---- recordings (the SIP/media code reports them; the API lists them) ----
  // Start: the interaction must be a voice interaction of the tenant (kNotFound otherwise)
  // not being recorded now (kConflict); the path is RecordingPath(t, interaction, part), part
  // counting the call's recordings (a call bridged again after a transfer gets a new one). Pause
  // (paused true) / resume (false): kNotFound, kConflict when ended or already so. End:
  // kNotFound, kConflict when ended (a paused span still open is closed). Recover() ends live
  // recordings with reason "restart". Only live recordings stay in memory, like CDR legs: an
  // ended one is dropped (Find/RecordingOf/Recordings no longer see it; Pause and End
  // answer kNotFound) and the recordings routes read it from the log. What is kept per
  // recorded interaction is its count of recordings (the next part), until the interaction
  // is evicted.
  Result<RecordingId> StartRecording(TenantId t, InteractionId interaction);
  Status PauseRecording(TenantId t, RecordingId id, bool paused);
  Status EndRecording(TenantId t, RecordingId id);
  const Recording* FindRecording(TenantId t, RecordingId id) const;
  const Recording* RecordingOf(TenantId t, InteractionId interaction) const;
  std::vector<const Recording*> Recordings(TenantId t) const;  // by id

  // Supervisor monitoring of live calls, as the voice adapter reports it (the media is its
  // business): durable for the audit, one monitor per call at a time. StartMonitor: kNotFound
  // for no such voice interaction, kConflict when it is monitored already. The others:
  // kNotFound when the call is not monitored. Live monitors end at Recover ("restart").
  Status StartMonitor(TenantId t, InteractionId interaction, UserId supervisor, MonitorMode mode);
  Status ChangeMonitor(TenantId t, InteractionId interaction, MonitorMode mode);
  Status EndMonitor(TenantId t, InteractionId interaction, std::string reason);
  const Monitor* MonitorOf(TenantId t, InteractionId interaction) const;

  // Hold of a live call, as the voice adapter did it (the media is its business): an event
  // (call.hold) so that every view of the call (the agent's desktop after a reload, a
  // supervisor's screen, a replay) shows the same state (docs/decisions.md 55). On: kNotFound
  // for no such voice interaction, kConflict when it is not connected or held already. Off:
  // kConflict when not held (whatever the interaction's state: a held call that ends is taken
  // off). Held calls are taken off at Recover ("restart"), like monitors.
  Status SetCallHold(TenantId t, InteractionId interaction, bool on);
  bool OnHold(TenantId t, InteractionId interaction) const;

  // Consultations with a number (core::NumberConsult; the voice service reports them):
  // Start: kNotFound unless a voice interaction of the tenant, kConflict while one is live on
  // it (an ended one is replaced). Answer/End: kNotFound, kConflict when not live (or
  // answered already). Recover() ends live ones with result "restart". The last one of an
  // interaction stays (its result) until the interaction is evicted.
  Status StartNumberConsult(TenantId t, InteractionId interaction, TrunkId trunk,
                            std::string number);
  Status AnswerNumberConsult(TenantId t, InteractionId interaction, TrunkId trunk);
  Status EndNumberConsult(TenantId t, InteractionId interaction, std::string result, int status);
  const NumberConsult* NumberConsultOf(TenantId t, InteractionId interaction) const;

  // Lookups for the SIP adapter (engine thread). Cost: FindNumber and TrunkByDigestUser are
  // one hash lookup; TrunkForSource scans every trunk source prefix (O(prefixes); a few hundred
  // at most per server in practice).
  // The number a call is for: the dialled text as NormalizeDialled reads it; nullptr if unknown.
  const PhoneNumber* FindNumber(std::string_view dialled) const;
  // The trunk that accepts calls from this source address ("203.0.113.7", "::1",
  // "[2001:db8::1]"; IPv4-mapped IPv6 matches IPv4 entries): the most specific prefix over
  // every tenant, then the lowest trunk id. nullptr if none (or the text is not an address).
  // Tenants can share a carrier's addresses, so the called number decides the tenant: check
  // with the tenant overload below.
  const Trunk* TrunkForSource(std::string_view address) const;
  // The same among tenant t's trunks only.
  const Trunk* TrunkForSource(TenantId t, std::string_view address) const;
  // The trunk whose inbound digest user name this is; nullptr if none.
  const Trunk* TrunkByDigestUser(std::string_view user) const;
  // Whether any trunk authenticates by digest (an INVITE from an unknown source is then
  // challenged rather than refused).
  bool HasDigestTrunks() const { return !trunk_by_user_.empty(); }

  // ---- agents --------------------------------------------------------------------------------
  // The agent works for tenant t from now on. Available/break need a membership as agent or
  // supervisor; break needs one of the tenant's break reasons. Going on break or offline
  // withdraws pending offers (not counted as misses); going offline is refused while the agent has contacts in hand unless `force` (supervisor, lease),
  // which puts them back in line.
  Status SetPresence(UserId u, TenantId t, Presence p, const std::string& reason,
                     bool force = false);
  // Lease keep-alives. Not events: a restart logs everyone out anyway.
  void Touch(UserId u);
  void Connected(UserId u);
  void Disconnected(UserId u);

  // ---- interactions --------------------------------------------------------------------------
  struct NewInteraction {
    TenantId tenant = 0;
    Channel channel = Channel::kTask;
    QueueId queue = 0;
    int priority = 0;
    Customer customer;
    std::string subject;
    std::string data;
    InteractionId origin = 0;  // callback for / continues this interaction, keeping its place
  };
  Result<InteractionId> CreateInteraction(NewInteraction&& n);
  Status Accept(UserId agent, InteractionId id);
  Status Reject(UserId agent, InteractionId id);
  // The conversation is over (agent or customer hung up, chat closed): the agent wraps up.
  Status EndContact(InteractionId id, const std::string& reason);
  // The customer left. Waiting or offered: abandoned. Connected: the contact ends.
  Status Abandon(InteractionId id);
  Status WrapUp(UserId agent, InteractionId id, DispositionId disposition, std::string notes);
  Status ExtendWrapUp(UserId agent, InteractionId id, DurationMs more);
  // kForbidden unless `supervisor` is a supervisor or admin of the interaction's tenant.
  Status ForceComplete(UserId supervisor, InteractionId id);
  // The agent hands the contact to another queue; it keeps its place in line.
  Status Transfer(UserId agent, InteractionId id, QueueId to);
  // Calls handed from one agent to another (docs/decisions.md 49). The call continues as a new
  // interaction (origin = id; same channel, queue, priority, customer and place in line).
  // Blind transfer to an agent: id ends for `agent` (wrap-up, reason "transferred") and the new
  // one is offered to `to` alone, with the queue's offer timeout; when that offer ends
  // (rejected, expired) it goes back in line in its queue, keeping the call's place.
  // kNotFound: no such interaction, or `to` is not a member of its tenant; kConflict: id is not
  // a call connected to `agent`, or `to` is `agent` or is not available for a call now (logged
  // in to the tenant, available, a free voice slot, a registered phone when one is required).
  Result<InteractionId> TransferToAgent(UserId agent, InteractionId id, UserId to);
  // Consultation: id stays connected to `agent` (the customer on hold) while a new interaction
  // marked `consult` is offered to `to_agent` alone (checked as above; when the offer ends, the
  // consultation closes, reason "consult_failed"), or, with to_agent 0, waits in `to_queue`
  // with id's place in line and is routed as usual. kNotFound for an unknown queue; kConflict
  // as above, or when id has a consultation open already.
  Result<InteractionId> Consult(UserId agent, InteractionId id, UserId to_agent, QueueId to_queue);
  // The consultee has answered: the call ends for `agent` (ContactEnded of the origin, reason
  // "transferred": wrap-up) and consultation `id` is the customer's call from then on (no
  // longer `consult`; it can be handed on in turn). kConflict unless id is an open
  // consultation that is connected and its origin is connected to `agent`.
  Status CompleteConsult(UserId agent, InteractionId id);
  // A consultation is open until it is completed or ends.
  bool ConsultOpen(const Interaction& ix) const;
  // The open consultation of interaction `origin`, 0 when none.
  InteractionId OpenConsultOf(InteractionId origin) const;
  // Ends an open consultation without wrap-up or abandon figures (cancelled, its agent or the
  // customer gone): Closed with `reason` (an offer pending is withdrawn first). kConflict when
  // id is not an open consultation.
  Status CloseConsult(InteractionId id, const std::string& reason);
  // An agent's outbound call (docs/decisions.md "Outbound calls"): a voice interaction of
  // queue q (its wrap-up and dispositions apply) connected to the agent from the start, marked
  // outbound. It never waits in the queue and is not in its figures (entered, answered,
  // service level, handled). The agent must be a member of t logged in to t (available, on
  // break or missed: kConflict when offline or working for another tenant), with no voice
  // contact in hand (offered, connected or in wrap-up: kConflict) and, when voice needs a
  // phone, a registered phone (kConflict). kNotFound: no such queue of t, or not a member.
  Result<InteractionId> StartOutbound(UserId agent, TenantId t, QueueId q, Customer customer,
                                      std::string subject);

  // ---- reads ---------------------------------------------------------------------------------
  const std::map<TenantId, Tenant>& tenants() const { return tenants_; }
  const std::map<UserId, User>& users() const { return users_; }
  const Tenant* FindTenant(TenantId t) const;
  const Tenant* FindTenantBySlug(const std::string& slug) const;
  const User* FindUser(UserId u) const;
  const User* FindUserByLogin(const std::string& login) const;
  // The user's SIP HA1 (see SetSipCredential); null when none is set.
  const std::string* SipHa1(UserId u) const;
  const std::map<UserId, std::string>& sip_credentials() const { return sip_ha1_; }
  const Membership* FindMember(TenantId t, UserId u) const;
  // Tenants the user belongs to, with the role in each.
  std::vector<std::pair<TenantId, Role>> TenantsOf(UserId u) const;
  std::vector<UserId> MembersOf(TenantId t) const;
  const Skill* FindSkill(TenantId t, SkillId id) const;
  const Queue* FindQueue(TenantId t, QueueId id) const;
  const BusinessHours* FindHours(TenantId t, HoursId id) const;
  const Disposition* FindDisposition(TenantId t, DispositionId id) const;
  std::vector<const Skill*> Skills(TenantId t) const;
  std::vector<const Queue*> Queues(TenantId t) const;
  std::vector<const BusinessHours*> Hours(TenantId t) const;
  std::vector<const Disposition*> Dispositions(TenantId t) const;
  // Session by token hash, if not expired or revoked.
  std::optional<UserId> SessionUser(const std::string& token_hash) const;
  // Null for an unknown id, another tenant's, or one evicted after it finished (see "Memory").
  const Interaction* FindInteraction(TenantId t, InteractionId id) const;
  std::vector<const Interaction*> Interactions(TenantId t, bool live_only) const;
  // Agent state of a member (an offline Agent value if the person never logged in).
  Agent AgentView(UserId u) const;
  const Agent* FindAgent(UserId u) const;
  QueueStats Stats(TenantId t, QueueId q) const;
  // Business hours are weekly ranges of local time in the hours' zone (its own `timezone`, or
  // else the tenant's), so "09:00-17:00" opens at 09:00 local on both sides of a DST change.
  bool IsOpen(const Queue& q, TimeMs at) const;

  // ---- time zones ----------------------------------------------------------------------------
  // The zone of the tenant's `timezone` setting (UTC for an unknown tenant, or a stored name the
  // zone lookup does not know). Shared and immutable: views may keep it off the engine thread.
  const std::shared_ptr<const TimeZone>& ZoneOf(TenantId t) const;
  // The zone business hours use: their own, else their tenant's.
  const std::shared_ptr<const TimeZone>& ZoneOfHours(const BusinessHours& h) const;
  // kBadRequest unless `name` is a fixed offset or a zone the lookup knows.
  Status CheckZone(const std::string& name, const char* field) const;

  // ---- web chat (engine_chat.cc) -------------------------------------------------------------
  // A chat interaction (n.channel is set to chat) with the visitor's token hash and first
  // message (seq 1). Fails as CreateInteraction, or on a bad first message (see PostChat).
  Result<InteractionId> CreateChat(NewInteraction n, std::string token_hash,
                                   std::string client_id, std::string text);
  struct ChatPosted {
    std::uint64_t seq = 0;
    bool duplicate = false;  // the sender's client_id was already stored: nothing emitted
  };
  // Appends a message. The text is trimmed; empty or over kMaxChatText: kBadRequest (the
  // message of an over-long text starts with "message too long"). A visitor may write while the
  // chat is queued, offered or connected, an agent only while connected and only the agent it
  // is connected to; otherwise kConflict. A client_id the same sender already used returns the
  // stored message's seq with duplicate set. kNotFound: no such chat of tenant t.
  Result<ChatPosted> PostChat(TenantId t, InteractionId id, ChatSender sender, UserId agent,
                              std::string client_id, std::string text);
  // The chat's log; null when id is not a chat of tenant t (or was evicted with its
  // interaction, see "Memory").
  const ChatLog* FindChat(TenantId t, InteractionId id) const;
  // The chat interaction with this id, of any tenant (the visitor's routes name no tenant);
  // null when id is not a chat.
  const Interaction* FindChatInteraction(InteractionId id) const;
  // The chats queued in queue q of tenant t, first in line first (the order routing takes
  // them). O(n log n) in the contacts waiting in q.
  std::vector<const Interaction*> ChatsWaiting(TenantId t, QueueId q) const;

  // ---- schedules (WFM) -------------------------------------------------------------------------
  // Stores a solved week as a draft of s.tenant (the id, created_at and state are set here).
  // kNotFound for an unknown tenant; kConflict past kMaxSchedulesPerTenant.
  Result<ScheduleId> StoreSchedule(StoredSchedule s);
  // A draft becomes what its agents see; the week's previous published schedule is superseded.
  // kNotFound (unknown, or another tenant's), kConflict when not a draft.
  Status PublishSchedule(TenantId t, ScheduleId id, UserId by);
  const StoredSchedule* FindSchedule(TenantId t, ScheduleId id) const;
  std::vector<const StoredSchedule*> Schedules(TenantId t) const;  // by id

 private:
  struct Timer {
    TimeMs due;
    std::uint64_t order;
    enum Kind : std::uint8_t { kOfferExpiry, kStep, kWrapUpEnd, kLease } kind;
    std::uint64_t a;  // interaction or user
    std::int64_t b;   // expected value (expiry, step, until) so stale timers do nothing
    bool operator>(const Timer& o) const { return due != o.due ? due > o.due : order > o.order; }
  };
  struct DayStats : DayFigures {
    // The local day of the queue's tenant these figures are for, as a UTC range; empty until
    // the first figure.
    TimeMs from = 1;
    TimeMs until = 0;
  };
  struct DayWindow {
    TimeMs from = 0;
    TimeMs until = 0;
  };
  // The local day of tenant t's zone holding `at`.
  DayWindow DayAround(TenantId t, TimeMs at) const;
  // A tenant's zone changed: the days in progress now end at the new zone's midnight (their
  // figures are kept).
  void Rezone(TenantId t);
  // The hot path's view of a queue: its definition (in queues_) and today's figures (in
  // day_stats_), so the command that looks a queue up finds its stats without hashing again.
  struct QueueRef {
    const Queue* queue = nullptr;
    DayStats* stats = nullptr;
    QueueSlot slot = 0;  // in the routing index
  };

  template <typename Body>
  void Emit(TenantId t, Body&& body);
  // Emit, building the body in the outbox from its fields: a new contact's strings are moved
  // once, from the command into the event.
  template <typename Body, typename... Fields>
  void EmitFields(TenantId t, Fields&&... fields);
  void Apply(const Event& e);
  void ApplyChat(const ChatStarted& b);
  // TransferToAgent and Consult: the checks and the new interaction's creation.
  Result<InteractionId> Continue(UserId agent, InteractionId id, UserId to_agent, QueueId to_queue,
                                 bool consult);
  // Emit for engine_chat.cc (Emit is a template of engine.cc).
  void EmitChat(TenantId t, ChatStarted b);
  void EmitChat(TenantId t, ChatMessage b);
  void ApplyChat(const ChatMessage& b, TimeMs t);
  // Apply's work for one kind of event (Emit calls it directly).
  template <typename B>
  void ApplyBody(const B& b, TimeMs t);
  void Schedule(Timer::Kind kind, TimeMs due, std::uint64_t a, std::int64_t b);
  void Dispatch();
  void RouteInteraction(InteractionId id);
  void RouteAgent(UserId u);
  void FireTimer(const Timer& t);
  // Remembers that the interaction finished now, for EvictFinished.
  void NoteFinished(const Interaction& ix);
  void EvictFinished();

  // index maintenance
  void FileWaiting(Interaction& ix);
  void UnfileWaiting(Interaction& ix);
  void ReindexAgent(Agent& a);
  // The entry's own part of its key (see RoutingIndex::AddAvailable).
  std::int64_t FixedKey(const Agent& a, const QueueFit& fit) const;
  // Records an offer of queue q to the agent (round robin's rank).
  void NoteOffer(Agent& a, QueueId q);
  // Reindexes the agents queued in reindex_later_; the index is exact again afterwards.
  void FlushReindex();
  // The agent's index entries may lag until the next FlushReindex: only while no contact
  // looks for an agent (see Dispatch).
  void DeferReindex(const Agent& a);
  void RecomputeFits(Agent& a);
  void RecomputeTenantFits(TenantId t);
  QueueSlot RefreshQueueSteps(const Queue& q);
  unsigned FreeChannels(const Agent& a) const;
  void UpdateActivity(Agent& a);
  void RollDay(Agent& a);
  DayStats& StatsOf(QueueId q);
  const Queue* QueueById(QueueId id) const;
  const QueueRef* QueueRefOf(QueueId id) const;
  Agent& AgentOf(UserId u);
  // interactions_.at(id). Like AgentOf, remembers the last one: one command looks the same
  // contact and agent up again and again (command, each event it applies, routing).
  Interaction& IxAt(InteractionId id);
  void ScheduleStep(const Interaction& ix);
  // Keep Agent::work, used and held in step with the contacts in hand.
  void AddWork(Agent& a, const Interaction& ix);
  void RemoveWork(Agent& a, const Interaction& ix);
  void SetHeldState(Agent& a, Interaction& ix, InteractionState s);
  // A contact that ends before completion (abandoned, closed) leaves its line, or the hands
  // of the agent it was offered to or held by, who then looks for work. idle_from: when that
  // agent, if left with nothing, counts as idle from; nullopt keeps its idle time.
  void TakeOffHands(Interaction& ix, std::optional<TimeMs> idle_from);
  // Emits the end of the agent's pending offers (withdrawn: not a miss).
  void WithdrawOffers(Agent& a);
  // Emits what takes an agent's contacts away (withdraw offers, requeue or close the rest).
  void ReleaseWork(Agent& a, const std::string& reason);

  Status CheckTenant(TenantId t) const;
  bool HasDispositions(TenantId t) const;
  Status ValidateQueue(const Queue& q) const;
  Status ValidateHours(const BusinessHours& h) const;
  bool SlugTaken(const std::string& slug, TenantId except) const;

  EngineOptions options_;
  TimeMs now_ = 0;
  std::uint64_t seq_ = 0;
  std::uint64_t next_id_ = 1;  // ids of every kind come from one counter
  bool replaying_ = false;
  std::vector<Event> outbox_;

  std::map<TenantId, Tenant> tenants_;
  std::map<ScheduleId, StoredSchedule> schedules_;  // WFM; apart from routing state
  void ApplySchedule(const ScheduleStored& b, TimeMs t);
  void ApplySchedule(const SchedulePublished& b, TimeMs t);
  // voice (engine_voice.cc)
  void ApplyVoice(const TrunkSet& b);
  void ApplyVoice(const TrunkDeleted& b);
  void ApplyVoice(const NumberSet& b);
  void ApplyVoice(const NumberDeleted& b);
  void ApplyVoice(const QueueVoiceSet& b);
  void ApplyVoice(const IvrMenuSet& b);
  void ApplyVoice(const IvrMenuDeleted& b);
  Status ValidateIvrMenu(IvrMenu& m) const;
  Status ValidateIvrAction(TenantId t, IvrMenuId self, IvrAction& a, const std::string& where) const;
  std::map<IvrMenuId, IvrMenu> ivr_menus_;
  void ApplyVoice(const CdrLegStarted& b, TimeMs t);
  void ApplyVoice(const CdrLegAnswered& b, TimeMs t);
  void ApplyVoice(const CdrLegEnded& b, TimeMs t);
  void RecoverCdrLegs();
  std::unordered_map<CdrLegId, CdrLeg> cdr_legs_;  // live legs
  void ApplyVoice(const RecordingStarted& b, TimeMs t);
  void ApplyVoice(const RecordingPaused& b, TimeMs t);
  void ApplyVoice(const RecordingEnded& b, TimeMs t);
  std::map<RecordingId, Recording> recordings_;  // live ones only (ended: in the log)
  // Per recorded interaction still in memory: its live recording (0 none) and how many it had,
  // for the next part's number. Evicted with the interaction.
  struct RecordedCall {
    RecordingId live = 0;
    int parts = 0;
  };
  std::unordered_map<InteractionId, RecordedCall> recorded_calls_;
  void ApplyVoice(const MonitorStarted& b, TimeMs t);
  void ApplyVoice(const MonitorChanged& b, TimeMs t);
  void ApplyVoice(const MonitorEnded& b, TimeMs t);
  void ApplyVoice(const NumberConsultStarted& b, TimeMs t);
  void ApplyVoice(const NumberConsultAnswered& b, TimeMs t);
  void ApplyVoice(const NumberConsultEnded& b, TimeMs t);
  std::unordered_map<InteractionId, NumberConsult> number_consults_;  // live and last ended
  std::unordered_map<InteractionId, Monitor> monitors_;  // live only
  void ApplyVoice(const CallHold& b, TimeMs t);
  std::unordered_map<InteractionId, TenantId> held_calls_;  // on hold now
  void EmitVoice(TenantId t, EventBody body);
  Status ValidateTrunk(Trunk& t) const;
  Status ValidateNumber(PhoneNumber& n) const;
  std::map<TrunkId, Trunk> trunks_;
  std::unordered_map<std::string, TrunkId> trunk_by_user_;
  struct SourceEntry { IpPrefix net; TrunkId trunk; TenantId tenant; };
  std::vector<SourceEntry> trunk_sources_;  // every trunk's source prefixes
  std::map<NumberId, PhoneNumber> numbers_;
  std::unordered_map<std::string, NumberId> number_by_e164_;
  std::map<QueueId, QueueVoice> queue_voice_;
  std::map<UserId, User> users_;
  std::unordered_map<std::string, UserId> user_by_login_;
  std::map<UserId, std::string> sip_ha1_;
  std::map<UserId, std::map<TenantId, Membership>> members_;
  std::map<SkillId, Skill> skills_;
  std::map<QueueId, Queue> queues_;  // ordered: fits and listings go by id
  std::unordered_map<QueueId, QueueRef> queue_by_id_;
  std::map<HoursId, BusinessHours> hours_;
  std::map<DispositionId, Disposition> dispositions_;
  std::unordered_map<TenantId, int> disposition_count_;  // so WrapUp need not list them
  std::map<CalendarEventId, CalendarEntry> calendar_;    // workforce management (forecast)
  struct Session { UserId user; TimeMs expires; };
  std::unordered_map<std::string, Session> sessions_;
  // Nodes from a pool: a new contact's record costs no malloc. The pool outlives the map.
  using InteractionMap =
      std::unordered_map<InteractionId, Interaction, std::hash<InteractionId>,
                         std::equal_to<InteractionId>,
                         NodePoolAllocator<std::pair<const InteractionId, Interaction>>>;
  NodePool interaction_nodes_;
  InteractionMap interactions_{0, std::hash<InteractionId>(), std::equal_to<InteractionId>(),
                               InteractionMap::allocator_type(&interaction_nodes_)};
  std::unordered_map<UserId, Agent> agents_;
  std::unordered_map<QueueId, DayStats> day_stats_;
  std::unordered_map<TenantId, std::shared_ptr<const TimeZone>> tenant_zones_;
  std::unordered_map<HoursId, std::shared_ptr<const TimeZone>> hours_zones_;  // own zone only
  std::unordered_map<InteractionId, ChatLog> chats_;  // web chats; evicted with their interaction
  std::unordered_map<InteractionId, InteractionId> open_consults_;  // origin -> consultation

  Interaction* ix_memo_ = nullptr;  // see IxAt; cleared when that interaction is evicted
  mutable const QueueRef* queue_memo_ = nullptr;  // the last QueueById; cleared on delete
  Agent* agent_memo_ = nullptr;     // see AgentOf; agents are never erased
  RoutingIndex index_;
  TimerQueue<Timer> timers_;
  std::uint64_t timer_order_ = 0;
  std::uint64_t offer_counter_ = 0;
  std::mt19937_64 rng_;
  std::vector<InteractionId> dirty_interactions_;
  std::vector<UserId> dirty_agents_;
  // Finished interactions in the order they finished (time only moves forward), so eviction
  // looks only at the front.
  struct Finished { TimeMs at; InteractionId id; };
  std::deque<Finished> finished_;
  std::vector<UserId> reindex_later_;  // agents whose index entries lag (see FlushReindex)
  bool routing_agents_ = false;        // Dispatch is letting freed agents pull contacts
  bool skip_wrapup_timer_ = false;     // WrapUp completes the contact it ends (no timer)
  // Work lists kept for their capacity, so the hot path does not allocate.
  std::vector<UserId> dirty_agents_scratch_;
  std::vector<InteractionId> dirty_interactions_scratch_;
};

}  // namespace homeline::core
