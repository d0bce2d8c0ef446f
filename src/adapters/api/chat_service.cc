#include "adapters/api/chat_service.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "adapters/api/responses.h"
#include "adapters/auth/passwords.h"

namespace homeline::api {

using nlohmann::json;

namespace {

// Before a queue has handled any contact today, estimates assume this handle time.
constexpr double kDefaultChatAhtS = 180;
// Rate-limit tables are swept of full (idle) buckets past this many keys.
constexpr std::size_t kMaxBuckets = 10000;


}  // namespace

ChatService::ChatService(core::Engine& engine, ChatOptions options)
    : engine_(engine), options_(options) {}

const core::Tenant* ChatService::PublicTenant(const std::string& ref) const {
  if (auto id = ParseId(ref)) {
    if (const core::Tenant* t = engine_.FindTenant(*id)) return t;
  }
  return engine_.FindTenantBySlug(ref);
}

bool ChatService::OriginAllowed(const http::Request& req, const core::Tenant& tenant) {
  const std::string& origin = req.Header("origin");
  if (origin.empty()) return true;  // not a browser
  const std::string& host = req.Header("host");
  if (!host.empty() && (origin == "http://" + host || origin == "https://" + host)) return true;
  return std::find(tenant.settings.allowed_origins.begin(), tenant.settings.allowed_origins.end(),
                   origin) != tenant.settings.allowed_origins.end();
}

void ChatService::AddCorsHeaders(const http::Request& req, http::Response& r, bool preflight) {
  const std::string& origin = req.Header("origin");
  if (origin.empty()) return;
  r.headers.emplace_back("Access-Control-Allow-Origin", origin);
  r.headers.emplace_back("Vary", "Origin");
  if (preflight) {
    r.headers.emplace_back("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    r.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
    r.headers.emplace_back("Access-Control-Max-Age", "600");
  }
}

std::string ChatService::VisitorToken(const http::Request& req) {
  const std::string& authz = req.Header("authorization");
  if (authz.size() > 7 && (authz.compare(0, 7, "Bearer ") == 0 || authz.compare(0, 7, "bearer ") == 0))
    return authz.substr(7);
  return req.QueryParam("token");
}

const core::Interaction* ChatService::VisitorChat(const std::string& id_text,
                                                  const std::string& token) const {
  auto id = ParseId(id_text);
  if (!id || token.empty() || token.size() > 256) return nullptr;
  const core::Interaction* ix = engine_.FindChatInteraction(*id);
  if (ix == nullptr) return nullptr;
  const core::ChatLog* log = engine_.FindChat(ix->tenant, ix->id);
  if (log == nullptr || log->token_hash.empty() || log->token_hash != auth::TokenHash(token))
    return nullptr;
  return ix;
}

bool ChatService::Take(std::unordered_map<std::uint64_t, Bucket>& buckets, std::uint64_t key,
                       double burst, double per_second) {
  const TimeMs now = engine_.now();
  auto refill = [&](Bucket& b) {
    b.tokens = std::min(burst, b.tokens + (now - b.at) / 1000.0 * per_second);
    b.at = now;
  };
  // Visitors who come and go must not grow the table without bound: a full bucket is the same
  // as none, so sweep those (amortised over the inserts that grew it).
  if (buckets.size() > kMaxBuckets) {
    for (auto it = buckets.begin(); it != buckets.end();) {
      refill(it->second);
      it = it->second.tokens >= burst ? buckets.erase(it) : std::next(it);
    }
  }
  auto [it, fresh] = buckets.try_emplace(key, Bucket{burst, now});
  if (!fresh) refill(it->second);
  if (it->second.tokens < 1) return false;
  it->second.tokens -= 1;
  return true;
}

Result<core::Engine::ChatPosted> ChatService::PostVisitor(const core::Interaction& ix,
                                                          std::string client_id,
                                                          std::string text) {
  // A resend of a stored message costs nothing: a reconnecting widget resends what it had not
  // seen acknowledged.
  if (!client_id.empty()) {
    const core::ChatLog* log = engine_.FindChat(ix.tenant, ix.id);
    if (log != nullptr) {
      auto seen = log->by_client_id.find(core::ChatLog::ClientKey(core::ChatSender::kVisitor, client_id));
      if (seen != log->by_client_id.end()) return core::Engine::ChatPosted{seen->second, true};
    }
  }
  // Refused input costs no token: only what would be stored counts against the rate.
  if (auto st = core::CheckChatText(text, client_id); !st) return std::unexpected(st.error());
  if (auto st = WritesOpen(); !st) return std::unexpected(st.error());
  if (!Take(visitor_buckets_, ix.id, options_.visitor_burst, options_.visitor_per_second))
    return Fail(ErrorCode::kRateLimited, "too many messages; wait a moment");
  return engine_.PostChat(ix.tenant, ix.id, core::ChatSender::kVisitor, 0, std::move(client_id),
                          std::move(text));
}

Result<core::Engine::ChatPosted> ChatService::PostAgent(const core::Interaction& ix,
                                                        core::UserId agent,
                                                        std::string client_id, std::string text) {
  if (auto st = WritesOpen(); !st) return std::unexpected(st.error());
  return engine_.PostChat(ix.tenant, ix.id, core::ChatSender::kAgent, agent, std::move(client_id),
                          std::move(text));
}

Status ChatService::WritesOpen() const {
  if (writes_paused_ && writes_paused_())
    return Fail(ErrorCode::kUnavailable, "the server is behind writing to disk; try again shortly");
  return {};
}

void ChatService::VisitorSeen(core::InteractionId id) { visitor_seen_[id] = engine_.now(); }

void ChatService::SweepAbsentVisitors(const std::function<bool(core::InteractionId)>& connected) {
  const TimeMs now = engine_.now();
  std::vector<core::InteractionId> gone;
  for (auto it = visitor_seen_.begin(); it != visitor_seen_.end();) {
    const core::Interaction* ix = engine_.FindChatInteraction(it->first);
    if (ix == nullptr || (ix->state != core::InteractionState::kQueued &&
                          ix->state != core::InteractionState::kOffered)) {
      it = visitor_seen_.erase(it);  // answered or over: the agent decides from here
      continue;
    }
    if (connected(it->first)) {
      it->second = now;
    } else if (now - it->second >= options_.visitor_timeout) {
      gone.push_back(it->first);
    }
    ++it;
  }
  for (core::InteractionId id : gone) {
    visitor_seen_.erase(id);
    if (const core::Interaction* ix = engine_.FindChatInteraction(id)) (void)Close(*ix);
  }
}

bool ChatService::TakeAddress(const std::string& address) {
  return Take(address_buckets_, std::hash<std::string>()(address), options_.address_burst,
              options_.address_per_second);
}

Status ChatService::Close(const core::Interaction& ix) {
  if (ix.state != core::InteractionState::kQueued && ix.state != core::InteractionState::kOffered &&
      ix.state != core::InteractionState::kConnected)
    return {};
  // The line is for the agent's transcript; a chat at its message limit closes without it.
  (void)engine_.PostChat(ix.tenant, ix.id, core::ChatSender::kSystem, 0, {},
                         "The visitor left the chat.");
  return engine_.Abandon(ix.id);
}

void ChatService::Typing(const core::Interaction& ix, core::ChatSender from, bool typing) {
  if (!typing_sink_ || !ix.Live()) return;
  if (!Take(typing_buckets_, ix.id * 4 + static_cast<std::uint64_t>(from), options_.typing_per_second,
            options_.typing_per_second))
    return;
  typing_sink_(ix.tenant, ix.id, from, typing);
}

std::string ChatService::ErrorJsonCode(const Error& e, core::ChatSender sender) {
  if (e.code == ErrorCode::kBadRequest && e.message.starts_with("message too long"))
    return "message_too_long";
  if (e.code == ErrorCode::kConflict && sender == core::ChatSender::kVisitor) return "chat_ended";
  return ErrorCodeName(e.code);
}

json ChatService::MessageJson(const core::Interaction& ix, const core::ChatLine& line) const {
  json agent = nullptr;
  if (line.agent != 0) {
    const core::User* u = engine_.FindUser(line.agent);
    agent = json{{"id", line.agent}, {"name", u != nullptr ? u->name : std::string()}};
  }
  return json{{"seq", line.seq},
              {"chat", ix.id},
              {"sender", core::Name(line.sender)},
              {"agent", agent},
              {"text", line.text},
              {"client_id", line.client_id.empty() ? json(nullptr) : json(line.client_id)},
              {"ts", line.ts}};
}

json ChatService::MessagesJson(const core::Interaction& ix, std::uint64_t since,
                               std::uint64_t durable) const {
  json out = json::array();
  const core::ChatLog* log = engine_.FindChat(ix.tenant, ix.id);
  if (log == nullptr) return out;
  for (std::size_t i = since; i < log->lines.size(); ++i) {
    if (log->lines[i].event_seq > durable) break;
    out.push_back(MessageJson(ix, log->lines[i]));
  }
  return out;
}

ChatService::Serving ChatService::ServingOf(core::TenantId t, core::QueueId q) const {
  Serving s;
  for (core::UserId u : engine_.MembersOf(t)) {
    const core::Agent* a = engine_.FindAgent(u);
    if (a == nullptr || a->tenant != t || a->presence == core::Presence::kOffline) continue;
    const bool serves = std::any_of(a->fits.begin(), a->fits.end(), [&](const core::QueueFit& f) {
      return f.queue == q && f.level >= 1;
    });
    if (!serves) continue;
    s.logged_in++;
    switch (a->activity) {
      case core::Activity::kAvailable:
      case core::Activity::kReserved:
      case core::Activity::kBusy:
      case core::Activity::kWrapUp:
        s.chat_slots += a->capacity[core::Channel::kChat];
        break;
      default: break;
    }
  }
  return s;
}

std::unordered_map<core::InteractionId, ChatService::Wait> ChatService::WaitsIn(
    core::TenantId t, core::QueueId q, const std::vector<core::InteractionId>& offered) const {
  std::unordered_map<core::InteractionId, Wait> out;
  const Serving s = ServingOf(t, q);
  double aht = 0;
  if (s.chat_slots > 0) {
    aht = engine_.Stats(t, q).aht_s;
    if (aht <= 0) aht = kDefaultChatAhtS;
  }
  auto put = [&](core::InteractionId id, int position) {
    Wait& w = out[id];
    w.position = position;
    if (s.chat_slots > 0)
      w.wait_s = static_cast<std::int64_t>(std::ceil(position * aht / s.chat_slots));
  };
  // An offered chat is next: an agent is about to take it.
  for (core::InteractionId id : offered) put(id, 1);
  int position = 0;
  for (const core::Interaction* ix : engine_.ChatsWaiting(t, q)) put(ix->id, ++position);
  return out;
}

ChatService::Wait ChatService::WaitOf(const core::Interaction& ix) const {
  if (ix.state != core::InteractionState::kOffered && ix.state != core::InteractionState::kQueued)
    return {};
  std::vector<core::InteractionId> offered;
  if (ix.state == core::InteractionState::kOffered) offered.push_back(ix.id);
  auto waits = WaitsIn(ix.tenant, ix.queue, offered);
  auto it = waits.find(ix.id);
  return it == waits.end() ? Wait{} : it->second;
}

json ChatService::StateJson(const core::Interaction& ix) const { return StateJson(ix, WaitOf(ix)); }

json ChatService::StateJson(const core::Interaction& ix, const Wait& w) const {
  const core::Tenant* t = engine_.FindTenant(ix.tenant);
  json agent = nullptr;
  if (ix.agent != 0 && ix.state != core::InteractionState::kOffered &&
      ix.state != core::InteractionState::kQueued) {
    const core::User* u = engine_.FindUser(ix.agent);
    agent = json{{"id", ix.agent}, {"name", u != nullptr ? u->name : std::string()}};
  }
  const core::ChatLog* log = engine_.FindChat(ix.tenant, ix.id);
  return json{{"id", ix.id},
              {"tenant", t != nullptr ? t->slug : std::string()},
              {"queue", ix.queue},
              {"state", core::Name(ix.state)},
              {"position", w.position ? json(*w.position) : json(nullptr)},
              {"estimated_wait_s", w.wait_s ? json(*w.wait_s) : json(nullptr)},
              {"agent", agent},
              {"last_seq", log != nullptr ? log->last_seq() : 0}};
}

json ChatService::WidgetStatus(const core::Tenant& tenant, const core::Queue& queue) const {
  const bool open = engine_.IsOpen(queue, engine_.now());
  const Serving s = ServingOf(tenant.id, queue.id);
  const bool available = open && s.logged_in > 0;
  json wait = nullptr;
  if (available && s.chat_slots > 0) {
    const double aht = engine_.Stats(tenant.id, queue.id).aht_s;
    const std::size_t waiting = engine_.ChatsWaiting(tenant.id, queue.id).size();
    wait = static_cast<std::int64_t>(
        std::ceil((waiting + 1) * (aht > 0 ? aht : kDefaultChatAhtS) / s.chat_slots));
    // Nobody waiting and room with an agent: answered at once.
    if (waiting == 0 && engine_.Stats(tenant.id, queue.id).agents[static_cast<int>(core::Activity::kAvailable)] > 0)
      wait = 0;
  }
  return json{{"tenant", {{"slug", tenant.slug}, {"name", tenant.name}}},
              {"queue", queue.id},
              {"open", open},
              {"agents", s.logged_in},
              {"available", available},
              {"estimated_wait_s", wait},
              {"leave_message", !available}};
}

}  // namespace homeline::api
