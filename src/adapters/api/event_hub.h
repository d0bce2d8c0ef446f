#pragma once
// The WebSocket event stream (/api/v1/events): desktops and wallboards subscribe to one tenant
// and get pushed offers, their interactions, agents' states and queue statistics.
//
// Protocol (JSON text frames): the server sends {"type":"hello",...} on open, then
// "offer", "interaction", "agent", "queues" messages; the client may send {"type":"ping"} and
// gets {"type":"pong"}. Web chats: the assigned agent's sockets get "chat.message" (each
// message once per socket, in seq order, once durable; from acceptance on, and after
// ?chat_since=ID:SEQ,... on connect) and "chat.typing"; the agent may send "chat.send" and
// "chat.typing" (docs/api.md). Authentication is the session cookie, a bearer header or ?token=;
// the tenant is ?tenant=slug-or-id. A browser Origin must be the server itself or one of the
// tenant's allowed origins. A peer is closed (after an "error" message) when its session ends
// or its user leaves the tenant.
//
// Threads: engine thread only. Peers are held by id; a message to a closed peer is a no-op.

#include <cstdint>
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/http/http_server.h"
#include "core/events.h"

namespace homeline::core {
class Engine;
struct Interaction;
}

namespace homeline::api {

class Api;
class ChatService;

class EventHub {
 public:
  EventHub(core::Engine& engine, Api& api);

  void Open(std::shared_ptr<http::WsPeer> peer, const http::Request& upgrade);
  void Message(std::uint64_t peer_id, const std::string& text);
  void Close(std::uint64_t peer_id);

  // Every event up to seq is durable (call before Publish, and once after replay).
  void SetDurable(std::uint64_t seq) { durable_ = std::max(durable_, seq); }
  // The visitor of chat id is typing: tell its agent.
  void VisitorTyping(core::TenantId t, core::InteractionId id, bool typing);

  // Events now durable: push what they changed to the peers that may see it.
  void Publish(const std::vector<core::Event>& events);
  // Something of the agent that is not an event changed (its SIP phone registered or not):
  // its desktop and its tenants' supervisors get the agent frame again.
  void AgentChanged(core::UserId u);
  // Pushes queue statistics: of the tenants that had events since the last call (changed_only),
  // or of every subscribed tenant (waiting times grow without events; call about once a
  // second). A frame equal to the last one a peer got is not sent again.
  void Tick(bool changed_only);
  bool HasChanges() const { return !dirty_tenants_.empty(); }

  std::size_t connections() const { return subs_.size(); }

 private:
  struct Sub {
    std::shared_ptr<http::WsPeer> peer;
    core::UserId user = 0;
    std::string session;  // Api::SessionKey of the upgrade request
    core::TenantId tenant = 0;
    bool supervisor = false;
    std::string last_queues;  // last stats frame sent, to skip repeats
    // Chats whose messages this socket gets: the highest seq sent, per chat.
    std::map<core::InteractionId, std::uint64_t> chat_sent;
  };
  // Sends the chat's durable messages after the socket's last seq, in order, if the socket's
  // user is the chat's agent (offered chats excluded).
  void DeliverChat(Sub& s, const core::Interaction& ix);
  void ChatFrame(Sub& s, const nlohmann::json& msg);
  // Closes the peers whose session ended (logout, expiry, disabled user) or whose user left
  // the tenant, and follows role changes.
  void RecheckAccess();
  void SendAgent(core::TenantId t, core::UserId u);
  void SendInteraction(core::TenantId t, core::InteractionId id, bool offer);
  // A call's live state changed (hold, recording, monitor): its view goes to the tenant's
  // supervisors, and with to_agent to the call's agent too (monitors are not shown to agents,
  // so a monitor's change sends them nothing: docs/decisions.md 55). One frame per socket.
  void SendCall(core::TenantId t, core::InteractionId id, bool to_agent);
  // The sockets of user u subscribed to tenant t: what goes to one agent costs O(that
  // agent's sockets), not O(all sockets).
  template <typename Fn>
  void ForUser(core::TenantId t, core::UserId u, Fn&& fn);
  void Forget(std::map<std::uint64_t, Sub>::iterator it);

  core::Engine& engine_;
  Api& api_;
  std::map<std::uint64_t, Sub> subs_;
  // subs_ by user (a node of subs_ stays put until erased; Forget removes it here first).
  std::unordered_map<core::UserId, std::vector<Sub*>> by_user_;
  std::set<core::TenantId> dirty_tenants_;
  // Supervisors' monitor legs ringing or joined (cdr.leg_started with role supervisor), so
  // that their end, whose event names only the leg, reaches the supervisors' screens.
  std::map<core::CdrLegId, std::pair<core::TenantId, core::InteractionId>> monitor_legs_;
  std::uint64_t durable_ = 0;
};

}  // namespace homeline::api
