#include "core/event_codec.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/events.h"
#include "core/types.h"
#include "core/wfm/schedule_json.h"

namespace homeline::core {
namespace {

using nlohmann::json;

// ---- Field-by-field equality, so a failure names the field ----

void ExpectSame(const Capacity& a, const Capacity& b) {
  for (int i = 0; i < kChannelCount; ++i) {
    EXPECT_EQ(a.slots[i], b.slots[i]) << "capacity " << Name(static_cast<Channel>(i));
  }
}

void ExpectSame(const TenantSettings& a, const TenantSettings& b) {
  EXPECT_EQ(a.break_reasons, b.break_reasons);
  EXPECT_EQ(a.max_missed_offers, b.max_missed_offers);
  EXPECT_EQ(a.presence_lease, b.presence_lease);
  EXPECT_EQ(a.timezone, b.timezone);
  EXPECT_EQ(a.allowed_origins, b.allowed_origins);
  EXPECT_EQ(a.chat_queue, b.chat_queue);
}

void ExpectSame(const Tenant& a, const Tenant& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.slug, b.slug);
  EXPECT_EQ(a.name, b.name);
  ExpectSame(a.settings, b.settings);
}

void ExpectSame(const User& a, const User& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.login, b.login);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.password_hash, b.password_hash);
  EXPECT_EQ(a.platform_admin, b.platform_admin);
  EXPECT_EQ(a.disabled, b.disabled);
}

void ExpectSame(const Membership& a, const Membership& b) {
  EXPECT_EQ(a.role, b.role);
  EXPECT_EQ(a.skills, b.skills);
  ExpectSame(a.capacity, b.capacity);
}

void ExpectSame(const Skill& a, const Skill& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.name, b.name);
}

void ExpectSame(const Queue& a, const Queue& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.name, b.name);
  ASSERT_EQ(a.skills.size(), b.skills.size());
  for (std::size_t i = 0; i < a.skills.size(); ++i) {
    EXPECT_EQ(a.skills[i].skill, b.skills[i].skill) << "skills[" << i << "]";
    EXPECT_EQ(a.skills[i].min_proficiency, b.skills[i].min_proficiency) << "skills[" << i << "]";
  }
  ASSERT_EQ(a.steps.size(), b.steps.size());
  for (std::size_t i = 0; i < a.steps.size(); ++i) {
    EXPECT_EQ(a.steps[i].after, b.steps[i].after) << "steps[" << i << "]";
    EXPECT_EQ(a.steps[i].min_proficiency, b.steps[i].min_proficiency) << "steps[" << i << "]";
    EXPECT_EQ(a.steps[i].overflow_to, b.steps[i].overflow_to) << "steps[" << i << "]";
  }
  EXPECT_EQ(a.strategy, b.strategy);
  EXPECT_EQ(a.sl_target, b.sl_target);
  EXPECT_EQ(a.sl_threshold, b.sl_threshold);
  EXPECT_EQ(a.offer_timeout, b.offer_timeout);
  EXPECT_EQ(a.wrapup, b.wrapup);
  EXPECT_EQ(a.wrapup_max_extension, b.wrapup_max_extension);
  EXPECT_EQ(a.priority_step, b.priority_step);
  EXPECT_EQ(a.hours, b.hours);
}

void ExpectSame(const BusinessHours& a, const BusinessHours& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.name, b.name);
  ASSERT_EQ(a.ranges.size(), b.ranges.size());
  for (std::size_t i = 0; i < a.ranges.size(); ++i) {
    EXPECT_EQ(a.ranges[i].day, b.ranges[i].day) << "ranges[" << i << "]";
    EXPECT_EQ(a.ranges[i].start_min, b.ranges[i].start_min) << "ranges[" << i << "]";
    EXPECT_EQ(a.ranges[i].end_min, b.ranges[i].end_min) << "ranges[" << i << "]";
  }
  EXPECT_EQ(a.closed_dates, b.closed_dates);
}

void ExpectSame(const Disposition& a, const Disposition& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.code, b.code);
  EXPECT_EQ(a.name, b.name);
}

void ExpectSame(const Customer& a, const Customer& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.phone, b.phone);
  EXPECT_EQ(a.email, b.email);
}

void ExpectSame(const TenantSet& a, const TenantSet& b) { ExpectSame(*a.tenant, *b.tenant); }
void ExpectSame(const UserSet& a, const UserSet& b) { ExpectSame(*a.user, *b.user); }
void ExpectSame(const MemberSet& a, const MemberSet& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.user, b.user);
  ExpectSame(*a.member, *b.member);
}
void ExpectSame(const MemberRemoved& a, const MemberRemoved& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.user, b.user);
}
void ExpectSame(const SkillSet& a, const SkillSet& b) { ExpectSame(a.skill, b.skill); }
void ExpectSame(const SkillDeleted& a, const SkillDeleted& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.skill, b.skill);
}
void ExpectSame(const QueueSet& a, const QueueSet& b) { ExpectSame(*a.queue, *b.queue); }
void ExpectSame(const QueueDeleted& a, const QueueDeleted& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.queue, b.queue);
}
void ExpectSame(const HoursSet& a, const HoursSet& b) { ExpectSame(*a.hours, *b.hours); }
void ExpectSame(const HoursDeleted& a, const HoursDeleted& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.hours, b.hours);
}
void ExpectSame(const DispositionSet& a, const DispositionSet& b) {
  ExpectSame(*a.disposition, *b.disposition);
}
void ExpectSame(const DispositionDeleted& a, const DispositionDeleted& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.disposition, b.disposition);
}
void ExpectSame(const SessionCreated& a, const SessionCreated& b) {
  EXPECT_EQ(a.token_hash, b.token_hash);
  EXPECT_EQ(a.user, b.user);
  EXPECT_EQ(a.expires, b.expires);
}
void ExpectSame(const UserSipSet& a, const UserSipSet& b) {
  EXPECT_EQ(a.user, b.user);
  EXPECT_EQ(a.ha1, b.ha1);
}
void ExpectSame(const SessionRevoked& a, const SessionRevoked& b) {
  EXPECT_EQ(a.token_hash, b.token_hash);
}
void ExpectSame(const PresenceChanged& a, const PresenceChanged& b) {
  EXPECT_EQ(a.user, b.user);
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.presence, b.presence);
  EXPECT_EQ(a.reason, b.reason);
}
void ExpectSame(const InteractionCreated& a, const InteractionCreated& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.channel, b.channel);
  EXPECT_EQ(a.queue, b.queue);
  EXPECT_EQ(a.priority, b.priority);
  EXPECT_EQ(a.enqueued_at, b.enqueued_at);
  ExpectSame(a.customer(), b.customer());
  EXPECT_EQ(a.subject(), b.subject());
  EXPECT_EQ(a.data(), b.data());
  EXPECT_EQ(a.origin, b.origin);
  EXPECT_EQ(a.directed, b.directed);
  EXPECT_EQ(a.consult, b.consult);
  EXPECT_EQ(a.text == nullptr, b.text == nullptr);  // no block for a contact without texts
}
void ExpectSame(const InteractionMoved& a, const InteractionMoved& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.queue, b.queue);
  EXPECT_EQ(a.reason, b.reason);
}
void ExpectSame(const InteractionStepped& a, const InteractionStepped& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.step, b.step);
}
void ExpectSame(const Offered& a, const Offered& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.agent, b.agent);
  EXPECT_EQ(a.expires, b.expires);
}
void ExpectSame(const OfferEnded& a, const OfferEnded& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.agent, b.agent);
  EXPECT_EQ(a.result, b.result);
}
void ExpectSame(const Accepted& a, const Accepted& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.agent, b.agent);
}
void ExpectSame(const ContactEnded& a, const ContactEnded& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.reason, b.reason);
}
void ExpectSame(const WrapUpExtended& a, const WrapUpExtended& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.until, b.until);
}
void ExpectSame(const Completed& a, const Completed& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.disposition, b.disposition);
  EXPECT_EQ(a.notes, b.notes);
  EXPECT_EQ(a.forced_by, b.forced_by);
  EXPECT_EQ(a.timed_out, b.timed_out);
}
void ExpectSame(const Abandoned& a, const Abandoned& b) { EXPECT_EQ(a.id, b.id); }
void ExpectSame(const Closed& a, const Closed& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.reason, b.reason);
}

void ExpectSame(const ChatStarted& a, const ChatStarted& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.token_hash, b.token_hash);
}
void ExpectSame(const ChatMessage& a, const ChatMessage& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.sender, b.sender);
  EXPECT_EQ(a.agent, b.agent);
  EXPECT_EQ(a.client_id, b.client_id);
  EXPECT_EQ(a.text, b.text);
}

void ExpectSame(const ScheduleStored& a, const ScheduleStored& b) {
  EXPECT_EQ(a.schedule->id, b.schedule->id);
  EXPECT_EQ(a.schedule->tenant, b.schedule->tenant);
  EXPECT_EQ(a.schedule->name, b.schedule->name);
  EXPECT_EQ(a.schedule->created_by, b.schedule->created_by);
  EXPECT_EQ(a.schedule->created_at, b.schedule->created_at);
  EXPECT_EQ(a.schedule->users, b.schedule->users);
  // The result's own JSON round trip is tested in tests/wfm/schedule_io_test.cc.
  EXPECT_EQ(wfm::ToJson(a.schedule->result), wfm::ToJson(b.schedule->result));
}
void ExpectSame(const SchedulePublished& a, const SchedulePublished& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.schedule, b.schedule);
  EXPECT_EQ(a.by, b.by);
}

// workforce management
void ExpectSame(const CalendarEventSet& a, const CalendarEventSet& b) {
  EXPECT_EQ(a.event->id, b.event->id);
  EXPECT_EQ(a.event->tenant, b.event->tenant);
  EXPECT_EQ(a.event->name, b.event->name);
  EXPECT_EQ(a.event->first_day, b.event->first_day);
  EXPECT_EQ(a.event->last_day, b.event->last_day);
  EXPECT_EQ(a.event->multiplier, b.event->multiplier);
  EXPECT_EQ(a.event->queue, b.event->queue);
}
void ExpectSame(const CalendarEventDeleted& a, const CalendarEventDeleted& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.id, b.id);
}

// voice
void ExpectSame(const TrunkSet& a, const TrunkSet& b) {
  const Trunk &x = *a.trunk, &y = *b.trunk;
  EXPECT_EQ(x.id, y.id);
  EXPECT_EQ(x.tenant, y.tenant);
  EXPECT_EQ(x.name, y.name);
  EXPECT_EQ(x.sources, y.sources);
  EXPECT_EQ(x.inbound_user, y.inbound_user);
  EXPECT_EQ(x.inbound_password, y.inbound_password);
  EXPECT_EQ(x.outbound_host, y.outbound_host);
  EXPECT_EQ(x.outbound_port, y.outbound_port);
  EXPECT_EQ(x.outbound_transport, y.outbound_transport);
  EXPECT_EQ(x.outbound_user, y.outbound_user);
  EXPECT_EQ(x.outbound_password, y.outbound_password);
  EXPECT_EQ(x.caller_id, y.caller_id);
  EXPECT_EQ(x.outbound_priority, y.outbound_priority);
  EXPECT_EQ(x.dial_timeout, y.dial_timeout);
}
void ExpectSame(const TrunkDeleted& a, const TrunkDeleted& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.id, b.id);
}
void ExpectSame(const NumberSet& a, const NumberSet& b) {
  EXPECT_EQ(a.number->id, b.number->id);
  EXPECT_EQ(a.number->tenant, b.number->tenant);
  EXPECT_EQ(a.number->e164, b.number->e164);
  EXPECT_EQ(a.number->name, b.number->name);
  EXPECT_EQ(a.number->queue, b.number->queue);
  EXPECT_EQ(a.number->ivr, b.number->ivr);
  EXPECT_EQ(a.number->trunk, b.number->trunk);
}
void ExpectSame(const NumberDeleted& a, const NumberDeleted& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.id, b.id);
}
void ExpectSame(const QueueVoiceSet& a, const QueueVoiceSet& b) {
  EXPECT_EQ(a.voice->queue, b.voice->queue);
  EXPECT_EQ(a.voice->tenant, b.voice->tenant);
  EXPECT_EQ(a.voice->greeting_text, b.voice->greeting_text);
  EXPECT_EQ(a.voice->greeting_file, b.voice->greeting_file);
  EXPECT_EQ(a.voice->moh_file, b.voice->moh_file);
  EXPECT_EQ(a.voice->position_interval, b.voice->position_interval);
  EXPECT_EQ(a.voice->record, b.voice->record);
}

void ExpectSame(const IvrMenuSet& a, const IvrMenuSet& b) {
  EXPECT_EQ(a.menu->id, b.menu->id);
  EXPECT_EQ(a.menu->tenant, b.menu->tenant);
  EXPECT_EQ(a.menu->name, b.menu->name);
  EXPECT_EQ(a.menu->prompt_text, b.menu->prompt_text);
  EXPECT_EQ(a.menu->prompt_file, b.menu->prompt_file);
  EXPECT_EQ(a.menu->options, b.menu->options);
  EXPECT_EQ(a.menu->timeout, b.menu->timeout);
  EXPECT_EQ(a.menu->max_retries, b.menu->max_retries);
  EXPECT_EQ(a.menu->on_failure, b.menu->on_failure);
}
void ExpectSame(const IvrMenuDeleted& a, const IvrMenuDeleted& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.id, b.id);
}

void ExpectSame(const CdrLegStarted& a, const CdrLegStarted& b) {
  EXPECT_EQ(a.leg, b.leg);
  const CdrLegStart &x = *a.start, &y = *b.start;
  EXPECT_EQ(x.tenant, y.tenant);
  EXPECT_EQ(x.call, y.call);
  EXPECT_EQ(x.interaction, y.interaction);
  EXPECT_EQ(x.role, y.role);
  EXPECT_EQ(x.outbound, y.outbound);
  EXPECT_EQ(x.from, y.from);
  EXPECT_EQ(x.to, y.to);
  EXPECT_EQ(x.agent, y.agent);
  EXPECT_EQ(x.queue, y.queue);
  EXPECT_EQ(x.trunk, y.trunk);
}
void ExpectSame(const CdrLegAnswered& a, const CdrLegAnswered& b) { EXPECT_EQ(a.leg, b.leg); }
void ExpectSame(const CdrLegEnded& a, const CdrLegEnded& b) {
  EXPECT_EQ(a.leg, b.leg);
  EXPECT_EQ(a.interaction, b.interaction);
  EXPECT_EQ(a.result, b.result);
  EXPECT_EQ(a.cause, b.cause);
  EXPECT_EQ(a.hung_up_by, b.hung_up_by);
}

void ExpectSame(const RecordingStarted& a, const RecordingStarted& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.interaction, b.interaction);
  EXPECT_EQ(a.path, b.path);
}
void ExpectSame(const RecordingPaused& a, const RecordingPaused& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.paused, b.paused);
}
void ExpectSame(const RecordingEnded& a, const RecordingEnded& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.reason, b.reason);
}
void ExpectSame(const MonitorStarted& a, const MonitorStarted& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.interaction, b.interaction);
  EXPECT_EQ(a.supervisor, b.supervisor);
  EXPECT_EQ(a.mode, b.mode);
}
void ExpectSame(const MonitorChanged& a, const MonitorChanged& b) {
  EXPECT_EQ(a.interaction, b.interaction);
  EXPECT_EQ(a.mode, b.mode);
}
void ExpectSame(const MonitorEnded& a, const MonitorEnded& b) {
  EXPECT_EQ(a.interaction, b.interaction);
  EXPECT_EQ(a.reason, b.reason);
}
void ExpectSame(const CallHold& a, const CallHold& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.interaction, b.interaction);
  EXPECT_EQ(a.on, b.on);
}
void ExpectSame(const OutboundStarted& a, const OutboundStarted& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.queue, b.queue);
  EXPECT_EQ(a.agent, b.agent);
  EXPECT_EQ(a.customer().phone, b.customer().phone);
  EXPECT_EQ(a.customer().name, b.customer().name);
  EXPECT_EQ(a.subject(), b.subject());
}
void ExpectSame(const NumberConsultStarted& a, const NumberConsultStarted& b) {
  EXPECT_EQ(a.tenant, b.tenant);
  EXPECT_EQ(a.interaction, b.interaction);
  EXPECT_EQ(a.trunk, b.trunk);
  EXPECT_EQ(a.number, b.number);
}
void ExpectSame(const NumberConsultAnswered& a, const NumberConsultAnswered& b) {
  EXPECT_EQ(a.interaction, b.interaction);
  EXPECT_EQ(a.trunk, b.trunk);
}
void ExpectSame(const NumberConsultEnded& a, const NumberConsultEnded& b) {
  EXPECT_EQ(a.interaction, b.interaction);
  EXPECT_EQ(a.result, b.result);
  EXPECT_EQ(a.status, b.status);
}

void ExpectSame(const EventBody& a, const EventBody& b) {
  ASSERT_EQ(a.index(), b.index());
  std::visit([&](const auto& x) { ExpectSame(x, std::get<std::decay_t<decltype(x)>>(b)); }, a);
}

// ---- Sample values: every field differs from its default ----

TenantSettings SampleSettings() {
  TenantSettings s;
  s.break_reasons = {"coffee", "coaching"};
  s.max_missed_offers = 5;
  s.presence_lease = 95 * kSecond + 250;
  s.timezone = "Europe/Berlin";
  s.allowed_origins = {"https://acme.example"};
  s.chat_queue = 31;
  return s;
}

Capacity SampleCapacity() {
  Capacity c;
  c.slots = {0, 7, 4, 0, 9};
  return c;
}

Queue SampleQueue() {
  Queue q;
  q.id = 41;
  q.tenant = 3;
  q.name = "Sales \"EU\" ü";
  q.skills = {{11, 4}, {12, 9}};
  q.steps = {{30 * kSecond, 3, 0}, {90 * kSecond + 500, 1, 42}};
  q.strategy = Strategy::kLeastTalkTime;
  q.sl_target = 0.95;
  q.sl_threshold = 15 * kSecond;
  q.offer_timeout = 12 * kSecond;
  q.wrapup = 45 * kSecond;
  q.wrapup_max_extension = 300 * kSecond;
  q.priority_step = 90 * kSecond;
  q.hours = 8;
  return q;
}

BusinessHours SampleHours() {
  BusinessHours h;
  h.id = 8;
  h.tenant = 3;
  h.name = "Office";
  h.ranges = {{1, 540, 1020}, {6, 600, 1440}};
  h.closed_dates = {"2025-12-25", "2024-02-29"};
  return h;
}

StoredSchedule SampleSchedule() {
  StoredSchedule s;
  s.id = 90;
  s.tenant = 3;
  s.name = "Week 49";
  s.created_by = 78;
  s.created_at = 1'700'000'100'000;
  s.users = {77};
  wfm::ScheduleResult& r = s.result;
  r.week_start = 1'795'996'800'000;
  r.status = wfm::SolveStatus::kTimeLimit;
  r.objective = 123.5;
  r.bound = 120;
  r.gap = 3.5 / 123.5;
  r.coverage.required.assign(wfm::kIntervalsPerWeek, 1);
  r.coverage.scheduled.assign(wfm::kIntervalsPerWeek, 0);
  r.coverage.under.assign(wfm::kIntervalsPerWeek, 1);
  r.coverage.over.assign(wfm::kIntervalsPerWeek, 0);
  wfm::AgentSchedule a;
  a.agent_id = "ann";
  a.hourly_rate = 20;
  a.shifts.push_back({"early", r.week_start + 8 * kHour, r.week_start + 16 * kHour,
                      {{"lunch", r.week_start + 12 * kHour, r.week_start + 12 * kHour + 30 * kMinute, false}},
                      7.5, 150});
  r.agents.push_back(a);
  return s;
}

Trunk SampleTrunk() {
  return Trunk{.id = 60,
               .tenant = 3,
               .name = "carrier",
               .sources = {"203.0.113.0/24", "2001:db8::/32"},
               .inbound_user = "acme-trunk",
               .inbound_password = "in secret",
               .outbound_host = "sip.example.net",
               .outbound_port = 5080,
               .outbound_transport = SipTransport::kTcp,
               .outbound_user = "acme",
               .outbound_password = "out secret",
               .caller_id = "+15550100",
               .outbound_priority = 4,
               .dial_timeout = 45 * kSecond};
}

IvrMenu SampleIvr() {
  return IvrMenu{.id = 62,
                 .tenant = 3,
                 .name = "Main",
                 .prompt_text = "Press 1 for support",
                 .prompt_file = "main.wav",
                 .options = {{'1', {IvrActionKind::kQueue, 41, ""}},
                             {'2', {IvrActionKind::kMenu, 63, ""}},
                             {'0', {IvrActionKind::kNumber, 0, "+15550199"}},
                             {'*', {IvrActionKind::kRepeat, 0, ""}},
                             {'#', {IvrActionKind::kHangUp, 0, ""}}},
                 .timeout = 7 * kSecond,
                 .max_retries = 4,
                 .on_failure = {IvrActionKind::kQueue, 42, ""}};
}

std::vector<EventBody> SampleEvents() {
  Tenant tenant{.id = 3, .slug = "acme", .name = "Acme Inc", .settings = SampleSettings()};
  User user{.id = 77,
            .login = "ann",
            .name = "Ann Agent",
            .password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA",
            .platform_admin = true,
            .disabled = true};
  Membership member{.role = Role::kSupervisor,
                    .skills = {{11, 4}, {18446744073709551615ull, 10}},
                    .capacity = SampleCapacity()};
  const std::uint64_t big = 9007199254740993ull;  // not exact as a double
  return {
      TenantSet{tenant},
      UserSet{user},
      UserSipSet{77, "0123456789abcdef0123456789abcdef"},
      MemberSet{3, 77, member},
      MemberRemoved{3, 77},
      SkillSet{Skill{11, 3, "Spanish"}},
      SkillDeleted{3, 11},
      QueueSet{SampleQueue()},
      QueueDeleted{3, 41},
      HoursSet{SampleHours()},
      HoursDeleted{3, 8},
      DispositionSet{Disposition{5, 3, "resolved", "Resolved"}},
      DispositionDeleted{3, 5},
      SessionCreated{"deadbeef", 77, 1'900'000'000'123},
      SessionRevoked{"deadbeef"},
      PresenceChanged{77, 3, Presence::kBreak, "lunch"},
      InteractionCreated{.id = big,
                         .tenant = 3,
                         .channel = Channel::kEmail,
                         .queue = 41,
                         .priority = -2,
                         .enqueued_at = 1'700'000'000'456,
                         .origin = 1000,
                         .text = MakeText({.customer = {"Bob", "+15551234", "bob@example.com"},
                                           .subject = "Refund\nplease",
                                           .data = R"({"order":12,"tags":["a"]})"})},
      // A consultation offered to one agent (Engine::Consult).
      InteractionCreated{.id = big + 1,
                         .tenant = 3,
                         .channel = Channel::kVoice,
                         .queue = 41,
                         .enqueued_at = 1'700'000'000'456,
                         .origin = big,
                         .directed = 77,
                         .consult = true},
      InteractionMoved{big, 42, "overflow"},
      InteractionStepped{big, 2},
      Offered{big, 77, 1'700'000'020'000},
      OfferEnded{big, 77, OfferResult::kWithdrawn},
      Accepted{big, 77},
      ContactEnded{big, "customer hung up"},
      WrapUpExtended{big, 1'700'000'090'000},
      Completed{big, 5, "refunded", 78, true},
      Abandoned{big},
      Closed{big, "restart"},
      ChatStarted{big, "ab12"},
      ChatMessage{big, 7, ChatSender::kAgent, 77, "c-1", "Hello \"there\"\n\u00e9"},
      ScheduleStored{SampleSchedule()},
      SchedulePublished{3, 90, 78},
      // workforce management
      CalendarEventSet{CalendarEntry{.id = 51, .tenant = 3, .name = "Black Friday",
                                     .first_day = "2026-11-27", .last_day = "2026-11-28",
                                     .multiplier = 1.85, .queue = 41}},
      CalendarEventDeleted{3, 51},
      // voice
      TrunkSet{SampleTrunk()},
      TrunkDeleted{3, 60},
      NumberSet{PhoneNumber{.id = 61, .tenant = 3, .e164 = "+15550100", .name = "Support",
                            .queue = 41, .ivr = 62, .trunk = 60}},
      NumberDeleted{3, 61},
      QueueVoiceSet{QueueVoice{.queue = 41, .tenant = 3, .greeting_text = "Welcome to Acme",
                               .greeting_file = "hello.wav", .moh_file = "jazz.wav",
                               .position_interval = 45 * kSecond, .record = true}},
      IvrMenuSet{SampleIvr()},
      IvrMenuDeleted{3, 62},
      CdrLegStarted{70, CdrLegStart{.tenant = 3, .call = 69, .interaction = big,
                                    .role = CdrRole::kSupervisor, .outbound = true,
                                    .from = "\"Bob, Jr\" <sip:+15551234@example.net>",
                                    .to = "+15550100", .agent = 77, .queue = 41, .trunk = 60}},
      CdrLegAnswered{70},
      CdrLegEnded{70, big, CdrResult::kBusy, "486", CdrParty::kTransfer},
      RecordingStarted{80, 3, big, "recordings/3/9007199254740993.wav"},
      RecordingPaused{80, false},
      RecordingEnded{80, "restart"},
      MonitorStarted{3, big, 78, MonitorMode::kWhisper},
      MonitorChanged{big, MonitorMode::kBarge},
      MonitorEnded{big, "supervisor_hung_up"},
      OutboundStarted{big, 3, 41, 77,
                      std::make_shared<const ContactText>(ContactText{
                          Customer{"Ann", "+15550199", ""}, "Call to +15550199", ""})},
      CallHold{3, big, true},
      NumberConsultStarted{3, big, 60, "+15550199"},
      NumberConsultAnswered{big, 63},
      NumberConsultEnded{big, "busy", 486},
  };
}

// ---- Names ----

TEST(Names, EventTypeNamesAreStable) {
  const std::vector<std::string> expected{
      "tenant.set",          "user.set",
      "user.sip_set",
      "member.set",          "member.removed",
      "skill.set",           "skill.deleted",
      "queue.set",           "queue.deleted",
      "hours.set",           "hours.deleted",
      "disposition.set",     "disposition.deleted",
      "session.created",     "session.revoked",
      "agent.presence",      "interaction.created",
      "interaction.created",  // a consultation (directed, consult)
      "interaction.moved",   "interaction.stepped",
      "interaction.offered", "interaction.offer_ended",
      "interaction.accepted", "interaction.contact_ended",
      "interaction.wrapup_extended", "interaction.completed",
      "interaction.abandoned", "interaction.closed",
      "chat.started",        "chat.message",
      "schedule.stored",     "schedule.published",
      "calendar.set",        "calendar.deleted",
      "trunk.set",           "trunk.deleted",
      "number.set",          "number.deleted",
      "queue_voice.set",
      "ivr.set",             "ivr.deleted",
      "cdr.leg_started",     "cdr.leg_answered",
      "cdr.leg_ended",
      "recording.started",   "recording.paused",
      "recording.ended",
      "monitor.started",     "monitor.changed",
      "monitor.ended",
      "interaction.outbound_started",
      "call.hold",
      "consult.number_started", "consult.number_answered",
      "consult.number_ended"};
  const std::vector<EventBody> events = SampleEvents();
  ASSERT_EQ(events.size(), expected.size());
  for (std::size_t i = 0; i < events.size(); ++i) EXPECT_EQ(TypeName(events[i]), expected[i]);
}

template <typename E>
void ExpectNames(const std::vector<std::string>& names,
                 std::optional<E> (*parse)(std::string_view)) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto e = static_cast<E>(i);
    EXPECT_EQ(Name(e), names[i]);
    EXPECT_EQ(parse(names[i]), e) << names[i];
  }
  EXPECT_EQ(parse("nonsense"), std::nullopt);
  EXPECT_EQ(parse(""), std::nullopt);
  EXPECT_EQ(parse(names[0] + " "), std::nullopt);
}

TEST(Names, EnumsRoundTrip) {
  ExpectNames<Role>({"agent", "supervisor", "admin"}, ParseRole);
  ExpectNames<Channel>({"voice", "chat", "email", "callback", "task"}, ParseChannel);
  ExpectNames<Presence>({"offline", "available", "break", "missed"}, ParsePresence);
  ExpectNames<Strategy>({"best_proficiency", "longest_idle", "round_robin", "fewest_contacts",
                         "least_talk_time", "random"},
                        ParseStrategy);
  ExpectNames<OfferResult>({"rejected", "expired", "withdrawn"}, ParseOfferResult);
  ExpectNames<CdrRole>({"customer", "agent", "transfer", "supervisor"}, ParseCdrRole);
  ExpectNames<CdrResult>({"answered", "no_answer", "busy", "failed", "abandoned"}, ParseCdrResult);
  ExpectNames<CdrParty>({"unknown", "customer", "agent", "transfer", "supervisor", "system"},
                        ParseCdrParty);
  ExpectNames<MonitorMode>({"listen", "whisper", "barge"}, ParseMonitorMode);
  EXPECT_EQ(ParseRole("Agent"), std::nullopt);  // case matters
}

TEST(Names, InteractionStates) {
  const std::vector<std::string> names{"queued",    "offered",   "connected", "wrap_up",
                                       "completed", "abandoned", "closed"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(Name(static_cast<InteractionState>(i)), names[i]);
  }
}

// ---- Store shape ----

TEST(EventCodec, RoundTripsEveryEventType) {
  std::set<std::size_t> covered;
  for (const EventBody& event : SampleEvents()) {
    SCOPED_TRACE(TypeName(event));
    covered.insert(event.index());
    const std::string payload = EncodePayload(event);
    ASSERT_TRUE(json::accept(payload)) << payload;
    const Result<EventBody> back = DecodePayload(TypeName(event), payload);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    ExpectSame(event, *back);
    // Re-encoding is stable, so a replayed store can be compared byte for byte.
    EXPECT_EQ(EncodePayload(*back), payload);
  }
  EXPECT_EQ(covered.size(), std::variant_size_v<EventBody>);
}

TEST(EventCodec, StoreShapeUsesMillisecondsAndNames) {
  const json q = json::parse(EncodePayload(QueueSet{SampleQueue()}))["queue"];
  EXPECT_EQ(q["offer_timeout_ms"], 12000);
  EXPECT_EQ(q["steps"][1]["after_ms"], 90500);
  EXPECT_FALSE(q.contains("offer_timeout_s"));
  EXPECT_EQ(q["strategy"], "least_talk_time");

  Membership member;
  member.skills = {{11, 4}};
  const json m = json::parse(EncodePayload(MemberSet{3, 77, member}));
  EXPECT_EQ(m["member"]["skills"], json::parse(R"({"11":4})"));
  EXPECT_EQ(m["member"]["capacity"],
            json::parse(R"({"voice":1,"chat":3,"email":2,"callback":1,"task":2})"));
  EXPECT_EQ(m["member"]["role"], "agent");

  const json p = json::parse(EncodePayload(OfferEnded{1, 2, OfferResult::kExpired}));
  EXPECT_EQ(p["result"], "expired");
}

TEST(EventCodec, UserSetKeepsPasswordHash) {
  User user;
  user.id = 1;
  user.password_hash = "$argon2id$secret";
  const json j = json::parse(EncodePayload(UserSet{user}));
  EXPECT_EQ(j["user"]["password_hash"], "$argon2id$secret");
}

TEST(EventCodec, MissingOptionalFieldsTakeDefaults) {
  Result<EventBody> created = DecodePayload("interaction.created", R"({"id":5})");
  ASSERT_TRUE(created.has_value()) << created.error().message;
  const auto& c = std::get<InteractionCreated>(*created);
  EXPECT_EQ(c.id, 5u);
  EXPECT_EQ(c.channel, Channel::kTask);
  EXPECT_EQ(c.customer().name, "");
  EXPECT_EQ(c.text, nullptr);

  Result<EventBody> queue = DecodePayload("queue.set", R"({"queue":{"id":3}})");
  ASSERT_TRUE(queue.has_value()) << queue.error().message;
  Queue expected;
  expected.id = 3;
  ExpectSame(*std::get<QueueSet>(*queue).queue, expected);

  Result<EventBody> tenant = DecodePayload("tenant.set", R"({"tenant":{"id":3,"settings":{}}})");
  ASSERT_TRUE(tenant.has_value()) << tenant.error().message;
  ExpectSame(std::get<TenantSet>(*tenant).tenant->settings, TenantSettings{});
}

TEST(EventCodec, UnknownFieldsAreIgnored) {
  Result<EventBody> e = DecodePayload("interaction.abandoned", R"({"id":9,"added_later":[1]})");
  ASSERT_TRUE(e.has_value()) << e.error().message;
  EXPECT_EQ(std::get<Abandoned>(*e).id, 9u);
}

void ExpectDecodeError(std::string_view type, std::string_view payload,
                       const std::vector<std::string>& mentions) {
  SCOPED_TRACE(std::string(type) + " " + std::string(payload));
  const Result<EventBody> e = DecodePayload(type, payload);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code, ErrorCode::kBadRequest);
  for (const std::string& m : mentions) {
    EXPECT_NE(e.error().message.find(m), std::string::npos) << e.error().message;
  }
}

TEST(EventCodec, DecodeErrors) {
  ExpectDecodeError("interaction.teleported", "{}", {"unknown event type", "teleported"});
  ExpectDecodeError("", "{}", {"unknown event type"});
  ExpectDecodeError("interaction.offered", R"({"id":)", {"interaction.offered", "JSON"});
  ExpectDecodeError("interaction.offered", "", {"interaction.offered", "JSON"});
  ExpectDecodeError("interaction.offered", "[1,2]", {"interaction.offered", "object"});
  ExpectDecodeError("interaction.offered", R"({"id":"7","agent":1})", {"'id'", "integer"});
  ExpectDecodeError("interaction.offered", R"({"id":-7,"agent":1})", {"'id'"});
  ExpectDecodeError("interaction.offered", R"({"id":7.5,"agent":1})", {"'id'"});
  ExpectDecodeError("interaction.offered", R"({"agent":1})", {"'id'", "missing"});
  ExpectDecodeError("interaction.offered", R"({"id":7,"agent":1,"expires":"soon"})",
                    {"'expires'"});
  ExpectDecodeError("interaction.stepped", R"({"id":7,"step":4294967296})", {"'step'"});
  ExpectDecodeError("interaction.offer_ended", R"({"id":7,"agent":1,"result":"lost"})",
                    {"'result'", "rejected"});
  ExpectDecodeError("agent.presence", R"({"user":1,"presence":"asleep"})", {"'presence'"});
  ExpectDecodeError("interaction.completed", R"({"id":7,"timed_out":1})", {"'timed_out'"});
  ExpectDecodeError("interaction.created", R"({"id":7,"customer":"Bob"})", {"'customer'"});
  ExpectDecodeError("interaction.created", R"({"id":7,"customer":{"name":null}})",
                    {"'customer.name'"});
  ExpectDecodeError("queue.set", R"({"queue":{"id":1,"steps":[{"after_ms":"x"}]}})",
                    {"queue.set", "'queue.steps[0].after_ms'"});
  ExpectDecodeError("queue.set", R"({"queue":{"id":1,"steps":[3]}})", {"'queue.steps[0]'"});
  ExpectDecodeError("queue.set", R"({"queue":{"id":1,"strategy":"fastest"}})",
                    {"'queue.strategy'"});
  ExpectDecodeError("queue.set", R"({})", {"'queue'", "missing"});
  ExpectDecodeError("member.set", R"({"tenant":1,"user":2,"member":{"skills":{"x":3}}})",
                    {"'member.skills'"});
  ExpectDecodeError("member.set",
                    R"({"tenant":1,"user":2,"member":{"capacity":{"chat":256}}})",
                    {"'member.capacity.chat'"});
  ExpectDecodeError("member.set", R"({"tenant":1,"user":2,"member":{"capacity":{"fax":1}}})",
                    {"'member.capacity.fax'"});
  ExpectDecodeError("tenant.set", R"({"tenant":{"id":1,"settings":{"break_reasons":[1]}}})",
                    {"'tenant.settings.break_reasons'"});
}

TEST(EventCodec, EncodeDoesNotThrowOnInvalidUtf8) {
  const std::string payload = EncodePayload(Closed{1, std::string("bad \xff byte")});
  const Result<EventBody> back = DecodePayload("interaction.closed", payload);
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(std::get<Closed>(*back).reason, "bad \xEF\xBF\xBD byte");
}

// ---- API shape ----

TEST(ApiJson, CalendarEventNeedsItsFields) {
  const json body = {{"name", "Christmas"}, {"first_day", "2026-12-24"},
                     {"last_day", "2026-12-26"}, {"multiplier", 0.3}};
  auto e = FromJson(body, CalendarEntry{});
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->name, "Christmas");
  EXPECT_EQ(e->multiplier, 0.3);
  EXPECT_EQ(e->queue, 0u);
  EXPECT_EQ(ToJson(*e)["last_day"], "2026-12-26");
  for (const char* field : {"name", "first_day", "last_day", "multiplier"}) {
    json partial = body;
    partial.erase(field);
    EXPECT_FALSE(FromJson(partial, CalendarEntry{})) << field;
  }
  json extra = body;
  extra["colour"] = "red";
  EXPECT_FALSE(FromJson(extra, CalendarEntry{}));
  json wrong = body;
  wrong["multiplier"] = "0.3";
  EXPECT_FALSE(FromJson(wrong, CalendarEntry{}));
}

TEST(ApiJson, TrunkNeverShowsPasswords) {
  const json j = ToJson(SampleTrunk());
  const std::string text = j.dump();
  EXPECT_EQ(text.find("secret"), std::string::npos) << text;
  EXPECT_EQ(j["inbound"]["password_set"], true);
  EXPECT_EQ(j["outbound"]["password_set"], true);
  EXPECT_EQ(j["outbound"]["transport"], "tcp");
  EXPECT_EQ(j["inbound"]["sources"], json({"203.0.113.0/24", "2001:db8::/32"}));
  // Sent back as it was read, it changes nothing, and the passwords are kept.
  Result<Trunk> back = FromJson(j, SampleTrunk());
  ASSERT_TRUE(back.has_value()) << back.error().message;
  ExpectSame(TrunkSet{*back}, TrunkSet{SampleTrunk()});
  // A password is write-only; "" clears it.
  back = FromJson(json::parse(R"({"outbound":{"password":""},"inbound":{"password":"new"}})"),
                  SampleTrunk());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->outbound_password, "");
  EXPECT_EQ(back->inbound_password, "new");
  for (const char* bad : {R"({"outbound":{"transport":"sctp"}})", R"({"outbound":{"port":"5060"}})",
                          R"({"inbound":{"sources":"10.0.0.0/8"}})", R"({"inbound":{"user":"x"}})",
                          R"({"secret":1})", R"({"inbound":[]})"}) {
    EXPECT_FALSE(FromJson(json::parse(bad), SampleTrunk()).has_value()) << bad;
  }
}

TEST(ApiJson, IvrMenuShapeAndActions) {
  const json j = ToJson(SampleIvr());
  EXPECT_EQ(j["timeout_s"], 7);
  EXPECT_EQ(j["options"]["1"], json({{"queue", 41}}));
  EXPECT_EQ(j["options"]["0"], json({{"number", "+15550199"}}));
  EXPECT_EQ(j["options"]["#"], json({{"hangup", true}}));
  EXPECT_EQ(j["on_failure"], json({{"queue", 42}}));
  Result<IvrMenu> back = FromJson(j, IvrMenu{});
  ASSERT_TRUE(back.has_value()) << back.error().message;
  ExpectSame(IvrMenuSet{*back}, IvrMenuSet{[] { IvrMenu m = SampleIvr(); m.id = 0; m.tenant = 0; return m; }()});
  // options are replaced whole; {} on_failure is "hang up".
  back = FromJson(json::parse(R"({"options":{"5":{"menu":9}},"on_failure":{}})"), SampleIvr());
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(back->options.size(), 1u);
  EXPECT_EQ(back->options.at('5'), (IvrAction{IvrActionKind::kMenu, 9, ""}));
  EXPECT_EQ(back->on_failure.kind, IvrActionKind::kNone);
  for (const char* bad : {R"({"options":{"1":{"queue":1,"menu":2}}})", R"({"options":{"1":{"repeat":false}}})",
                          R"({"options":{"1":{"dial":1}}})", R"({"options":{"1":5}})",
                          R"({"options":[]})", R"({"timeout_s":0})", R"({"timeout_ms":5000})",
                          R"({"options":{"12":{"queue":1}}})", R"({"on_failure":{"queue":"x"}})"}) {
    EXPECT_FALSE(FromJson(json::parse(bad), SampleIvr()).has_value()) << bad;
  }
}

TEST(ApiJson, QueueVoiceUsesSeconds) {
  const QueueVoice v{.queue = 41, .tenant = 3, .position_interval = 45 * kSecond, .record = true};
  const json j = ToJson(v);
  EXPECT_EQ(j["position_interval_s"], 45);
  EXPECT_FALSE(j.contains("position_interval_ms"));
  auto back = FromJson(json::parse(R"({"position_interval_s": 30, "record": false})"), v);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->position_interval, 30 * kSecond);
  EXPECT_FALSE(back->record);
  EXPECT_FALSE(FromJson(json::parse(R"({"position_interval_ms": 30})"), v).has_value());
  EXPECT_FALSE(FromJson(json::parse(R"({"record": "yes"})"), v).has_value());
}

TEST(ApiJson, UserHasNoPasswordHash) {
  User user;
  user.id = 1;
  user.login = "ann";
  user.password_hash = "$argon2id$secret";
  const json j = ToJson(user);
  EXPECT_FALSE(j.contains("password_hash"));
  EXPECT_EQ(j.dump().find("secret"), std::string::npos);
  EXPECT_EQ(j["login"], "ann");
  EXPECT_EQ(j["platform_admin"], false);
}

TEST(ApiJson, QueueShapeUsesSeconds) {
  const json j = ToJson(SampleQueue());
  EXPECT_EQ(j["offer_timeout_s"], 12);
  EXPECT_EQ(j["wrapup_s"], 45);
  EXPECT_EQ(j["sl_threshold_s"], 15);
  EXPECT_EQ(j["priority_step_s"], 90);
  EXPECT_EQ(j["wrapup_max_extension_s"], 300);
  EXPECT_EQ(j["steps"][0], json::parse(R"({"after_s":30,"min_proficiency":3,"overflow_to":0})"));
  EXPECT_EQ(j["steps"][1]["after_s"], 90.5);
  EXPECT_EQ(j["skills"][0], json::parse(R"({"skill":11,"min_proficiency":4})"));
  EXPECT_EQ(j["strategy"], "least_talk_time");
  EXPECT_FALSE(j.contains("offer_timeout_ms"));
}

TEST(ApiJson, OtherEntityShapes) {
  EXPECT_EQ(ToJson(Capacity{}),
            json::parse(R"({"voice":1,"chat":3,"email":2,"callback":1,"task":2})"));
  EXPECT_EQ(ToJson(Customer{"Bob", "+1", "b@x"}),
            json::parse(R"({"name":"Bob","phone":"+1","email":"b@x"})"));
  EXPECT_EQ(ToJson(Skill{11, 3, "Spanish"}),
            json::parse(R"({"id":11,"tenant":3,"name":"Spanish"})"));
  EXPECT_EQ(ToJson(Disposition{5, 3, "resolved", "Resolved"}),
            json::parse(R"({"id":5,"tenant":3,"code":"resolved","name":"Resolved"})"));
  const json t = ToJson(Tenant{3, "acme", "Acme", TenantSettings{}});
  EXPECT_EQ(t["slug"], "acme");
  EXPECT_EQ(t["settings"]["presence_lease_s"], 120);
  EXPECT_EQ(t["settings"]["max_missed_offers"], 3);
  const json h = ToJson(SampleHours());
  EXPECT_EQ(h["ranges"][0], json::parse(R"({"day":1,"start_min":540,"end_min":1020})"));
  EXPECT_EQ(h["closed_dates"][0], "2025-12-25");
}

TEST(ApiJson, EntitiesRoundTrip) {
  const Queue q = SampleQueue();
  Result<Queue> q2 = FromJson(ToJson(q), q);
  ASSERT_TRUE(q2.has_value()) << q2.error().message;
  ExpectSame(*q2, q);

  // id and tenant in the body are ignored: they come from the URL.
  Result<Queue> fresh = FromJson(ToJson(q), Queue{});
  ASSERT_TRUE(fresh.has_value()) << fresh.error().message;
  Queue expected = q;
  expected.id = 0;
  expected.tenant = 0;
  ExpectSame(*fresh, expected);

  const BusinessHours h = SampleHours();
  Result<BusinessHours> h2 = FromJson(ToJson(h), h);
  ASSERT_TRUE(h2.has_value()) << h2.error().message;
  ExpectSame(*h2, h);

  const TenantSettings s = SampleSettings();
  Result<TenantSettings> s2 = FromJson(ToJson(s), TenantSettings{});
  ASSERT_TRUE(s2.has_value()) << s2.error().message;
  ExpectSame(*s2, s);

  Result<Capacity> c2 = FromJson(ToJson(SampleCapacity()), Capacity{});
  ASSERT_TRUE(c2.has_value()) << c2.error().message;
  ExpectSame(*c2, SampleCapacity());

  const Customer cust{"Bob", "+1", "b@x"};
  Result<Customer> cust2 = FromJson(ToJson(cust), Customer{});
  ASSERT_TRUE(cust2.has_value()) << cust2.error().message;
  ExpectSame(*cust2, cust);
}

TEST(ApiJson, QueuePatchChangesOnlyPresentFields) {
  const Queue base = SampleQueue();
  Result<Queue> patched = FromJson(
      json::parse(R"({"name":"Support","offer_timeout_s":7.25,"strategy":"random",
                      "steps":[{"after_s":10}]})"),
      base);
  ASSERT_TRUE(patched.has_value()) << patched.error().message;
  Queue expected = base;
  expected.name = "Support";
  expected.offer_timeout = 7250;
  expected.strategy = Strategy::kRandom;
  expected.steps = {RelaxStep{10 * kSecond, 1, 0}};  // arrays are replaced whole
  ExpectSame(*patched, expected);

  Result<Queue> empty = FromJson(json::object(), base);
  ASSERT_TRUE(empty.has_value()) << empty.error().message;
  ExpectSame(*empty, base);

  Result<Queue> cleared = FromJson(json::parse(R"({"skills":[],"steps":[]})"), base);
  ASSERT_TRUE(cleared.has_value()) << cleared.error().message;
  EXPECT_TRUE(cleared->skills.empty());
  EXPECT_TRUE(cleared->steps.empty());
}

void ExpectQueueError(const std::string& patch, const std::string& field) {
  SCOPED_TRACE(patch);
  const Result<Queue> q = FromJson(json::parse(patch), SampleQueue());  // id 41
  ASSERT_FALSE(q.has_value());
  EXPECT_EQ(q.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(q.error().message.find("'" + field + "'"), std::string::npos) << q.error().message;
  EXPECT_EQ(q.error().message.rfind("queue: ", 0), 0u) << q.error().message;
}

TEST(ApiJson, QueueValidation) {
  EXPECT_FALSE(FromJson(json::array(), Queue{}).has_value());
  EXPECT_FALSE(FromJson(json("x"), Queue{}).has_value());
  // Creating from an empty base requires a name.
  const Result<Queue> unnamed = FromJson(json::object(), Queue{});
  ASSERT_FALSE(unnamed.has_value());
  EXPECT_NE(unnamed.error().message.find("'name'"), std::string::npos);

  ExpectQueueError(R"({"name":""})", "name");
  ExpectQueueError(R"({"name":5})", "name");
  ExpectQueueError(R"({"skills":{}})", "skills");
  ExpectQueueError(R"({"skills":[7]})", "skills[0]");
  ExpectQueueError(R"({"skills":[{"min_proficiency":3}]})", "skills[0].skill");
  ExpectQueueError(R"({"skills":[{"skill":0}]})", "skills[0].skill");
  ExpectQueueError(R"({"skills":[{"skill":1,"min_proficiency":0}]})",
                   "skills[0].min_proficiency");
  ExpectQueueError(R"({"skills":[{"skill":1,"min_proficiency":11}]})",
                   "skills[0].min_proficiency");
  ExpectQueueError(R"({"skills":[{"skill":1},{"skill":1}]})", "skills[1].skill");
  ExpectQueueError(R"({"skills":[{"skill":1,"level":3}]})", "skills[0].level");
  ExpectQueueError(R"({"steps":[{"after_s":-1}]})", "steps[0].after_s");
  ExpectQueueError(R"({"steps":[{"after_ms":1000}]})", "steps[0].after_ms");
  ExpectQueueError(R"({"steps":[{"after_s":60},{"after_s":30}]})", "steps[1].after_s");
  ExpectQueueError(R"({"steps":[{"after_s":60,"min_proficiency":11}]})",
                   "steps[0].min_proficiency");
  ExpectQueueError(R"({"steps":[{"after_s":60,"overflow_to":41}]})", "steps[0].overflow_to");
  ExpectQueueError(R"({"steps":[{"after_s":60,"overflow_to":-2}]})", "steps[0].overflow_to");
  ExpectQueueError(R"({"strategy":"fastest"})", "strategy");
  ExpectQueueError(R"({"strategy":2})", "strategy");
  ExpectQueueError(R"({"sl_target":1.5})", "sl_target");
  ExpectQueueError(R"({"sl_target":-0.1})", "sl_target");
  ExpectQueueError(R"({"sl_target":"high"})", "sl_target");
  ExpectQueueError(R"({"sl_threshold_s":-1})", "sl_threshold_s");
  ExpectQueueError(R"({"offer_timeout_s":0})", "offer_timeout_s");
  ExpectQueueError(R"({"offer_timeout_s":0.0001})", "offer_timeout_s");
  ExpectQueueError(R"({"wrapup_s":"30"})", "wrapup_s");
  ExpectQueueError(R"({"wrapup_max_extension_s":1e12})", "wrapup_max_extension_s");
  ExpectQueueError(R"({"priority_step_s":-5})", "priority_step_s");
  ExpectQueueError(R"({"hours":-1})", "hours");
  ExpectQueueError(R"({"offer_timeout_ms":20000})", "offer_timeout_ms");  // store name, not API
}

TEST(ApiJson, QueueZeroDurationsAllowedWhereMeaningful) {
  Result<Queue> q = FromJson(json::parse(R"({"wrapup_s":0,"sl_target":0})"), SampleQueue());
  ASSERT_TRUE(q.has_value()) << q.error().message;
  EXPECT_EQ(q->wrapup, 0);
}

template <typename T>
void ExpectError(const std::string& text, const T& base, const std::string& field) {
  SCOPED_TRACE(text);
  const Result<T> r = FromJson(json::parse(text), base);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(r.error().message.find("'" + field + "'"), std::string::npos) << r.error().message;
}

TEST(ApiJson, HoursValidation) {
  const BusinessHours h = SampleHours();
  ExpectError(R"({"ranges":[{"day":7,"start_min":0,"end_min":60}]})", h, "ranges[0].day");
  ExpectError(R"({"ranges":[{"day":-1,"start_min":0,"end_min":60}]})", h, "ranges[0].day");
  ExpectError(R"({"ranges":[{"day":1,"start_min":-1,"end_min":60}]})", h,
              "ranges[0].start_min");
  ExpectError(R"({"ranges":[{"day":1,"start_min":0,"end_min":1441}]})", h, "ranges[0].end_min");
  ExpectError(R"({"ranges":[{"day":1,"start_min":600,"end_min":600}]})", h,
              "ranges[0].end_min");
  ExpectError(R"({"closed_dates":["2025-02-30"]})", h, "closed_dates");
  ExpectError(R"({"closed_dates":["2023-02-29"]})", h, "closed_dates");
  ExpectError(R"({"closed_dates":["2025-1-01"]})", h, "closed_dates");
  ExpectError(R"({"closed_dates":["2025-13-01"]})", h, "closed_dates");
  ExpectError(R"({"closed_dates":"2025-12-25"})", h, "closed_dates");
  ExpectError(R"({"name":""})", h, "name");
  ExpectError(R"({"open":true})", h, "open");

  Result<BusinessHours> ok =
      FromJson(json::parse(R"({"ranges":[{"day":0,"start_min":0,"end_min":1440}]})"), h);
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  ASSERT_EQ(ok->ranges.size(), 1u);
  EXPECT_EQ(ok->closed_dates, h.closed_dates);
}

TEST(ApiJson, SettingsValidation) {
  const TenantSettings s = SampleSettings();
  ExpectError(R"({"max_missed_offers":0})", s, "max_missed_offers");
  ExpectError(R"({"max_missed_offers":"3"})", s, "max_missed_offers");
  ExpectError(R"({"presence_lease_s":0})", s, "presence_lease_s");
  ExpectError(R"({"break_reasons":["lunch",""]})", s, "break_reasons");
  ExpectError(R"({"break_reasons":["lunch",3]})", s, "break_reasons");
  ExpectError(R"({"timezone":""})", s, "timezone");
  ExpectError(R"({"allowed_origins":"*"})", s, "allowed_origins");
  ExpectError(R"({"allowed_origins":["*"]})", s, "allowed_origins");
  ExpectError(R"({"allowed_origins":["https://acme.example/"]})", s, "allowed_origins");
  ExpectError(R"({"allowed_origins":["acme.example"]})", s, "allowed_origins");
  ExpectError(R"({"allowed_origins":["https://acme.example:99999x"]})", s, "allowed_origins");
  ExpectError(R"({"chat_queue":-1})", s, "chat_queue");
  for (const char* ok : {R"({"allowed_origins":["https://a.example","http://localhost:3000","http://[::1]:8080"]})",
                         R"({"allowed_origins":[]})"}) {
    Result<TenantSettings> r = FromJson(json::parse(ok), s);
    EXPECT_TRUE(r.has_value()) << ok << ": " << r.error().message;
  }

  Result<TenantSettings> patched = FromJson(json::parse(R"({"presence_lease_s":30})"), s);
  ASSERT_TRUE(patched.has_value()) << patched.error().message;
  TenantSettings expected = s;
  expected.presence_lease = 30 * kSecond;
  ExpectSame(*patched, expected);
}

TEST(ApiJson, CapacityValidationAndPatch) {
  const Capacity c;
  ExpectError(R"({"voice":2})", c, "voice");
  ExpectError(R"({"callback":2})", c, "callback");
  ExpectError(R"({"chat":101})", c, "chat");
  ExpectError(R"({"chat":-1})", c, "chat");
  ExpectError(R"({"chat":"3"})", c, "chat");
  ExpectError(R"({"fax":1})", c, "fax");

  Result<Capacity> patched = FromJson(json::parse(R"({"chat":5,"voice":0})"), c);
  ASSERT_TRUE(patched.has_value()) << patched.error().message;
  Capacity expected;
  expected.slots = {0, 5, 2, 1, 2};
  ExpectSame(*patched, expected);
}

TEST(ApiJson, CustomerPatch) {
  const Customer c{"Bob", "+1", "b@x"};
  ExpectError(R"({"name":3})", c, "name");
  ExpectError(R"({"address":"x"})", c, "address");
  Result<Customer> patched = FromJson(json::parse(R"({"phone":"+2"})"), c);
  ASSERT_TRUE(patched.has_value()) << patched.error().message;
  ExpectSame(*patched, Customer{"Bob", "+2", "b@x"});
}

}  // namespace
}  // namespace homeline::core
