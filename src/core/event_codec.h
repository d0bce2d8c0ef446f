#pragma once
// JSON for the engine's values, in two shapes that must not be mixed:
//
//  - Store shape (EncodePayload / DecodePayload): the payload of one event as the event store
//    keeps it. Durations and times are integer milliseconds; duration fields end in `_ms`
//    ("offer_timeout_ms"), times keep their struct names ("expires", "enqueued_at", "until").
//    Contains secrets the engine needs on replay (user.set carries the password hash).
//  - API shape (ToJson / FromJson): entities as the REST API shows and accepts them. Durations
//    are seconds with `_s` names ("offer_timeout_s"); a User never shows its password hash.
//
// Both shapes write enums by their snake_case names (types.h), skill->proficiency maps as
// objects with decimal string keys ({"12": 7}) and Capacity as {"voice": 1, "chat": 3, ...}.
//
// Stateless free functions, safe from any thread. Nothing here throws: bad input comes back as
// Error{kBadRequest} naming the event type or entity and the field.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"
#include "core/events.h"
#include "core/types.h"

namespace homeline::core {

// ---- Store shape ----

// Compact JSON object text of the event's fields. Strings that are not valid UTF-8 have the
// bad bytes replaced by U+FFFD rather than failing.
std::string EncodePayload(const EventBody& body);

// The inverse, for `type` = TypeName(body). Fields that identify something (ids of the event
// or entity) are required; any other missing field takes the struct's default, so events
// written before a field existed still decode. Unknown fields are ignored. Ranges are not
// checked here: what was committed is replayed as it was, even if the rules tightened since.
[[nodiscard]] Result<EventBody> DecodePayload(std::string_view type, std::string_view payload);

// ---- API shape ----

nlohmann::json ToJson(const Tenant& tenant);  // {"id","slug","name","settings":{...}}
nlohmann::json ToJson(const TenantSettings& settings);
nlohmann::json ToJson(const User& user);  // without password_hash
nlohmann::json ToJson(const Skill& skill);
nlohmann::json ToJson(const Queue& queue);
nlohmann::json ToJson(const BusinessHours& hours);
nlohmann::json ToJson(const Disposition& disposition);
nlohmann::json ToJson(const Customer& customer);
nlohmann::json ToJson(const Capacity& capacity);

// PATCH-style parsers: start from `base` and change only the fields present in `json`, which
// must be an object. Whole arrays and objects (queue skills/steps, ranges, break_reasons) are
// replaced, not merged, except Capacity, whose channels are set one by one. "id" and "tenant"
// are accepted (so a GET result can be sent back) but ignored: they come from the URL and the
// caller's identity. Unknown fields, wrong types and out-of-range values are kBadRequest.
// Checks:
//  Queue: name non-empty; skills [{"skill": id > 0, "min_proficiency": 1..10}] without
//    duplicates; steps [{"after_s": >= 0, "min_proficiency": 1..10, "overflow_to": id}] in
//    non-decreasing after_s, overflow_to not the queue itself; strategy a Strategy name;
//    sl_target 0..1; durations 0..kMaxApiDuration, offer_timeout_s > 0. Durations may be
//    fractional seconds (rounded to ms).
//  BusinessHours: name non-empty; ranges [{"day": 0..6, "start_min"/"end_min": 0..1440,
//    start < end}]; closed_dates valid "YYYY-MM-DD".
//  TenantSettings: break_reasons non-empty strings; max_missed_offers 1..100;
//    presence_lease_s > 0; timezone non-empty.
//  Capacity: keys are channel names; voice and callback 0..1, others 0..kMaxSlots (types.h).
//  Customer: strings.
constexpr DurationMs kMaxApiDuration = 365 * kDay;

[[nodiscard]] Result<Queue> FromJson(const nlohmann::json& json, const Queue& base);
[[nodiscard]] Result<BusinessHours> FromJson(const nlohmann::json& json,
                                             const BusinessHours& base);
[[nodiscard]] Result<TenantSettings> FromJson(const nlohmann::json& json,
                                              const TenantSettings& base);
[[nodiscard]] Result<Capacity> FromJson(const nlohmann::json& json, const Capacity& base);
[[nodiscard]] Result<Customer> FromJson(const nlohmann::json& json, const Customer& base);

// Calendar events (forecast): {"id","tenant","name","first_day","last_day","multiplier",
// "queue"}. FromJson needs name, first_day, last_day and multiplier (a POST body); the rules on
// their values are Engine::CreateCalendarEvent's.
nlohmann::json ToJson(const CalendarEntry& event);
[[nodiscard]] Result<CalendarEntry> FromJson(const nlohmann::json& json, const CalendarEntry& base);

// ---- voice (core/voice.h) ----
// Trunk: {"id","tenant","name","inbound":{"sources","username","password_set"},
//   "outbound":{"host","port","transport","username","password_set","caller_id"}}; the
//   passwords are never shown. FromJson reads "password" in either object (write-only; absent
//   keeps the stored one, "" clears it) and ignores "password_set".
// PhoneNumber: {"id","tenant","number","name","queue","ivr","trunk"}.
// QueueVoice: {"queue","tenant","greeting_text","greeting_file","moh_file",
//   "position_interval_s","record"}.
// FromJson checks types only; the rules on values (addresses, E.164, ports, targets, files)
// are the engine's (Engine::CreateTrunk etc.), which also puts values in canonical form.
nlohmann::json ToJson(const Trunk& trunk);
[[nodiscard]] Result<Trunk> FromJson(const nlohmann::json& json, const Trunk& base);
nlohmann::json ToJson(const PhoneNumber& number);
[[nodiscard]] Result<PhoneNumber> FromJson(const nlohmann::json& json, const PhoneNumber& base);
nlohmann::json ToJson(const QueueVoice& voice);
[[nodiscard]] Result<QueueVoice> FromJson(const nlohmann::json& json, const QueueVoice& base);
// IvrMenu: {"id","tenant","name","prompt_text","prompt_file","timeout_s","max_retries",
//   "options":{"1":{"queue":11},"2":{"menu":5},"0":{"number":"+15550199"},"9":{"repeat":true},
//   "#":{"hangup":true}},"on_failure":{"queue":11}} ({} on_failure: hang up). "options" is
//   replaced whole. An action names one kind.
// Recording: {"id","tenant","interaction","path","started","ended" (null while recording),
//   "end_reason","paused":[{"start","end" (null while paused)}]}.
nlohmann::json ToJson(const Recording& recording);
nlohmann::json ToJson(const Monitor& monitor);  // the interaction view's "monitor"
nlohmann::json ToJson(const IvrMenu& menu);
[[nodiscard]] Result<IvrMenu> FromJson(const nlohmann::json& json, const IvrMenu& base);

// "rejected", "expired", "withdrawn" (OfferResult has no Name() in types.h).
const char* Name(OfferResult r);
std::optional<OfferResult> ParseOfferResult(std::string_view s);

}  // namespace homeline::core
