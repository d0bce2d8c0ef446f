#include "adapters/api/event_hub.h"

#include <nlohmann/json.hpp>

#include "adapters/api/api.h"
#include "adapters/api/chat_service.h"
#include "adapters/api/views.h"
#include "core/engine.h"

namespace homeline::api {

using nlohmann::json;

EventHub::EventHub(core::Engine& engine, Api& api) : engine_(engine), api_(api) {}

namespace {
bool OriginAllowed(const http::Request& req, const core::Tenant& tenant) {
  const std::string& origin = req.Header("origin");
  if (origin.empty()) return true;  // not a browser
  const std::string& host = req.Header("host");
  if (origin == "http://" + host || origin == "https://" + host) return true;
  for (const std::string& o : tenant.settings.allowed_origins)
    if (o == origin) return true;
  return false;
}

std::string Frame(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }
}  // namespace

void EventHub::Forget(std::map<std::uint64_t, Sub>::iterator it) {
  auto u = by_user_.find(it->second.user);
  std::erase(u->second, &it->second);
  if (u->second.empty()) by_user_.erase(u);
  subs_.erase(it);
}

template <typename Fn>
void EventHub::ForUser(core::TenantId t, core::UserId u, Fn&& fn) {
  auto it = by_user_.find(u);
  if (it == by_user_.end()) return;
  for (Sub* s : it->second)
    if (s->tenant == t) fn(*s);
}

void EventHub::Open(std::shared_ptr<http::WsPeer> peer, const http::Request& upgrade) {
  auto fail = [&](const char* code, const char* message) {
    peer->Send(Frame(json{{"type", "error"}, {"error", {{"code", code}, {"message", message}}}}));
    peer->Close();
  };
  auto user = api_.Authenticate(upgrade);
  if (!user) return fail("unauthorized", "missing, expired or revoked token");
  auto tenant = api_.ResolveTenant(*user, upgrade.QueryParam("tenant"));
  if (!tenant) return fail("not_found", "no such tenant");
  if (!OriginAllowed(upgrade, *engine_.FindTenant(tenant->first)))
    return fail("forbidden", "origin not allowed");
  Sub sub;
  sub.peer = peer;
  sub.user = *user;
  sub.session = api_.SessionKey(upgrade);
  sub.tenant = tenant->first;
  sub.supervisor = tenant->second != core::Role::kAgent;
  const std::uint64_t id = peer->id();
  engine_.Connected(*user);
  peer->Send(Frame(json{{"type", "hello"},
                        {"user", *user},
                        {"tenant", tenant->first},
                        {"role", core::Name(tenant->second)},
                        {"agent", AgentJson(engine_, tenant->first, *user)}}));
  Sub& added = subs_[id] = std::move(sub);
  by_user_[*user].push_back(&added);
  // A reconnecting desktop must see the offers it may have missed while away.
  const core::Agent* a = engine_.FindAgent(*user);
  if (a != nullptr && a->tenant == tenant->first) {
    for (core::InteractionId ix : a->work) SendInteraction(tenant->first, ix, true);
  }
  // Chats in hand: the messages after the socket's chat_since (default: all of them).
  std::map<core::InteractionId, std::uint64_t> since;
  const std::string list = upgrade.QueryParam("chat_since");
  for (std::size_t i = 0; i < list.size();) {
    std::size_t comma = list.find(',', i);
    if (comma == std::string::npos) comma = list.size();
    const std::string pair = list.substr(i, comma - i);
    const std::size_t colon = pair.find(':');
    if (colon != std::string::npos && since.size() < 1000) {
      const auto chat = std::strtoull(pair.substr(0, colon).c_str(), nullptr, 10);
      const auto seq = std::strtoull(pair.substr(colon + 1).c_str(), nullptr, 10);
      if (chat != 0) since[chat] = seq;
    }
    i = comma + 1;
  }
  Sub& s = added;
  if (a != nullptr && a->tenant == tenant->first) {
    for (core::InteractionId ix_id : a->work) {
      const core::Interaction* ix = engine_.FindInteraction(tenant->first, ix_id);
      if (ix == nullptr || engine_.FindChat(tenant->first, ix_id) == nullptr) continue;
      auto it = since.find(ix_id);
      s.chat_sent[ix_id] = it == since.end() ? 0 : it->second;
      DeliverChat(s, *ix);
    }
  }
  dirty_tenants_.insert(tenant->first);
}

void EventHub::ChatFrame(Sub& s, const json& msg) { s.peer->Send(Frame(msg)); }

void EventHub::DeliverChat(Sub& s, const core::Interaction& ix) {
  if (ix.agent != s.user || ix.state == core::InteractionState::kOffered ||
      ix.state == core::InteractionState::kQueued)
    return;
  const core::ChatLog* log = engine_.FindChat(s.tenant, ix.id);
  if (log == nullptr) return;
  std::uint64_t& sent = s.chat_sent[ix.id];
  for (std::size_t i = sent; i < log->lines.size(); ++i) {
    const core::ChatLine& line = log->lines[i];
    if (line.event_seq > durable_) break;
    ChatFrame(s, json{{"type", "chat.message"},
                      {"interaction", ix.id},
                      {"message", api_.chat().MessageJson(ix, line)}});
    sent = line.seq;
  }
}

void EventHub::VisitorTyping(core::TenantId t, core::InteractionId id, bool typing) {
  const core::Interaction* ix = engine_.FindInteraction(t, id);
  if (ix == nullptr || ix->agent == 0 || ix->state != core::InteractionState::kConnected) return;
  std::string frame;
  ForUser(t, ix->agent, [&](Sub& s) {
    if (frame.empty())
      frame = Frame(json{{"type", "chat.typing"}, {"interaction", id}, {"typing", typing}, {"from", "visitor"}});
    s.peer->Send(frame);
  });
}

void EventHub::Message(std::uint64_t peer_id, const std::string& text) {
  auto it = subs_.find(peer_id);
  if (it == subs_.end()) return;
  engine_.Touch(it->second.user);
  json msg = json::parse(text, nullptr, false);
  if (msg.is_discarded() || !msg.is_object() || !msg.contains("type") || !msg["type"].is_string()) {
    it->second.peer->Send(Frame(json{{"type", "error"}, {"error", {{"code", "bad_request"}, {"message", "expected a JSON object with a type"}}}}));
    return;
  }
  Sub& s = it->second;
  const std::string type = msg["type"].get<std::string>();
  if (type == "ping") {
    s.peer->Send(R"({"type":"pong"})");
    return;
  }
  if (type != "chat.send" && type != "chat.typing") return;  // unknown types: ignored, as before
  auto error = [&](const std::string& code, const std::string& message, const json& extra) {
    json j{{"type", "error"}, {"error", {{"code", code}, {"message", message}}}};
    for (auto e = extra.begin(); e != extra.end(); ++e) j[e.key()] = e.value();
    s.peer->Send(Frame(j));
  };
  const json* ixv = msg.contains("interaction") ? &msg["interaction"] : nullptr;
  if (ixv == nullptr || !ixv->is_number_unsigned())
    return error("bad_request", "field 'interaction' must be an interaction id", json::object());
  const core::InteractionId id = ixv->get<core::InteractionId>();
  const core::Interaction* ix = engine_.FindInteraction(s.tenant, id);
  if (ix == nullptr || engine_.FindChat(s.tenant, id) == nullptr)
    return error("not_found", "no such chat", json{{"interaction", id}});
  if (ix->agent != s.user) return error("forbidden", "not your interaction", json{{"interaction", id}});
  if (type == "chat.typing") {
    bool typing = true;
    if (auto t = msg.find("typing"); t != msg.end() && t->is_boolean()) typing = t->get<bool>();
    if (ix->state == core::InteractionState::kConnected)
      api_.chat().Typing(*ix, core::ChatSender::kAgent, typing);
    return;
  }
  std::string client_id;
  if (auto c = msg.find("client_id"); c != msg.end() && !c->is_null()) {
    if (!c->is_string())
      return error("bad_request", "client_id must be a string", json{{"interaction", id}});
    client_id = c->get<std::string>();
  }
  const json extra{{"interaction", id}, {"client_id", client_id}};
  auto t = msg.find("text");
  if (t == msg.end() || !t->is_string()) return error("bad_request", "a message needs a text string", extra);
  auto posted = api_.chat().PostAgent(*ix, s.user, client_id, t->get<std::string>());
  if (!posted) {
    return error(ChatService::ErrorJsonCode(posted.error(), core::ChatSender::kAgent),
                 posted.error().message, extra);
  }
  if (posted->duplicate) {
    s.peer->Send(Frame(json{{"type", "chat.ack"}, {"interaction", id}, {"client_id", client_id},
                            {"seq", posted->seq}, {"duplicate", true}}));
  }
  // A new message comes back once durable (Publish), as every chat.message does.
}

void EventHub::Close(std::uint64_t peer_id) {
  auto it = subs_.find(peer_id);
  if (it == subs_.end()) return;
  engine_.Disconnected(it->second.user);
  Forget(it);
}

void EventHub::RecheckAccess() {
  for (auto it = subs_.begin(); it != subs_.end();) {
    Sub& s = it->second;
    const core::Membership* m = engine_.SessionUser(s.session) == s.user
                                    ? engine_.FindMember(s.tenant, s.user)
                                    : nullptr;
    if (m != nullptr) {
      s.supervisor = m->role != core::Role::kAgent;
      ++it;
      continue;
    }
    s.peer->Send(Frame(json{{"type", "error"},
                            {"error", {{"code", "unauthorized"}, {"message", "session ended or membership removed"}}}}));
    s.peer->Close();
    // Forgotten now, so nothing more reaches it; Close(peer_id) will find nothing to undo.
    engine_.Disconnected(s.user);
    Forget(it++);
  }
}

void EventHub::SendAgent(core::TenantId t, core::UserId u) {
  std::string frame;
  for (auto& [id, s] : subs_) {
    if (s.tenant != t || (!s.supervisor && s.user != u)) continue;
    if (frame.empty()) frame = Frame(json{{"type", "agent"}, {"agent", AgentJson(engine_, t, u)}});
    s.peer->Send(frame);
  }
}

void EventHub::AgentChanged(core::UserId u) {
  for (const auto& [t, role] : engine_.TenantsOf(u)) SendAgent(t, u);
}

void EventHub::SendInteraction(core::TenantId t, core::InteractionId id, bool offer) {
  const core::Interaction* ix = engine_.FindInteraction(t, id);
  if (ix == nullptr || ix->agent == 0) return;
  // An offer is pushed only while it still stands.
  if (offer && ix->state != core::InteractionState::kOffered) offer = false;
  std::string frames[2];  // as an agent, as a supervisor sees it
  ForUser(t, ix->agent, [&](Sub& s) {
    std::string& frame = frames[s.supervisor ? 1 : 0];
    if (frame.empty()) {
      json j{{"type", offer ? "offer" : "interaction"},
             {"interaction", api_.InteractionView(*ix, s.supervisor)}};
      if (offer) j["expires_in_ms"] = ix->offer_expires - engine_.now();
      frame = Frame(j);
    }
    s.peer->Send(frame);
  });
}

void EventHub::SendCall(core::TenantId t, core::InteractionId id, bool to_agent) {
  const core::Interaction* ix = engine_.FindInteraction(t, id);
  if (ix == nullptr) return;
  std::string frames[2];
  for (auto& [peer, s] : subs_) {
    if (s.tenant != t || !(s.supervisor || (to_agent && ix->agent != 0 && s.user == ix->agent)))
      continue;
    std::string& frame = frames[s.supervisor ? 1 : 0];
    if (frame.empty())
      frame = Frame(json{{"type", "interaction"}, {"interaction", api_.InteractionView(*ix, s.supervisor)}});
    s.peer->Send(frame);
  }
}

void EventHub::Publish(const std::vector<core::Event>& events) {
  if (subs_.empty()) {
    // Nobody to tell; only the monitor legs are followed, for a screen that connects later.
    for (const core::Event& e : events) {
      if (const auto* s = std::get_if<core::CdrLegStarted>(&e.body);
          s != nullptr && s->start->role == core::CdrRole::kSupervisor && s->start->interaction != 0)
        monitor_legs_[s->leg] = {e.tenant, s->start->interaction};
      else if (const auto* x = std::get_if<core::CdrLegEnded>(&e.body))
        monitor_legs_.erase(x->leg);
    }
    return;
  }
  // First, so that a peer that lost its access gets none of these events.
  for (const core::Event& e : events) {
    if (std::holds_alternative<core::SessionRevoked>(e.body) || std::holds_alternative<core::UserSet>(e.body) ||
        std::holds_alternative<core::MemberSet>(e.body) || std::holds_alternative<core::MemberRemoved>(e.body)) {
      RecheckAccess();
      break;
    }
  }
  std::set<std::pair<core::TenantId, core::UserId>> agents;
  std::set<std::pair<core::TenantId, core::InteractionId>> chats;
  // Calls whose live state changed: for the agent too (hold, recording), or supervisors only.
  std::map<std::pair<core::TenantId, core::InteractionId>, bool> calls;
  auto call = [&](core::TenantId t, core::InteractionId id, bool to_agent) {
    bool& agent = calls[{t, id}];
    agent = agent || to_agent;
  };
  for (const core::Event& e : events) {
    std::visit(
        [&](const auto& b) {
          using B = std::decay_t<decltype(b)>;
          if constexpr (std::is_same_v<B, core::PresenceChanged>) {
            agents.insert({e.tenant, b.user});
          } else if constexpr (std::is_same_v<B, core::Offered>) {
            SendInteraction(e.tenant, b.id, true);
            agents.insert({e.tenant, b.agent});
          } else if constexpr (std::is_same_v<B, core::OfferEnded>) {
            agents.insert({e.tenant, b.agent});
            ForUser(e.tenant, b.agent, [&](Sub& s) {
              s.peer->Send(Frame(json{{"type", "offer_ended"}, {"interaction", b.id}, {"result", b.result == core::OfferResult::kRejected ? "rejected" : b.result == core::OfferResult::kExpired ? "expired" : "withdrawn"}}));
            });
          } else if constexpr (std::is_same_v<B, core::ChatMessage>) {
            chats.insert({e.tenant, b.id});
          } else if constexpr (std::is_same_v<B, core::CallHold>) {
            call(e.tenant, b.interaction, true);
          } else if constexpr (std::is_same_v<B, core::RecordingStarted>) {
            call(e.tenant, b.interaction, true);
          } else if constexpr (std::is_same_v<B, core::RecordingPaused>) {
            // Its end comes with the call's (its agent leg's) end or transfer, in their frames.
            if (const core::Recording* r = engine_.FindRecording(e.tenant, b.id))
              call(e.tenant, r->interaction, true);
          } else if constexpr (std::is_same_v<B, core::MonitorStarted> ||
                               std::is_same_v<B, core::MonitorChanged> ||
                               std::is_same_v<B, core::MonitorEnded>) {
            call(e.tenant, b.interaction, false);
          } else if constexpr (std::is_same_v<B, core::CdrLegStarted>) {
            if (b.start->role == core::CdrRole::kSupervisor && b.start->interaction != 0) {
              monitor_legs_[b.leg] = {e.tenant, b.start->interaction};
              call(e.tenant, b.start->interaction, false);
            }
          } else if constexpr (std::is_same_v<B, core::CdrLegEnded>) {
            if (auto it = monitor_legs_.find(b.leg); it != monitor_legs_.end()) {
              call(it->second.first, it->second.second, false);
              monitor_legs_.erase(it);
            }
          } else if constexpr (std::is_same_v<B, core::NumberConsultStarted> ||
                               std::is_same_v<B, core::NumberConsultAnswered> ||
                               std::is_same_v<B, core::NumberConsultEnded>) {
            // A consultation with a number rang, answered or ended (its result): the call's
            // agent sees it at once (decisions.md 58).
            const core::Interaction* ix = engine_.FindInteraction(e.tenant, b.interaction);
            const core::NumberConsult* k = engine_.NumberConsultOf(e.tenant, b.interaction);
            if (ix != nullptr && ix->agent != 0 && k != nullptr) {
              const std::string frame = Frame(json{{"type", "consult_number"},
                                                   {"interaction", b.interaction},
                                                   {"consult_number", NumberConsultJson(*k)}});
              ForUser(e.tenant, ix->agent, [&](Sub& s) { s.peer->Send(frame); });
            }
          } else if constexpr (std::is_same_v<B, core::Accepted> || std::is_same_v<B, core::OutboundStarted> ||
                               std::is_same_v<B, core::ContactEnded> ||
                               std::is_same_v<B, core::WrapUpExtended> || std::is_same_v<B, core::Completed> ||
                               std::is_same_v<B, core::Abandoned> || std::is_same_v<B, core::Closed> ||
                               std::is_same_v<B, core::InteractionMoved>) {
            const core::Interaction* ix = engine_.FindInteraction(e.tenant, b.id);
            if (ix != nullptr && ix->agent != 0) {
              SendInteraction(e.tenant, b.id, false);
              agents.insert({e.tenant, ix->agent});
              // An accepted chat's transcript so far goes to the agent's sockets now.
              if (std::is_same_v<B, core::Accepted>) chats.insert({e.tenant, b.id});
            }
          }
        },
        e.body);
    if (e.tenant != 0) dirty_tenants_.insert(e.tenant);
  }
  for (const auto& [t, u] : agents) SendAgent(t, u);
  for (const auto& [key, to_agent] : calls) SendCall(key.first, key.second, to_agent);
  for (const auto& [t, id] : chats) {
    const core::Interaction* ix = engine_.FindInteraction(t, id);
    if (ix == nullptr || ix->agent == 0) continue;
    ForUser(t, ix->agent, [&](Sub& s) { DeliverChat(s, *ix); });
  }
}

void EventHub::Tick(bool changed_only) {
  if (subs_.empty()) {
    dirty_tenants_.clear();
    return;
  }
  if (!changed_only) RecheckAccess();  // sessions also end by expiring, without an event
  std::map<core::TenantId, std::string> frames;
  for (auto& [id, s] : subs_) {
    if (changed_only && !dirty_tenants_.count(s.tenant)) continue;
    auto it = frames.find(s.tenant);
    if (it == frames.end()) {
      json queues = json::array();
      for (const core::Queue* q : engine_.Queues(s.tenant)) {
        json st = QueueStatsJson(engine_, *q);
        st["longest_wait_s"] = std::floor(st["longest_wait_s"].get<double>());
        queues.push_back(std::move(st));
      }
      it = frames.emplace(s.tenant, Frame(json{{"type", "queues"}, {"queues", queues}})).first;
    }
    if (it->second != s.last_queues) {
      s.last_queues = it->second;
      s.peer->Send(it->second);
    }
  }
  dirty_tenants_.clear();
}

}  // namespace homeline::api
