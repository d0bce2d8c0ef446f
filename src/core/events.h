#pragma once
// Every state change of the engine is one of these events. The engine applies an event to its
// state through one function (Engine::Apply), both when it makes the change and when it
// replays the store at start, so the state after a restart is the state that was committed.
// Config events carry the whole entity (upsert); runtime events carry ids.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>

#include "core/schedules.h"
#include "core/types.h"
#include "core/voice.h"

namespace homeline::core {

// A config event's entity, on the heap. An Event is as large as its largest body, and every
// routing event (an offer, a contact's end) pays for that size in the outbox: config events
// are rare, so their entities live behind a pointer and an Event stays two cache lines.
// A value: copies copy the entity; always holds one (a default T when default-constructed),
// except after being moved from, when it may only be assigned or destroyed.
template <typename T>
class Boxed {
 public:
  Boxed() : p_(std::make_unique<T>()) {}
  Boxed(T v) : p_(std::make_unique<T>(std::move(v))) {}  // NOLINT: implicit, like a T member
  Boxed(const Boxed& o) : p_(std::make_unique<T>(*o.p_)) {}
  Boxed(Boxed&&) noexcept = default;
  Boxed& operator=(const Boxed& o) {
    if (this != &o) p_ = std::make_unique<T>(*o.p_);
    return *this;
  }
  Boxed& operator=(Boxed&&) noexcept = default;
  T& operator*() { return *p_; }
  const T& operator*() const { return *p_; }
  T* operator->() { return p_.get(); }
  const T* operator->() const { return p_.get(); }
  T* get() { return p_.get(); }

 private:
  std::unique_ptr<T> p_;
};

struct TenantSet { Boxed<Tenant> tenant; };
struct UserSet { Boxed<User> user; };
// A user's SIP digest credential (docs/decisions.md 36): ha1 = hex MD5(login:realm:password),
// which is what digest authentication needs and all a stolen database gives away (for this
// realm only). Empty: the user has no SIP password (cannot register a phone).
struct UserSipSet { UserId user = 0; std::string ha1; };
struct MemberSet { TenantId tenant = 0; UserId user = 0; Boxed<Membership> member; };
struct MemberRemoved { TenantId tenant = 0; UserId user = 0; };
struct SkillSet { Skill skill; };
struct SkillDeleted { TenantId tenant = 0; SkillId skill = 0; };
struct QueueSet { Boxed<Queue> queue; };
struct QueueDeleted { TenantId tenant = 0; QueueId queue = 0; };
struct HoursSet { Boxed<BusinessHours> hours; };
struct HoursDeleted { TenantId tenant = 0; HoursId hours = 0; };
struct DispositionSet { Boxed<Disposition> disposition; };
struct DispositionDeleted { TenantId tenant = 0; DispositionId disposition = 0; };
// Bearer tokens are kept only as hashes.
struct SessionCreated { std::string token_hash; UserId user = 0; TimeMs expires = 0; };
struct SessionRevoked { std::string token_hash; };

struct PresenceChanged {
  UserId user = 0;
  TenantId tenant = 0;  // the tenant the agent works for now (0 when offline)
  Presence presence = Presence::kOffline;
  std::string reason;   // break reason, or why the system changed it
};

struct InteractionCreated {
  InteractionId id = 0;
  TenantId tenant = 0;
  Channel channel = Channel::kTask;
  QueueId queue = 0;
  int priority = 0;
  TimeMs enqueued_at = 0;   // place in line; a callback keeps its original call's
  InteractionId origin = 0; // the interaction this one continues (callback, transfer)
  // Customer, subject and data (see ContactText); null when all are empty. Shared with the
  // contact's record, which keeps the same block.
  std::shared_ptr<const ContactText> text;
  UserId directed = 0;      // offered to this agent alone (Engine::TransferToAgent, Consult)
  bool consult = false;     // a consultation (Engine::Consult)

  const Customer& customer() const { return TextOf(text).customer; }
  const std::string& subject() const { return TextOf(text).subject; }
  const std::string& data() const { return TextOf(text).data; }  // JSON object text, opaque
};
struct InteractionMoved { InteractionId id = 0; QueueId queue = 0; std::string reason; };
struct InteractionStepped { InteractionId id = 0; int step = 0; };  // relaxation step reached
struct Offered { InteractionId id = 0; UserId agent = 0; TimeMs expires = 0; };
enum class OfferResult : std::uint8_t { kRejected, kExpired, kWithdrawn };
struct OfferEnded { InteractionId id = 0; UserId agent = 0; OfferResult result{}; };
struct Accepted { InteractionId id = 0; UserId agent = 0; };
struct ContactEnded { InteractionId id = 0; std::string reason; };     // to wrap-up
struct WrapUpExtended { InteractionId id = 0; TimeMs until = 0; };
struct Completed {
  InteractionId id = 0;
  DispositionId disposition = 0;
  std::string notes;
  UserId forced_by = 0;  // a supervisor who force-completed it; 0 otherwise
  bool timed_out = false;
};
struct Abandoned { InteractionId id = 0; };
struct Closed { InteractionId id = 0; std::string reason; };

// ---- web chat (engine_chat.cc) ----
// A web chat's visitor credential: the hash of the token the visitor holds.
struct ChatStarted { InteractionId id = 0; std::string token_hash; };
// One message of a chat; seq numbers the chat's messages 1, 2, 3... The event's ts is its time.
struct ChatMessage {
  InteractionId id = 0;
  std::uint64_t seq = 0;
  ChatSender sender = ChatSender::kVisitor;
  UserId agent = 0;       // the agent who wrote it (sender kAgent)
  std::string client_id;  // the sender's idempotency key; may be empty
  std::string text;
};
// ---- schedules (WFM) ----
// A solved week stored as a draft (the whole schedule: config-style, it carries the entity).
struct ScheduleStored { Boxed<StoredSchedule> schedule; };
// Agents see it from now on; the schedule published before for the same week is superseded.
struct SchedulePublished { TenantId tenant = 0; ScheduleId schedule = 0; UserId by = 0; };

// ---- workforce management: forecast calendar ----
struct CalendarEventSet { Boxed<CalendarEntry> event; };
struct CalendarEventDeleted { TenantId tenant = 0; CalendarEventId id = 0; };

// ---- voice (core/voice.h; engine_voice.cc) ----
struct TrunkSet { Boxed<Trunk> trunk; };
struct TrunkDeleted { TenantId tenant = 0; TrunkId id = 0; };
struct NumberSet { Boxed<PhoneNumber> number; };
struct NumberDeleted { TenantId tenant = 0; NumberId id = 0; };
// A queue's voice settings (whole value); they go with the queue when it is deleted.
struct QueueVoiceSet { Boxed<QueueVoice> voice; };
struct IvrMenuSet { Boxed<IvrMenu> menu; };
struct IvrMenuDeleted { TenantId tenant = 0; IvrMenuId id = 0; };
// Call detail records: a leg's start, answer and end; the event's ts is the time of each.
struct CdrLegStarted { CdrLegId leg = 0; Boxed<CdrLegStart> start; };
struct CdrLegAnswered { CdrLegId leg = 0; };
struct CdrLegEnded {
  CdrLegId leg = 0;
  InteractionId interaction = 0;  // learnt since the start (0: as at the start)
  CdrResult result = CdrResult::kFailed;
  std::string cause;
  CdrParty hung_up_by = CdrParty::kUnknown;
};

// Recordings: started (the record, with its path), paused or resumed, ended. ts is the time.
struct RecordingStarted {
  RecordingId id = 0;
  TenantId tenant = 0;
  InteractionId interaction = 0;
  std::string path;
};
struct RecordingPaused { RecordingId id = 0; bool paused = true; };
struct RecordingEnded { RecordingId id = 0; std::string reason; };

// Supervisor monitoring of a live call (core::Monitor): the supervisor's phone answered and
// joined in a mode, the mode changed, the monitor ended (reason: "stopped" by the API,
// "supervisor_hung_up", the call's end or transfer, "restart"). ts is the time.
struct MonitorStarted {
  TenantId tenant = 0;
  InteractionId interaction = 0;
  UserId supervisor = 0;
  MonitorMode mode = MonitorMode::kListen;
};
struct MonitorChanged { InteractionId interaction = 0; MonitorMode mode = MonitorMode::kListen; };
struct MonitorEnded { InteractionId interaction = 0; std::string reason; };
// A connected call put on hold (the customer hears music) or taken off, as the voice adapter
// did it; also off when a held call ends or moves on, and at Recover ("restart"). ts is the time.
struct CallHold { TenantId tenant = 0; InteractionId interaction = 0; bool on = true; };
// A consultation with a number (core::NumberConsult): dialled, answered (through `trunk`),
// ended with its result. ts is the time.
struct NumberConsultStarted {
  TenantId tenant = 0;
  InteractionId interaction = 0;
  TrunkId trunk = 0;
  std::string number;
};
struct NumberConsultAnswered { InteractionId interaction = 0; TrunkId trunk = 0; };
struct NumberConsultEnded { InteractionId interaction = 0; std::string result; int status = 0; };
// An agent's outbound call (Engine::StartOutbound): a voice interaction of `queue`, connected
// to `agent` from its creation, direction outbound. The customer's number is in the text.
struct OutboundStarted {
  InteractionId id = 0;
  TenantId tenant = 0;
  QueueId queue = 0;
  UserId agent = 0;
  std::shared_ptr<const ContactText> text;
  const Customer& customer() const { return TextOf(text).customer; }
  const std::string& subject() const { return TextOf(text).subject; }
};

using EventBody = std::variant<TenantSet, UserSet, UserSipSet, MemberSet, MemberRemoved, SkillSet,
                               SkillDeleted, QueueSet, QueueDeleted, HoursSet, HoursDeleted,
                               DispositionSet, DispositionDeleted, SessionCreated, SessionRevoked,
                               PresenceChanged, InteractionCreated, InteractionMoved,
                               InteractionStepped, Offered, OfferEnded, Accepted, ContactEnded,
                               WrapUpExtended, Completed, Abandoned, Closed,
                               ChatStarted, ChatMessage,
                               ScheduleStored, SchedulePublished,
                               // workforce management
                               CalendarEventSet, CalendarEventDeleted,
                               // voice
                               TrunkSet, TrunkDeleted, NumberSet, NumberDeleted, QueueVoiceSet,
                               IvrMenuSet, IvrMenuDeleted,
                               CdrLegStarted, CdrLegAnswered, CdrLegEnded,
                               RecordingStarted, RecordingPaused, RecordingEnded,
                               MonitorStarted, MonitorChanged, MonitorEnded,
                               OutboundStarted, CallHold,
                               NumberConsultStarted, NumberConsultAnswered, NumberConsultEnded>;

struct Event {
  std::uint64_t seq = 0;
  TimeMs ts = 0;
  TenantId tenant = 0;  // 0: platform-level
  EventBody body;

  Event() = default;
  Event(std::uint64_t seq, TimeMs ts, TenantId tenant, EventBody body)
      : seq(seq), ts(ts), tenant(tenant), body(std::move(body)) {}
  // Builds the body in place (the engine's outbox) from its fields or a body, without moving
  // a whole variant.
  template <typename Body, typename... Args>
  Event(std::uint64_t seq, TimeMs ts, TenantId tenant, std::in_place_type_t<Body> type,
        Args&&... args)
      : seq(seq), ts(ts), tenant(tenant), body(type, std::forward<Args>(args)...) {}
};

// Routing writes several events per decision into the outbox: a body that would make an Event
// larger belongs behind a pointer (Boxed, like the config entities above).
static_assert(sizeof(Event) <= 128, "an Event is two cache lines: box the new body's entity");

// Stable type names written to the store, e.g. "interaction.offered".
const char* TypeName(const EventBody& body);

}  // namespace homeline::core
