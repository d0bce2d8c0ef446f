#pragma once
// The vocabulary of the contact-center engine: ids, enums and the configuration entities an
// admin edits (tenants, users, skills, queues, business hours, dispositions).
// Plain values; no behaviour beyond parsing names.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"

namespace homeline::core {

// Ids are unique across the whole server (not per tenant), so an id of another tenant is
// recognisable and answered as "not found".
using TenantId = std::uint64_t;
using UserId = std::uint64_t;
using SkillId = std::uint64_t;
using QueueId = std::uint64_t;
using HoursId = std::uint64_t;
using DispositionId = std::uint64_t;
using InteractionId = std::uint64_t;

enum class Role : std::uint8_t { kAgent, kSupervisor, kAdmin };

enum class Channel : std::uint8_t { kVoice, kChat, kEmail, kCallback, kTask };
constexpr int kChannelCount = 5;

enum class Presence : std::uint8_t {
  kOffline,    // logged out
  kAvailable,  // ready for offers (within capacity)
  kBreak,      // not ready, with a reason code
  kMissed,     // not ready after too many missed offers
};

enum class InteractionState : std::uint8_t {
  kQueued,     // waiting in a queue
  kOffered,    // reserved for one agent until accepted, rejected or expired
  kConnected,  // an agent is working it
  kWrapUp,     // the contact ended; the agent is writing the disposition
  kCompleted,  // wrapped up
  kAbandoned,  // the customer left before an agent took it
  kClosed,     // ended by the system (restart, agent gone) with a reason
};

enum class Strategy : std::uint8_t {
  kBestProficiency,  // best proficiency, then longest idle (default)
  kLongestIdle,
  kRoundRobin,
  kFewestContacts,   // fewest contacts handled today
  kLeastTalkTime,    // least talk time today
  kRandom,           // seeded, so runs repeat
};

const char* Name(Role r);
const char* Name(Channel c);
const char* Name(Presence p);
const char* Name(InteractionState s);
const char* Name(Strategy s);
std::optional<Role> ParseRole(std::string_view s);
std::optional<Channel> ParseChannel(std::string_view s);
std::optional<Presence> ParsePresence(std::string_view s);
std::optional<Strategy> ParseStrategy(std::string_view s);

// Voice and callbacks take the whole agent; chats, emails and tasks take slots.
constexpr bool IsExclusive(Channel c) { return c == Channel::kVoice || c == Channel::kCallback; }
// Real-time channels die with the server's connections; the others survive a restart queued.
constexpr bool IsRealTime(Channel c) { return c == Channel::kVoice || c == Channel::kChat; }

// Most contacts of one channel an agent may hold (Membership::capacity); the engine refuses
// more and the codec does not read more.
constexpr int kMaxSlots = 50;

struct Capacity {
  // Slots per channel. Exclusive channels use 1 (the agent takes them) or 0 (never offered).
  std::array<std::uint8_t, kChannelCount> slots{1, 3, 2, 1, 2};
  std::uint8_t operator[](Channel c) const { return slots[static_cast<int>(c)]; }
};

struct TenantSettings {
  std::vector<std::string> break_reasons{"lunch", "break", "training", "meeting", "personal"};
  int max_missed_offers = 3;           // consecutive misses before the agent goes to "missed"
  DurationMs presence_lease = 120 * kSecond;  // agent without a desktop connection or API call
  // IANA name ("Europe/Berlin") or fixed UTC offset ("+02:00"): the local day of the
  // statistics, business hours, and the WFM's days (core/time_zone.h).
  std::string timezone = "UTC";
  // Sites allowed to embed the chat widget, exact origins ("https://www.acme.com"): CORS on
  // the public chat routes and the Origin of WebSockets are checked against them.
  std::vector<std::string> allowed_origins;
  QueueId chat_queue = 0;  // where a web chat goes when the widget names no queue; 0: none
};

struct Tenant {
  TenantId id = 0;
  std::string slug;  // short name, unique, e.g. "acme"
  std::string name;
  TenantSettings settings;
};

struct User {
  UserId id = 0;
  std::string login;          // unique across the server; also the SIP user name
  std::string name;
  std::string password_hash;  // argon2id string (libsodium)
  bool platform_admin = false;  // may create tenants
  bool disabled = false;
};

struct Membership {
  Role role = Role::kAgent;
  std::map<SkillId, int> skills;  // proficiency 1..10
  Capacity capacity;
};

struct Skill {
  SkillId id = 0;
  TenantId tenant = 0;
  std::string name;
};

struct SkillRequirement {
  SkillId skill = 0;
  int min_proficiency = 1;
};

// As a contact waits, its queue asks less of agents: after `after`, agents with proficiency
// >= min_proficiency qualify; or, with overflow_to set, the contact moves to that queue
// (keeping its original enqueue time).
struct RelaxStep {
  DurationMs after = 0;
  int min_proficiency = 1;
  QueueId overflow_to = 0;
};

struct Queue {
  // First what every new contact reads (the tenant check, the hours, its place in line, its
  // step timer, its offer's expiry): one or two cache lines of the record rather than four
  // (docs/benchmarks.md, routing round 8).
  QueueId id = 0;
  TenantId tenant = 0;
  HoursId hours = 0;                     // 0: always open
  DurationMs priority_step = 60 * kSecond;  // each priority point counts as this much waiting
  DurationMs offer_timeout = 20 * kSecond;
  std::vector<RelaxStep> steps;          // ascending `after`
  Strategy strategy = Strategy::kBestProficiency;
  std::string name;
  std::vector<SkillRequirement> skills;  // all required; none: every agent of the tenant
  double sl_target = 0.8;                // service level: this fraction answered...
  DurationMs sl_threshold = 20 * kSecond;  // ...within this time
  DurationMs wrapup = 30 * kSecond;      // 0: no timer, the agent ends wrap-up
  DurationMs wrapup_max_extension = 120 * kSecond;
};

struct WeeklyRange {
  int day = 0;         // 0 = Sunday .. 6 = Saturday
  int start_min = 0;   // minutes after midnight, local time of the hours' zone
  int end_min = 0;
};

struct BusinessHours {
  HoursId id = 0;
  TenantId tenant = 0;
  std::string name;
  std::vector<WeeklyRange> ranges;
  std::vector<std::string> closed_dates;  // "YYYY-MM-DD" holidays
  // The zone of the ranges and dates: an IANA name ("America/New_York") or a fixed offset
  // ("+02:00"); empty: the tenant's.
  std::string timezone;
};

struct Disposition {
  DispositionId id = 0;
  TenantId tenant = 0;
  std::string code;  // e.g. "resolved"
  std::string name;
};

struct Customer {
  std::string name;
  std::string phone;
  std::string email;
};

// What a contact says about itself, fixed when it is created: one immutable block that the
// creating event and the contact's record share (most contacts carry none of it, or just a
// phone number, and then hold no block at all).
struct ContactText {
  Customer customer;
  std::string subject;
  std::string data;  // JSON object text, opaque to the engine
  bool empty() const {
    return customer.name.empty() && customer.phone.empty() && customer.email.empty() &&
           subject.empty() && data.empty();
  }
};
// The block's contents, or empty ones for a null block.
inline const ContactText& TextOf(const std::shared_ptr<const ContactText>& t) {
  static const ContactText kNone;
  return t ? *t : kNone;
}
// A block for these texts, null when they are all empty.
inline std::shared_ptr<const ContactText> MakeText(ContactText t) {
  if (t.empty()) return nullptr;
  return std::make_shared<const ContactText>(std::move(t));
}

// ---- web chat ------------------------------------------------------------------------------

// Who wrote a chat message.
enum class ChatSender : std::uint8_t { kVisitor, kAgent, kSystem };
const char* Name(ChatSender s);
std::optional<ChatSender> ParseChatSender(std::string_view s);

// ---- workforce management: calendar events (forecast) ----
using CalendarEventId = std::uint64_t;

// A named date range whose demand is `multiplier` times a normal day's (a holiday 0.3, Black
// Friday 1.8): the forecast scales the days it covers and leaves them out when it learns its
// profile (core/wfm/forecast.h). Dates are the tenant's local "YYYY-MM-DD", inclusive.
struct CalendarEntry {
  CalendarEventId id = 0;
  TenantId tenant = 0;
  std::string name;
  std::string first_day;
  std::string last_day;
  double multiplier = 1;
  QueueId queue = 0;  // 0: every queue of the tenant
};

}  // namespace homeline::core
