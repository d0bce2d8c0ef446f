#include "adapters/api/views.h"

#include "core/event_codec.h"

namespace homeline::api {

using nlohmann::json;

nlohmann::json NumberConsultJson(const core::NumberConsult& k) {
  auto when = [](TimeMs t) { return t == 0 ? nlohmann::json(nullptr) : nlohmann::json(t); };
  return {{"number", k.number},
          {"trunk", k.trunk},
          {"state", k.ended != 0 ? "ended" : k.answered != 0 ? "answered" : "ringing"},
          {"result", k.ended != 0 ? nlohmann::json(k.result) : nlohmann::json(nullptr)},
          {"status", k.status},
          {"started", k.started},
          {"answered", when(k.answered)},
          {"ended", when(k.ended)}};
}

json InteractionJson(const core::Interaction& ix) {
  json data = json::object();
  if (!ix.data().empty()) {
    data = json::parse(ix.data(), nullptr, /*allow_exceptions=*/false);
    if (data.is_discarded()) data = json::object();
  }
  return json{{"id", ix.id},
              {"tenant", ix.tenant},
              {"channel", core::Name(ix.channel)},
              {"direction", ix.outbound ? "outbound" : "inbound"},
              {"queue", ix.queue},
              {"priority", ix.priority},
              {"state", core::Name(ix.state)},
              {"customer", core::ToJson(ix.customer())},
              {"subject", ix.subject()},
              {"data", data},
              {"origin", ix.origin},
              {"consult", ix.consult},
              {"directed_to", ix.directed},
              {"created_at", ix.created_at},
              {"enqueued_at", ix.enqueued_at},
              {"queued_at", ix.queued_at},
              {"step", ix.step},
              {"agent", ix.agent},
              {"offer_expires_at", ix.offer_expires},
              {"answered_at", ix.answered_at},
              {"contact_ended_at", ix.contact_ended_at},
              {"wrapup_until", ix.wrapup_until},
              {"finished_at", ix.finished_at},
              {"disposition", ix.disposition},
              {"notes", ix.notes},
              {"reason", ix.reason}};
}

json AgentJson(const core::Engine& engine, core::TenantId tenant, core::UserId user) {
  const core::Agent a = engine.AgentView(user);
  const core::User* u = engine.FindUser(user);
  const bool here = a.tenant == tenant;
  // Logged out everywhere: why (logout, lease_expired, restart) is the person's, so it shows.
  const bool logged_out = a.tenant == 0 && a.presence == core::Presence::kOffline;
  const core::Activity activity = here ? a.activity : core::Activity::kOffline;
  json today = json::object();
  for (int i = 0; i < core::kActivityCount; ++i) {
    today[core::Name(static_cast<core::Activity>(i))] = a.time_in_activity_today[i] / 1000.0;
  }
  json work = json::array();
  if (here)
    for (core::InteractionId id : a.work) work.push_back(id);
  return json{{"user", user},
              {"login", u ? u->login : ""},
              {"name", u ? u->name : ""},
              {"presence", core::Name(here ? a.presence : core::Presence::kOffline)},
              {"reason", here || logged_out ? a.reason : std::string()},
              {"activity", core::Name(activity)},
              {"activity_since", here ? a.activity_since : 0},
              {"time_in_state_s", here ? (engine.now() - a.activity_since) / 1000.0 : 0.0},
              {"working_tenant", a.tenant},
              {"work", work},
              {"connections", a.connections},
              // The SIP phone, whatever the tenant: it rings for the one the agent works for.
              {"phone", a.phone ? "registered" : "unregistered"},
              {"consecutive_misses", a.consecutive_misses},
              {"contacts_today", a.contacts_today},
              {"talk_today_s", a.talk_today / 1000.0},
              {"time_in_activity_today_s", today}};
}

json QueueStatsJson(const core::Engine& engine, const core::Queue& queue) {
  const core::QueueStats s = engine.Stats(queue.tenant, queue.id);
  const core::TimeZone& zone = *engine.ZoneOf(queue.tenant);
  json agents = json::object();
  for (int i = 0; i < core::kActivityCount; ++i)
    agents[core::Name(static_cast<core::Activity>(i))] = s.agents[i];
  return json{{"queue", queue.id},
              {"name", queue.name},
              {"open", s.open},
              {"waiting", s.waiting},
              {"longest_wait_s", s.longest_wait / 1000.0},
              {"entered", s.entered},
              {"answered", s.answered},
              {"answered_in_sl", s.answered_in_sl},
              {"abandoned", s.abandoned},
              {"handled", s.handled},
              {"service_level", s.service_level},
              {"sl_target", queue.sl_target},
              {"sl_threshold_s", queue.sl_threshold / 1000.0},
              {"asa_s", s.asa_s},
              {"aht_s", s.aht_s},
              {"abandon_rate", s.abandon_rate},
              {"agents", agents},
              // The day the figures are for: the tenant's zone and its local midnight (UTC ms).
              {"timezone", zone.name()},
              {"day_start", zone.DayStart(zone.LocalDay(engine.now()))}};
}

json MemberJson(const core::Engine& engine, core::TenantId tenant, core::UserId user) {
  const core::User* u = engine.FindUser(user);
  const core::Membership* m = engine.FindMember(tenant, user);
  json out = u ? core::ToJson(*u) : json::object();
  out["sip_password"] = engine.SipHa1(user) != nullptr;  // whether one is set; never the HA1
  if (m != nullptr) {
    out["role"] = core::Name(m->role);
    json skills = json::object();
    for (const auto& [skill, prof] : m->skills) {
      const core::Skill* s = engine.FindSkill(tenant, skill);
      skills[s ? s->name : std::to_string(skill)] = prof;
    }
    out["skills"] = skills;
    out["capacity"] = core::ToJson(m->capacity);
  }
  return out;
}

}  // namespace homeline::api
