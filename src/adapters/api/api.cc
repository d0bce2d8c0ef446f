#include "adapters/api/api.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <limits>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/api/adherence_view.h"
#include "adapters/api/cdr_view.h"
#include "adapters/api/chat_service.h"
#include "adapters/api/schedule_view.h"
#include "adapters/api/staffing_view.h"
#include "adapters/wfm/schedule_render.h"
#include "adapters/api/views.h"
#include "adapters/http/url.h"
#include "adapters/auth/passwords.h"
#include "adapters/auth/sip_digest.h"
#include "core/engine.h"
#include "core/event_codec.h"
#include "core/interval_stats.h"
#include "core/wfm/schedule.h"
#include "core/wfm/schedule_json.h"
#include "sim/report.h"
#include "sim/scenario_toml.h"
#include "sim/summary.h"

namespace homeline::api {

using nlohmann::json;
using core::Role;

http::Response ErrorResponse(int status, const std::string& code, const std::string& message) {
  http::Response r;
  r.status = status;
  // Messages may quote the request (a path with bytes that are not UTF-8): replace, don't throw.
  r.body = json{{"error", {{"code", code}, {"message", message}}}}.dump(
      -1, ' ', false, json::error_handler_t::replace);
  return r;
}

http::Response ErrorResponse(const Error& e) {
  return ErrorResponse(HttpStatusOf(e.code), ErrorCodeName(e.code), e.message);
}

std::optional<std::uint64_t> ParseId(const std::string& s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v == 0 ? std::nullopt : std::optional(v);
}

namespace {

http::Response JsonResponse(const json& j, int status = 200) {
  http::Response r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

// Prometheus label values are quoted; queue names are free text.
std::string LabelValue(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

// Login-failure tables are swept of expired entries once they hold more keys than this.
constexpr std::size_t kMaxFailureKeys = 10000;

// Deeper request bodies are refused (see Dispatch).
constexpr int kMaxBodyDepth = 32;


// Typed field access on a request body; every mismatch is a 400 naming the field.
Status Want(const json& j, const char* key, std::string& out, bool required, std::size_t max = 1000) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return Fail(ErrorCode::kBadRequest, fmt::format("missing field '{}'", key));
    return {};
  }
  if (!it->is_string()) return Fail(ErrorCode::kBadRequest, fmt::format("field '{}' must be a string", key));
  out = it->get<std::string>();
  if (out.size() > max) return Fail(ErrorCode::kBadRequest, fmt::format("field '{}' is too long", key));
  return {};
}

Status Want(const json& j, const char* key, std::int64_t& out, bool required, std::int64_t lo,
            std::int64_t hi) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return Fail(ErrorCode::kBadRequest, fmt::format("missing field '{}'", key));
    return {};
  }
  if (!it->is_number_integer())
    return Fail(ErrorCode::kBadRequest, fmt::format("field '{}' must be an integer", key));
  out = it->get<std::int64_t>();
  if (out < lo || out > hi)
    return Fail(ErrorCode::kBadRequest, fmt::format("field '{}' must be {}..{}", key, lo, hi));
  return {};
}

Status Want(const json& j, const char* key, bool& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_boolean()) return Fail(ErrorCode::kBadRequest, fmt::format("field '{}' must be a boolean", key));
  out = it->get<bool>();
  return {};
}

// Paths name a tenant by id or slug, the id first: a slug that reads as an id would name
// another tenant (or none), and its own tenant could not be reached by it.
Status SlugIsNotAnId(const std::string& slug) {
  if (ParseId(slug)) return Fail(ErrorCode::kBadRequest, "slug must not be a number");
  return {};
}

Status OnlyFields(const json& j, std::initializer_list<const char*> allowed) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) return Fail(ErrorCode::kBadRequest, fmt::format("unknown field '{}'", it.key()));
  }
  return {};
}

#define TRY(expr)                                   \
  do {                                              \
    if (auto _st = (expr); !_st) return Done(ErrorResponse(_st.error())); \
  } while (0)

std::string CookieValue(const std::string& cookies, const std::string& name) {
  std::size_t i = 0;
  while (i < cookies.size()) {
    while (i < cookies.size() && (cookies[i] == ' ' || cookies[i] == ';')) ++i;
    std::size_t eq = cookies.find('=', i);
    std::size_t end = cookies.find(';', i);
    if (end == std::string::npos) end = cookies.size();
    if (eq != std::string::npos && eq < end && cookies.compare(i, eq - i, name) == 0)
      return cookies.substr(eq + 1, end - eq - 1);
    i = end;
  }
  return {};
}

enum class Access { kPublic, kUser, kPlatformAdmin, kMember, kSupervisor, kAdmin };

int Rank(Role r) {
  switch (r) {
    case Role::kAgent: return 0;
    case Role::kSupervisor: return 1;
    case Role::kAdmin: return 2;
  }
  return 0;
}

}  // namespace

struct Ctx {
  const http::Request& req;
  std::vector<std::string> params;  // captured path segments, in order
  json body;
  const core::User* user = nullptr;
  core::TenantId tenant = 0;
  Role role = Role::kAgent;
  bool AtLeast(Role r) const { return Rank(role) >= Rank(r); }
};

struct Api::Impl {
  using Handler = Outcome (Impl::*)(Ctx&);
  struct Route {
    const char* method;
    const char* pattern;
    Access access;
    Handler fn;
    const char* summary;
    std::vector<std::string> segments;
  };

  core::Engine& engine;
  ApiOptions options;
  Api* api;
  std::vector<Route> routes;
  std::string dummy_hash;  // verified for unknown logins, so they take as long as wrong passwords
  std::map<std::string, std::deque<TimeMs>> failures_by_user, failures_by_address;
  std::uint64_t requests_by_class[6] = {};
  ChatService chat;
  std::atomic<int> solves_in_flight{0};  // schedule solves on the workers (at most one)
  std::atomic<int> sims_in_flight{0};    // simulations on the workers (at most one)

  Impl(core::Engine& e, ApiOptions o, Api* a) : engine(e), options(o), api(a), chat(e, o.chat) {
    dummy_hash = auth::HashPassword("not a password of anyone");
    Add("GET", "/healthz", Access::kPublic, &Impl::Health, "Liveness check");
    Add("GET", "/metrics", Access::kPublic, &Impl::Metrics, "Prometheus metrics");
    Add("GET", "/api/v1/openapi.json", Access::kPublic, &Impl::OpenApi, "This document");
    Add("POST", "/api/v1/auth/login", Access::kPublic, &Impl::Login, "Log in; returns a bearer token and sets a cookie");
    Add("POST", "/api/v1/auth/logout", Access::kUser, &Impl::Logout, "Revoke the current token");
    Add("GET", "/api/v1/me", Access::kUser, &Impl::Me, "The caller and the tenants they belong to");
    Add("GET", "/api/v1/tenants", Access::kUser, &Impl::ListTenants, "Tenants of the caller (all for platform admins)");
    Add("POST", "/api/v1/tenants", Access::kPlatformAdmin, &Impl::CreateTenant, "Create a tenant (platform admin); the creator becomes its admin");
    Add("GET", "/api/v1/tenants/{tenant}", Access::kMember, &Impl::GetTenant, "A tenant");
    Add("PATCH", "/api/v1/tenants/{tenant}", Access::kAdmin, &Impl::PatchTenant, "Change a tenant's name or settings");
    Add("GET", "/api/v1/tenants/{tenant}/users", Access::kSupervisor, &Impl::ListUsers, "Members of the tenant");
    Add("POST", "/api/v1/tenants/{tenant}/users", Access::kAdmin, &Impl::CreateMember, "Create a user, or add an existing login, with a role, skills and capacity");
    Add("GET", "/api/v1/tenants/{tenant}/users/{id}", Access::kMember, &Impl::GetMember, "A member (agents: only themselves)");
    Add("PATCH", "/api/v1/tenants/{tenant}/users/{id}", Access::kAdmin, &Impl::PatchMember, "Change a member's role, skills, capacity, name, password");
    Add("DELETE", "/api/v1/tenants/{tenant}/users/{id}", Access::kAdmin, &Impl::DeleteMember, "Remove a member from the tenant");
    Add("PUT", "/api/v1/tenants/{tenant}/users/{id}/sip-password", Access::kAdmin, &Impl::PutSipPassword, "Set a member's SIP password (digest; the phone's user name is the login); null removes it");
    Add("GET", "/api/v1/tenants/{tenant}/skills", Access::kMember, &Impl::ListSkills, "Skills");
    Add("POST", "/api/v1/tenants/{tenant}/skills", Access::kAdmin, &Impl::CreateSkill, "Create a skill");
    Add("GET", "/api/v1/tenants/{tenant}/skills/{id}", Access::kMember, &Impl::GetSkill, "A skill");
    Add("PATCH", "/api/v1/tenants/{tenant}/skills/{id}", Access::kAdmin, &Impl::PatchSkill, "Rename a skill");
    Add("DELETE", "/api/v1/tenants/{tenant}/skills/{id}", Access::kAdmin, &Impl::DeleteSkill, "Delete a skill no queue requires");
    Add("GET", "/api/v1/tenants/{tenant}/queues", Access::kMember, &Impl::ListQueues, "Queues");
    Add("POST", "/api/v1/tenants/{tenant}/queues", Access::kAdmin, &Impl::CreateQueue, "Create a queue");
    Add("GET", "/api/v1/tenants/{tenant}/queues/{id}", Access::kMember, &Impl::GetQueue, "A queue");
    Add("PATCH", "/api/v1/tenants/{tenant}/queues/{id}", Access::kAdmin, &Impl::PatchQueue, "Change a queue");
    Add("DELETE", "/api/v1/tenants/{tenant}/queues/{id}", Access::kAdmin, &Impl::DeleteQueue, "Delete a queue without live contacts");
    Add("GET", "/api/v1/tenants/{tenant}/hours", Access::kMember, &Impl::ListHours, "Business hours");
    Add("POST", "/api/v1/tenants/{tenant}/hours", Access::kAdmin, &Impl::CreateHours, "Create business hours");
    Add("GET", "/api/v1/tenants/{tenant}/hours/{id}", Access::kMember, &Impl::GetHours, "Business hours");
    Add("PATCH", "/api/v1/tenants/{tenant}/hours/{id}", Access::kAdmin, &Impl::PatchHours, "Change business hours");
    Add("DELETE", "/api/v1/tenants/{tenant}/hours/{id}", Access::kAdmin, &Impl::DeleteHours, "Delete business hours no queue uses");
    Add("GET", "/api/v1/tenants/{tenant}/dispositions", Access::kMember, &Impl::ListDispositions, "Disposition codes");
    Add("POST", "/api/v1/tenants/{tenant}/dispositions", Access::kAdmin, &Impl::CreateDisposition, "Create a disposition code");
    Add("GET", "/api/v1/tenants/{tenant}/dispositions/{id}", Access::kMember, &Impl::GetDisposition, "A disposition code");
    Add("PATCH", "/api/v1/tenants/{tenant}/dispositions/{id}", Access::kAdmin, &Impl::PatchDisposition, "Change a disposition code");
    Add("DELETE", "/api/v1/tenants/{tenant}/dispositions/{id}", Access::kAdmin, &Impl::DeleteDisposition, "Delete a disposition code");
    Add("GET", "/api/v1/tenants/{tenant}/interactions", Access::kMember, &Impl::ListInteractions, "Interactions (agents: their own); ?live=1 for live ones");
    Add("POST", "/api/v1/tenants/{tenant}/interactions", Access::kMember, &Impl::CreateInteraction, "Put work in: an interaction of a channel into a queue");
    Add("GET", "/api/v1/tenants/{tenant}/interactions/{id}", Access::kMember, &Impl::GetInteraction, "An interaction");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/accept", Access::kMember, &Impl::AcceptOffer, "Accept an offer made to the caller");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/reject", Access::kMember, &Impl::RejectOffer, "Reject an offer made to the caller");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/end", Access::kMember, &Impl::EndContact, "End the conversation; the agent goes to wrap-up");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/abandon", Access::kMember, &Impl::AbandonInteraction, "The customer left");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/wrapup", Access::kMember, &Impl::WrapUp, "Complete wrap-up with a disposition and notes");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/wrapup/extend", Access::kMember, &Impl::ExtendWrapUp, "Ask for more wrap-up time");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/wrapup/complete", Access::kSupervisor, &Impl::ForceComplete, "Force-complete a wrap-up (supervisor)");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/transfer", Access::kMember, &Impl::Transfer, "Blind transfer: to another queue (keeping the place in line) or, for a call, to an agent ({agent}) or an external number ({number})");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/consult", Access::kMember, &Impl::ConsultStart, "Consult an agent, a queue or an external number ({\"number\": \"+1...\"}, through the tenant's trunks) while the customer waits on hold (the call's agent)");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/consult/complete", Access::kMember, &Impl::ConsultComplete, "Hand the call to the consultee; the agent goes to wrap-up");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/consult/cancel", Access::kMember, &Impl::ConsultCancel, "End the consultation; back to the customer");
    Add("POST", "/api/v1/tenants/{tenant}/calls", Access::kMember, &Impl::PlaceCall, "Outbound call: rings the caller's phone, then dials {to} (E.164) through the tenant's trunk; {queue} (id or name) gives wrap-up, dispositions and recording");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/hold", Access::kMember, &Impl::HoldCall, "Put a connected call on hold: the customer hears music (its agent, supervisors)");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/resume", Access::kMember, &Impl::ResumeCall, "Take a call off hold (its agent, supervisors)");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/recording/pause", Access::kMember, &Impl::PauseRecording, "Pause a call's recording, e.g. for a card number (its agent, supervisors)");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/recording/resume", Access::kMember, &Impl::ResumeRecording, "Resume a call's paused recording (its agent, supervisors)");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/monitor", Access::kSupervisor, &Impl::StartMonitor, "Monitor a connected call: Homeline rings the supervisor's registered phone, which joins in mode listen, whisper or barge");
    Add("PUT", "/api/v1/tenants/{tenant}/interactions/{id}/monitor", Access::kSupervisor, &Impl::ChangeMonitor, "Change the monitor's mode live (listen, whisper, barge)");
    Add("DELETE", "/api/v1/tenants/{tenant}/interactions/{id}/monitor", Access::kSupervisor, &Impl::StopMonitor, "End the monitor: the supervisor's phone gets BYE");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/callback", Access::kMember, &Impl::Callback, "Turn a waiting contact into a callback that keeps its place");
    Add("GET", "/api/v1/tenants/{tenant}/me/presence", Access::kMember, &Impl::GetMyPresence, "The caller's presence and activity");
    Add("PUT", "/api/v1/tenants/{tenant}/me/presence", Access::kMember, &Impl::PutMyPresence, "Set presence: available, break (with reason) or offline");
    Add("GET", "/api/v1/tenants/{tenant}/agents", Access::kSupervisor, &Impl::ListAgents, "Agents with activity and time in state");
    Add("PUT", "/api/v1/tenants/{tenant}/agents/{id}/presence", Access::kSupervisor, &Impl::PutAgentPresence, "Set an agent's presence (supervisor)");
    Add("GET", "/api/v1/tenants/{tenant}/colleagues", Access::kMember, &Impl::ListColleagues, "The tenant's other agents and supervisors with their activity and phone, for choosing whom to transfer a call to or consult");
    Add("GET", "/api/v1/tenants/{tenant}/stats/queues", Access::kMember, &Impl::QueueStatsAll, "Real-time statistics of every queue");
    Add("GET", "/api/v1/tenants/{tenant}/stats/queues/{id}", Access::kMember, &Impl::QueueStatsOne, "Real-time statistics of one queue");
    Add("GET", "/api/v1/tenants/{tenant}/stats/intervals", Access::kMember, &Impl::IntervalStats, "Today's figures per 30-minute interval (volume, service level); ?queue=ID for one queue");
    Add("GET", "/api/v1/tenants/{tenant}/interactions/{id}/history", Access::kMember, &Impl::CustomerHistory, "The same customer's other interactions (same email or phone), newest first");
    // Web chat: the visitor's public routes (no session; a chat's visitor token) and the
    // agent's transcript.
    Add("GET", "/api/v1/public/tenants/{tenant}/chat", Access::kPublic, &Impl::PublicChatStatus, "Chat widget status: open, agents, estimated wait, leave-a-message (public)");
    Add("POST", "/api/v1/public/tenants/{tenant}/chats", Access::kPublic, &Impl::PublicCreateChat, "Start a web chat (public): returns the chat and its visitor token");
    Add("POST", "/api/v1/public/tenants/{tenant}/messages", Access::kPublic, &Impl::PublicLeaveMessage, "Leave a message for later (public): becomes an email interaction");
    Add("GET", "/api/v1/public/chats/{id}", Access::kPublic, &Impl::PublicChatState, "The visitor's chat: state, position, estimated wait (visitor token)");
    Add("GET", "/api/v1/public/chats/{id}/messages", Access::kPublic, &Impl::PublicChatMessages, "Messages after ?since=N (visitor token)");
    Add("POST", "/api/v1/public/chats/{id}/messages", Access::kPublic, &Impl::PublicPostMessage, "Send a message (visitor token); client_id makes it idempotent");
    Add("POST", "/api/v1/public/chats/{id}/typing", Access::kPublic, &Impl::PublicTyping, "Typing indicator (visitor token; not stored)");
    Add("POST", "/api/v1/public/chats/{id}/close", Access::kPublic, &Impl::PublicClose, "The visitor leaves the chat (visitor token)");
    Add("GET", "/api/v1/tenants/{tenant}/interactions/{id}/messages", Access::kMember, &Impl::ChatTranscript, "A chat's messages after ?since=N (its agent, supervisors)");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/messages", Access::kMember, &Impl::AgentPostMessage, "Send a chat message (the connected agent)");
    Add("POST", "/api/v1/tenants/{tenant}/interactions/{id}/typing", Access::kMember, &Impl::AgentTyping, "Chat typing indicator (the connected agent; not stored)");
    // workforce management: forecast (docs/wfm.md)
    Add("GET", "/api/v1/tenants/{tenant}/calendar", Access::kSupervisor, &Impl::ListCalendar, "Calendar events that raise or lower the forecast (holidays, Black Friday, seasons)");
    Add("POST", "/api/v1/tenants/{tenant}/calendar", Access::kSupervisor, &Impl::CreateCalendar, "Create a calendar event: name, first_day, last_day (YYYY-MM-DD, inclusive), multiplier, optional queue");
    Add("GET", "/api/v1/tenants/{tenant}/calendar/{id}", Access::kSupervisor, &Impl::GetCalendar, "A calendar event");
    Add("DELETE", "/api/v1/tenants/{tenant}/calendar/{id}", Access::kSupervisor, &Impl::DeleteCalendar, "Delete a calendar event");
    Add("GET", "/api/v1/tenants/{tenant}/forecast", Access::kSupervisor, &Impl::Forecast, "Forecast volume and AHT per interval from the stored history: ?queue=ID [&weeks=4&interval=30&from=YYYY-MM-DD&format=csv]");
    Add("GET", "/api/v1/tenants/{tenant}/requirements", Access::kSupervisor, &Impl::Requirements, "Required agents per interval from the forecast: ?queue=ID&target_sl=&answer_within= (or target_asa) [&patience=&shrinkage=&max_occupancy=&concurrency=&weeks=&interval=&from=&format=csv]");
    Add("GET", "/api/v1/tenants/{tenant}/staffing", Access::kSupervisor, &Impl::Staffing, "Staffing calculator (Erlang C, or Erlang A with patience): ?calls=&interval=&aht=&target_sl=&answer_within= [&target_asa=&patience=&shrinkage=&max_occupancy=&concurrency=]");
    // Schedules (WFM): solved on a worker thread, stored as events, published to agents.
    Add("POST", "/api/v1/tenants/{tenant}/schedules", Access::kSupervisor, &Impl::CreateSchedule, "Solve a weekly shift schedule from the problem in the body (docs/wfm.md) and store it as a draft; ?time_limit=S (1..300, default 30) &name=");
    Add("GET", "/api/v1/tenants/{tenant}/schedules", Access::kSupervisor, &Impl::ListSchedules, "Schedules (summaries: state, week, cost, gap, under/over)");
    Add("GET", "/api/v1/tenants/{tenant}/schedules/{id}", Access::kSupervisor, &Impl::GetSchedule, "A schedule: every shift and the per-interval coverage; ?format=csv (shifts) or coverage_csv");
    Add("POST", "/api/v1/tenants/{tenant}/schedules/{id}/publish", Access::kSupervisor, &Impl::PublishSchedule, "Publish a draft: its agents see their shifts; the week's previous schedule is superseded");
    Add("GET", "/api/v1/tenants/{tenant}/me/shifts", Access::kMember, &Impl::MyShifts, "The caller's shifts in published schedules");
    Add("POST", "/api/v1/tenants/{tenant}/simulations", Access::kSupervisor, &Impl::CreateSimulation, "Simulate a scenario through the routing engine (docs/wfm.md, Simulator): {scenario: TOML text, replications, seed, schedule_id}; the report of `homeline sim --json`, or ?format=csv; nothing stored");
    Add("GET", "/api/v1/tenants/{tenant}/me/shifts.ics", Access::kMember, &Impl::MyShiftsIcs, "The caller's shifts as iCalendar (RFC 5545)");
    // Adherence (WFM): presence history against the published schedules (docs/wfm.md).
    Add("GET", "/api/v1/tenants/{tenant}/adherence", Access::kSupervisor, &Impl::Adherence, "Adherence and conformance per scheduled agent for a day from the presence history: ?date=YYYY-MM-DD (default today) &agent=ID &grace=MIN (default 5) &format=csv");
    Add("GET", "/api/v1/tenants/{tenant}/adherence/live", Access::kSupervisor, &Impl::AdherenceLive, "Agents out of adherence now (scheduled activity vs current state, since when); ?grace=MIN");
    Add("GET", "/api/v1/tenants/{tenant}/me/adherence", Access::kMember, &Impl::MyAdherence, "The caller's adherence for a day: ?date=YYYY-MM-DD &grace=MIN &format=csv");
    // Voice (issue 3; docs/api.md "Voice"): trunks, numbers, per-queue voice settings.
    Add("GET", "/api/v1/tenants/{tenant}/trunks", Access::kSupervisor, &Impl::ListTrunks, "SIP trunks (passwords never shown)");
    Add("POST", "/api/v1/tenants/{tenant}/trunks", Access::kAdmin, &Impl::CreateTrunk, "Create a SIP trunk: name, inbound {sources, username, password}, outbound {host, port, transport, username, password, caller_id, priority 0-1000 (lowest tried first), dial_timeout_s 5-600}");
    Add("GET", "/api/v1/tenants/{tenant}/trunks/{id}", Access::kSupervisor, &Impl::GetTrunk, "A SIP trunk");
    Add("PATCH", "/api/v1/tenants/{tenant}/trunks/{id}", Access::kAdmin, &Impl::PatchTrunk, "Change a SIP trunk (absent fields are kept; a password is changed only when given)");
    Add("DELETE", "/api/v1/tenants/{tenant}/trunks/{id}", Access::kAdmin, &Impl::DeleteTrunk, "Delete a SIP trunk no number names");
    Add("GET", "/api/v1/tenants/{tenant}/numbers", Access::kSupervisor, &Impl::ListNumbers, "Phone numbers (E.164) and where their calls go");
    Add("POST", "/api/v1/tenants/{tenant}/numbers", Access::kAdmin, &Impl::CreateNumber, "Add a phone number: number (E.164, unique server-wide), queue or ivr, optional trunk and name");
    Add("GET", "/api/v1/tenants/{tenant}/numbers/{id}", Access::kSupervisor, &Impl::GetNumber, "A phone number");
    Add("PATCH", "/api/v1/tenants/{tenant}/numbers/{id}", Access::kAdmin, &Impl::PatchNumber, "Change a phone number or its target");
    Add("DELETE", "/api/v1/tenants/{tenant}/numbers/{id}", Access::kAdmin, &Impl::DeleteNumber, "Remove a phone number");
    Add("GET", "/api/v1/tenants/{tenant}/queues/{id}/voice", Access::kSupervisor, &Impl::GetQueueVoice, "A queue's voice settings: greeting, music on hold, position announcements, recording");
    Add("PUT", "/api/v1/tenants/{tenant}/queues/{id}/voice", Access::kAdmin, &Impl::PutQueueVoice, "Change a queue's voice settings (absent fields are kept)");
    Add("GET", "/api/v1/tenants/{tenant}/cdrs", Access::kSupervisor, &Impl::ListCdrs, "Call detail records per call and leg: ?from=&to= (ms or YYYY-MM-DDTHH:MM:SSZ; default the last 24 h, at most 31 days) &queue=ID &agent=ID &offset=&limit= (1..1000, default 100)");
    Add("GET", "/api/v1/tenants/{tenant}/cdrs.csv", Access::kSupervisor, &Impl::CdrsCsv, "Call detail records as CSV (RFC 4180), one row per leg, every call of the range: ?from=&to=&queue=&agent=");
    Add("GET", "/api/v1/tenants/{tenant}/recordings", Access::kSupervisor, &Impl::ListRecordings, "Call recordings (metadata: interaction, started, ended, paused spans) that started in ?from=&to= (ms or YYYY-MM-DDTHH:MM:SSZ; default the last 24 h, at most 31 days) &interaction=ID");
    Add("GET", "/api/v1/tenants/{tenant}/recordings/{id}", Access::kSupervisor, &Impl::GetRecording, "A call recording's metadata");
    Add("GET", "/api/v1/tenants/{tenant}/recordings/{id}/file", Access::kSupervisor, &Impl::RecordingFile, "Download a call recording (audio/wav: customer left, agent right), streamed; a Range: bytes= header gets 206 with that part");
    Add("GET", "/api/v1/tenants/{tenant}/ivr", Access::kSupervisor, &Impl::ListIvr, "IVR menus");
    Add("POST", "/api/v1/tenants/{tenant}/ivr", Access::kAdmin, &Impl::CreateIvr, "Create an IVR menu: name, prompt_text or prompt_file, options {key: {queue|menu|number|repeat|hangup}}, timeout_s, max_retries, on_failure");
    Add("GET", "/api/v1/tenants/{tenant}/ivr/{id}", Access::kSupervisor, &Impl::GetIvr, "An IVR menu");
    Add("PATCH", "/api/v1/tenants/{tenant}/ivr/{id}", Access::kAdmin, &Impl::PatchIvr, "Change an IVR menu (options are replaced whole)");
    Add("DELETE", "/api/v1/tenants/{tenant}/ivr/{id}", Access::kAdmin, &Impl::DeleteIvr, "Delete an IVR menu no number or other menu leads to");
  }

  void Add(const char* method, const char* pattern, Access access, Handler fn, const char* summary) {
    routes.push_back(Route{method, pattern, access, fn, summary, Split(pattern)});
  }

  Outcome Done(http::Response r) { return Outcome{std::move(r), engine.last_seq(), {}}; }
  Outcome Done(const Status& st, const json& ok) {
    if (!st) return Done(ErrorResponse(st.error()));
    return Done(JsonResponse(ok));
  }
  Outcome Err(ErrorCode code, const std::string& msg) { return Done(ErrorResponse(Error{code, msg})); }

  // ---- dispatch ------------------------------------------------------------------------------

  Outcome Handle(const http::Request& req) {
    Outcome out = Dispatch(req);
    if (!out.offload) CountStatus(out.response.status);
    return out;
  }

  void CountStatus(int status) {
    const int cls = std::clamp(status / 100, 1, 5);
    requests_by_class[cls]++;
  }

  Outcome Dispatch(const http::Request& req) {
    // Split before decoding, so an escaped '/' (%2F) stays inside its segment.
    std::vector<std::string> segs = Split(req.raw_path.empty() ? req.path : req.raw_path);
    if (!req.raw_path.empty())
      for (std::string& seg : segs) seg = http::PercentDecode(seg, /*plus_is_space=*/false);
    const Route* match = nullptr;
    const Route* path_route = nullptr;  // a route of this path, whatever its method
    bool path_matched = false;
    std::vector<std::string> params;
    for (const auto& r : routes) {
      if (r.segments.size() != segs.size()) continue;
      std::vector<std::string> caps;
      bool ok = true;
      for (std::size_t i = 0; i < segs.size() && ok; ++i) {
        if (r.segments[i].front() == '{') caps.push_back(segs[i]);
        else ok = r.segments[i] == segs[i];
      }
      if (!ok) continue;
      path_matched = true;
      if (path_route == nullptr) {
        path_route = &r;
        params = caps;
      }
      if (req.method == r.method) {
        match = &r;
        params = std::move(caps);
        break;
      }
    }
    // The chat widget runs on the tenant's own site: its routes check the Origin against the
    // tenant's allowed origins before anything else (nothing is written for another site), and
    // every answer to an allowed one carries the CORS headers, errors included.
    if (path_route != nullptr && IsChatPublic(*path_route)) {
      const core::Tenant* tenant = ChatRouteTenant(*path_route, params);
      if (req.method == "OPTIONS") {
        if (tenant == nullptr) return Err(ErrorCode::kNotFound, "no such tenant or chat");
        if (!ChatService::OriginAllowed(req, *tenant))
          return Done(ErrorResponse(403, "origin_not_allowed", "this site is not allowed to use the chat of " + tenant->slug));
        http::Response r;
        r.status = 204;
        r.content_type.clear();
        ChatService::AddCorsHeaders(req, r, /*preflight=*/true);
        return Done(std::move(r));
      }
      if (tenant != nullptr) {
        if (!ChatService::OriginAllowed(req, *tenant))
          return Done(ErrorResponse(403, "origin_not_allowed", "this site is not allowed to use the chat of " + tenant->slug));
        Outcome out = DispatchMatched(req, match, path_matched, std::move(params));
        ChatService::AddCorsHeaders(req, out.response, /*preflight=*/false);
        return out;
      }
    }
    return DispatchMatched(req, match, path_matched, std::move(params));
  }

  static bool IsChatPublic(const Route& r) {
    return std::string_view(r.pattern).starts_with("/api/v1/public/");
  }

  // The tenant a public chat route is about: named in the path, or the chat's (found by id
  // alone, as a preflight carries no token).
  const core::Tenant* ChatRouteTenant(const Route& r, const std::vector<std::string>& params) {
    if (params.empty()) return nullptr;
    if (std::string_view(r.pattern).starts_with("/api/v1/public/tenants/"))
      return chat.PublicTenant(params[0]);
    auto id = ParseId(params[0]);
    const core::Interaction* ix = id ? engine.FindChatInteraction(*id) : nullptr;
    return ix != nullptr ? engine.FindTenant(ix->tenant) : nullptr;
  }

  Outcome DispatchMatched(const http::Request& req, const Route* match, bool path_matched,
                          std::vector<std::string> params) {
    if (match == nullptr) {
      if (path_matched)
        return Done(ErrorResponse(405, "method_not_allowed", req.method + " is not allowed on " + req.path));
      return Done(ErrorResponse(404, "route_not_found", "no route " + req.method + " " + req.path));
    }
    Ctx ctx{req, std::move(params), json::object()};
    if (match->access != Access::kPublic) {
      auto uid = api->Authenticate(req);
      if (!uid) return Err(ErrorCode::kUnauthorized, "missing, expired or revoked token");
      ctx.user = engine.FindUser(*uid);
      engine.Touch(*uid);
    }
    if (match->access == Access::kPlatformAdmin && !ctx.user->platform_admin)
      return Err(ErrorCode::kForbidden, "platform admins only");
    if (match->access >= Access::kMember) {
      auto t = api->ResolveTenant(ctx.user->id, ctx.params[0]);
      if (!t) return Err(ErrorCode::kNotFound, "no such tenant");
      ctx.tenant = t->first;
      ctx.role = t->second;
      const Role need = match->access == Access::kAdmin        ? Role::kAdmin
                        : match->access == Access::kSupervisor ? Role::kSupervisor
                                                               : Role::kAgent;
      if (!ctx.AtLeast(need)) return Err(ErrorCode::kForbidden, fmt::format("needs role {}", core::Name(need)));
    }
    if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
      if (!req.body.empty()) {
        int depth = 0;
        ctx.body = json::parse(
            req.body,
            [&depth](int d, json::parse_event_t, json&) {
              depth = std::max(depth, d);
              return true;
            },
            /*allow_exceptions=*/false);
        if (ctx.body.is_discarded()) return Err(ErrorCode::kBadRequest, "malformed JSON body");
        // Parsing is iterative, but dump() is recursive: a deeply nested "data" field would
        // overflow the stack when the interaction is stored or shown.
        if (depth > kMaxBodyDepth) return Err(ErrorCode::kBadRequest, "JSON body nested too deeply");
        if (!ctx.body.is_object()) return Err(ErrorCode::kBadRequest, "the body must be a JSON object");
      }
    }
    try {
      return (this->*(match->fn))(ctx);
    } catch (const std::exception& e) {
      // nlohmann type errors on unexpected shapes: the client's fault, and nothing was changed
      // (handlers validate before they command the engine).
      return Err(ErrorCode::kBadRequest, std::string("bad request: ") + e.what());
    }
  }

  std::optional<std::uint64_t> Id(Ctx& c, std::size_t i) { return ParseId(c.params.at(i)); }

  // ---- public --------------------------------------------------------------------------------

  Outcome Health(Ctx&) { return Done(JsonResponse(json{{"status", "ok"}})); }

  Outcome OpenApi(Ctx&) {
    http::Response r;
    r.body = api->OpenApiJson();
    return Done(std::move(r));
  }

  Outcome Metrics(Ctx&) {
    std::string out;
    out += "# HELP homeline_http_requests_total API requests answered, by status class.\n";
    out += "# TYPE homeline_http_requests_total counter\n";
    for (int c = 1; c <= 5; ++c)
      out += fmt::format("homeline_http_requests_total{{code=\"{}xx\"}} {}\n", c, requests_by_class[c]);
    out += "# TYPE homeline_events_total counter\n";
    out += fmt::format("homeline_events_total {}\n", engine.last_seq());
    out += "# TYPE homeline_queue_waiting gauge\n# TYPE homeline_queue_longest_wait_seconds gauge\n";
    out += "# TYPE homeline_queue_service_level gauge\n# TYPE homeline_queue_answered_total counter\n";
    out += "# TYPE homeline_queue_abandoned_total counter\n# TYPE homeline_queue_entered_total counter\n";
    out += "# TYPE homeline_queue_asa_seconds gauge\n# TYPE homeline_queue_aht_seconds gauge\n";
    out += "# TYPE homeline_queue_service_level_target gauge\n# TYPE homeline_queue_abandon_rate gauge\n";
    out += "# TYPE homeline_queue_agents gauge\n";
    for (const auto& [tid, tenant] : engine.tenants()) {
      for (const core::Queue* q : engine.Queues(tid)) {
        const core::QueueStats s = engine.Stats(tid, q->id);
        const std::string l = fmt::format("tenant=\"{}\",queue=\"{}\"", LabelValue(tenant.slug),
                                          LabelValue(q->name));
        out += fmt::format("homeline_queue_waiting{{{}}} {}\n", l, s.waiting);
        out += fmt::format("homeline_queue_longest_wait_seconds{{{}}} {:.3f}\n", l, s.longest_wait / 1000.0);
        out += fmt::format("homeline_queue_service_level{{{}}} {:.4f}\n", l, s.service_level);
        out += fmt::format("homeline_queue_service_level_target{{{}}} {:.4f}\n", l, q->sl_target);
        out += fmt::format("homeline_queue_abandon_rate{{{}}} {:.4f}\n", l, s.abandon_rate);
        out += fmt::format("homeline_queue_entered_total{{{}}} {}\n", l, s.entered);
        out += fmt::format("homeline_queue_answered_total{{{}}} {}\n", l, s.answered);
        out += fmt::format("homeline_queue_abandoned_total{{{}}} {}\n", l, s.abandoned);
        out += fmt::format("homeline_queue_asa_seconds{{{}}} {:.3f}\n", l, s.asa_s);
        out += fmt::format("homeline_queue_aht_seconds{{{}}} {:.3f}\n", l, s.aht_s);
        for (int i = 0; i < core::kActivityCount; ++i)
          out += fmt::format("homeline_queue_agents{{{},state=\"{}\"}} {}\n", l,
                             core::Name(static_cast<core::Activity>(i)), s.agents[i]);
      }
    }
    if (api->extra_metrics_) out += api->extra_metrics_();
    http::Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = std::move(out);
    // Not held for durability like other answers: a scrape acknowledges nothing, and it must
    // answer while the disk is behind, when the store's backlog is what an operator looks at.
    return Outcome{std::move(r), 0, {}};
  }

  // ---- sessions ------------------------------------------------------------------------------

  bool Limited(std::map<std::string, std::deque<TimeMs>>& m, const std::string& key, int max) {
    const TimeMs horizon = engine.now() - options.login_window;
    auto expire = [horizon](std::deque<TimeMs>& q) {
      while (!q.empty() && q.front() <= horizon) q.pop_front();
      return q.empty();
    };
    // A guesser spraying many logins or addresses must not grow the tables without bound: past
    // a size, sweep every expired entry (amortised over the inserts that grew it).
    if (m.size() > kMaxFailureKeys) {
      for (auto i = m.begin(); i != m.end();) i = expire(i->second) ? m.erase(i) : std::next(i);
    }
    auto it = m.find(key);
    if (it == m.end()) return false;
    if (expire(it->second)) {
      m.erase(it);
      return false;
    }
    return static_cast<int>(it->second.size()) >= max;
  }

  Outcome Login(Ctx& c) {
    std::string login, password;
    TRY(Want(c.body, "login", login, true, 64));
    TRY(Want(c.body, "password", password, true, 1024));
    if (Limited(failures_by_user, login, options.login_failures_per_user) ||
        Limited(failures_by_address, c.req.remote_address, options.login_failures_per_address)) {
      return Err(ErrorCode::kRateLimited, "too many failed logins; try again later");
    }
    const core::User* user = engine.FindUserByLogin(login);
    const core::UserId uid = user ? user->id : 0;
    std::string hash = user && !user->password_hash.empty() ? user->password_hash : dummy_hash;
    const std::string address = c.req.remote_address;
    Outcome out;
    out.offload = [this, uid, hash = std::move(hash), password = std::move(password), login, address]() {
      const bool ok = auth::VerifyPassword(hash, password);
      return std::function<Outcome()>([this, ok, uid, login, address]() {
        Outcome o = FinishLogin(ok, uid, login, address);
        CountStatus(o.response.status);
        return o;
      });
    };
    return out;
  }

  Outcome FinishLogin(bool ok, core::UserId uid, const std::string& login, const std::string& address) {
    const core::User* user = engine.FindUser(uid);
    if (!ok || user == nullptr || user->disabled) {
      failures_by_user[login].push_back(engine.now());
      failures_by_address[address].push_back(engine.now());
      // The same answer for an unknown login and a wrong password.
      return Err(ErrorCode::kUnauthorized, "invalid login or password");
    }
    failures_by_user.erase(login);
    const std::string token = auth::NewToken();
    const TimeMs expires = engine.now() + options.session_ttl;
    if (auto st = engine.CreateSession(auth::TokenHash(token), uid, expires); !st)
      return Done(ErrorResponse(st.error()));
    json body = MeJson(*user);
    body["token"] = token;
    body["expires_at"] = expires;
    http::Response r = JsonResponse(body);
    r.headers.emplace_back("Set-Cookie",
                           fmt::format("homeline_session={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
                                       token, options.session_ttl / 1000,
                                       options.secure_cookies ? "; Secure" : ""));
    return Done(std::move(r));
  }

  static std::string TokenOf(const http::Request& req) {
    const std::string& authz = req.Header("authorization");
    if (authz.size() > 7 && (authz.compare(0, 7, "Bearer ") == 0 || authz.compare(0, 7, "bearer ") == 0))
      return authz.substr(7);
    std::string cookie = CookieValue(req.Header("cookie"), "homeline_session");
    if (!cookie.empty()) return cookie;
    return req.QueryParam("token");
  }

  Outcome Logout(Ctx& c) {
    const std::string token = TokenOf(c.req);
    auto st = engine.RevokeSession(auth::TokenHash(token));
    http::Response r = JsonResponse(json{{"ok", true}});
    r.headers.emplace_back("Set-Cookie", "homeline_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if (!st) return Done(ErrorResponse(st.error()));
    return Done(std::move(r));
  }

  json MeJson(const core::User& u) {
    json tenants = json::array();
    for (const auto& [tid, role] : engine.TenantsOf(u.id)) {
      const core::Tenant* t = engine.FindTenant(tid);
      if (t == nullptr) continue;
      tenants.push_back(json{{"id", t->id}, {"slug", t->slug}, {"name", t->name}, {"role", core::Name(role)}});
    }
    return json{{"user", core::ToJson(u)}, {"tenants", tenants}};
  }

  Outcome Me(Ctx& c) { return Done(JsonResponse(MeJson(*c.user))); }

  // ---- tenants -------------------------------------------------------------------------------

  Outcome ListTenants(Ctx& c) {
    json out = json::array();
    for (const auto& [tid, t] : engine.tenants()) {
      if (c.user->platform_admin || engine.FindMember(tid, c.user->id)) out.push_back(core::ToJson(t));
    }
    return Done(JsonResponse(out));
  }

  Outcome CreateTenant(Ctx& c) {
    TRY(OnlyFields(c.body, {"slug", "name", "settings"}));
    core::Tenant t;
    TRY(Want(c.body, "slug", t.slug, true, 32));
    TRY(SlugIsNotAnId(t.slug));
    TRY(Want(c.body, "name", t.name, true, 200));
    if (c.body.contains("settings")) {
      auto s = core::FromJson(c.body["settings"], t.settings);
      if (!s) return Done(ErrorResponse(s.error()));
      t.settings = *s;
    }
    if (t.settings.chat_queue != 0)
      return Err(ErrorCode::kBadRequest, "settings.chat_queue: a new tenant has no queues yet");
    auto id = engine.CreateTenant(t);
    if (!id) return Done(ErrorResponse(id.error()));
    core::Membership m;
    m.role = Role::kAdmin;
    (void)engine.SetMember(*id, c.user->id, m);
    return Done(JsonResponse(core::ToJson(*engine.FindTenant(*id)), 201));
  }

  Outcome GetTenant(Ctx& c) { return Done(JsonResponse(core::ToJson(*engine.FindTenant(c.tenant)))); }

  Outcome PatchTenant(Ctx& c) {
    TRY(OnlyFields(c.body, {"id", "slug", "name", "settings"}));
    core::Tenant t = *engine.FindTenant(c.tenant);
    TRY(Want(c.body, "name", t.name, false, 200));
    TRY(Want(c.body, "slug", t.slug, false, 32));
    if (c.body.contains("slug")) TRY(SlugIsNotAnId(t.slug));
    if (c.body.contains("settings")) {
      auto s = core::FromJson(c.body["settings"], t.settings);
      if (!s) return Done(ErrorResponse(s.error()));
      t.settings = *s;
    }
    if (t.settings.chat_queue != 0 && engine.FindQueue(c.tenant, t.settings.chat_queue) == nullptr)
      return Err(ErrorCode::kBadRequest, "settings.chat_queue must be a queue of the tenant");
    auto st = engine.UpdateTenant(t);
    return Done(st, core::ToJson(*engine.FindTenant(c.tenant)));
  }

  // ---- members -------------------------------------------------------------------------------

  Status ReadMembership(const json& j, core::TenantId t, core::Membership& m) {
    if (j.contains("role")) {
      if (!j["role"].is_string()) return Fail(ErrorCode::kBadRequest, "field 'role' must be a string");
      auto r = core::ParseRole(j["role"].get<std::string>());
      if (!r) return Fail(ErrorCode::kBadRequest, "role must be agent, supervisor or admin");
      m.role = *r;
    }
    if (j.contains("skills")) {
      const json& s = j["skills"];
      if (!s.is_object()) return Fail(ErrorCode::kBadRequest, "skills must be an object of skill name -> proficiency");
      m.skills.clear();
      for (auto it = s.begin(); it != s.end(); ++it) {
        core::SkillId sid = 0;
        for (const core::Skill* sk : engine.Skills(t))
          if (sk->name == it.key()) sid = sk->id;
        if (sid == 0) {
          auto id = ParseId(it.key());
          if (id && engine.FindSkill(t, *id)) sid = *id;
        }
        if (sid == 0) return Fail(ErrorCode::kBadRequest, "unknown skill '" + it.key() + "'");
        if (!it->is_number_integer() || !std::in_range<int>(it->get<std::int64_t>()))
          return Fail(ErrorCode::kBadRequest, "proficiency must be an integer 1-10");
        m.skills[sid] = it->get<int>();
      }
    }
    if (j.contains("capacity")) {
      auto cap = core::FromJson(j["capacity"], m.capacity);
      if (!cap) return std::unexpected(cap.error());
      m.capacity = *cap;
    }
    // The engine would refuse a bad membership too, but CreateMember must refuse before it
    // creates the user, or a user would be left behind with no tenant.
    return engine.CheckMembership(t, m);
  }

  Outcome ListUsers(Ctx& c) {
    json out = json::array();
    for (core::UserId u : engine.MembersOf(c.tenant)) out.push_back(MemberJson(engine, c.tenant, u));
    return Done(JsonResponse(out));
  }

  Outcome CreateMember(Ctx& c) {
    TRY(OnlyFields(c.body, {"login", "name", "password", "role", "skills", "capacity"}));
    std::string login, name, password;
    TRY(Want(c.body, "login", login, true, 64));
    TRY(Want(c.body, "name", name, false, 200));
    TRY(Want(c.body, "password", password, false, 1024));
    core::Membership m;
    TRY(ReadMembership(c.body, c.tenant, m));
    const core::User* existing = engine.FindUserByLogin(login);
    if (existing != nullptr) {
      // An independent contractor who already works for another company.
      if (engine.FindMember(c.tenant, existing->id)) return Err(ErrorCode::kConflict, "already a member");
      if (!password.empty()) return Err(ErrorCode::kConflict, "login exists; add it without a password");
      TRY(engine.SetMember(c.tenant, existing->id, m));
      return Done(JsonResponse(MemberJson(engine, c.tenant, existing->id), 201));
    }
    if (password.size() < 4) return Err(ErrorCode::kBadRequest, "a new user needs a password of at least 4 characters");
    core::User u;
    u.login = login;
    u.name = name.empty() ? login : name;
    const core::TenantId tenant = c.tenant;
    Outcome out;
    out.offload = [this, u, m, password, tenant]() mutable {
      u.password_hash = auth::HashPassword(password);
      return std::function<Outcome()>([this, u, m, tenant]() {
        auto id = engine.CreateUser(u);
        if (!id) return Done(ErrorResponse(id.error()));
        if (auto st = engine.SetMember(tenant, *id, m); !st) return Done(ErrorResponse(st.error()));
        Outcome o = Done(JsonResponse(MemberJson(engine, tenant, *id), 201));
        CountStatus(201);
        return o;
      });
    };
    return out;
  }

  const core::Membership* MemberOr404(Ctx& c, core::UserId& uid) {
    auto id = Id(c, 1);
    if (!id) return nullptr;
    uid = *id;
    return engine.FindMember(c.tenant, *id);
  }

  Outcome GetMember(Ctx& c) {
    core::UserId uid = 0;
    if (!MemberOr404(c, uid)) return Err(ErrorCode::kNotFound, "no such user");
    if (!c.AtLeast(Role::kSupervisor) && uid != c.user->id) return Err(ErrorCode::kForbidden, "agents see only themselves");
    json out = MemberJson(engine, c.tenant, uid);
    out["agent"] = AgentJson(engine, c.tenant, uid);
    return Done(JsonResponse(out));
  }

  Outcome PatchMember(Ctx& c) {
    TRY(OnlyFields(c.body, {"id", "login", "name", "password", "role", "skills", "capacity", "disabled"}));
    core::UserId uid = 0;
    const core::Membership* mem = MemberOr404(c, uid);
    if (!mem) return Err(ErrorCode::kNotFound, "no such user");
    core::Membership m = *mem;
    TRY(ReadMembership(c.body, c.tenant, m));
    core::User u = *engine.FindUser(uid);
    std::string login = u.login;
    TRY(Want(c.body, "login", login, false, 64));
    if (login != u.login) return Err(ErrorCode::kBadRequest, "login cannot change");
    TRY(Want(c.body, "name", u.name, false, 200));
    TRY(Want(c.body, "disabled", u.disabled));
    std::string password;
    TRY(Want(c.body, "password", password, false, 1024));
    // A user shared with other tenants changes only through their membership here.
    const bool shared = engine.TenantsOf(uid).size() > 1;
    const core::User* before = engine.FindUser(uid);
    if (shared && (u.name != before->name || u.disabled != before->disabled || !password.empty()))
      return Err(ErrorCode::kForbidden, "this user also works for other tenants; only role, skills and capacity can change here");
    TRY(engine.SetMember(c.tenant, uid, m));
    if (password.empty()) {
      TRY(engine.UpdateUser(u));
      return Done(JsonResponse(MemberJson(engine, c.tenant, uid)));
    }
    if (password.size() < 4) return Err(ErrorCode::kBadRequest, "password of at least 4 characters");
    const core::TenantId tenant = c.tenant;
    Outcome out;
    out.offload = [this, u, password, tenant]() mutable {
      u.password_hash = auth::HashPassword(password);
      return std::function<Outcome()>([this, u, tenant]() {
        core::User now = *engine.FindUser(u.id);
        now.name = u.name;
        now.disabled = u.disabled;
        now.password_hash = u.password_hash;
        Outcome o = Done(engine.UpdateUser(now), MemberJson(engine, tenant, u.id));
        CountStatus(o.response.status);
        return o;
      });
    };
    return out;
  }

  // Only HA1 = MD5(login:realm:password) is kept (it is what digest needs); it never leaves
  // the server: views say whether one is set.
  Outcome PutSipPassword(Ctx& c) {
    TRY(OnlyFields(c.body, {"password"}));
    core::UserId uid = 0;
    if (!MemberOr404(c, uid)) return Err(ErrorCode::kNotFound, "no such user");
    if (!c.body.contains("password")) return Err(ErrorCode::kBadRequest, "password is required (null removes it)");
    // Like the login password: a user shared with other tenants is not this tenant's to change.
    if (engine.TenantsOf(uid).size() > 1)
      return Err(ErrorCode::kForbidden, "this user also works for other tenants; their SIP password cannot change here");
    std::string ha1;
    if (!c.body["password"].is_null()) {
      std::string password;
      TRY(Want(c.body, "password", password, true, 128));
      if (password.size() < 4) return Err(ErrorCode::kBadRequest, "password of at least 4 characters");
      ha1 = auth::SipHa1(engine.FindUser(uid)->login, password);
    }
    TRY(engine.SetSipCredential(uid, std::move(ha1)));
    return Done(JsonResponse(MemberJson(engine, c.tenant, uid)));
  }

  Outcome DeleteMember(Ctx& c) {
    core::UserId uid = 0;
    if (!MemberOr404(c, uid)) return Err(ErrorCode::kNotFound, "no such user");
    if (uid == c.user->id) return Err(ErrorCode::kConflict, "you cannot remove yourself");
    return Done(engine.RemoveMember(c.tenant, uid), json{{"ok", true}});
  }

  // ---- skills, hours, dispositions, queues ---------------------------------------------------

  Outcome ListSkills(Ctx& c) {
    json out = json::array();
    for (const core::Skill* s : engine.Skills(c.tenant)) out.push_back(core::ToJson(*s));
    return Done(JsonResponse(out));
  }
  Outcome CreateSkill(Ctx& c) {
    TRY(OnlyFields(c.body, {"name"}));
    core::Skill s;
    s.tenant = c.tenant;
    TRY(Want(c.body, "name", s.name, true, 64));
    auto id = engine.CreateSkill(s);
    if (!id) return Done(ErrorResponse(id.error()));
    return Done(JsonResponse(core::ToJson(*engine.FindSkill(c.tenant, *id)), 201));
  }
  Outcome GetSkill(Ctx& c) {
    auto id = Id(c, 1);
    const core::Skill* s = id ? engine.FindSkill(c.tenant, *id) : nullptr;
    if (!s) return Err(ErrorCode::kNotFound, "no such skill");
    return Done(JsonResponse(core::ToJson(*s)));
  }
  Outcome PatchSkill(Ctx& c) {
    TRY(OnlyFields(c.body, {"id", "tenant", "name"}));
    auto id = Id(c, 1);
    const core::Skill* s = id ? engine.FindSkill(c.tenant, *id) : nullptr;
    if (!s) return Err(ErrorCode::kNotFound, "no such skill");
    core::Skill next = *s;
    TRY(Want(c.body, "name", next.name, false, 64));
    TRY(engine.UpdateSkill(next));
    return Done(JsonResponse(core::ToJson(*engine.FindSkill(c.tenant, *id))));
  }
  Outcome DeleteSkill(Ctx& c) {
    auto id = Id(c, 1);
    if (!id || !engine.FindSkill(c.tenant, *id)) return Err(ErrorCode::kNotFound, "no such skill");
    return Done(engine.DeleteSkill(c.tenant, *id), json{{"ok", true}});
  }

  Outcome ListQueues(Ctx& c) {
    json out = json::array();
    for (const core::Queue* q : engine.Queues(c.tenant)) out.push_back(core::ToJson(*q));
    return Done(JsonResponse(out));
  }
  Outcome CreateQueue(Ctx& c) {
    core::Queue base;
    base.tenant = c.tenant;
    if (!c.body.contains("name")) return Err(ErrorCode::kBadRequest, "missing field 'name'");
    auto q = core::FromJson(c.body, base);
    if (!q) return Done(ErrorResponse(q.error()));
    q->tenant = c.tenant;
    auto id = engine.CreateQueue(*q);
    if (!id) return Done(ErrorResponse(id.error()));
    return Done(JsonResponse(core::ToJson(*engine.FindQueue(c.tenant, *id)), 201));
  }
  Outcome GetQueue(Ctx& c) {
    auto id = Id(c, 1);
    const core::Queue* q = id ? engine.FindQueue(c.tenant, *id) : nullptr;
    if (!q) return Err(ErrorCode::kNotFound, "no such queue");
    return Done(JsonResponse(core::ToJson(*q)));
  }
  Outcome PatchQueue(Ctx& c) {
    auto id = Id(c, 1);
    const core::Queue* q = id ? engine.FindQueue(c.tenant, *id) : nullptr;
    if (!q) return Err(ErrorCode::kNotFound, "no such queue");
    auto next = core::FromJson(c.body, *q);
    if (!next) return Done(ErrorResponse(next.error()));
    next->id = q->id;
    next->tenant = c.tenant;
    TRY(engine.UpdateQueue(*next));
    return Done(JsonResponse(core::ToJson(*engine.FindQueue(c.tenant, *id))));
  }
  Outcome DeleteQueue(Ctx& c) {
    auto id = Id(c, 1);
    if (!id || !engine.FindQueue(c.tenant, *id)) return Err(ErrorCode::kNotFound, "no such queue");
    return Done(engine.DeleteQueue(c.tenant, *id), json{{"ok", true}});
  }

  // Business hours with the zone they are read in: their own `timezone` ("" follows the
  // tenant's) and the one in force, `effective_timezone`.
  json HoursView(const core::BusinessHours& h) {
    json j = core::ToJson(h);
    j["effective_timezone"] = engine.ZoneOfHours(h)->name();
    return j;
  }
  Outcome ListHours(Ctx& c) {
    json out = json::array();
    for (const core::BusinessHours* h : engine.Hours(c.tenant)) out.push_back(HoursView(*h));
    return Done(JsonResponse(out));
  }
  Outcome CreateHours(Ctx& c) {
    core::BusinessHours base;
    base.tenant = c.tenant;
    if (!c.body.contains("name")) return Err(ErrorCode::kBadRequest, "missing field 'name'");
    auto h = core::FromJson(c.body, base);
    if (!h) return Done(ErrorResponse(h.error()));
    h->tenant = c.tenant;
    auto id = engine.CreateHours(*h);
    if (!id) return Done(ErrorResponse(id.error()));
    return Done(JsonResponse(HoursView(*engine.FindHours(c.tenant, *id)), 201));
  }
  Outcome GetHours(Ctx& c) {
    auto id = Id(c, 1);
    const core::BusinessHours* h = id ? engine.FindHours(c.tenant, *id) : nullptr;
    if (!h) return Err(ErrorCode::kNotFound, "no such business hours");
    return Done(JsonResponse(HoursView(*h)));
  }
  Outcome PatchHours(Ctx& c) {
    auto id = Id(c, 1);
    const core::BusinessHours* h = id ? engine.FindHours(c.tenant, *id) : nullptr;
    if (!h) return Err(ErrorCode::kNotFound, "no such business hours");
    auto next = core::FromJson(c.body, *h);
    if (!next) return Done(ErrorResponse(next.error()));
    next->id = h->id;
    next->tenant = c.tenant;
    TRY(engine.UpdateHours(*next));
    return Done(JsonResponse(HoursView(*engine.FindHours(c.tenant, *id))));
  }
  Outcome DeleteHours(Ctx& c) {
    auto id = Id(c, 1);
    if (!id || !engine.FindHours(c.tenant, *id)) return Err(ErrorCode::kNotFound, "no such business hours");
    return Done(engine.DeleteHours(c.tenant, *id), json{{"ok", true}});
  }

  Outcome ListDispositions(Ctx& c) {
    json out = json::array();
    for (const core::Disposition* d : engine.Dispositions(c.tenant)) out.push_back(core::ToJson(*d));
    return Done(JsonResponse(out));
  }
  Outcome CreateDisposition(Ctx& c) {
    TRY(OnlyFields(c.body, {"code", "name"}));
    core::Disposition d;
    d.tenant = c.tenant;
    TRY(Want(c.body, "code", d.code, true, 64));
    TRY(Want(c.body, "name", d.name, false, 200));
    if (d.name.empty()) d.name = d.code;
    auto id = engine.CreateDisposition(d);
    if (!id) return Done(ErrorResponse(id.error()));
    return Done(JsonResponse(core::ToJson(*engine.FindDisposition(c.tenant, *id)), 201));
  }
  Outcome GetDisposition(Ctx& c) {
    auto id = Id(c, 1);
    const core::Disposition* d = id ? engine.FindDisposition(c.tenant, *id) : nullptr;
    if (!d) return Err(ErrorCode::kNotFound, "no such disposition");
    return Done(JsonResponse(core::ToJson(*d)));
  }
  Outcome PatchDisposition(Ctx& c) {
    TRY(OnlyFields(c.body, {"id", "tenant", "code", "name"}));
    auto id = Id(c, 1);
    const core::Disposition* d = id ? engine.FindDisposition(c.tenant, *id) : nullptr;
    if (!d) return Err(ErrorCode::kNotFound, "no such disposition");
    core::Disposition next = *d;
    TRY(Want(c.body, "code", next.code, false, 64));
    TRY(Want(c.body, "name", next.name, false, 200));
    TRY(engine.UpdateDisposition(next));
    return Done(JsonResponse(core::ToJson(*engine.FindDisposition(c.tenant, *id))));
  }
  Outcome DeleteDisposition(Ctx& c) {
    auto id = Id(c, 1);
    if (!id || !engine.FindDisposition(c.tenant, *id)) return Err(ErrorCode::kNotFound, "no such disposition");
    return Done(engine.DeleteDisposition(c.tenant, *id), json{{"ok", true}});
  }

  // ---- interactions --------------------------------------------------------------------------

  const core::Interaction* InteractionOf(Ctx& c) {
    auto id = Id(c, 1);
    return id ? engine.FindInteraction(c.tenant, *id) : nullptr;
  }

  Outcome ListInteractions(Ctx& c) {
    const bool live = c.req.QueryParam("live") == "1" || c.req.QueryParam("live") == "true";
    json out = json::array();
    for (const core::Interaction* ix : engine.Interactions(c.tenant, live)) {
      if (!c.AtLeast(Role::kSupervisor) && ix->agent != c.user->id) continue;
      out.push_back(IxView(c, *ix));
    }
    return Done(JsonResponse(out));
  }

  Outcome CreateInteraction(Ctx& c) {
    TRY(OnlyFields(c.body, {"channel", "queue", "priority", "customer", "subject", "data"}));
    core::Engine::NewInteraction n;
    n.tenant = c.tenant;
    std::string channel;
    TRY(Want(c.body, "channel", channel, true, 16));
    auto ch = core::ParseChannel(channel);
    if (!ch) return Err(ErrorCode::kBadRequest, "channel must be voice, chat, email, callback or task");
    n.channel = *ch;
    std::int64_t queue = 0, priority = 0;
    TRY(Want(c.body, "queue", queue, true, 1, INT64_MAX));
    TRY(Want(c.body, "priority", priority, false, 0, 100));
    n.queue = static_cast<core::QueueId>(queue);
    n.priority = static_cast<int>(priority);
    TRY(Want(c.body, "subject", n.subject, false, 1000));
    if (c.body.contains("customer")) {
      auto cu = core::FromJson(c.body["customer"], core::Customer{});
      if (!cu) return Done(ErrorResponse(cu.error()));
      n.customer = *cu;
    }
    if (c.body.contains("data")) {
      if (!c.body["data"].is_object()) return Err(ErrorCode::kBadRequest, "field 'data' must be an object");
      n.data = c.body["data"].dump();
    }
    auto id = engine.CreateInteraction(std::move(n));
    if (!id) return Done(ErrorResponse(id.error()));
    return Done(JsonResponse(InteractionJson(*engine.FindInteraction(c.tenant, *id)), 201));
  }

  Outcome GetInteraction(Ctx& c) {
    const core::Interaction* ix = InteractionOf(c);
    if (!ix) return Err(ErrorCode::kNotFound, "no such interaction");
    if (!c.AtLeast(Role::kSupervisor) && ix->agent != c.user->id)
      return Err(ErrorCode::kForbidden, "not your interaction");
    return Done(JsonResponse(IxView(c, *ix)));
  }

  Outcome IxResult(Ctx& c, const core::Interaction* ix, const Status& st) {
    if (!st) return Done(ErrorResponse(st.error()));
    return Done(JsonResponse(InteractionJson(*engine.FindInteraction(c.tenant, ix->id))));
  }

  Outcome AcceptOffer(Ctx& c) {
    const core::Interaction* ix = InteractionOf(c);
    if (!ix) return Err(ErrorCode::kNotFound, "no such interaction");
    return IxResult(c, ix, engine.Accept(c.user->id, ix->id));
  }
  Outcome RejectOffer(Ctx& c) {
    const core::Interaction* ix = InteractionOf(c);
    if (!ix) return Err(ErrorCode::kNotFound, "no such interaction");
    return IxResult(c, ix, engine.Reject(c.user->id, ix->id));
  }
  Outcome EndContact(Ctx& c) {
    const core::Interaction* ix = InteractionOf(c);
    if (!ix) return Err(ErrorCode::kNotFound, "no such interaction");
    if (ix->agent != c.user->id && !c.AtLeast(Role::kSupervisor))
      return Err(ErrorCode::kForbidden, "not your interaction");
    std::string reason = ix->agent == c.user->id ? "agent_ended" : "supervisor_ended";
    return IxResult(c, ix, engine.EndContact(ix->id, reason));
  }
  Outcome AbandonInteraction(Ctx& c) {
    const core::Interaction* ix = InteractionOf(c);
    if (!ix) return Err(ErrorCode::kNotFound, "no such interaction");
    // Any member may withdraw a contact still waiting (anyone may put work in), but one in
    // another agent's hands ends like /end: its agent or a supervisor.
    if (ix->agent != 0 && ix->agent != c.user->id && !c.AtLeast(Role::kSupervisor))
      return Err(ErrorCode::kForbidden, "not your interaction");
    return IxResult(c, ix, engine.Abandon(ix->id));
  }
  Outcome WrapUp(Ctx& c) {
    TRY(OnlyFields(c.body, {"disposition", "notes"}));
    const core::Interaction* ix = InteractionOf(c);
    if (!ix) return Err(ErrorCode::kNotFound, "no such interaction");
    core::DispositionId disp = 0;
    if (c.body.contains("disposition")) {
      const json& d = c.body["disposition"];
      if (d.is_number_integer()) {
        disp = d.get<core::DispositionId>();
      } else if (d.is_string()) {
        for (const core::Disposition* x : engine.Dispositions(c.tenant))
          if (x->code == d.get<std::string>()) disp = x->id;
        if (disp == 0) return Err(ErrorCode::kBadRequest, "unknown disposition");
      } else {
        return Err(ErrorCode::kBadRequest, "disposition must be an id or a code");
      }
    }
    std::string notes;
    TRY(Want(c.body, "notes", notes, false, 8000));
    return IxResult(c, ix, engine.WrapUp(c.user->id, ix->id, disp, std::move(notes)));
  }
  Outcome ExtendWrapUp(Ctx& c) {
    TRY(OnlyFields(c.body, {"seconds"}));
    const core::Interaction* ix = InteractionOf(c);
    if (!ix) return Err(ErrorCode::kNotFound, "no such interaction");
    std::int64_t seconds = 30;
    TRY(Want(c.body, "seconds", seconds, false, 1, 3600));
    return IxResult(c, ix, engine.ExtendWrapUp(c.user->id, ix->id, seconds * kSecond));
  }
  Outcome ForceComplete(Ctx& c) {
    const core::Interaction* ix = InteractionOf(c);
    if (!ix) return Err(ErrorCode::kNotFound, "no such interaction");
    return IxResult(c, ix, engine.ForceComplete(c.user->id, ix->id));
  }
  // Call control: the voice side acts on the media and records the change in the engine
  // (call.hold, recording.paused), so the answer is the view, once durable.
  Outcome CallAction(Ctx& c, const char* action) {
    TRY(OnlyFields(c.body, {}));
    const core::Interaction* ix = InteractionOf(c);
    if (!ix || ix->channel != core::Channel::kVoice) return Err(ErrorCode::kNotFound, "no such call");
    if (ix->agent != c.user->id && !c.AtLeast(Role::kSupervisor))
      return Err(ErrorCode::kForbidden, "not your interaction");
    if (!api->voice_action_) return Err(ErrorCode::kNotFound, "no live call for this interaction");
    if (auto st = api->voice_action_(ix->id, action); !st) return Done(ErrorResponse(st.error()));
    return Done(JsonResponse(IxView(c, *ix)));
  }
  // The call's live state in its view (Api::InteractionView). The monitor: the voice side
  // knows one still ringing the supervisor's phone; the engine, when it joined.
  json View(const core::Interaction& ix, bool supervisor) const {
    json j = InteractionJson(ix);
    if (ix.channel != core::Channel::kVoice) return j;
    if (const core::NumberConsult* k = engine.NumberConsultOf(ix.tenant, ix.id))
      j["consult_number"] = NumberConsultJson(*k);  // decisions.md 58
    const core::Recording* rec = engine.RecordingOf(ix.tenant, ix.id);
    j["on_hold"] = engine.OnHold(ix.tenant, ix.id);
    j["recorded"] = rec != nullptr;
    j["recording_paused"] = rec != nullptr && !rec->paused.empty() && rec->paused.back().end == 0;
    j["monitor"] = nullptr;
    if (!supervisor) return j;
    std::optional<Api::MonitorState> m;
    if (api->voice_monitor_.state) m = api->voice_monitor_.state(ix.id);
    const core::Monitor* joined = engine.MonitorOf(ix.tenant, ix.id);
    if (!m && joined != nullptr) m = Api::MonitorState{joined->supervisor, joined->mode, true};
    if (!m) return j;
    json v{{"supervisor", m->supervisor},
           {"mode", core::Name(m->mode)},
           {"state", m->joined ? "joined" : "ringing"},
           {"started", nullptr}};
    if (joined != nullptr) {
      v["started"] = joined->started;
      v["mode_since"] = joined->mode_since;
    }
    j["monitor"] = std::move(v);
    return j;
  }
  json IxView(Ctx& c, const core::Interaction& ix) { return View(ix, c.AtLeast(Role::kSupervisor)); }
  Status ReadMonitorMode(const json& body, core::MonitorMode& mode, bool required) {
    if (auto st = OnlyFields(body, {"mode"}); !st) return st;
    std::string text;
    if (auto st = Want(body, "mode", text, required, 32); !st) return st;
    if (text.empty() && !required) return {};
    auto parsed = core::ParseMonitorMode(text);
    if (!parsed) return Fail(ErrorCode::kBadRequest, "mode must be listen, whisper or barge");
    mode = *parsed;
    return {};
  }
  // The voice interaction of the path: 404 when not in this tenant (before the body is read:
  // another tenant's call stays unknown whatever the body), then the body, then 409 when the
  // interaction is not a call that can be monitored.
  Status MonitoredCall(const core::Interaction* ix) {
    if (ix->channel != core::Channel::kVoice || !api->voice_monitor_.start)
      return Fail(ErrorCode::kConflict, "the interaction is not a bridged voice call");
    return {};
  }
  Outcome StartMonitor(Ctx& c) {
    const core::Interaction* ix = InteractionOf(c);
    if (!ix) return Err(ErrorCode::kNotFound, "no such interaction");
    core::MonitorMode mode = core::MonitorMode::kListen;
    TRY(ReadMonitorMode(c.body, mode, false));
    TRY(MonitoredCall(ix));
    TRY(api->voice_monitor_.start(ix->id, c.user->id, mode));
    return Done(JsonResponse(IxView(c, *ix), 202));
  }
  Outcome ChangeMonitor(Ctx& c) {
    const core::Interaction* ix = InteractionOf(c);
    if (!ix) return Err(ErrorCode::kNotFound, "no such interaction");
    core::MonitorMode mode = core::MonitorMode::kListen;
    TRY(ReadMonitorMode(c.body, mode, true));
    TRY(MonitoredCall(ix));
    TRY(api->voice_monitor_.change(ix->id, mode));
    return Done(JsonResponse(IxView(c, *ix)));
  }
  Outcome StopMonitor(Ctx& c) {
    const core::Interaction* ix = InteractionOf(c);
    if (!ix) return Err(ErrorCode::kNotFound, "no such interaction");
    TRY(OnlyFields(c.body, {}));
    TRY(MonitoredCall(ix));
    TRY(api->voice_monitor_.stop(ix->id));
    return Done(JsonResponse(IxView(c, *ix)));
  }

  Outcome HoldCall(Ctx& c) { return CallAction(c, "hold"); }
  Outcome ResumeCall(Ctx& c) { return CallAction(c, "resume"); }
  Outcome PauseRecording(Ctx& c) { return CallAction(c, "pause_recording"); }
  Outcome ResumeRecording(Ctx& c) { return CallAction(c, "resume_recording"); }

  // The body's target of a transfer or consultation: exactly one of "agent" and "queue"
  // (ids; for a queue, its name too), the agent a member of this tenant.
  Status TransferTarget(Ctx& c, core::UserId* agent, core::QueueId* queue) {
    const bool has_agent = c.body.contains("agent"), has_queue = c.body.contains("queue");
    if (has_agent == has_queue)
      return Fail(ErrorCode::kBadRequest, "give exactly one of 'agent' and 'queue'");
    std::int64_t id = 0;
    if (has_agent) {
      if (auto st = Want(c.body, "agent", id, true, 1, INT64_MAX); !st) return st;
      if (engine.FindMember(c.tenant, static_cast<core::UserId>(id)) == nullptr)
        return Fail(ErrorCode::kNotFound, "no such agent");
      *agent = static_cast<core::UserId>(id);
      return {};
    }
    if (auto st = Want(c.body, "queue", id, true, 1, INT64_MAX); !st) return st;
    if (engine.FindQueue(c.tenant, static_cast<core::QueueId>(id)) == nullptr)
      return Fail(ErrorCode::kNotFound, "no such queue");
    *queue = static_cast<core::QueueId>(id);
    return {};
  }

  // The interaction of a transfer route: the caller's own connected contact.
  Result<const core::Interaction*> OwnInteraction(Ctx& c) {
    const core::Interaction* ix = InteractionOf(c);
    if (!ix) return Fail(ErrorCode::kNotFound, "no such interaction");
    if (ix->agent != c.user->id) return Fail(ErrorCode::kForbidden, "not your interaction");
    return ix;
  }

  // Answers the call's interaction and, under "continued_as", the one the call now is.
  Outcome TransferResult(Ctx& c, core::InteractionId id, core::InteractionId next, int status = 200) {
    json out = IxView(c, *engine.FindInteraction(c.tenant, id));
    if (next != 0 && next != id) {
      if (const core::Interaction* n = engine.FindInteraction(c.tenant, next))
        out["continued_as"] = InteractionJson(*n);
    }
    return Done(JsonResponse(out, status));
  }

  Outcome Transfer(Ctx& c) {
    TRY(OnlyFields(c.body, {"queue", "agent", "number"}));
    if (c.body.contains("number")) return TransferToNumber(c);
    auto ix = OwnInteraction(c);
    if (!ix) return Done(ErrorResponse(ix.error()));
    core::UserId agent = 0;
    core::QueueId queue = 0;
    TRY(TransferTarget(c, &agent, &queue));
    if (queue != 0) return IxResult(c, *ix, engine.Transfer(c.user->id, (*ix)->id, queue));
    const core::InteractionId id = (*ix)->id;
    auto next = api->transfer_action_
                    ? api->transfer_action_(CallTransfer{"transfer_agent", c.user->id, id, agent, 0, {}})
                    : engine.TransferToAgent(c.user->id, id, agent);
    if (!next) return Done(ErrorResponse(next.error()));
    return TransferResult(c, id, *next);
  }

  Outcome ConsultAction(Ctx& c, const char* action) {
    const bool start = std::string_view(action) == "consult";
    if (start) {
      TRY(OnlyFields(c.body, {"queue", "agent", "number"}));
    } else {
      TRY(OnlyFields(c.body, {}));
    }
    auto ix = OwnInteraction(c);
    if (!ix) return Done(ErrorResponse(ix.error()));
    if ((*ix)->channel != core::Channel::kVoice) return Err(ErrorCode::kNotFound, "no such call");
    CallTransfer t{action, c.user->id, (*ix)->id, 0, 0, {}};
    if (start && c.body.contains("number")) {
      // A consultation with an external number (decisions.md 58): the call itself answers,
      // with its "consult_number".
      if (c.body.contains("queue") || c.body.contains("agent"))
        return Err(ErrorCode::kBadRequest, "give exactly one of 'agent', 'queue' and 'number'");
      TRY(Want(c.body, "number", t.number, true, 64));
      if (!core::NormalizeE164(t.number))
        return Err(ErrorCode::kBadRequest, "field 'number' must be an E.164 number (+ and 7-15 digits)");
      t.action = "consult_number";
    } else if (start) {
      TRY(TransferTarget(c, &t.agent, &t.queue));
    }
    if (!api->transfer_action_) return Err(ErrorCode::kNotFound, "no live call for this interaction");
    auto next = api->transfer_action_(t);
    if (!next) return Done(ErrorResponse(next.error()));
    if (start) return Done(JsonResponse(IxView(c, *engine.FindInteraction(c.tenant, *next)), 201));
    return TransferResult(c, t.id, *next);
  }
  Outcome ConsultStart(Ctx& c) { return ConsultAction(c, "consult"); }
  Outcome ConsultComplete(Ctx& c) { return ConsultAction(c, "consult_complete"); }
  Outcome ConsultCancel(Ctx& c) { return ConsultAction(c, "consult_cancel"); }

  // Blind transfer of a call to an external number (decisions.md 50).
  Outcome TransferToNumber(Ctx& c) {
    const core::Interaction* ix = InteractionOf(c);
    if (!ix) return Err(ErrorCode::kNotFound, "no such interaction");
    if (c.body.contains("queue") || c.body.contains("agent"))
      return Err(ErrorCode::kBadRequest, "give exactly one of 'agent', 'queue' and 'number'");
    std::string number;
    TRY(Want(c.body, "number", number, true, 64));
    if (!core::NormalizeE164(number))
      return Err(ErrorCode::kBadRequest, "field 'number' must be an E.164 number (+ and 7-15 digits)");
    if (ix->channel != core::Channel::kVoice) return Err(ErrorCode::kConflict, "only calls go to numbers");
    if (ix->agent != c.user->id) return Err(ErrorCode::kForbidden, "not your interaction");
    if (ix->state != core::InteractionState::kConnected)
      return Err(ErrorCode::kConflict, "not a call connected to you");
    if (!api->voice_transfer_) return Err(ErrorCode::kConflict, "calls to numbers need SIP (serve --sip)");
    if (auto st = api->voice_transfer_(ix->id, number); !st) return Done(ErrorResponse(st.error()));
    return Done(JsonResponse(InteractionJson(*engine.FindInteraction(c.tenant, ix->id))));
  }

  // An outbound call (docs/decisions.md "Outbound calls"): for the caller only, as an agent
  // of the tenant; the interaction comes back connected, direction outbound.
  Outcome PlaceCall(Ctx& c) {
    TRY(OnlyFields(c.body, {"to", "queue"}));
    std::string to;
    TRY(Want(c.body, "to", to, true, 64));
    core::QueueId queue = 0;
    if (c.body.contains("queue")) {
      const json& q = c.body["queue"];
      if (q.is_number_integer()) {
        const std::int64_t n = q.get<std::int64_t>();
        if (n > 0 && engine.FindQueue(c.tenant, static_cast<core::QueueId>(n)) != nullptr)
          queue = static_cast<core::QueueId>(n);
      } else if (q.is_string()) {
        for (const core::Queue* x : engine.Queues(c.tenant))
          if (x->name == q.get<std::string>()) queue = x->id;
      } else {
        return Err(ErrorCode::kBadRequest, "field 'queue' must be a queue id or name");
      }
      if (queue == 0) return Err(ErrorCode::kNotFound, "no such queue");
    } else {
      const auto queues = engine.Queues(c.tenant);  // by id: the tenant's first queue
      if (queues.empty()) return Err(ErrorCode::kConflict, "the tenant has no queue");
      queue = queues.front()->id;
    }
    if (!core::NormalizeE164(to))
      return Err(ErrorCode::kBadRequest, "field 'to' must be an E.164 number (+ and 7-15 digits)");
    if (!api->voice_call_) return Err(ErrorCode::kConflict, "outbound calls need SIP (serve --sip)");
    auto id = api->voice_call_(c.user->id, c.tenant, queue, to);
    if (!id) return Done(ErrorResponse(id.error()));
    return Done(JsonResponse(InteractionJson(*engine.FindInteraction(c.tenant, *id)), 201));
  }
  Outcome Callback(Ctx& c) {
    TRY(OnlyFields(c.body, {"phone", "name", "queue"}));
    const core::Interaction* ix = InteractionOf(c);
    if (!ix) return Err(ErrorCode::kNotFound, "no such interaction");
    // Only a contact still in line has a place to keep; converting one twice would put the
    // customer in line twice.
    if (ix->state != core::InteractionState::kQueued && ix->state != core::InteractionState::kOffered)
      return Err(ErrorCode::kConflict, std::string("interaction is ") + core::Name(ix->state));
    core::Engine::NewInteraction n;
    n.tenant = c.tenant;
    n.channel = core::Channel::kCallback;
    n.queue = ix->queue;
    n.priority = ix->priority;
    n.customer = ix->customer();
    n.subject = ix->subject();
    n.data = ix->data();
    n.origin = ix->id;
    TRY(Want(c.body, "phone", n.customer.phone, false, 64));
    TRY(Want(c.body, "name", n.customer.name, false, 200));
    if (n.customer.phone.empty()) return Err(ErrorCode::kBadRequest, "a callback needs a phone number");
    std::int64_t queue = 0;
    TRY(Want(c.body, "queue", queue, false, 1, INT64_MAX));
    if (queue != 0) n.queue = static_cast<core::QueueId>(queue);
    auto id = engine.CreateInteraction(std::move(n));
    if (!id) return Done(ErrorResponse(id.error()));
    return Done(JsonResponse(InteractionJson(*engine.FindInteraction(c.tenant, *id)), 201));
  }

  // ---- presence and agents -------------------------------------------------------------------

  Status ReadPresence(const json& body, core::Presence& p, std::string& reason) {
    if (auto st = OnlyFields(body, {"state", "presence", "reason"}); !st) return st;
    std::string state;
    const char* key = body.contains("presence") ? "presence" : "state";
    if (auto st = Want(body, key, state, true, 32); !st) return st;
    auto parsed = core::ParsePresence(state);
    if (!parsed || *parsed == core::Presence::kMissed)
      return Fail(ErrorCode::kBadRequest, "state must be available, break or offline");
    p = *parsed;
    return Want(body, "reason", reason, false, 64);
  }

  Outcome GetMyPresence(Ctx& c) { return Done(JsonResponse(AgentJson(engine, c.tenant, c.user->id))); }

  Outcome PutMyPresence(Ctx& c) {
    core::Presence p;
    std::string reason;
    TRY(ReadPresence(c.body, p, reason));
    TRY(engine.SetPresence(c.user->id, c.tenant, p, reason));
    return Done(JsonResponse(AgentJson(engine, c.tenant, c.user->id)));
  }

  Outcome ListAgents(Ctx& c) {
    json out = json::array();
    for (core::UserId u : engine.MembersOf(c.tenant)) {
      if (engine.FindMember(c.tenant, u)->role == Role::kAdmin) continue;
      out.push_back(AgentJson(engine, c.tenant, u));
    }
    return Done(JsonResponse(out));
  }

  // What an agent needs to pick a transfer or consult target, and no more: not the
  // supervisor's view (no break reasons, times or work).
  Outcome ListColleagues(Ctx& c) {
    json out = json::array();
    for (core::UserId u : engine.MembersOf(c.tenant)) {
      if (u == c.user->id || engine.FindMember(c.tenant, u)->role == Role::kAdmin) continue;
      const json a = AgentJson(engine, c.tenant, u);
      out.push_back({{"user", u}, {"login", a["login"]}, {"name", a["name"]}, {"activity", a["activity"]}, {"phone", a["phone"]}});
    }
    return Done(JsonResponse(out));
  }

  Outcome PutAgentPresence(Ctx& c) {
    auto id = Id(c, 1);
    if (!id || !engine.FindMember(c.tenant, *id)) return Err(ErrorCode::kNotFound, "no such agent");
    core::Presence p;
    std::string reason;
    TRY(ReadPresence(c.body, p, reason));
    if (p == core::Presence::kOffline && reason.empty()) reason = "supervisor";
    TRY(engine.SetPresence(*id, c.tenant, p, reason, /*force=*/true));
    return Done(JsonResponse(AgentJson(engine, c.tenant, *id)));
  }

  Outcome QueueStatsAll(Ctx& c) {
    json out = json::array();
    for (const core::Queue* q : engine.Queues(c.tenant)) out.push_back(QueueStatsJson(engine, *q));
    return Done(JsonResponse(out));
  }

  Outcome QueueStatsOne(Ctx& c) {
    auto id = Id(c, 1);
    const core::Queue* q = id ? engine.FindQueue(c.tenant, *id) : nullptr;
    if (!q) return Err(ErrorCode::kNotFound, "no such queue");
    return Done(JsonResponse(QueueStatsJson(engine, *q)));
  }

  Outcome IntervalStats(Ctx& c) {
    core::QueueId only = 0;
    const std::string q = c.req.QueryParam("queue");
    if (!q.empty()) {
      auto id = ParseId(q);
      if (!id || !engine.FindQueue(c.tenant, *id)) return Err(ErrorCode::kNotFound, "no such queue");
      only = *id;
    }
    const core::TenantId tenant = c.tenant;
    auto threshold = [this, tenant](core::QueueId id) {
      const core::Queue* queue = engine.FindQueue(tenant, id);
      return queue ? queue->sl_threshold : 20 * kSecond;
    };
    const auto figures = core::TodayByInterval(engine.Interactions(c.tenant, false), threshold, only,
                                               engine.now(), 30 * kMinute, engine.ZoneOf(c.tenant).get());
    json rows = json::array();
    for (const core::IntervalFigures& f : figures) {
      rows.push_back(json{{"start", f.start},
                          {"entered", f.entered},
                          {"answered", f.answered},
                          {"answered_in_sl", f.answered_in_sl},
                          {"abandoned", f.abandoned},
                          {"handled", f.handled},
                          {"service_level", f.ServiceLevel()},
                          {"asa_s", f.AsaSeconds()},
                          {"aht_s", f.AhtSeconds()}});
    }
    return Done(JsonResponse(json{{"interval_s", 1800}, {"queue", only}, {"intervals", rows}}));
  }

  // Agents see the history of a customer they are (or were) serving; supervisors of any.
  Outcome CustomerHistory(Ctx& c) {
    const core::Interaction* ix = InteractionOf(c);
    if (!ix) return Err(ErrorCode::kNotFound, "no such interaction");
    if (!c.AtLeast(Role::kSupervisor) && ix->agent != c.user->id)
      return Err(ErrorCode::kForbidden, "not your interaction");
    const core::Customer& who = ix->customer();
    json out = json::array();
    if (who.email.empty() && who.phone.empty()) return Done(JsonResponse(out));
    std::vector<const core::Interaction*> same;
    for (const core::Interaction* other : engine.Interactions(c.tenant, false)) {
      if (other->id == ix->id) continue;
      const bool email = !who.email.empty() && other->customer().email == who.email;
      const bool phone = !who.phone.empty() && other->customer().phone == who.phone;
      if (email || phone) same.push_back(other);
    }
    // Newest first, a screenful.
    std::reverse(same.begin(), same.end());
    if (same.size() > 20) same.resize(20);
    for (const core::Interaction* other : same) out.push_back(InteractionJson(*other));
    return Done(JsonResponse(out));
  }

  // ---- web chat ------------------------------------------------------------------------------

  // A chat error as the API names it (see ChatService::ErrorJsonCode).
  Outcome ChatErr(const Error& e, core::ChatSender sender) {
    return Done(ErrorResponse(HttpStatusOf(e.code), ChatService::ErrorJsonCode(e, sender), e.message));
  }

  // The queue a widget request names (?queue= / "queue"), or the tenant's chat queue.
  const core::Queue* ChatQueue(const core::Tenant& t, std::int64_t queue) {
    const core::QueueId q = queue != 0 ? static_cast<core::QueueId>(queue) : t.settings.chat_queue;
    return q != 0 ? engine.FindQueue(t.id, q) : nullptr;
  }

  // At most `max` bytes of s, not cutting a UTF-8 sequence.
  static std::string Utf8Prefix(const std::string& s, std::size_t max) {
    if (s.size() <= max) return s;
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return s.substr(0, n);
  }

  static Status CheckEmail(const std::string& email) {
    const std::size_t at = email.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == email.size() ||
        email.find_first_of(" \t\r\n<>,;") != std::string::npos)
      return Fail(ErrorCode::kBadRequest, "field 'email' must be an email address");
    return {};
  }

  // The body's message text: a string, with room for the engine to say "too long" itself.
  static Status WantText(const json& body, std::string& text) {
    return Want(body, "text", text, true, 64 * 1024);
  }

  Outcome PublicChatStatus(Ctx& c) {
    const core::Tenant* t = chat.PublicTenant(c.params[0]);
    if (t == nullptr) return Err(ErrorCode::kNotFound, "no such tenant");
    std::int64_t queue = 0;
    if (const std::string q = c.req.QueryParam("queue"); !q.empty()) {
      auto id = ParseId(q);
      if (!id) return Err(ErrorCode::kBadRequest, "queue must be a queue id");
      queue = static_cast<std::int64_t>(*id);
    }
    const core::Queue* q = ChatQueue(*t, queue);
    if (q == nullptr) return Err(ErrorCode::kNotFound, "no such chat queue");
    return Done(JsonResponse(chat.WidgetStatus(*t, *q)));
  }

  Outcome PublicCreateChat(Ctx& c) {
    const core::Tenant* t = chat.PublicTenant(c.params[0]);
    if (t == nullptr) return Err(ErrorCode::kNotFound, "no such tenant");
    TRY(OnlyFields(c.body, {"name", "email", "text", "queue", "client_id"}));
    core::Engine::NewInteraction n;
    n.tenant = t->id;
    n.channel = core::Channel::kChat;
    TRY(Want(c.body, "name", n.customer.name, true, 200));
    if (n.customer.name.empty()) return Err(ErrorCode::kBadRequest, "field 'name' must not be empty");
    TRY(Want(c.body, "email", n.customer.email, false, 200));
    if (!n.customer.email.empty()) TRY(CheckEmail(n.customer.email));
    std::string text, client_id;
    TRY(WantText(c.body, text));
    TRY(Want(c.body, "client_id", client_id, false, core::kMaxChatClientId));
    std::int64_t queue = 0;
    TRY(Want(c.body, "queue", queue, false, 1, INT64_MAX));
    const core::Queue* q = ChatQueue(*t, queue);
    if (q == nullptr) return Err(ErrorCode::kNotFound, "no such chat queue");
    n.queue = q->id;
    if (!engine.IsOpen(*q, engine.now()))
      return Done(ErrorResponse(409, "queue_closed", "the chat is closed now; leave a message"));
    if (chat.ServingOf(t->id, q->id).logged_in == 0)
      return Done(ErrorResponse(409, "no_agents", "no agent is online now; leave a message"));
    if (!chat.TakeAddress(c.req.remote_address))
      return Err(ErrorCode::kRateLimited, "too many new chats from this address; try again later");
    const std::size_t b = text.find_first_not_of(" \t\r\n");
    n.subject = b == std::string::npos ? std::string() : Utf8Prefix(text.substr(b), 200);
    n.data = json{{"source", "chat_widget"}}.dump();
    const std::string token = auth::NewToken();
    auto id = engine.CreateChat(std::move(n), auth::TokenHash(token), std::move(client_id), std::move(text));
    if (!id) return ChatErr(id.error(), core::ChatSender::kVisitor);
    const core::Interaction& ix = *engine.FindInteraction(t->id, *id);
    const core::ChatLog& log = *engine.FindChat(t->id, *id);
    chat.VisitorSeen(*id);
    return Done(JsonResponse(json{{"chat", chat.StateJson(ix)},
                                  {"token", token},
                                  {"message", chat.MessageJson(ix, log.lines.front())}},
                             201));
  }

  Outcome PublicLeaveMessage(Ctx& c) {
    const core::Tenant* t = chat.PublicTenant(c.params[0]);
    if (t == nullptr) return Err(ErrorCode::kNotFound, "no such tenant");
    TRY(OnlyFields(c.body, {"name", "email", "phone", "text", "queue"}));
    core::Engine::NewInteraction n;
    n.tenant = t->id;
    n.channel = core::Channel::kEmail;
    TRY(Want(c.body, "name", n.customer.name, true, 200));
    if (n.customer.name.empty()) return Err(ErrorCode::kBadRequest, "field 'name' must not be empty");
    TRY(Want(c.body, "email", n.customer.email, true, 200));
    TRY(CheckEmail(n.customer.email));
    TRY(Want(c.body, "phone", n.customer.phone, false, 64));
    std::string text;
    TRY(WantText(c.body, text));
    const auto b = text.find_first_not_of(" \t\r\n");
    text = b == std::string::npos ? std::string() : text.substr(b, text.find_last_not_of(" \t\r\n") - b + 1);
    if (text.empty()) return Err(ErrorCode::kBadRequest, "message text is empty");
    if (text.size() > core::kMaxChatText)
      return Done(ErrorResponse(400, "message_too_long", fmt::format("message too long: at most {} bytes", core::kMaxChatText)));
    std::int64_t queue = 0;
    TRY(Want(c.body, "queue", queue, false, 1, INT64_MAX));
    const core::Queue* q = ChatQueue(*t, queue);
    if (q == nullptr) return Err(ErrorCode::kNotFound, "no such chat queue");
    n.queue = q->id;
    if (!chat.TakeAddress(c.req.remote_address))
      return Err(ErrorCode::kRateLimited, "too many messages from this address; try again later");
    n.subject = "Message from the chat widget";
    n.data = json{{"source", "chat_widget"}, {"text", text}}.dump();
    auto id = engine.CreateInteraction(std::move(n));
    if (!id) return Done(ErrorResponse(id.error()));
    return Done(JsonResponse(json{{"id", *id}, {"channel", "email"}}, 201));
  }

  // The visitor's chat named by the path, if the request carries its token.
  const core::Interaction* VisitorChat(Ctx& c) {
    const core::Interaction* ix = chat.VisitorChat(c.params[0], ChatService::VisitorToken(c.req));
    if (ix != nullptr) chat.VisitorSeen(ix->id);
    return ix;
  }

  static Result<std::uint64_t> SinceParam(const http::Request& req) {
    const std::string s = req.QueryParam("since");
    if (s.empty() || s == "0") return 0;
    auto v = ParseId(s);
    if (!v) return Fail(ErrorCode::kBadRequest, "since must be a message seq (an integer >= 0)");
    return *v;
  }

  Outcome PublicChatState(Ctx& c) {
    const core::Interaction* ix = VisitorChat(c);
    if (ix == nullptr) return Err(ErrorCode::kNotFound, "no such chat");
    return Done(JsonResponse(chat.StateJson(*ix)));
  }

  Outcome PublicChatMessages(Ctx& c) {
    const core::Interaction* ix = VisitorChat(c);
    if (ix == nullptr) return Err(ErrorCode::kNotFound, "no such chat");
    auto since = SinceParam(c.req);
    if (!since) return Done(ErrorResponse(since.error()));
    // The reply waits for every event the engine holds, so every message shown is durable.
    return Done(JsonResponse(json{{"chat", chat.StateJson(*ix)},
                                  {"messages", chat.MessagesJson(*ix, *since, UINT64_MAX)}}));
  }

  Outcome Posted(const core::Interaction& ix, const core::Engine::ChatPosted& p) {
    const core::ChatLog& log = *engine.FindChat(ix.tenant, ix.id);
    json m = chat.MessageJson(ix, log.lines.at(p.seq - 1));
    if (p.duplicate) m["duplicate"] = true;
    return Done(JsonResponse(m, p.duplicate ? 200 : 201));
  }

  Outcome PublicPostMessage(Ctx& c) {
    const core::Interaction* ix = VisitorChat(c);
    if (ix == nullptr) return Err(ErrorCode::kNotFound, "no such chat");
    TRY(OnlyFields(c.body, {"text", "client_id"}));
    std::string text, client_id;
    TRY(WantText(c.body, text));
    TRY(Want(c.body, "client_id", client_id, false, core::kMaxChatClientId));
    auto p = chat.PostVisitor(*ix, std::move(client_id), std::move(text));
    if (!p) return ChatErr(p.error(), core::ChatSender::kVisitor);
    return Posted(*ix, *p);
  }

  Outcome PublicTyping(Ctx& c) {
    const core::Interaction* ix = VisitorChat(c);
    if (ix == nullptr) return Err(ErrorCode::kNotFound, "no such chat");
    TRY(OnlyFields(c.body, {"typing"}));
    bool typing = true;
    TRY(Want(c.body, "typing", typing));
    chat.Typing(*ix, core::ChatSender::kVisitor, typing);
    return Done(JsonResponse(json{{"ok", true}}));
  }

  Outcome PublicClose(Ctx& c) {
    const core::Interaction* ix = VisitorChat(c);
    if (ix == nullptr) return Err(ErrorCode::kNotFound, "no such chat");
    TRY(chat.Close(*ix));
    return Done(JsonResponse(chat.StateJson(*engine.FindInteraction(ix->tenant, ix->id))));
  }

  // The chat of an agent route: 404 when not a chat of the tenant.
  const core::Interaction* AgentChat(Ctx& c) {
    const core::Interaction* ix = InteractionOf(c);
    if (ix == nullptr || engine.FindChat(c.tenant, ix->id) == nullptr) return nullptr;
    return ix;
  }

  Outcome ChatTranscript(Ctx& c) {
    const core::Interaction* ix = InteractionOf(c);
    if (ix == nullptr) return Err(ErrorCode::kNotFound, "no such interaction");
    if (!c.AtLeast(Role::kSupervisor) && ix->agent != c.user->id)
      return Err(ErrorCode::kForbidden, "not your interaction");
    auto since = SinceParam(c.req);
    if (!since) return Done(ErrorResponse(since.error()));
    // Other channels have no transcript: an empty one, so a desktop can ask of any contact.
    if (engine.FindChat(c.tenant, ix->id) == nullptr)
      return Done(JsonResponse(json{{"chat", nullptr}, {"messages", json::array()}}));
    return Done(JsonResponse(json{{"chat", chat.StateJson(*ix)},
                                  {"messages", chat.MessagesJson(*ix, *since, UINT64_MAX)}}));
  }

  Outcome AgentPostMessage(Ctx& c) {
    const core::Interaction* ix = AgentChat(c);
    if (ix == nullptr) return Err(ErrorCode::kNotFound, "no such chat");
    TRY(OnlyFields(c.body, {"text", "client_id"}));
    if (ix->agent != c.user->id) return Err(ErrorCode::kForbidden, "not your interaction");
    std::string text, client_id;
    TRY(WantText(c.body, text));
    TRY(Want(c.body, "client_id", client_id, false, core::kMaxChatClientId));
    auto p = chat.PostAgent(*ix, c.user->id, std::move(client_id), std::move(text));
    if (!p) return ChatErr(p.error(), core::ChatSender::kAgent);
    return Posted(*ix, *p);
  }

  Outcome AgentTyping(Ctx& c) {
    const core::Interaction* ix = AgentChat(c);
    if (ix == nullptr) return Err(ErrorCode::kNotFound, "no such chat");
    TRY(OnlyFields(c.body, {"typing"}));
    if (ix->agent != c.user->id) return Err(ErrorCode::kForbidden, "not your interaction");
    bool typing = true;
    TRY(Want(c.body, "typing", typing));
    if (ix->state == core::InteractionState::kConnected) chat.Typing(*ix, core::ChatSender::kAgent, typing);
    return Done(JsonResponse(json{{"ok", true}}));
  }

  // ---- workforce management ------------------------------------------------------------------

  Outcome Staffing(Ctx& c) {
    auto in = StaffingInputFromQuery(c.req);
    if (!in) return Done(ErrorResponse(in.error()));
    auto s = core::wfm::SolveStaffing(*in);
    if (!s) return Done(ErrorResponse(s.error()));
    return Done(JsonResponse(StaffingJson(*in, *s)));
  }

  // ---- schedules (WFM) -----------------------------------------------------------------------

  Outcome CreateSchedule(Ctx& c) {
    std::shared_ptr<core::wfm::MipSolver> solver = api->schedule_solver_;
    if (!solver) return Err(ErrorCode::kUnavailable, "no schedule solver on this server");
    const std::string name = c.req.QueryParam("name");
    if (name.size() > 100) return Err(ErrorCode::kBadRequest, "name: at most 100 characters");
    double limit = 30;
    if (const std::string v = c.req.QueryParam("time_limit"); !v.empty()) {
      char* end = nullptr;
      limit = std::strtod(v.c_str(), &end);
      if (end != v.c_str() + v.size() || !(limit >= 1 && limit <= 300))
        return Err(ErrorCode::kBadRequest, "time_limit must be 1..300 seconds");
    }
    auto problem = core::wfm::ProblemFromJson(c.body);
    if (!problem) return Done(ErrorResponse(problem.error()));
    // The problem's agents are the tenant's members, by login: an unknown login and another
    // tenant's get the same answer.
    std::vector<core::UserId> users;
    for (std::size_t i = 0; i < problem->agents.size(); ++i) {
      const std::string& login = problem->agents[i].id;
      const core::User* u = engine.FindUserByLogin(login);
      if (u == nullptr || engine.FindMember(c.tenant, u->id) == nullptr)
        return Err(ErrorCode::kBadRequest,
                   fmt::format("agents[{}] ({}): not a member of this tenant", i, login));
      if (problem->agents[i].name.empty()) problem->agents[i].name = u->name;
      users.push_back(u->id);
    }
    // One solve at a time: a solve holds a worker for up to its time limit, and the workers
    // also hash passwords for logins.
    if (solves_in_flight.fetch_add(1) > 0) {
      solves_in_flight.fetch_sub(1);
      return Err(ErrorCode::kUnavailable, "another schedule is being solved; try again when it is done");
    }
    const core::TenantId tenant = c.tenant;
    const core::UserId by = c.user->id;
    Outcome out;
    out.offload = [this, solver, problem = std::move(*problem), users = std::move(users), name,
                   limit, tenant, by]() {
      auto r = core::wfm::SolveSchedule(problem, *solver, {.time_limit_s = limit});
      solves_in_flight.fetch_sub(1);
      return std::function<Outcome()>([this, r = std::move(r), users, name, tenant, by]() {
        Outcome o = FinishSchedule(r, users, name, tenant, by);
        CountStatus(o.response.status);
        return o;
      });
    };
    return out;
  }

  Outcome FinishSchedule(const Result<core::wfm::ScheduleResult>& r,
                         const std::vector<core::UserId>& users, const std::string& name,
                         core::TenantId tenant, core::UserId by) {
    if (!r) return Done(ErrorResponse(r.error()));
    core::StoredSchedule s;
    s.tenant = tenant;
    s.name = name.empty() ? "week of " + core::wfm::IsoUtc(r->week_start).substr(0, 10) : name;
    s.created_by = by;
    s.users = users;
    s.result = *r;
    auto id = engine.StoreSchedule(std::move(s));
    if (!id) return Done(ErrorResponse(id.error()));
    return Done(JsonResponse(ScheduleFullJson(*engine.FindSchedule(tenant, *id)), 201));
  }

  Outcome ListSchedules(Ctx& c) {
    json out = json::array();
    for (const core::StoredSchedule* s : engine.Schedules(c.tenant)) out.push_back(ScheduleSummaryJson(*s));
    return Done(JsonResponse(out));
  }

  const core::StoredSchedule* ScheduleAt(Ctx& c) {
    auto id = Id(c, 1);
    return id ? engine.FindSchedule(c.tenant, *id) : nullptr;
  }

  Outcome GetSchedule(Ctx& c) {
    const core::StoredSchedule* s = ScheduleAt(c);
    if (s == nullptr) return Err(ErrorCode::kNotFound, "no such schedule");
    const std::string format = c.req.QueryParam("format");
    if (format.empty() || format == "json") return Done(JsonResponse(ScheduleFullJson(*s)));
    if (format != "csv" && format != "coverage_csv")
      return Err(ErrorCode::kBadRequest, "format must be json, csv or coverage_csv");
    http::Response r;
    r.content_type = "text/csv; charset=utf-8";
    r.body = format == "csv" ? wfmio::ShiftsCsv(s->result) : wfmio::CoverageCsv(s->result);
    r.headers.emplace_back("Content-Disposition",
                           fmt::format("attachment; filename=\"schedule-{}{}.csv\"", s->id,
                                       format == "csv" ? "" : "-coverage"));
    return Done(std::move(r));
  }

  Outcome PublishSchedule(Ctx& c) {
    auto id = Id(c, 1);
    if (!id || engine.FindSchedule(c.tenant, *id) == nullptr)
      return Err(ErrorCode::kNotFound, "no such schedule");
    TRY(engine.PublishSchedule(c.tenant, *id, c.user->id));
    return Done(JsonResponse(ScheduleSummaryJson(*engine.FindSchedule(c.tenant, *id))));
  }

  // ---- simulations (WFM) ---------------------------------------------------------------------

  // Bounds on one API simulation, so a request holds a worker for seconds, not hours
  // (docs/api.md). The CLI has none: its user owns the machine.
  static constexpr std::size_t kSimMaxScenario = 256 * 1024;  // bytes of TOML
  static constexpr int kSimMaxDays = 7;
  static constexpr int kSimMaxReplications = 20;
  static constexpr std::int64_t kSimMaxAgents = 500;          // listed + staffing groups' peaks
  static constexpr double kSimMaxContacts = 200000;           // expected arrivals × replications
  static constexpr std::size_t kSimMaxTables = 1000;          // [[queue]], [[agent]], [[shift]]…

  Outcome CreateSimulation(Ctx& c) {
    const std::string format = c.req.QueryParam("format");
    if (!format.empty() && format != "json" && format != "csv")
      return Err(ErrorCode::kBadRequest, "format must be json or csv");
    std::string text;
    TRY(Want(c.body, "scenario", text, /*required=*/true, kSimMaxScenario));
    std::int64_t replications = 1, seed = -1, schedule_id = 0;
    TRY(Want(c.body, "replications", replications, false, 1, kSimMaxReplications));
    TRY(Want(c.body, "seed", seed, false, 0, std::numeric_limits<std::int64_t>::max()));
    TRY(Want(c.body, "schedule_id", schedule_id, false, 1, std::numeric_limits<std::int64_t>::max()));
    for (const auto& [key, v] : c.body.items())
      if (key != "scenario" && key != "replications" && key != "seed" && key != "schedule_id")
        return Err(ErrorCode::kBadRequest, fmt::format("unknown field '{}'", key));
    std::optional<core::wfm::ScheduleResult> schedule;
    if (schedule_id != 0) {
      const core::StoredSchedule* st = engine.FindSchedule(c.tenant, static_cast<core::ScheduleId>(schedule_id));
      if (st == nullptr) return Err(ErrorCode::kNotFound, "no such schedule");
      schedule = st->result;  // a copy: the worker must not touch the engine's state
    }
    // A cheap bound on what parsing expands (each table's profiles are per interval).
    std::size_t tables = 0;
    for (std::size_t at = text.find("[["); at != std::string::npos; at = text.find("[[", at + 2)) ++tables;
    if (tables > kSimMaxTables)
      return Err(ErrorCode::kBadRequest, fmt::format("at most {} [[tables]] in an API simulation", kSimMaxTables));
    // One at a time: a simulation holds a worker, and the workers also hash passwords.
    if (sims_in_flight.fetch_add(1) > 0) {
      sims_in_flight.fetch_sub(1);
      return Err(ErrorCode::kUnavailable, "another simulation is running; try again when it is done");
    }
    Outcome out;
    out.offload = [this, text = std::move(text), schedule = std::move(schedule), seed,
                   n = static_cast<int>(replications), csv = format == "csv"]() {
      http::Response r = RunSimulation(text, schedule ? &*schedule : nullptr, seed, n, csv);
      sims_in_flight.fetch_sub(1);
      return std::function<Outcome()>([this, r = std::move(r)]() {
        Outcome o = Done(r);
        CountStatus(o.response.status);
        return o;
      });
    };
    return out;
  }

  // On a worker: parse (which may expand profiles over days), check the bounds, run, report.
  static http::Response RunSimulation(const std::string& text, const core::wfm::ScheduleResult* schedule,
                                      std::int64_t seed, int replications, bool csv) {
    auto scenario = sim::ParseScenario(
        text, "scenario", sim::ParseOptions{.allow_files = false, .schedule = schedule, .max_days = kSimMaxDays});
    if (!scenario) return ErrorResponse(scenario.error());
    if (seed >= 0) scenario->seed = static_cast<std::uint64_t>(seed);
    std::int64_t agents = static_cast<std::int64_t>(scenario->agents.size());
    for (const sim::StaffingGroup& g : scenario->groups)
      if (!g.agents.empty()) agents += *std::max_element(g.agents.begin(), g.agents.end());
    if (agents > kSimMaxAgents)
      return ErrorResponse(Error{ErrorCode::kBadRequest,
                             fmt::format("{} agents: at most {} in an API simulation", agents, kSimMaxAgents)});
    double contacts = 0;
    for (const sim::QueueSpec& q : scenario->queues)
      for (double a : q.arrivals) contacts += a;
    if (contacts * replications > kSimMaxContacts)
      return ErrorResponse(Error{ErrorCode::kBadRequest,
                             fmt::format("{:.0f} expected contacts x {} replications: at most {:.0f} in an API simulation",
                                         contacts, replications, kSimMaxContacts)});
    auto summary = sim::Replicate(*scenario, replications);
    if (!summary) return ErrorResponse(summary.error());
    if (!csv) return JsonResponse(sim::JsonReport(*scenario, *summary));
    http::Response r;
    r.content_type = "text/csv; charset=utf-8";
    r.body = sim::CsvReport(*scenario, *summary);
    return r;
  }

  Outcome MyShifts(Ctx& c) {
    std::vector<core::ScheduleId> from;
    const core::wfm::AgentSchedule a = ShiftsOf(engine.Schedules(c.tenant), c.user->id, &from);
    return Done(JsonResponse(MyShiftsJson(a, from)));
  }

  Outcome MyShiftsIcs(Ctx& c) {
    core::wfm::AgentSchedule a = ShiftsOf(engine.Schedules(c.tenant), c.user->id, nullptr);
    a.agent_id = c.user->login;
    if (a.name.empty()) a.name = c.user->name.empty() ? c.user->login : c.user->name;
    const core::Tenant* t = engine.FindTenant(c.tenant);
    http::Response r;
    r.content_type = "text/calendar; charset=utf-8";
    r.body = wfmio::AgentIcs(a, t ? t->slug : std::to_string(c.tenant), engine.now());
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"shifts.ics\"");
    return Done(std::move(r));
  }

  // ---- workforce management: adherence -------------------------------------------------------

  // Every member in the tenant's published schedules, with their shifts that overlap
  // [from, to), by user id: one pass over the schedules (O(shifts)), so the live list stays cheap
  // on the engine thread however many weeks are published.
  std::map<core::UserId, api::AdherenceAgent> ScheduledAgents(core::TenantId t, TimeMs from, TimeMs to) {
    std::map<core::UserId, api::AdherenceAgent> out;
    for (const core::StoredSchedule* s : engine.Schedules(t)) {
      if (s->state != core::ScheduleState::kPublished) continue;
      for (std::size_t i = 0; i < s->users.size() && i < s->result.agents.size(); ++i) {
        const core::UserId u = s->users[i];
        if (engine.FindMember(t, u) == nullptr) continue;
        api::AdherenceAgent& a = out[u];
        for (const core::wfm::Shift& sh : s->result.agents[i].shifts)
          if (sh.end > from && sh.start < to) a.schedule.shifts.push_back(sh);
      }
    }
    for (auto& [u, a] : out) {
      a.user = u;
      NameAgent(a);
      std::sort(a.schedule.shifts.begin(), a.schedule.shifts.end(),
                [](const core::wfm::Shift& x, const core::wfm::Shift& y) { return x.start < y.start; });
    }
    return out;
  }

  void NameAgent(api::AdherenceAgent& a) {
    if (const core::User* user = engine.FindUser(a.user)) {
      a.login = user->login;
      a.name = user->name;
      a.schedule.agent_id = user->login;
    }
  }

  Outcome Adherence(Ctx& c) { return AdherenceJob(c, 0); }
  Outcome MyAdherence(Ctx& c) { return AdherenceJob(c, c.user->id); }

  // Gathers the shifts here, on the engine thread; the history scan and the math on a worker.
  Outcome AdherenceJob(Ctx& c, core::UserId self) {
    auto q = AdherenceQueryFrom(c.req);
    if (!q) return Done(ErrorResponse(q.error()));
    if (self != 0) {
      if (q->agent != 0 && q->agent != self) return Err(ErrorCode::kBadRequest, "agent is not a parameter of /me/adherence");
      q->agent = self;
    }
    api::AdherenceJob job;
    job.tenant = c.tenant;
    job.query = *q;
    job.zone = engine.ZoneOf(c.tenant);
    job.now = engine.now();
    if (q->agent != 0 && engine.FindMember(c.tenant, q->agent) == nullptr)
      return Err(ErrorCode::kNotFound, "no such agent");
    // The day's bounds, as the job computes them (shifts outside them cannot matter).
    const TimeMs day = job.zone->DayStart(q->date ? *q->date : job.zone->LocalDay(job.now));
    auto agents = ScheduledAgents(c.tenant, day - kDay, day + 2 * kDay);
    if (q->agent != 0) {
      auto it = agents.find(q->agent);
      api::AdherenceAgent a;
      if (it != agents.end()) a = std::move(it->second);
      a.user = q->agent;
      NameAgent(a);
      job.agents.push_back(std::move(a));
    } else {
      for (auto& [u, a] : agents) job.agents.push_back(std::move(a));
    }
    Outcome out;
    out.offload = [this, job = std::move(job), scan = api->event_scan_]() {
      http::Response r = RunAdherenceJob(job, scan);
      return std::function<Outcome()>([this, r = std::move(r)]() mutable {
        CountStatus(r.status);
        return Done(std::move(r));
      });
    };
    return out;
  }

  // Cheap: one schedule lookup and one state check per scheduled agent, from current state.
  Outcome AdherenceLive(Ctx& c) {
    auto grace = GraceFrom(c.req);
    if (!grace) return Done(ErrorResponse(grace.error()));
    const TimeMs now = engine.now();
    json agents = json::array();
    // Shifts within a day around now: enough for the activity now and its start.
    for (const auto& [u, a] : ScheduledAgents(c.tenant, now - kDay, now + kDay)) {
      const core::Agent* live = engine.FindAgent(u);
      // Working for another tenant is offline for this one.
      const bool here = live != nullptr && live->tenant == c.tenant;
      const core::Presence p = here ? live->presence : core::Presence::kOffline;
      const TimeMs since = live != nullptr ? live->presence_since : 0;
      auto out = core::wfm::LiveOutOfAdherence(a.schedule, AdherenceState(p), since, now, {.grace = *grace});
      if (!out) continue;
      json j = StretchJson(*out);
      j.erase("end");
      j.erase("forgiven");
      j["since"] = j["start"];
      j.erase("start");
      j["agent"] = u;
      j["login"] = a.login;
      j["name"] = a.name;
      j["presence"] = core::Name(p);
      j["reason"] = here ? live->reason : "";
      agents.push_back(std::move(j));
    }
    return Done(JsonResponse(json{{"now", core::wfm::IsoUtc(now)},
                                  {"grace_min", static_cast<double>(*grace) / 60'000.0},
                                  {"agents", agents}}));
  }

  // ---- workforce management: forecast calendar and forecasts ---------------------------------

  Outcome ListCalendar(Ctx& c) {
    json out = json::array();
    for (const core::CalendarEntry* e : engine.CalendarEvents(c.tenant)) out.push_back(core::ToJson(*e));
    return Done(JsonResponse(out));
  }

  Outcome GetCalendar(Ctx& c) {
    auto id = Id(c, 1);
    const core::CalendarEntry* e = id ? engine.FindCalendarEvent(c.tenant, *id) : nullptr;
    if (!e) return Err(ErrorCode::kNotFound, "no such calendar event");
    return Done(JsonResponse(core::ToJson(*e)));
  }

  Outcome CreateCalendar(Ctx& c) {
    auto e = core::FromJson(c.body, core::CalendarEntry{});
    if (!e) return Done(ErrorResponse(e.error()));
    e->tenant = c.tenant;
    if (e->queue != 0 && engine.FindQueue(c.tenant, e->queue) == nullptr)
      return Err(ErrorCode::kNotFound, "no such queue");
    auto id = engine.CreateCalendarEvent(*e);
    if (!id) return Done(ErrorResponse(id.error()));
    return Done(JsonResponse(core::ToJson(*engine.FindCalendarEvent(c.tenant, *id)), 201));
  }

  Outcome DeleteCalendar(Ctx& c) {
    auto id = Id(c, 1);
    if (!id) return Err(ErrorCode::kNotFound, "no such calendar event");
    TRY(engine.DeleteCalendarEvent(c.tenant, *id));
    return Done(JsonResponse(json{{"deleted", *id}}));
  }

  Outcome Forecast(Ctx& c) { return ForecastJob(c, false); }
  Outcome Requirements(Ctx& c) { return ForecastJob(c, true); }

  // Gathers what the job needs here, on the engine thread; the scan and the math run on a
  // worker (the history is in the store, and a long one takes a while to read).
  Outcome ForecastJob(Ctx& c, bool requirements) {
    auto q = ForecastQueryFrom(c.req);
    if (!q) return Done(ErrorResponse(q.error()));
    if (engine.FindQueue(c.tenant, q->queue) == nullptr) return Err(ErrorCode::kNotFound, "no such queue");
    api::ForecastJob job;
    job.tenant = c.tenant;
    job.query = *q;
    job.zone = engine.ZoneOf(c.tenant);
    job.now = engine.now();
    job.calendar = CalendarFor(engine.CalendarEvents(c.tenant), q->queue);
    if (requirements) {
      auto targets = StaffingTargetsFromQuery(c.req);
      if (!targets) return Done(ErrorResponse(targets.error()));
      job.staffing = *targets;
    }
    Outcome out;
    out.offload = [this, job = std::move(job), scan = api->event_scan_]() {
      http::Response r = RunForecastJob(job, scan);
      return std::function<Outcome()>([this, r = std::move(r)]() mutable {
        CountStatus(r.status);
        return Done(std::move(r));
      });
    };
    return out;
  }

  // ---- voice: trunks, numbers, queue voice settings ------------------------------------------

  Outcome ListTrunks(Ctx& c) {
    json out = json::array();
    for (const core::Trunk* t : engine.Trunks(c.tenant)) out.push_back(core::ToJson(*t));
    return Done(JsonResponse(out));
  }
  Outcome CreateTrunk(Ctx& c) {
    if (!c.body.contains("name")) return Err(ErrorCode::kBadRequest, "missing field 'name'");
    auto t = core::FromJson(c.body, core::Trunk{});
    if (!t) return Done(ErrorResponse(t.error()));
    t->tenant = c.tenant;
    auto id = engine.CreateTrunk(*t);
    if (!id) return Done(ErrorResponse(id.error()));
    return Done(JsonResponse(core::ToJson(*engine.FindTrunk(c.tenant, *id)), 201));
  }
  Outcome GetTrunk(Ctx& c) {
    auto id = Id(c, 1);
    const core::Trunk* t = id ? engine.FindTrunk(c.tenant, *id) : nullptr;
    if (!t) return Err(ErrorCode::kNotFound, "no such trunk");
    return Done(JsonResponse(core::ToJson(*t)));
  }
  Outcome PatchTrunk(Ctx& c) {
    auto id = Id(c, 1);
    const core::Trunk* t = id ? engine.FindTrunk(c.tenant, *id) : nullptr;
    if (!t) return Err(ErrorCode::kNotFound, "no such trunk");
    auto next = core::FromJson(c.body, *t);
    if (!next) return Done(ErrorResponse(next.error()));
    next->id = *id;
    next->tenant = c.tenant;
    TRY(engine.UpdateTrunk(*next));
    return Done(JsonResponse(core::ToJson(*engine.FindTrunk(c.tenant, *id))));
  }
  Outcome DeleteTrunk(Ctx& c) {
    auto id = Id(c, 1);
    if (!id || !engine.FindTrunk(c.tenant, *id)) return Err(ErrorCode::kNotFound, "no such trunk");
    return Done(engine.DeleteTrunk(c.tenant, *id), json{{"ok", true}});
  }

  Outcome ListNumbers(Ctx& c) {
    json out = json::array();
    for (const core::PhoneNumber* n : engine.Numbers(c.tenant)) out.push_back(core::ToJson(*n));
    return Done(JsonResponse(out));
  }
  Outcome CreateNumber(Ctx& c) {
    if (!c.body.contains("number")) return Err(ErrorCode::kBadRequest, "missing field 'number'");
    auto n = core::FromJson(c.body, core::PhoneNumber{});
    if (!n) return Done(ErrorResponse(n.error()));
    n->tenant = c.tenant;
    auto id = engine.CreateNumber(*n);
    if (!id) return Done(ErrorResponse(id.error()));
    return Done(JsonResponse(core::ToJson(*engine.FindNumberById(c.tenant, *id)), 201));
  }
  Outcome GetNumber(Ctx& c) {
    auto id = Id(c, 1);
    const core::PhoneNumber* n = id ? engine.FindNumberById(c.tenant, *id) : nullptr;
    if (!n) return Err(ErrorCode::kNotFound, "no such number");
    return Done(JsonResponse(core::ToJson(*n)));
  }
  Outcome PatchNumber(Ctx& c) {
    auto id = Id(c, 1);
    const core::PhoneNumber* n = id ? engine.FindNumberById(c.tenant, *id) : nullptr;
    if (!n) return Err(ErrorCode::kNotFound, "no such number");
    core::PhoneNumber base = *n;
    // A new target replaces the old one: {"ivr": 7} on a number routed to a queue moves it.
    if (c.body.contains("queue") || c.body.contains("ivr")) base.queue = base.ivr = 0;
    auto next = core::FromJson(c.body, base);
    if (!next) return Done(ErrorResponse(next.error()));
    next->id = *id;
    next->tenant = c.tenant;
    TRY(engine.UpdateNumber(*next));
    return Done(JsonResponse(core::ToJson(*engine.FindNumberById(c.tenant, *id))));
  }
  Outcome DeleteNumber(Ctx& c) {
    auto id = Id(c, 1);
    if (!id || !engine.FindNumberById(c.tenant, *id)) return Err(ErrorCode::kNotFound, "no such number");
    return Done(engine.DeleteNumber(c.tenant, *id), json{{"ok", true}});
  }

  Outcome ListCdrs(Ctx& c) { return CdrJob(c, false); }
  Outcome CdrsCsv(Ctx& c) { return CdrJob(c, true); }

  // The query and the names are read here (engine thread); the log is scanned on a worker.
  Outcome CdrJob(Ctx& c, bool csv) {
    auto q = CdrQueryFrom(c.req, engine.now());
    if (!q) return Done(ErrorResponse(q.error()));
    if (q->queue != 0 && engine.FindQueue(c.tenant, q->queue) == nullptr)
      return Err(ErrorCode::kNotFound, "no such queue");
    if (q->agent != 0 && engine.FindMember(c.tenant, q->agent) == nullptr)
      return Err(ErrorCode::kNotFound, "no such agent");
    api::CdrJob job;
    job.tenant = c.tenant;
    job.query = *q;
    job.csv = csv;
    if (csv) {
      for (const core::Queue* queue : engine.Queues(c.tenant)) job.queue_names[queue->id] = queue->name;
      for (core::UserId u : engine.MembersOf(c.tenant))
        if (const core::User* user = engine.FindUser(u)) job.agent_logins[u] = user->login;
    }
    Outcome out;
    out.offload = [this, job = std::move(job), scan = api->event_scan_]() {
      http::Response r = RunCdrJob(job, scan);
      return std::function<Outcome()>([this, r = std::move(r)]() mutable {
        CountStatus(r.status);
        return Done(std::move(r));
      });
    };
    return out;
  }

  // Recordings are read from the log on a worker (the engine keeps the live ones only, like CDR
  // legs): a range of them, or one by id from any time.
  Outcome ListRecordings(Ctx& c) {
    auto q = RecordingQueryFrom(c.req, engine.now());
    if (!q) return Done(ErrorResponse(q.error()));
    return RecordingJob(c.tenant, *q, [](std::vector<core::Recording> recs) {
      json out = json::array();
      for (const core::Recording& r : recs) out.push_back(core::ToJson(r));
      return JsonResponse(out);
    });
  }
  Outcome GetRecording(Ctx& c) {
    auto id = Id(c, 1);
    if (!id) return Err(ErrorCode::kNotFound, "no such recording");
    RecordingQuery q;
    q.id = *id;
    return RecordingJob(c.tenant, q, [](std::vector<core::Recording> recs) {
      if (recs.empty()) return ErrorResponse(404, "not_found", "no such recording");
      return JsonResponse(core::ToJson(recs.front()));
    });
  }
  // The file is streamed (http::FileSlice: a chunk at a time as the socket takes it, never read
  // whole), opened on a worker thread; the path comes from the recording's record
  // (RecordingPath), never from the request. A single byte range (Range: bytes=) is answered
  // 206, so audio elements can seek.
  Outcome RecordingFile(Ctx& c) {
    auto id = Id(c, 1);
    if (!id) return Err(ErrorCode::kNotFound, "no such recording");
    RecordingQuery q;
    q.id = *id;
    return RecordingJob(c.tenant, q, [dir = options.data_dir, range = c.req.Header("range")](std::vector<core::Recording> recs) {
      if (recs.empty()) return ErrorResponse(404, "not_found", "no such recording");
      const core::Recording& r = recs.front();
      if (dir.empty() || r.path.find("..") != std::string::npos || r.path.empty() || r.path.front() == '/')
        return ErrorResponse(404, "not_found", "no file for this recording");
      return ServeFile(dir + "/" + r.path, fmt::format("recording-{}-{}.wav", r.id, r.interaction), range);
    });
  }
  template <class Render>
  Outcome RecordingJob(core::TenantId tenant, RecordingQuery q, Render render) {
    Outcome out;
    out.offload = [this, tenant, q, render = std::move(render), scan = api->event_scan_,
                   by_id = api->recording_scan_]() {
      auto recs = ScanRecordings(tenant, q, scan, by_id);
      http::Response r = recs ? render(std::move(*recs)) : ErrorResponse(recs.error());
      return std::function<Outcome()>([this, r = std::move(r)]() mutable {
        CountStatus(r.status);
        return Done(std::move(r));
      });
    };
    return out;
  }

  // A recording's file as a download (worker thread): 200 whole, 206 for a byte range, 416
  // for a range past the end, 404 when the file is missing.
  static http::Response ServeFile(const std::string& path, const std::string& name, const std::string& range) {
    auto file = std::make_shared<http::FileSlice>();
    file->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (file->fd < 0) return ErrorResponse(404, "not_found", "the recording's file is missing");
    struct stat st {};
    if (::fstat(file->fd, &st) != 0 || !S_ISREG(st.st_mode))
      return ErrorResponse(503, "unavailable", "the recording's file cannot be read");
    const auto size = static_cast<std::uint64_t>(st.st_size);
    http::Response resp;
    resp.content_type = "audio/wav";
    resp.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
    resp.headers.emplace_back("Accept-Ranges", "bytes");
    http::ByteRange part;
    switch (http::ParseRange(range, size, &part)) {
      case http::RangeCheck::kWhole:
        file->length = size;
        break;
      case http::RangeCheck::kPart:
        resp.status = 206;
        file->offset = part.first;
        file->length = part.length;
        resp.headers.emplace_back("Content-Range", fmt::format("bytes {}-{}/{}", part.first,
                                                               part.first + part.length - 1, size));
        break;
      case http::RangeCheck::kUnsatisfiable: {
        http::Response bad = ErrorResponse(416, "range_not_satisfiable", "the range starts past the end of the file");
        bad.headers.emplace_back("Content-Range", fmt::format("bytes */{}", size));
        return bad;
      }
    }
    resp.file = std::move(file);
    return resp;
  }

  Outcome ListIvr(Ctx& c) {
    json out = json::array();
    for (const core::IvrMenu* m : engine.IvrMenus(c.tenant)) out.push_back(core::ToJson(*m));
    return Done(JsonResponse(out));
  }
  Outcome CreateIvr(Ctx& c) {
    if (!c.body.contains("name")) return Err(ErrorCode::kBadRequest, "missing field 'name'");
    auto m = core::FromJson(c.body, core::IvrMenu{});
    if (!m) return Done(ErrorResponse(m.error()));
    m->tenant = c.tenant;
    auto id = engine.CreateIvrMenu(*m);
    if (!id) return Done(ErrorResponse(id.error()));
    return Done(JsonResponse(core::ToJson(*engine.FindIvrMenu(c.tenant, *id)), 201));
  }
  Outcome GetIvr(Ctx& c) {
    auto id = Id(c, 1);
    const core::IvrMenu* m = id ? engine.FindIvrMenu(c.tenant, *id) : nullptr;
    if (!m) return Err(ErrorCode::kNotFound, "no such IVR menu");
    return Done(JsonResponse(core::ToJson(*m)));
  }
  Outcome PatchIvr(Ctx& c) {
    auto id = Id(c, 1);
    const core::IvrMenu* m = id ? engine.FindIvrMenu(c.tenant, *id) : nullptr;
    if (!m) return Err(ErrorCode::kNotFound, "no such IVR menu");
    auto next = core::FromJson(c.body, *m);
    if (!next) return Done(ErrorResponse(next.error()));
    next->id = *id;
    next->tenant = c.tenant;
    TRY(engine.UpdateIvrMenu(*next));
    return Done(JsonResponse(core::ToJson(*engine.FindIvrMenu(c.tenant, *id))));
  }
  Outcome DeleteIvr(Ctx& c) {
    auto id = Id(c, 1);
    if (!id || !engine.FindIvrMenu(c.tenant, *id)) return Err(ErrorCode::kNotFound, "no such IVR menu");
    return Done(engine.DeleteIvrMenu(c.tenant, *id), json{{"ok", true}});
  }

  Outcome GetQueueVoice(Ctx& c) {
    auto id = Id(c, 1);
    auto v = id ? engine.VoiceOf(c.tenant, *id) : std::nullopt;
    if (!v) return Err(ErrorCode::kNotFound, "no such queue");
    return Done(JsonResponse(core::ToJson(*v)));
  }
  Outcome PutQueueVoice(Ctx& c) {
    auto id = Id(c, 1);
    auto v = id ? engine.VoiceOf(c.tenant, *id) : std::nullopt;
    if (!v) return Err(ErrorCode::kNotFound, "no such queue");
    auto next = core::FromJson(c.body, *v);
    if (!next) return Done(ErrorResponse(next.error()));
    next->queue = *id;
    next->tenant = c.tenant;
    TRY(engine.SetQueueVoice(*next));
    return Done(JsonResponse(core::ToJson(*engine.VoiceOf(c.tenant, *id))));
  }

};

Api::Api(core::Engine& engine, ApiOptions options)
    : impl_(std::make_unique<Impl>(engine, options, this)) {}
Api::~Api() = default;

Outcome Api::Handle(const http::Request& request) { return impl_->Handle(request); }

ChatService& Api::chat() { return impl_->chat; }

json Api::InteractionView(const core::Interaction& ix, bool supervisor) const {
  return impl_->View(ix, supervisor);
}

std::optional<core::UserId> Api::Authenticate(const http::Request& request) const {
  const std::string token = Impl::TokenOf(request);
  if (token.empty() || token.size() > 256) return std::nullopt;
  return impl_->engine.SessionUser(auth::TokenHash(token));
}

std::string Api::SessionKey(const http::Request& request) const {
  return auth::TokenHash(Impl::TokenOf(request));
}

std::optional<std::pair<core::TenantId, Role>> Api::ResolveTenant(core::UserId user,
                                                                  const std::string& ref) const {
  const core::Engine& e = impl_->engine;
  const core::Tenant* t = nullptr;
  if (auto id = ParseId(ref)) t = e.FindTenant(*id);
  if (t == nullptr) t = e.FindTenantBySlug(ref);
  if (t == nullptr) return std::nullopt;
  const core::Membership* m = e.FindMember(t->id, user);
  if (m == nullptr) return std::nullopt;
  return std::make_pair(t->id, m->role);
}

std::vector<std::pair<std::string, std::string>> Api::Routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : impl_->routes) out.emplace_back(r.method, r.pattern);
  return out;
}

std::string Api::OpenApiJson() const {
  json paths = json::object();
  for (const auto& r : impl_->routes) {
    std::string method = r.method;
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    json op{{"summary", r.summary}, {"responses", json::object()}};
    json params = json::array();
    for (const std::string& seg : r.segments) {
      if (seg.front() != '{') continue;
      params.push_back(json{{"name", seg.substr(1, seg.size() - 2)},
                            {"in", "path"},
                            {"required", true},
                            {"schema", {{"type", "string"}}}});
    }
    if (!params.empty()) op["parameters"] = params;
    if (r.access != Access::kPublic) op["security"] = json::array({json{{"bearer", json::array()}}, json{{"cookie", json::array()}}});
    if (method == "post" || method == "put" || method == "patch")
      op["requestBody"] = json{{"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
    op["responses"]["200"] = json{{"description", "OK"}};
    op["responses"]["default"] = json{{"description", "Error"},
                                      {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
    const char* role = r.access == Access::kAdmin ? "admin"
                       : r.access == Access::kSupervisor ? "supervisor"
                       : r.access == Access::kMember ? "agent"
                       : r.access == Access::kPlatformAdmin ? "platform admin"
                       : r.access == Access::kUser ? "any user" : "public";
    op["x-required-role"] = role;
    paths[r.pattern][method] = op;
  }
  json doc{{"openapi", "3.0.3"},
           {"info", {{"title", "Homeline API"}, {"version", "1"}}},
           {"paths", paths},
           {"components",
            {{"securitySchemes",
              {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}},
               {"cookie", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "homeline_session"}}}}},
             {"schemas",
              {{"Error",
                {{"type", "object"},
                 {"properties",
                  {{"error",
                    {{"type", "object"},
                     {"properties", {{"code", {{"type", "string"}}}, {"message", {{"type", "string"}}}}}}}}}}}}}}}};
  return doc.dump(2);
}

}  // namespace homeline::api
