#include "adapters/api/chat_hub.h"

#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/engine.h"

namespace homeline::api {

using nlohmann::json;

namespace {

constexpr std::string_view kPrefix = "/api/v1/public/chats/";
constexpr std::string_view kSuffix = "/ws";

std::string Frame(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The chat id text of a socket path, or "" when the path is not a chat socket's.
std::string ChatIdOf(const std::string& path) {
  if (!path.starts_with(kPrefix) || !path.ends_with(kSuffix)) return {};
  if (path.size() <= kPrefix.size() + kSuffix.size()) return {};
  std::string id = path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
  if (id.find('/') != std::string::npos) return {};
  return id;
}

}  // namespace

ChatHub::ChatHub(core::Engine& engine, ChatService& chat) : engine_(engine), chat_(chat) {}

bool ChatHub::IsChatSocketPath(const std::string& path) { return !ChatIdOf(path).empty(); }

void ChatHub::SendError(Peer& p, const std::string& code, const std::string& message,
                        const std::string& client_id) {
  json j{{"type", "error"}, {"error", {{"code", code}, {"message", message}}}};
  if (!client_id.empty()) j["client_id"] = client_id;
  p.peer->Send(Frame(j));
}

void ChatHub::Open(std::shared_ptr<http::WsPeer> peer, const http::Request& upgrade) {
  auto fail = [&](const char* code, const std::string& message) {
    peer->Send(Frame(json{{"type", "error"}, {"error", {{"code", code}, {"message", message}}}}));
    peer->Close();
  };
  const core::Interaction* ix = chat_.VisitorChat(ChatIdOf(upgrade.path), upgrade.QueryParam("token"));
  if (ix == nullptr) return fail("not_found", "no such chat");
  const core::Tenant* tenant = engine_.FindTenant(ix->tenant);
  if (tenant == nullptr || !ChatService::OriginAllowed(upgrade, *tenant))
    return fail("origin_not_allowed", "this site is not allowed to use this chat");
  std::uint64_t since = 0;
  if (const std::string s = upgrade.QueryParam("since"); !s.empty()) {
    char* end = nullptr;
    since = std::strtoull(s.c_str(), &end, 10);
    if (end == s.c_str() || *end != '\0' || s[0] == '-')
      return fail("bad_request", "since must be a message seq (an integer >= 0)");
  }
  Peer p;
  p.peer = std::move(peer);
  p.chat = ix->id;
  p.sent = since;
  const std::uint64_t id = p.peer->id();
  const json state = chat_.StateJson(*ix);
  p.last_state = Frame(json{{"type", "state"}, {"chat", state}});
  p.peer->Send(Frame(json{{"type", "hello"}, {"chat", state}}));
  Deliver(p, *ix);
  by_chat_.emplace(ix->id, id);
  peers_[id] = std::move(p);
}

void ChatHub::Deliver(Peer& p, const core::Interaction& ix) {
  const core::ChatLog* log = engine_.FindChat(ix.tenant, ix.id);
  if (log == nullptr) return;
  for (std::size_t i = p.sent; i < log->lines.size(); ++i) {
    const core::ChatLine& line = log->lines[i];
    if (line.event_seq > durable_) break;
    p.peer->Send(Frame(json{{"type", "message"}, {"message", chat_.MessageJson(ix, line)}}));
    p.sent = line.seq;
  }
}

void ChatHub::SendState(Peer& p, const json& state) {
  std::string frame = Frame(json{{"type", "state"}, {"chat", state}});
  if (frame == p.last_state) return;
  p.peer->Send(frame);
  p.last_state = std::move(frame);
}

bool ChatHub::Message(std::uint64_t peer_id, const std::string& text) {
  auto it = peers_.find(peer_id);
  if (it == peers_.end()) return false;
  Peer& p = it->second;
  const core::Interaction* ix = engine_.FindChatInteraction(p.chat);
  if (ix == nullptr) {
    SendError(p, "not_found", "the chat is gone");
    return true;
  }
  json msg = json::parse(text, nullptr, false);
  if (msg.is_discarded() || !msg.is_object() || !msg.contains("type") || !msg["type"].is_string()) {
    SendError(p, "bad_request", "expected a JSON object with a type");
    return true;
  }
  const std::string type = msg["type"].get<std::string>();
  if (type == "ping") {
    p.peer->Send(R"({"type":"pong"})");
  } else if (type == "message") {
    std::string client_id;
    if (auto c = msg.find("client_id"); c != msg.end() && !c->is_null()) {
      if (!c->is_string()) return SendError(p, "bad_request", "client_id must be a string"), true;
      client_id = c->get<std::string>();
    }
    auto t = msg.find("text");
    if (t == msg.end() || !t->is_string())
      return SendError(p, "bad_request", "a message needs a text string", client_id), true;
    auto posted = chat_.PostVisitor(*ix, client_id, t->get<std::string>());
    if (!posted) {
      SendError(p, ChatService::ErrorJsonCode(posted.error(), core::ChatSender::kVisitor),
                posted.error().message, client_id);
    } else if (posted->duplicate) {
      p.peer->Send(Frame(json{{"type", "ack"}, {"client_id", client_id}, {"seq", posted->seq}, {"duplicate", true}}));
    }
    // A new message comes back to every socket of the chat once it is durable (Publish).
  } else if (type == "typing") {
    bool typing = true;
    if (auto t = msg.find("typing"); t != msg.end() && t->is_boolean()) typing = t->get<bool>();
    chat_.Typing(*ix, core::ChatSender::kVisitor, typing);
  } else if (type == "close") {
    if (auto st = chat_.Close(*ix); !st) SendError(p, ErrorCodeName(st.error().code), st.error().message);
  } else {
    SendError(p, "bad_request", "unknown type '" + type + "'");
  }
  return true;
}

bool ChatHub::Close(std::uint64_t peer_id) {
  auto it = peers_.find(peer_id);
  if (it == peers_.end()) return false;
  auto range = by_chat_.equal_range(it->second.chat);
  for (auto b = range.first; b != range.second; ++b) {
    if (b->second == peer_id) {
      by_chat_.erase(b);
      break;
    }
  }
  peers_.erase(it);
  return true;
}

void ChatHub::Publish(const std::vector<core::Event>& events) {
  if (peers_.empty()) return;
  std::set<core::InteractionId> delivered, changed;
  for (const core::Event& e : events) {
    std::visit(
        [&](const auto& b) {
          using B = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<B, core::ChatMessage>) {
            delivered.insert(b.id);
          } else if constexpr (std::is_same_v<B, core::Offered> || std::is_same_v<B, core::OfferEnded> ||
                               std::is_same_v<B, core::Accepted> || std::is_same_v<B, core::ContactEnded> ||
                               std::is_same_v<B, core::Completed> || std::is_same_v<B, core::Abandoned> ||
                               std::is_same_v<B, core::Closed> || std::is_same_v<B, core::InteractionMoved>) {
            changed.insert(b.id);
          }
        },
        e.body);
  }
  // Messages first, in seq order per chat (Deliver sends what is durable after each socket's
  // last seq), then the state: a visitor reads the agent's greeting with the agent's name.
  for (core::InteractionId id : delivered) {
    if (!by_chat_.count(id)) continue;
    const core::Interaction* ix = engine_.FindChatInteraction(id);
    if (ix == nullptr) continue;
    auto range = by_chat_.equal_range(id);
    for (auto it = range.first; it != range.second; ++it) Deliver(peers_.at(it->second), *ix);
  }
  for (core::InteractionId id : changed) {
    if (!by_chat_.count(id)) continue;
    const core::Interaction* ix = engine_.FindChatInteraction(id);
    if (ix == nullptr) continue;
    const json state = chat_.StateJson(*ix);
    auto range = by_chat_.equal_range(id);
    for (auto it = range.first; it != range.second; ++it) SendState(peers_.at(it->second), state);
  }
}

void ChatHub::AgentTyping(core::InteractionId id, bool typing) {
  if (!by_chat_.count(id)) return;
  const std::string frame = Frame(json{{"type", "typing"}, {"typing", typing}, {"from", "agent"}});
  auto range = by_chat_.equal_range(id);
  for (auto it = range.first; it != range.second; ++it) peers_.at(it->second).peer->Send(frame);
}

void ChatHub::Tick() {
  chat_.SweepAbsentVisitors([this](core::InteractionId id) { return by_chat_.count(id) > 0; });
  // Waiting visitors by queue, so each queue's line is looked at once.
  std::map<std::pair<core::TenantId, core::QueueId>, std::vector<core::InteractionId>> offered;
  std::set<std::pair<core::TenantId, core::QueueId>> queues;
  for (auto& [chat, peer_id] : by_chat_) {
    const core::Interaction* ix = engine_.FindChatInteraction(chat);
    if (ix == nullptr) continue;
    if (ix->state == core::InteractionState::kQueued) queues.insert({ix->tenant, ix->queue});
    if (ix->state == core::InteractionState::kOffered) {
      auto& v = offered[{ix->tenant, ix->queue}];
      if (v.empty() || v.back() != chat) v.push_back(chat);
      queues.insert({ix->tenant, ix->queue});
    }
  }
  for (const auto& [tenant, queue] : queues) {
    const auto waits = chat_.WaitsIn(tenant, queue, offered[{tenant, queue}]);
    for (const auto& [chat, wait] : waits) {
      if (!by_chat_.count(chat)) continue;
      const core::Interaction* ix = engine_.FindChatInteraction(chat);
      if (ix == nullptr) continue;
      const json state = chat_.StateJson(*ix, wait);
      auto range = by_chat_.equal_range(chat);
      for (auto it = range.first; it != range.second; ++it) SendState(peers_.at(it->second), state);
    }
  }
}

}  // namespace homeline::api
