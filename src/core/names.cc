// Names of the enums (types.h) and event types (events.h). These strings are written to the
// store and shown in the API, so they must never change once released.

#include <array>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <string_view>
#include <variant>

#include "core/events.h"
#include "core/types.h"

namespace homeline::core {
namespace {

// Indexed by the enum's value.
constexpr std::array<const char*, 3> kRoleNames{"agent", "supervisor", "admin"};
constexpr std::array<const char*, kChannelCount> kChannelNames{"voice", "chat", "email",
                                                               "callback", "task"};
constexpr std::array<const char*, 4> kPresenceNames{"offline", "available", "break", "missed"};
constexpr std::array<const char*, 7> kStateNames{"queued",    "offered",   "connected", "wrap_up",
                                                 "completed", "abandoned", "closed"};
constexpr std::array<const char*, 3> kChatSenderNames{"visitor", "agent", "system"};
constexpr std::array<const char*, 6> kStrategyNames{"best_proficiency", "longest_idle",
                                                    "round_robin",      "fewest_contacts",
                                                    "least_talk_time",  "random"};

template <typename E, std::size_t N>
const char* NameIn(const std::array<const char*, N>& names, E e) {
  const auto i = static_cast<std::size_t>(e);
  return i < N ? names[i] : "unknown";
}

template <typename E, std::size_t N>
std::optional<E> ParseIn(const std::array<const char*, N>& names, std::string_view s) {
  for (std::size_t i = 0; i < N; ++i) {
    if (s == names[i]) return static_cast<E>(i);
  }
  return std::nullopt;
}

// One overload per alternative: adding an event without a name fails to compile.
constexpr const char* EventName(const TenantSet&) { return "tenant.set"; }
constexpr const char* EventName(const UserSet&) { return "user.set"; }
constexpr const char* EventName(const UserSipSet&) { return "user.sip_set"; }
constexpr const char* EventName(const MemberSet&) { return "member.set"; }
constexpr const char* EventName(const MemberRemoved&) { return "member.removed"; }
constexpr const char* EventName(const SkillSet&) { return "skill.set"; }
constexpr const char* EventName(const SkillDeleted&) { return "skill.deleted"; }
constexpr const char* EventName(const QueueSet&) { return "queue.set"; }
constexpr const char* EventName(const QueueDeleted&) { return "queue.deleted"; }
constexpr const char* EventName(const HoursSet&) { return "hours.set"; }
constexpr const char* EventName(const HoursDeleted&) { return "hours.deleted"; }
constexpr const char* EventName(const DispositionSet&) { return "disposition.set"; }
constexpr const char* EventName(const DispositionDeleted&) { return "disposition.deleted"; }
constexpr const char* EventName(const SessionCreated&) { return "session.created"; }
constexpr const char* EventName(const SessionRevoked&) { return "session.revoked"; }
constexpr const char* EventName(const PresenceChanged&) { return "agent.presence"; }
constexpr const char* EventName(const InteractionCreated&) { return "interaction.created"; }
constexpr const char* EventName(const InteractionMoved&) { return "interaction.moved"; }
constexpr const char* EventName(const InteractionStepped&) { return "interaction.stepped"; }
constexpr const char* EventName(const Offered&) { return "interaction.offered"; }
constexpr const char* EventName(const OfferEnded&) { return "interaction.offer_ended"; }
constexpr const char* EventName(const Accepted&) { return "interaction.accepted"; }
constexpr const char* EventName(const ContactEnded&) { return "interaction.contact_ended"; }
constexpr const char* EventName(const WrapUpExtended&) { return "interaction.wrapup_extended"; }
constexpr const char* EventName(const Completed&) { return "interaction.completed"; }
constexpr const char* EventName(const Abandoned&) { return "interaction.abandoned"; }
constexpr const char* EventName(const Closed&) { return "interaction.closed"; }
constexpr const char* EventName(const ChatStarted&) { return "chat.started"; }
constexpr const char* EventName(const ChatMessage&) { return "chat.message"; }
constexpr const char* EventName(const ScheduleStored&) { return "schedule.stored"; }
constexpr const char* EventName(const SchedulePublished&) { return "schedule.published"; }
// workforce management
constexpr const char* EventName(const CalendarEventSet&) { return "calendar.set"; }
constexpr const char* EventName(const CalendarEventDeleted&) { return "calendar.deleted"; }
// voice
constexpr const char* EventName(const TrunkSet&) { return "trunk.set"; }
constexpr const char* EventName(const TrunkDeleted&) { return "trunk.deleted"; }
constexpr const char* EventName(const NumberSet&) { return "number.set"; }
constexpr const char* EventName(const NumberDeleted&) { return "number.deleted"; }
constexpr const char* EventName(const QueueVoiceSet&) { return "queue_voice.set"; }
constexpr const char* EventName(const IvrMenuSet&) { return "ivr.set"; }
constexpr const char* EventName(const IvrMenuDeleted&) { return "ivr.deleted"; }
constexpr const char* EventName(const CdrLegStarted&) { return "cdr.leg_started"; }
constexpr const char* EventName(const CdrLegAnswered&) { return "cdr.leg_answered"; }
constexpr const char* EventName(const CdrLegEnded&) { return "cdr.leg_ended"; }
constexpr const char* EventName(const RecordingStarted&) { return "recording.started"; }
constexpr const char* EventName(const RecordingPaused&) { return "recording.paused"; }
constexpr const char* EventName(const RecordingEnded&) { return "recording.ended"; }
constexpr const char* EventName(const MonitorStarted&) { return "monitor.started"; }
constexpr const char* EventName(const MonitorChanged&) { return "monitor.changed"; }
constexpr const char* EventName(const MonitorEnded&) { return "monitor.ended"; }
constexpr const char* EventName(const NumberConsultStarted&) { return "consult.number_started"; }
constexpr const char* EventName(const NumberConsultAnswered&) { return "consult.number_answered"; }
constexpr const char* EventName(const NumberConsultEnded&) { return "consult.number_ended"; }
constexpr const char* EventName(const OutboundStarted&) { return "interaction.outbound_started"; }
constexpr const char* EventName(const CallHold&) { return "call.hold"; }

}  // namespace

const char* Name(Role r) { return NameIn(kRoleNames, r); }
const char* Name(Channel c) { return NameIn(kChannelNames, c); }
const char* Name(Presence p) { return NameIn(kPresenceNames, p); }
const char* Name(InteractionState s) { return NameIn(kStateNames, s); }
const char* Name(Strategy s) { return NameIn(kStrategyNames, s); }
const char* Name(ChatSender s) { return NameIn(kChatSenderNames, s); }
std::optional<ChatSender> ParseChatSender(std::string_view s) {
  return ParseIn<ChatSender>(kChatSenderNames, s);
}

std::optional<Role> ParseRole(std::string_view s) { return ParseIn<Role>(kRoleNames, s); }
std::optional<Channel> ParseChannel(std::string_view s) {
  return ParseIn<Channel>(kChannelNames, s);
}
std::optional<Presence> ParsePresence(std::string_view s) {
  return ParseIn<Presence>(kPresenceNames, s);
}
std::optional<Strategy> ParseStrategy(std::string_view s) {
  return ParseIn<Strategy>(kStrategyNames, s);
}

const char* Name(ScheduleState s) {
  switch (s) {
    case ScheduleState::kDraft: return "draft";
    case ScheduleState::kPublished: return "published";
    case ScheduleState::kSuperseded: return "superseded";
  }
  return "draft";
}

const char* TypeName(const EventBody& body) {
  return std::visit([](const auto& e) { return EventName(e); }, body);
}

}  // namespace homeline::core
