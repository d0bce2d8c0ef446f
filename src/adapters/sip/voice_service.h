#pragma once
// Voice on the engine side: turns what happens on calls (an INVITE from a trunk, the agent's
// phone ringing, answering, refusing, either side hanging up) into engine commands, and the
// engine's events about voice interactions (offered, offer ended, contact ended, closed) into
// orders for the calls (ring the agent's phone, cancel, bridge, hang up). Like
// api::ChatService for web chats; the SIP half is calls.h, the seam call_control.h.
//
// Threads: engine thread only (every method). The SIP side posts its happenings here.
// State: the live calls, by CallId and by interaction. Not durable: a restart closes live
// voice interactions (Engine::Recover) and the calls died with the process anyway.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "adapters/sip/call_control.h"
#include "common/result.h"
#include "core/engine.h"

namespace homeline::sip {

// Where an inbound call goes: the tenant's queue, and what the caller hears while waiting; or
// an IVR menu (ivr set, queue 0), whose choices lead to a queue later.
struct InboundRoute {
  core::TenantId tenant = 0;
  core::QueueId queue = 0;
  core::TrunkId trunk = 0;  // the trunk the call came through (its CDR)
  core::IvrMenuId ivr = 0;
  WaitPrompts prompts;
  DurationMs announce_every = 30 * kSecond;  // position announcements; 0: never
};

// Decides on an inbound call from the engine's state: kForbidden (no trunk allows the source:
// 403), kUnauthorized (no trunk allows the source but some authenticate by digest: 407), kNotFound (no such number: 404), kUnavailable (closed, no queue: 480).
using InboundRouter =
    std::function<Result<InboundRoute>(const core::Engine&, const InboundCall&)>;

// The server's router: the trunks and numbers configured in the engine (core/voice.h). A call
// whose trunk credentials the SIP side verified (InboundCall::trunk_user) comes through that
// trunk, wherever it comes from. Otherwise the source address decides: 407 when no trunk
// accepts it and some trunk authenticates by digest (the caller may answer the challenge),
// else 403. 403 too when the trunk is not one of the number's tenant, or the number is
// bound to another trunk; 404 for an unknown number (or its queue or menu gone). A number
// routed to an IVR menu gives a route with `ivr` set. Prompt files of the queue's voice
// settings are read from prompt_dir.
InboundRouter NumberRouter(std::string prompt_dir);

// The route into one of the tenant's queues with its voice settings (greeting, music, position
// interval; files under prompt_dir). kNotFound when the queue is gone.
Result<InboundRoute> QueueRoute(const core::Engine& e, core::TenantId tenant, core::QueueId queue,
                                const std::string& prompt_dir);

// A call to `number` (E.164) through tenant t's trunks for outbound calls: one DialOut per
// trunk with an outbound host, in the order they are tried (outbound priority, then id;
// docs/decisions.md 52). kConflict when it has none.
Result<std::vector<DialOut>> TrunkDials(const core::Engine& e, core::TenantId t,
                                        const std::string& number);

struct VoiceCounters {
  std::uint64_t inbound = 0;    // INVITEs decided on
  std::uint64_t refused = 0;    // of which refused
  std::uint64_t rung = 0;       // agent legs started
  std::uint64_t bridged = 0;
  std::uint64_t abandoned = 0;  // customer hung up while waiting or ringing
  std::uint64_t monitors = 0;   // supervisors joined to a call (their phone answered)
  std::uint64_t dialled = 0;    // calls to numbers started (outbound, transfers, IVR)
  std::uint64_t dial_answered = 0;
};

class VoiceService {
 public:
  VoiceService(core::Engine& engine, CallControl& calls, InboundRouter router);

  // Where recordings go: dir/<tenant>/<interaction>.wav (a call bridged again after a transfer:
  // <interaction>-2.wav, ...). Empty (the default): calls are not recorded.
  void SetRecordingsDir(std::string dir) { recordings_dir_ = std::move(dir); }

  // SIP login of a user (the registrar's user name); the default is the user's login.
  void SetSipUserOf(std::function<std::string(core::UserId)> fn) { sip_user_of_ = std::move(fn); }

  // Where IVR menus' and queues' prompt files are (data_dir/prompts).
  void SetPromptDir(std::string dir) { prompt_dir_ = std::move(dir); }

  // ---- happenings from the SIP side ---------------------------------------------------------
  void OnInbound(const InboundCall& in);
  void OnAgentAnswered(CallId call, core::UserId agent);
  // The agent leg ended before answering: 486 busy, 603 decline, 480 not registered, 408...
  void OnAgentFailed(CallId call, core::UserId agent, int status);
  // The customer hung up (BYE, or CANCEL before we answered).
  void OnCustomerHangUp(CallId call);
  // The agent hung up a bridged call.
  void OnAgentHangUp(CallId call, core::UserId agent);
  // The consultee's phone (CallControl::RingConsult) answered, failed before answering, or
  // hung up once answered.
  void OnConsultAnswered(CallId call, core::UserId agent);
  void OnConsultFailed(CallId call, core::UserId agent, int status);
  void OnConsultHungUp(CallId call, core::UserId agent);
  // A caller in an IVR menu pressed a key or let the wait run out, in PlayMenu's `round`
  // (ivr_calls.cc). Inputs of an earlier round are ignored.
  void OnIvrInput(CallId call, std::uint64_t round, core::IvrInput input);
  // The supervisor's phone answered a monitor leg, or the leg ended on the wire (status 0: the
  // supervisor hung up; >= 300: it never answered).
  void OnMonitorAnswered(CallId call, core::UserId supervisor);
  void OnMonitorEnded(CallId call, core::UserId supervisor, int status);
  // The number a call dialled (CallControl::Dial) answered, failed (its status), or hung up.
  void OnNumberAnswered(CallId call);
  void OnNumberFailed(CallId call, int status);
  void OnNumberHangUp(CallId call);

  // ---- orders from the API (engine thread) -----------------------------------------------------
  // Puts a connected call on hold (the customer hears music) or takes it off. kNotFound: no
  // live call for this interaction here; kConflict: not connected, or already in that state.
  Status Hold(core::InteractionId id, bool on);
  // Transfers (docs/decisions.md 49), for `by`, the agent the call is connected to.
  // Blind transfer to an agent (Engine::TransferToAgent): the call continues as the returned
  // interaction; the agent's phone is hung up at once and the customer hears music until the
  // new agent's phone, rung for the engine's offer, answers. Without a live call here (SIP
  // off, an API-driven voice contact) the engine command alone.
  Result<core::InteractionId> TransferToAgent(core::UserId by, core::InteractionId id,
                                              core::UserId to);
  // Consultation (Engine::Consult, to an agent or with to_agent 0 a queue): the customer goes
  // on hold and the consultee's phone rings when the engine offers the consultation; answered,
  // the agent and the consultee talk. Returns the consultation's interaction. kNotFound: no
  // live call; kConflict: not connected to `by`, a consultation open already.
  Result<core::InteractionId> Consult(core::UserId by, core::InteractionId id,
                                      core::UserId to_agent, core::QueueId to_queue);
  // The consultee takes the call (Engine::CompleteConsult): the first agent's phone is hung
  // up, the customer bridged to the consultee. Returns the consultation (now the call).
  // kConflict: no consultation, or not answered yet.
  Result<core::InteractionId> CompleteConsult(core::UserId by, core::InteractionId id);
  // Ends the consultation (Engine::CloseConsult "cancelled"): its phone is hung up and the
  // customer is back with the agent. kConflict: no consultation open.
  Status CancelConsult(core::UserId by, core::InteractionId id);
  // The open consultation of the call of interaction id (0: none).
  core::InteractionId ConsultOf(core::InteractionId id) const;
  // A consultation with a number (docs/decisions.md 58): the customer goes on hold and the
  // number is called through the tenant's trunks (failover as for any call to a number); when
  // it answers the agent and the number talk. CompleteConsult then puts the customer through
  // to the number (the agent wraps up, "transferred"; the rest of the call is CDR only, as a
  // blind transfer to a number); CancelConsult hangs the number up. Busy, no answer, a failure
  // or the number hanging up ends it with the result (the engine's NumberConsult) and the
  // customer is back with the agent. Returns id. kBadRequest: not E.164; kNotFound: no live
  // call; kConflict: not connected to `by`, a consultation open, an outbound call, no trunk.
  Result<core::InteractionId> ConsultNumber(core::UserId by, core::InteractionId id,
                                            const std::string& number);
  // An agent's outbound call (docs/decisions.md "Outbound calls"): the interaction
  // (Engine::StartOutbound, queue q's wrap-up, dispositions and recording), then the agent's
  // phone rings; when it answers, the number is called through the tenant's trunk; when that
  // answers, the two are bridged. A failure on either side ends the contact (the agent wraps
  // up). kBadRequest: not an E.164 number; kConflict: no trunk for outbound calls, the agent's
  // phone is not registered, or Engine::StartOutbound's conditions; kNotFound: no such queue.
  Result<core::InteractionId> CallNumber(core::UserId agent, core::TenantId t, core::QueueId q,
                                         const std::string& number);
  // Blind transfer of a connected call to a number through the trunk: the agent's leg ends and
  // the contact with it (the agent wraps up, reason "transferred"); the customer hears music
  // until the number answers, then talks to it; if the number fails the customer is hung up.
  // kNotFound: no live call; kConflict: not connected, an outbound call, or no trunk;
  // kBadRequest: not an E.164 number.
  Status TransferToNumber(core::InteractionId id, const std::string& number);
  // Whether the call of a connected interaction is on hold.
  bool OnHold(core::InteractionId id) const;

  // Supervisor monitoring (docs/decisions.md "Supervisor monitoring"): rings the supervisor's
  // registered phone; when it answers, the supervisor joins the call in `mode` (the engine's
  // monitor.started, a CDR leg with role supervisor from the ring on). kConflict: no live
  // bridged call for the interaction, the call is monitored already (one supervisor at a
  // time), the supervisor is the call's agent, or the supervisor's phone is not registered.
  Status StartMonitor(core::InteractionId id, core::UserId supervisor, core::MonitorMode mode);
  // Changes the mode live (kConflict: not monitored, or already in that mode).
  Status ChangeMonitor(core::InteractionId id, core::MonitorMode mode);
  // Ends the monitor (BYE to the supervisor's phone, or CANCEL while it rings).
  Status StopMonitor(core::InteractionId id);
  struct MonitorState {
    core::UserId supervisor = 0;
    core::MonitorMode mode = core::MonitorMode::kListen;
    bool joined = false;  // answered; false while the supervisor's phone rings
  };
  std::optional<MonitorState> MonitorOf(core::InteractionId id) const;
  // Pauses (card numbers) or resumes the recording of a connected call. kNotFound: no live
  // call; kConflict: not connected, not recorded, or already in that state.
  Status PauseRecording(core::InteractionId id, bool paused);

  // ---- the engine's events (every event the engine emitted, in order) ------------------------
  void Observe(const std::vector<core::Event>& events);
  // Position announcements that are due. About once a second.
  void Tick();
  // The server stops: every call is hung up.
  void HangUpAll(const std::string& cause);

  // ---- reads ---------------------------------------------------------------------------------
  std::size_t live_calls() const { return calls_.size() + ivr_.size() + numbers_.size(); }
  std::size_t ivr_calls() const { return ivr_.size(); }  // callers in a menu
  const VoiceCounters& counters() const { return counters_; }
  // The call of a voice interaction, 0 when none (not a call of this process, or ended).
  CallId CallOf(core::InteractionId id) const;

 private:
  // An outbound call: kRinging (the agent's phone), kDialling (the number), kBridged.
  enum class State : std::uint8_t { kWaiting, kRinging, kDialling, kBridged };
  struct Call {
    CallId id = 0;
    core::InteractionId interaction = 0;
    core::TenantId tenant = 0;
    State state = State::kWaiting;
    core::UserId agent = 0;  // ringing or bridged
    bool on_hold = false;    // bridged, but the customer hears music
    bool recording = false;  // bridged and recorded
    bool recording_paused = false;
    core::RecordingId recording_id = 0;  // the engine's record of the current recording
    int bridges = 0;         // times bridged (a transfer bridges again)
    // Call detail records (core/voice.h): the customer's leg, and the current agent leg.
    core::CdrLegId customer_cdr = 0;
    core::CdrLegId agent_cdr = 0;
    bool agent_answered = false;
    std::optional<MonitorState> monitor;  // a supervisor ringing or joined
    core::CdrLegId monitor_cdr = 0;
    // An open consultation (Engine::Consult): its interaction, the consultee whose phone rings
    // or answered, and that leg's CDR (role transfer).
    core::InteractionId consult = 0;
    core::UserId consult_agent = 0;
    bool consult_answered = false;
    core::CdrLegId consult_cdr = 0;
    // A consultation with a number: open while consult_number is set (consult_answered and
    // consult_cdr as above); the trunk being tried and the next ones.
    std::string consult_number;
    DialOut consult_target;
    std::vector<DialOut> consult_fallbacks;
    DurationMs announce_every = 0;
    TimeMs last_announce = 0;
    bool outbound = false;  // CallNumber: the agent first, the customer is the number
    bool placing = false;   // outbound, the agent's phone not answered yet
    DialOut target;         // outbound: where the customer is called
    std::vector<DialOut> fallbacks;  // outbound: the next trunks, should target's fail
    core::CdrLegId cdr_call = 0;     // the call's first CDR leg (new customer legs join it)
  };
  // A customer put through to a number (blind transfer, IVR option): the interaction, if any,
  // has ended; the call lasts until either side hangs up. Only its CDR legs are left to end.
  struct NumberCall {
    core::TenantId tenant = 0;
    core::InteractionId interaction = 0;  // 0: from the IVR
    core::CdrLegId customer_cdr = 0;
    core::CdrLegId number_cdr = 0;
    bool answered = false;
    DialOut target;                  // the trunk being tried
    std::vector<DialOut> fallbacks;  // the next ones
  };
  // A caller in the IVR menus: no interaction yet (one is created in the queue it chooses).
  struct IvrCall {
    InboundCall in;
    core::TenantId tenant = 0;
    core::IvrSession session;
    std::uint64_t round = 0;  // PlayMenu orders given
    core::CdrLegId customer_cdr = 0;  // the customer leg: started and answered with the menu
    core::TrunkId trunk = 0;
  };
  Call* Find(CallId id);
  // Forgets the call, ends its CDR legs (cause, and who ended it) and orders its legs hung up.
  void End(CallId id, const std::string& cause, core::CdrParty by);
  // Ends the engine's record of the current recording, if any (the file ends with the agent leg).
  void EndRecording(Call& c);
  // Forgets the call's monitor: monitor.ended when it had joined, its CDR leg ended. No order
  // to the SIP side (the caller gives the one it needs).
  void EndMonitor(Call& c, const std::string& reason, const std::string& cause, core::CdrParty by);
  // Sets the call's hold and the engine's record of it (call.hold, what every view shows);
  // the media order (CallControl::Hold) stays with the caller, which knows whether the legs
  // are still there. Before the call's interaction changes: the hold was that interaction's.
  void MarkHold(Call& c, bool on);
  // Ends the consult leg's CDR, if any.
  void EndConsultCdr(Call& c, core::CdrResult result, const std::string& cause, core::CdrParty by);
  // Forgets the call's consultation (its leg ordered dropped); with close, the engine closes
  // it with `reason` too.
  void EndConsult(Call& c, bool close, const std::string& reason);
  // The engine's record and path of a new recording of the call's interaction, when its queue
  // records ("" otherwise).
  std::string StartRecordingFor(Call& c);
  // The live call of interaction id connected to `by`: kNotFound, kConflict.
  Result<Call*> ConnectedCall(core::UserId by, core::InteractionId id);
  void OnConsultEvent(CallId call, const core::Event& e);
  static bool Consulting(const Call& c) { return c.consult != 0 || !c.consult_number.empty(); }
  // The number consultation's CDR leg (role transfer) through consult_target's trunk.
  core::CdrLegId StartConsultNumberCdr(const Call& c);
  // Ends the number consultation: the engine's record (result, status), its CDR leg if still
  // open, the leg on the wire. The caller resumes the customer if it should.
  void EndNumberConsult(Call& c, const std::string& result, int status);
  Result<core::InteractionId> CompleteNumberConsult(Call& c);
  // Ends the current agent leg's CDR.
  void EndAgentCdr(Call& c, core::CdrResult result, const std::string& cause, core::CdrParty by);
  // Creates the call's interaction in route's queue and answers with its greeting and music.
  // cdr: the customer leg's CDR when the call comes from the IVR (0: started here).
  void Enqueue(const InboundCall& in, const InboundRoute& route, core::CdrLegId cdr = 0);
  void StartIvr(const InboundCall& in, const InboundRoute& route);
  void ApplyIvr(CallId call, const core::IvrOutcome& out);
  void EndIvrCdr(core::TenantId tenant, core::CdrLegId cdr, core::CdrResult result,
                 const std::string& cause, core::CdrParty by);
  void OnEvent(const core::Event& e);
  // Puts a customer through to a number: the call becomes a NumberCall (CDR leg "transfer").
  void PutThrough(CallId call, core::TenantId t, core::InteractionId ix, core::CdrLegId customer_cdr,
                  std::vector<DialOut> targets);
  // The number leg's CDR (role transfer, through target's trunk) of a put-through call.
  core::CdrLegId StartNumberCdr(const NumberCall& n, const DialOut& target);
  // Pops the next trunk after a trunk failure (TrunkFailure): true when there is one.
  static bool NextTrunk(int status, DialOut* target, std::vector<DialOut>* fallbacks);
  void EndNumberCall(CallId call, core::CdrResult result, const std::string& cause,
                     core::CdrParty by, bool hang_up);

  core::Engine& engine_;
  CallControl& control_;
  InboundRouter router_;
  std::function<std::string(core::UserId)> sip_user_of_;
  std::string recordings_dir_;
  std::string prompt_dir_;
  std::unordered_map<CallId, IvrCall> ivr_;
  std::unordered_map<CallId, Call> calls_;
  std::unordered_map<CallId, NumberCall> numbers_;
  std::unordered_map<core::InteractionId, CallId> by_interaction_;
  std::unordered_map<core::InteractionId, CallId> by_consult_;  // open consultations
  VoiceCounters counters_;
};

}  // namespace homeline::sip
