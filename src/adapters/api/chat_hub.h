#pragma once
// The chat widget's WebSocket (/api/v1/public/chats/{id}/ws?token=..&since=N): one visitor
// socket per chat (several if the visitor has several tabs open).
//
// Protocol: see docs/api.md, "Visitor WebSocket". In short: "hello" with the chat's state,
// then the messages after `since`, then live "message", "typing" and "state" frames; the
// visitor sends "message" (with a client_id), "typing", "close" and "ping".
//
// Delivery: a message goes out only once its event is durable (Publish), to every socket of
// the chat, each at most once and in seq order: every socket keeps the last seq it was sent.
// A visitor's own message coming back is its acknowledgement.
//
// Threads: engine thread only. Peers are held by id; a message to a closed peer is a no-op.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "adapters/api/chat_service.h"
#include "adapters/http/http_server.h"
#include "core/events.h"

namespace homeline::api {

class ChatHub {
 public:
  ChatHub(core::Engine& engine, ChatService& chat);

  // Whether the path is a visitor chat socket's.
  static bool IsChatSocketPath(const std::string& path);

  void Open(std::shared_ptr<http::WsPeer> peer, const http::Request& upgrade);
  // False when the peer is not a chat socket (then it is the event hub's).
  bool Message(std::uint64_t peer_id, const std::string& text);
  bool Close(std::uint64_t peer_id);

  // Every event up to seq is durable (call before Publish, and once after replay).
  void SetDurable(std::uint64_t seq) { durable_ = std::max(durable_, seq); }
  // Events now durable: deliver messages, push state changes.
  void Publish(const std::vector<core::Event>& events);
  // The agent is typing in chat id.
  void AgentTyping(core::InteractionId id, bool typing);
  // Refreshes the state (position, estimated wait) of every waiting visitor; about once a
  // second. A frame equal to the last one a socket got is not sent again.
  void Tick();

  std::size_t connections() const { return peers_.size(); }

 private:
  struct Peer {
    std::shared_ptr<http::WsPeer> peer;
    core::InteractionId chat = 0;
    std::uint64_t sent = 0;  // highest message seq sent to this socket
    std::string last_state;  // last "state" frame, to skip repeats
  };
  // Sends the chat's durable messages after p.sent, in order.
  void Deliver(Peer& p, const core::Interaction& ix);
  void SendState(Peer& p, const nlohmann::json& state);
  void SendError(Peer& p, const std::string& code, const std::string& message,
                 const std::string& client_id = {});

  core::Engine& engine_;
  ChatService& chat_;
  std::uint64_t durable_ = 0;
  std::unordered_map<std::uint64_t, Peer> peers_;
  std::unordered_multimap<core::InteractionId, std::uint64_t> by_chat_;
};

}  // namespace homeline::api
