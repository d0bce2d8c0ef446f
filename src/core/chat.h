#pragma once
// Web chat transcripts as the engine keeps them (Engine::FindChat). A chat is an interaction of
// channel chat plus this log: the visitor's token hash and the messages, numbered 1, 2, 3...
// in the order they were committed. Built only by applying chat.started and chat.message
// events, so a transcript after a restart is the one that was committed.

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "common/time.h"
#include "core/types.h"

namespace homeline::core {

// Longest message text, in bytes of UTF-8, after trimming surrounding whitespace.
constexpr std::size_t kMaxChatText = 4000;
// Longest client-supplied message id (idempotency key).
constexpr std::size_t kMaxChatClientId = 64;
// Most messages one chat may hold: a bound on the memory one conversation can take.
constexpr std::size_t kMaxChatMessages = 10000;

// Trims the text's surrounding whitespace and checks it and the client id against the limits
// above: kBadRequest (an over-long text's message starts with "message too long").
Status CheckChatText(std::string& text, const std::string& client_id);

struct ChatLine {
  std::uint64_t seq = 0;        // in the chat: 1, 2, 3...
  std::uint64_t event_seq = 0;  // of its chat.message event in the store (global order)
  TimeMs ts = 0;
  ChatSender sender = ChatSender::kVisitor;
  UserId agent = 0;
  std::string client_id;
  std::string text;
};

struct ChatLog {
  std::string token_hash;
  std::vector<ChatLine> lines;  // lines[i].seq == i + 1
  // (sender, client_id) -> seq: a message sent again with the same id is not stored twice.
  // Keyed by the sender's name, a NUL, and the id; the agent side is shared by the agents.
  std::unordered_map<std::string, std::uint64_t> by_client_id;

  std::uint64_t last_seq() const { return lines.size(); }
  static std::string ClientKey(ChatSender sender, const std::string& client_id) {
    return std::string(Name(sender)) + '\0' + client_id;
  }
};

}  // namespace homeline::core
