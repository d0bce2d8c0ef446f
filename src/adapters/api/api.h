#pragma once
// The REST/JSON API (/api/v1), /healthz and /metrics, as a pure function of the engine:
// Handle() decodes one request, checks the caller's session, tenant and role, runs engine
// commands or reads, and encodes the answer. No sockets here (http_server does those), so the
// same code runs under the fuzzer and in unit tests.
//
// Threads: everything runs on the engine thread, except Outcome::offload (password hashing,
// schedule solves, reading the stored history for a forecast), which the server runs on a
// worker thread; the continuation it returns runs on the engine thread again.
//
// Errors: every failure is a JSON body {"error":{"code","message"}} with the matching status;
// a failed request changes nothing.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/api/cdr_view.h"  // RecordingEventScan
#include "adapters/api/chat_service.h"
#include "adapters/api/forecast_view.h"
#include "adapters/api/responses.h"
#include "adapters/http/http_server.h"
#include "common/time.h"
#include "core/types.h"

namespace homeline::core {
class Engine;
struct User;
namespace wfm {
class MipSolver;
}
}

namespace homeline::api {

struct Outcome {
  http::Response response;
  // Answer only once the store has committed this seq (every event the request caused, and
  // every event whose effect the answer shows).
  std::uint64_t durable_seq = 0;
  // When set, run on a worker thread; it returns what to run next on the engine thread.
  std::function<std::function<Outcome()>()> offload;
};

struct ApiOptions {
  DurationMs session_ttl = 12 * kHour;
  bool secure_cookies = false;  // set when serving HTTPS
  int login_failures_per_user = 5;     // within login_window, then 429
  int login_failures_per_address = 20;
  DurationMs login_window = 5 * kMinute;
  ChatOptions chat;
  // Where recordings are read from (Recording::path is relative to it); "" : downloads 404.
  std::string data_dir;
};

// Who is calling, once the bearer token or cookie is checked.
struct Caller {
  const core::User* user = nullptr;
};

// A transfer of a live call, as the API asks it of the voice side (Api::SetTransferAction).
struct CallTransfer {
  // "transfer_agent", "consult", "consult_number", "consult_complete", "consult_cancel"
  std::string action;
  core::UserId by = 0;           // the agent the call is connected to
  core::InteractionId id = 0;    // the call's interaction
  core::UserId agent = 0;        // transfer_agent, consult: to this agent
  core::QueueId queue = 0;       // consult: to this queue (agent 0)
  std::string number;            // consult_number: E.164
};

class Api {
 public:
  Api(core::Engine& engine, ApiOptions options);
  ~Api();

  Outcome Handle(const http::Request& request);

  // For the WebSocket: the user behind the request's token (header, cookie or ?token=).
  std::optional<core::UserId> Authenticate(const http::Request& request) const;
  // The request's session as Engine::SessionUser knows it, to check later that it still stands.
  std::string SessionKey(const http::Request& request) const;
  // Resolves "acme" or "12" to a tenant the user belongs to, with the role.
  std::optional<std::pair<core::TenantId, core::Role>> ResolveTenant(core::UserId user,
                                                                     const std::string& ref) const;

  // The view of an interaction for a member of its tenant, the same in REST answers and
  // WebSocket frames. A call's carries its live state (docs/api.md "Calls"): "on_hold",
  // "recorded", "recording_paused" (engine state: events, so a reload or a replay agrees) and
  // "monitor": null, or for supervisors and admins {"supervisor", "mode", "state": "ringing"|
  // "joined", "started", "mode_since"}; agents always get null (docs/decisions.md 55).
  nlohmann::json InteractionView(const core::Interaction& ix, bool supervisor) const;

  // Web chat, shared with the WebSocket hubs.
  ChatService& chat();

  // The solver for POST .../schedules. Shared: a solve running on a worker keeps it alive
  // however the server shuts down. Without one, that route answers 503.
  void SetScheduleSolver(std::shared_ptr<core::wfm::MipSolver> solver) {
    schedule_solver_ = std::move(solver);
  }

  // Adds lines to /metrics (store and connection figures owned by the server).
  void SetExtraMetrics(std::function<std::string()> fn) { extra_metrics_ = std::move(fn); }
  // How the forecast routes read the stored history (on a worker thread). Unset: they are 503.
  void SetEventScan(EventScan scan) { event_scan_ = std::move(scan); }
  // How GET .../recordings/{id} (and its file) finds one recording's events (the store's
  // index by recording id). Unset: they scan the tenant's log from the start (event scan).
  void SetRecordingScan(RecordingEventScan scan) { recording_scan_ = std::move(scan); }

  // Voice call control for the call routes (the server's sip::VoiceService): action is "hold",
  // "resume", "pause_recording" or "resume_recording". Unset (SIP off): those routes answer
  // 404, there are no calls.
  using VoiceAction = std::function<Status(core::InteractionId, const std::string& action)>;
  void SetVoiceAction(VoiceAction fn) { voice_action_ = std::move(fn); }
  // Transfers of a live call (the server's sip::VoiceService, docs/decisions.md 49). Unset
  // (SIP off): a transfer to an agent is the engine command alone; consultations answer 404.
  using TransferAction = std::function<Result<core::InteractionId>(const CallTransfer&)>;
  void SetTransferAction(TransferAction fn) { transfer_action_ = std::move(fn); }
  // Outbound calls (POST .../calls) and blind transfer to a number (POST .../transfer with
  // "number"). Unset (SIP off): 409, calls to numbers need SIP.
  using VoiceCall = std::function<Result<core::InteractionId>(
      core::UserId agent, core::TenantId t, core::QueueId q, const std::string& number)>;
  using VoiceTransfer = std::function<Status(core::InteractionId, const std::string& number)>;
  void SetVoiceCall(VoiceCall fn) { voice_call_ = std::move(fn); }
  void SetVoiceTransfer(VoiceTransfer fn) { voice_transfer_ = std::move(fn); }

  // Supervisor monitoring of live calls (the server's sip::VoiceService; docs/api.md
  // "Monitor"). Unset (SIP off): no call is ever bridged, POST .../monitor answers 409.
  struct MonitorState {
    core::UserId supervisor = 0;
    core::MonitorMode mode = core::MonitorMode::kListen;
    bool joined = false;  // the supervisor's phone answered
  };
  struct VoiceMonitor {
    std::function<Status(core::InteractionId, core::UserId supervisor, core::MonitorMode)> start;
    std::function<Status(core::InteractionId, core::MonitorMode)> change;
    std::function<Status(core::InteractionId)> stop;
    std::function<std::optional<MonitorState>(core::InteractionId)> state;
  };
  void SetVoiceMonitor(VoiceMonitor m) { voice_monitor_ = std::move(m); }

  // The OpenAPI 3 document, generated from the route table.
  std::string OpenApiJson() const;
  // Every (method, path pattern) the router serves, for the test that checks the document.
  std::vector<std::pair<std::string, std::string>> Routes() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::function<std::string()> extra_metrics_;
  std::shared_ptr<core::wfm::MipSolver> schedule_solver_;
  EventScan event_scan_;
  RecordingEventScan recording_scan_;
  VoiceAction voice_action_;
  VoiceMonitor voice_monitor_;
  TransferAction transfer_action_;
  VoiceCall voice_call_;
  VoiceTransfer voice_transfer_;
};

}  // namespace homeline::api
