#pragma once
// Web chat, as the REST routes and both WebSocket hubs share it: finding a visitor's chat by
// its token, posting messages under the per-visitor rate limit, the typing indicator (not
// stored), the cross-origin check, and the JSON views (messages, the visitor's view of the
// chat with position and estimated wait, the widget's status). The engine keeps the chats
// themselves (core/chat.h); this class keeps only rate-limit buckets.
//
// Threads: engine thread only.
// Errors: Result values; ErrorJsonCode names the API code of a chat error.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/http/http_server.h"
#include "common/result.h"
#include "common/time.h"
#include "core/engine.h"

namespace homeline::api {

struct ChatOptions {
  double visitor_burst = 20;     // messages a visitor may send at once...
  double visitor_per_second = 2;  // ...then this many per second (token bucket)
  double typing_per_second = 5;   // typing frames passed on per chat and side; more are dropped
  // New chats and left messages per client address (public routes: a bound on what one
  // address can put in the queues).
  double address_burst = 30;
  double address_per_second = 0.2;
  // A waiting chat (queued or offered) whose visitor has had no socket open and made no call
  // for this long is abandoned: the visitor closed the page.
  DurationMs visitor_timeout = 60 * kSecond;
};

class ChatService {
 public:
  // Called for a typing indicator to pass on: to the agent (from visitor) or the visitor.
  using TypingSink = std::function<void(core::TenantId, core::InteractionId, core::ChatSender from,
                                        bool typing)>;

  ChatService(core::Engine& engine, ChatOptions options);

  void SetTypingSink(TypingSink sink) { typing_sink_ = std::move(sink); }
  // True while new writes are refused (the event store is behind the disk): posts fail with
  // kUnavailable and store nothing. The socket messages' counterpart of the server's 503.
  void SetWritesPaused(std::function<bool()> paused) { writes_paused_ = std::move(paused); }

  // A tenant by slug or id, for the public routes (no membership needed).
  const core::Tenant* PublicTenant(const std::string& ref) const;
  // A browser's Origin is allowed for the tenant: absent (not a browser), the server itself,
  // or one of the tenant's allowed_origins.
  static bool OriginAllowed(const http::Request& req, const core::Tenant& tenant);
  // CORS headers for an allowed Origin (none when the request has no Origin).
  static void AddCorsHeaders(const http::Request& req, http::Response& r, bool preflight);
  // The visitor token of a request: Authorization: Bearer, or ?token=.
  static std::string VisitorToken(const http::Request& req);
  // The chat `id_text` names, if `token` is its visitor token; null otherwise (unknown id,
  // not a chat, wrong token: the caller cannot tell which).
  const core::Interaction* VisitorChat(const std::string& id_text, const std::string& token) const;

  // Posts under the visitor's rate limit (kRateLimited when over it; duplicates are free).
  // Both fail with kUnavailable while writes are paused (SetWritesPaused).
  Result<core::Engine::ChatPosted> PostVisitor(const core::Interaction& ix, std::string client_id,
                                               std::string text);
  Result<core::Engine::ChatPosted> PostAgent(const core::Interaction& ix, core::UserId agent,
                                             std::string client_id, std::string text);
  // The visitor of chat id is there now (a call with its token, a socket message).
  void VisitorSeen(core::InteractionId id);
  // Abandons the waiting chats whose visitors are gone (see ChatOptions::visitor_timeout);
  // connected(id): the chat has a visitor socket open now. About once a second.
  void SweepAbsentVisitors(const std::function<bool(core::InteractionId)>& connected);
  // Counts one new chat or left message from this address; false when over the limit.
  bool TakeAddress(const std::string& address);
  // The visitor leaves: a system line in the transcript, then the contact ends (abandoned
  // while waiting; wrap-up for the agent once connected). An ended chat: nothing to do.
  Status Close(const core::Interaction& ix);
  // Passes a typing indicator on, at most typing_per_second per chat and side.
  void Typing(const core::Interaction& ix, core::ChatSender from, bool typing);

  // The API error code of a failed post: "message_too_long", "chat_ended" (visitor),
  // "rate_limited", or the generic name of the code.
  static std::string ErrorJsonCode(const Error& e, core::ChatSender sender);

  // {"seq","chat","sender","agent":{"id","name"}|null,"text","client_id"|null,"ts"}
  nlohmann::json MessageJson(const core::Interaction& ix, const core::ChatLine& line) const;
  // Messages of the chat with seq > since (durable ones only: event_seq <= durable).
  nlohmann::json MessagesJson(const core::Interaction& ix, std::uint64_t since,
                              std::uint64_t durable) const;
  // The chat as its visitor (and the agent's transcript view) sees it; see docs/api.md.
  nlohmann::json StateJson(const core::Interaction& ix) const;
  struct Wait;
  nlohmann::json StateJson(const core::Interaction& ix, const Wait& wait) const;

  struct Wait {
    std::optional<int> position;          // set while queued or offered
    std::optional<std::int64_t> wait_s;   // estimated wait; unset with no agent serving
  };
  // Position and estimated wait of a chat (see docs/api.md for the formula). `ahead`: the
  // number of chats ahead of it in line, when the caller already knows it.
  Wait WaitOf(const core::Interaction& ix) const;
  // The waits of every chat queued or offered in queue q (offered ones given as `offered`),
  // computed once for the queue: what a once-a-second refresh of many visitors needs.
  std::unordered_map<core::InteractionId, Wait> WaitsIn(
      core::TenantId t, core::QueueId q, const std::vector<core::InteractionId>& offered) const;
  // The widget's status for a queue: {"tenant","queue","open","agents","available",
  // "estimated_wait_s","leave_message"}.
  nlohmann::json WidgetStatus(const core::Tenant& tenant, const core::Queue& queue) const;

  // Agents logged in for queue q (any state but offline), and the chat slots of those who
  // can take chats now or soon (available, reserved, busy, wrap-up).
  struct Serving {
    int logged_in = 0;
    int chat_slots = 0;
  };
  Serving ServingOf(core::TenantId t, core::QueueId q) const;

 private:
  // kUnavailable while writes are paused.
  Status WritesOpen() const;
  struct Bucket {
    double tokens = 0;
    TimeMs at = 0;
  };
  // Takes one token from the bucket at key (created full); false when empty.
  bool Take(std::unordered_map<std::uint64_t, Bucket>& buckets, std::uint64_t key, double burst,
            double per_second);

  core::Engine& engine_;
  ChatOptions options_;
  TypingSink typing_sink_;
  std::function<bool()> writes_paused_;
  std::unordered_map<std::uint64_t, Bucket> visitor_buckets_;  // by interaction id
  std::unordered_map<std::uint64_t, Bucket> typing_buckets_;   // by id * 4 + sender
  std::unordered_map<std::uint64_t, Bucket> address_buckets_;  // by hash of the address
  // Waiting chats started in this process, with when their visitor was last there.
  std::unordered_map<core::InteractionId, TimeMs> visitor_seen_;
};

}  // namespace homeline::api
