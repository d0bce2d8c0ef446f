#pragma once
// Calls: Homeline's back-to-back user agent on the SIP thread. The customer leg is an INVITE
// accepted from a trunk (libre sipsess_accept); the agent leg an INVITE Homeline sends to the
// agent's registered phone (sipsess_connect). Each leg has a media leg (media::MediaEngine)
// whose port is in our SDP; music and prompts play on the customer's media leg while it waits,
// and the two media legs are bridged when the agent answers.
//
// Calls does not decide anything about routing: it reports what happens on the wire
// (CallHappenings, which the server hands to VoiceService on the engine thread) and carries
// out VoiceService's orders (CallControl, posted to the SIP thread). It does decide on its own
// when a call is over on the wire: a customer who hangs up, or a bridged agent who does, ends
// both legs at once (the other leg gets its BYE or CANCEL without waiting for the engine), and
// the happening reports it. Orders naming a call or leg that has ended are no-ops.
//
// NAT (home agents): the agent leg is sent to the address the phone registered from, with two
// Record-Route headers (ours, then that address), so libre's in-dialog requests (ACK, BYE)
// follow the route set to the phone's public address rather than the private Contact. Media
// latches on the source of the first RTP packet (media::MediaEngine).
//
// Threads: construct anywhere, then Install() once; the CallControl methods may be called from
// any thread (each posts to the SIP thread); the rest runs on the SIP thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adapters/sip/call_control.h"

namespace homeline::media {
class MediaEngine;
}

namespace homeline::sip {

class SipStack;

// What Calls reports, on the SIP thread (implementations post to the engine thread, in order).
class CallHappenings {
 public:
  virtual ~CallHappenings() = default;
  virtual void Inbound(InboundCall call) = 0;
  virtual void AgentAnswered(CallId call, core::UserId agent) = 0;
  virtual void AgentFailed(CallId call, core::UserId agent, int status) = 0;
  virtual void CustomerHungUp(CallId call) = 0;
  virtual void AgentHungUp(CallId call, core::UserId agent) = 0;
  // The consult leg (CallControl::RingConsult): answered, ended before answering, or hung up
  // once answered. Default: ignored.
  virtual void ConsultAnswered(CallId /*call*/, core::UserId /*agent*/) {}
  virtual void ConsultFailed(CallId /*call*/, core::UserId /*agent*/, int /*status*/) {}
  virtual void ConsultHungUp(CallId /*call*/, core::UserId /*agent*/) {}
  // IVR inputs for the round of CallControl::PlayMenu: a key, or the wait after the prompt ran
  // out. At most one per round.
  virtual void IvrDigit(CallId /*call*/, std::uint64_t /*round*/, char /*digit*/) {}
  virtual void IvrTimeout(CallId /*call*/, std::uint64_t /*round*/) {}
  // The leg of CallControl::Dial: answered (200), failed before answering (the final status,
  // 487 for our own no-answer timeout, 408 for no response), or hung up after answering (a call whose number leg is not the
  // customer leg: a transfer to a number). Failed: the call's other leg stays.
  virtual void NumberAnswered(CallId /*call*/) {}
  virtual void NumberFailed(CallId /*call*/, int /*status*/) {}
  virtual void NumberHungUp(CallId /*call*/) {}
  // The supervisor's phone answered a CallControl::Monitor leg: its media is in the mix.
  virtual void MonitorAnswered(CallId /*call*/, core::UserId /*supervisor*/) {}
  // The supervisor's leg ended: status >= 300 when it never answered (486, 480 not
  // registered, 408 no answer), 0 when the supervisor hung up, kMonitorAgentLegEnded when the
  // agent leg it mixed ended without an order that ends the monitor (a leg replaced). Not
  // reported for StopMonitor, the call's end, or Requeue (the engine side ended it already).
  virtual void MonitorEnded(CallId /*call*/, core::UserId /*supervisor*/, int /*status*/) {}
};

// Where an agent's phone is reached: its registered Contact and the address (and transport)
// the registration came from, as a route URI "sip:203.0.113.9:5062;transport=tcp".
struct AgentBinding {
  std::string contact;
  std::string route;
};
// Looks a SIP user's current binding up (the registrar), on the SIP thread.
using BindingLookup = std::function<std::optional<AgentBinding>(const std::string& sip_user)>;

struct CallsStats {
  std::uint64_t live = 0;
  std::uint64_t invites_in = 0;
  std::uint64_t invites_out = 0;
  std::uint64_t dials = 0;  // INVITEs to numbers through trunks (part of invites_out)
  std::uint64_t bad_sdp = 0;  // INVITEs refused with 488
  std::uint64_t auth_failures = 0;  // INVITEs with wrong trunk credentials (403)
  std::uint64_t auth_limited = 0;   // INVITEs refused unchecked by the failure limiter (403)
};

class Calls final : public CallControl {
 public:
  Calls(SipStack& stack, media::MediaEngine& media, CallHappenings& happenings,
        BindingLookup bindings);
  ~Calls() override;
  Calls(const Calls&) = delete;
  Calls& operator=(const Calls&) = delete;

  // Takes the stack's INVITEs and the media engine's events, and ends every call when the
  // stack stops. Call once, from any thread, before calls arrive.
  void Install();

  // ---- CallControl (any thread) ---------------------------------------------------------------
  void Answer(CallId call, WaitPrompts prompts) override;
  void Refuse(CallId call, int status, std::string reason) override;
  void Announce(CallId call, int position) override;
  void RingAgent(CallId call, core::UserId agent, std::string sip_user, DurationMs timeout) override;
  void DropAgent(CallId call, core::UserId agent) override;
  void Bridge(CallId call, std::string record_path) override;
  void PauseRecording(CallId call, bool paused) override;
  void Hold(CallId call, bool on) override;
  void Requeue(CallId call) override;
  void HangUp(CallId call, std::string cause) override;
  void RingConsult(CallId call, core::UserId agent, std::string sip_user, DurationMs timeout) override;
  void BridgeConsult(CallId call) override;
  void DropConsult(CallId call) override;
  void CompleteConsult(CallId call, std::string record_path) override;
  void DialConsult(CallId call, DialOut target) override;
  void PlayMenu(CallId call, std::uint64_t round, std::string prompt_text, std::string prompt_path,
                DurationMs timeout) override;
  CallId NewCall() override;
  void CallAgent(CallId call, core::UserId agent, std::string sip_user, std::string show,
                 DurationMs timeout) override;
  void Dial(CallId call, DialOut target) override;
  void Monitor(CallId call, core::UserId supervisor, std::string sip_user, core::MonitorMode mode,
               DurationMs timeout) override;
  void SetMonitorMode(CallId call, core::UserId supervisor, core::MonitorMode mode) override;
  void StopMonitor(CallId call, core::UserId supervisor) override;

  // Trunks that authenticate by digest (core::Trunk inbound_user and password): the user name
  // and its HA1 (hex, auth::SipHa1), the whole set each time (it replaces the previous one).
  // Any thread. An INVITE with Proxy-Authorization (or Authorization) is checked against them
  // on the SIP thread, with the registrar's nonces and failure limits (digest_check.h): a
  // match goes to the engine side with InboundCall::trunk_user set; anything else gets 403
  // (a bad or stale nonce: a new 407 challenge) without reaching the engine side.
  void SetTrunkCredentials(std::vector<std::pair<std::string, std::string>> user_ha1);

  // Where menu prompts spoken from text are cached (data_dir/prompts, ivr_<hash>.wav). Empty:
  // a text prompt is not played (the wait for a key starts at once). Before Install.
  void SetPromptDir(std::string dir);

  // Ends every call (BYE/CANCEL/480) and waits until done. Any thread but the SIP thread.
  void HangUpAll();
  CallsStats stats() const;  // any thread

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;  // shared: closures posted to the SIP thread keep it alive
};

}  // namespace homeline::sip
