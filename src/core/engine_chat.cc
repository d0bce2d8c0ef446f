// Web chat in the engine: chats are interactions of channel chat with a log of messages
// (core/chat.h). Kept apart from engine.cc: nothing here touches routing; a chat is routed as
// any other contact of its channel.

#include <algorithm>
#include <string>
#include <utility>

#include "core/engine.h"

namespace homeline::core {

namespace {

std::string Trim(std::string s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::size_t b = 0, e = s.size();
  while (b < e && space(s[b])) ++b;
  while (e > b && space(s[e - 1])) --e;
  if (b == 0 && e == s.size()) return s;
  return s.substr(b, e - b);
}

}  // namespace

Status CheckChatText(std::string& text, const std::string& client_id) {
  text = Trim(std::move(text));
  if (text.empty()) return Fail(ErrorCode::kBadRequest, "message text is empty");
  if (text.size() > kMaxChatText)
    return Fail(ErrorCode::kBadRequest, "message too long: at most " +
                                            std::to_string(kMaxChatText) + " bytes");
  if (client_id.size() > kMaxChatClientId)
    return Fail(ErrorCode::kBadRequest,
                "client_id too long: at most " + std::to_string(kMaxChatClientId) + " bytes");
  return {};
}

Result<InteractionId> Engine::CreateChat(NewInteraction n, std::string token_hash,
                                         std::string client_id, std::string text) {
  if (auto st = CheckChatText(text, client_id); !st) return std::unexpected(st.error());
  if (token_hash.empty()) return Fail(ErrorCode::kBadRequest, "a chat needs a visitor token");
  n.channel = Channel::kChat;
  const TenantId tenant = n.tenant;
  auto id = CreateInteraction(std::move(n));
  if (!id) return id;
  // After routing has run: the offer (if any) comes first in the log, which is harmless; the
  // reply waits for these events too.
  EmitChat(tenant, ChatStarted{*id, std::move(token_hash)});
  EmitChat(tenant, ChatMessage{*id, 1, ChatSender::kVisitor, 0, std::move(client_id), std::move(text)});
  return id;
}

Result<Engine::ChatPosted> Engine::PostChat(TenantId t, InteractionId id, ChatSender sender,
                                            UserId agent, std::string client_id,
                                            std::string text) {
  const Interaction* ix = FindInteraction(t, id);
  auto log = chats_.find(id);
  if (ix == nullptr || log == chats_.end()) return Fail(ErrorCode::kNotFound, "no such chat");
  if (auto st = CheckChatText(text, client_id); !st) return std::unexpected(st.error());
  if (!client_id.empty()) {
    auto seen = log->second.by_client_id.find(ChatLog::ClientKey(sender, client_id));
    if (seen != log->second.by_client_id.end()) return ChatPosted{seen->second, true};
  }
  switch (sender) {
    case ChatSender::kVisitor:
      if (ix->state != InteractionState::kQueued && ix->state != InteractionState::kOffered &&
          ix->state != InteractionState::kConnected)
        return Fail(ErrorCode::kConflict, std::string("the chat has ended (") + Name(ix->state) + ")");
      break;
    case ChatSender::kAgent:
      if (ix->agent != agent || ix->state != InteractionState::kConnected)
        return Fail(ErrorCode::kConflict, "only the agent connected to the chat may write to it");
      break;
    case ChatSender::kSystem:
      if (!ix->Live()) return Fail(ErrorCode::kConflict, "the chat has ended");
      agent = 0;
      break;
  }
  if (log->second.lines.size() >= kMaxChatMessages)
    return Fail(ErrorCode::kConflict, "the chat holds the most messages one chat may hold");
  const std::uint64_t seq = log->second.last_seq() + 1;
  EmitChat(t, ChatMessage{id, seq, sender, agent, std::move(client_id), std::move(text)});
  return ChatPosted{seq, false};
}

const ChatLog* Engine::FindChat(TenantId t, InteractionId id) const {
  if (FindInteraction(t, id) == nullptr) return nullptr;
  auto it = chats_.find(id);
  return it == chats_.end() ? nullptr : &it->second;
}

const Interaction* Engine::FindChatInteraction(InteractionId id) const {
  auto it = interactions_.find(id);
  if (it == interactions_.end() || it->second.channel != Channel::kChat || !chats_.count(id))
    return nullptr;
  return &it->second;
}

std::vector<const Interaction*> Engine::ChatsWaiting(TenantId t, QueueId q) const {
  std::vector<const Interaction*> out;
  if (FindQueue(t, q) == nullptr) return out;
  index_.ForEachWaiting(q, [&](InteractionId id) {
    const Interaction& ix = interactions_.at(id);
    if (ix.channel == Channel::kChat) out.push_back(&ix);
  });
  std::sort(out.begin(), out.end(), [](const Interaction* a, const Interaction* b) {
    return a->score != b->score ? a->score < b->score : a->id < b->id;
  });
  return out;
}

void Engine::ApplyChat(const ChatStarted& b) { chats_[b.id].token_hash = b.token_hash; }

void Engine::ApplyChat(const ChatMessage& b, TimeMs t) {
  // An evicted chat's messages cannot arrive (commands refuse it); a log that lost its
  // chat.started (never written that way) still keeps its messages.
  ChatLog& log = chats_[b.id];
  // seq_ is this event's seq, both when emitting and when replaying.
  log.lines.push_back(ChatLine{b.seq, seq_, t, b.sender, b.agent, b.client_id, b.text});
  if (!b.client_id.empty()) log.by_client_id.emplace(ChatLog::ClientKey(b.sender, b.client_id), b.seq);
}

}  // namespace homeline::core
