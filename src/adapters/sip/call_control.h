#pragma once
// The seam between the two halves of voice: the SIP side (calls.h: libre sessions and media
// legs, on the SIP thread) and the engine side (voice_service.h: interactions, on the engine
// thread). Calls are named by CallId across it, never by pointer, so an order for a call that
// has ended meanwhile is a no-op on the other side.
//
// CallControl is what the engine side orders. The SIP side implements it by posting each order
// to the SIP thread (SipStack::Post); tests implement it with a recorder. Orders are one-way
// and never fail to the caller: what happens on the wire comes back as a happening
// (VoiceService::OnAgentFailed, OnCustomerHangUp, ...).

#include <atomic>
#include <cstdint>
#include <string>

#include "common/time.h"
#include "core/types.h"
#include "core/voice.h"

namespace homeline::sip {

// One customer call: the customer leg plus at most one agent leg at a time. Unique per process.
using CallId = std::uint64_t;

// CallHappenings::MonitorEnded's status when the agent leg the monitor mixed went away.
inline constexpr int kMonitorAgentLegEnded = -1;

// A new INVITE from outside, as the SIP thread saw it (the engine side decides on it).
struct InboundCall {
  CallId call = 0;
  std::string source;   // the packet's source address (no port): the trunk check
  std::string number;   // the request URI's user part: the dialled number
  std::string from_user;  // the caller: From URI user (a phone number for a PSTN trunk)
  std::string from_name;  // From display name, if any
  // The trunk's digest user name when the INVITE carried credentials that the SIP side
  // verified (Calls::SetTrunkCredentials); "" when it carried none.
  std::string trunk_user;
};

// A call to a number through a tenant's trunk (core::Trunk's outbound side): the INVITE goes to
// sip:<number>@host:port (transport), From and P-Asserted-Identity carry the caller id, and a
// 401/407 from the carrier is answered once with the digest credentials.
struct DialOut {
  std::string number;       // E.164 ("+15550199"): the Request-URI's user part
  std::string host;         // the carrier's host name or address (IPv6 without brackets)
  int port = 5060;
  core::SipTransport transport = core::SipTransport::kUdp;
  std::string user;         // digest credentials; "" : a challenge fails the call
  std::string password;
  std::string caller_id;    // E.164 for From and P-Asserted-Identity; "" : anonymous
  std::string caller_name;  // From display name, may be empty
  core::TrunkId trunk = 0;  // for the logs and the CDR, not used on the wire
  DurationMs timeout = 60 * kSecond;  // no answer by then: CANCEL and NumberFailed 487
  // No response at all (not even 100 Trying or a challenge) by then: the trunk is taken as
  // down, the INVITE abandoned and NumberFailed 408 (the engine side tries its next trunk).
  DurationMs response_timeout = 4 * kSecond;
};

// Whether a failed call to a number is the trunk's fault rather than the called party's
// answer, so that the next trunk may be tried (docs/decisions.md 52): no response or a timeout
// (408), could not send (500), the carrier's own trouble (502, 503, 504), its refusal of our
// credentials (401, 407). A definitive answer about the number (486 busy, 404, 480, 484, 603,
// 487 after our own no-answer CANCEL...) is not.
constexpr bool TrunkFailure(int status) {
  return status == 408 || status == 500 || status == 502 || status == 503 || status == 504 ||
         status == 401 || status == 407;
}

// What the customer hears while waiting; empty strings mean the defaults (media's prompts).
struct WaitPrompts {
  std::string greeting;
  std::string music;
};

class CallControl {
 public:
  virtual ~CallControl() = default;
  // Answer the customer (200 with our SDP) and play greeting then music on hold, looped.
  virtual void Answer(CallId call, WaitPrompts prompts) = 0;
  // Refuse the customer's INVITE with a final status (403, 404, 480, 503...). 407: challenge
  // the caller to authenticate as a trunk (the SIP side adds Proxy-Authenticate).
  virtual void Refuse(CallId call, int status, std::string reason) = 0;
  // Tell the waiting customer its place in line, then music on hold again.
  virtual void Announce(CallId call, int position) = 0;
  // Ring the agent's registered phone (sip_user is its registration's user name); ends with
  // OnAgentAnswered or OnAgentFailed. timeout is a safety net: the engine's offer expiry
  // normally cancels first.
  virtual void RingAgent(CallId call, core::UserId agent, std::string sip_user,
                         DurationMs timeout) = 0;
  // Stop ringing (CANCEL), or BYE an agent leg that answered too late. Only if the leg
  // belongs to `agent`: an order about an earlier agent leaves a newer one alone.
  virtual void DropAgent(CallId call, core::UserId agent) = 0;
  // Music off, customer and agent legs bridged; with record_path set, the conversation is
  // recorded there (two channels: customer left, agent right) until either leg ends.
  virtual void Bridge(CallId call, std::string record_path) = 0;
  // Pauses or resumes the call's recording (a pause is written as silence). No-op without one.
  virtual void PauseRecording(CallId call, bool paused) = 0;
  // Hold: the legs are unbridged and the customer hears music on hold (the agent silence);
  // resume bridges them again. Only for a bridged call.
  virtual void Hold(CallId call, bool on) = 0;
  // The call went back to a queue (blind transfer): the agent leg ends (BYE) and the customer
  // hears music on hold again.
  virtual void Requeue(CallId call) = 0;
  // End every leg of the call (BYE, CANCEL or a final response, whatever each leg needs).
  virtual void HangUp(CallId call, std::string cause) = 0;

  // Consultation (warm transfer, docs/decisions.md 49). The call's agent leg stays; a second
  // agent leg rings the consultee's phone while the customer is on hold (Hold(call, true)
  // first). Ends with CallHappenings::ConsultAnswered or ConsultFailed. Default: ignored
  // (recorders that do not test transfers).
  virtual void RingConsult(CallId /*call*/, core::UserId /*agent*/, std::string /*sip_user*/,
                           DurationMs /*timeout*/) {}
  // The agent and the consultee talk (their legs bridged); the customer still hears music.
  virtual void BridgeConsult(CallId /*call*/) {}
  // The consult leg ends (CANCEL or BYE); the customer stays on hold until Hold(call, false).
  virtual void DropConsult(CallId /*call*/) {}
  // The consultee takes the call: the first agent's leg ends (BYE), the consult leg becomes the
  // call's agent leg and is bridged with the customer (recorded at record_path when set).
  virtual void CompleteConsult(CallId /*call*/, std::string /*record_path*/) {}
  // A consultation with a number (docs/decisions.md 58): the consult leg is a call to target
  // through its trunk (as Dial's, with its credentials, caller id and timeouts) while the
  // customer is on hold. It ends as an agent consult leg does, with agent 0:
  // CallHappenings::ConsultAnswered(call, 0), ConsultFailed(call, 0, status: as NumberFailed's)
  // or ConsultHungUp(call, 0); BridgeConsult, DropConsult and CompleteConsult (the number
  // becomes the leg the customer is bridged to, as after Dial) work on it unchanged. After
  // CompleteConsult the number hanging up is CallHappenings::NumberHungUp.
  virtual void DialConsult(CallId /*call*/, DialOut /*target*/) {}

  // IVR (docs/decisions.md "IVR on live calls"): answer the customer if not yet (200, no
  // music), play a menu's prompt (prompt_path: a WAV file; else prompt_text, spoken with
  // espeak-ng and cached) and, once it has played, wait `timeout` for a key. A key (RFC 4733 or
  // SIP INFO) during the prompt stops it. One input per round comes back, tagged with `round`:
  // CallHappenings::IvrDigit or IvrTimeout. Answer() afterwards leaves the menu for the queue's
  // greeting and music. Default: ignored (recorders that do not test IVR).
  virtual void PlayMenu(CallId /*call*/, std::uint64_t /*round*/, std::string /*prompt_text*/,
                        std::string /*prompt_path*/, DurationMs /*timeout*/) {}

  // ---- calls to numbers ("outbound primitive", docs/decisions.md "Outbound calls") ----------
  // A fresh CallId for a call Homeline starts itself. The default (recorders) counts from
  // 2^48 so that it never meets the ids of inbound calls in a test.
  virtual CallId NewCall();
  // Starts an outbound call: rings the agent's registered phone (our own offer: PCMU and
  // telephone-event; `show` is the From user the phone displays, the number being called).
  // Ends with AgentAnswered or AgentFailed, as RingAgent. The call has no customer leg yet.
  virtual void CallAgent(CallId /*call*/, core::UserId /*agent*/, std::string /*sip_user*/,
                         std::string /*show*/, DurationMs /*timeout*/) {}
  // Calls a number through a trunk for `call`:
  // - a call CallAgent started, its agent answered: the number's leg becomes the call's
  //   customer leg; the agent hears its early media (183 with SDP) or silence until it answers;
  // - a call with a customer (inbound, or in an IVR menu): the number's leg takes the agent
  //   leg's place (an agent leg still there ends with BYE/CANCEL); the customer hears music on
  //   hold until the number answers.
  // Ends with CallHappenings::NumberAnswered, or NumberFailed (486/600 busy, 487 no answer
  // within target.timeout, 408 no response within target.response_timeout or the far end's
  // 408, 480, 404, 503..., 500 when it could not be sent); the call's other
  // leg stays. Once answered, Bridge connects the two legs like an agent leg (a recording has
  // the customer left: the number for an outbound call). After that the number hanging up ends
  // the call: CustomerHungUp for an outbound call, NumberHungUp otherwise.
  virtual void Dial(CallId /*call*/, DialOut /*target*/) {}
  // Supervisor monitoring (docs/decisions.md "Supervisor monitoring"): ring the supervisor's
  // registered phone (sip_user: its registration's user name) from a bridged call; once it
  // answers, its media joins the call's customer and agent legs through the media mixer in
  // `mode`. Ends with CallHappenings::MonitorAnswered or MonitorEnded. The parties' legs are
  // not touched (no re-INVITE): what changes for them is only what the mixer sends them.
  // A call has one monitor leg at most; the leg ends with the agent leg (hang-up, transfer).
  virtual void Monitor(CallId /*call*/, core::UserId /*supervisor*/, std::string /*sip_user*/,
                       core::MonitorMode /*mode*/, DurationMs /*timeout*/) {}
  // Changes the mode of the monitor leg of `supervisor` (applied on answer if still ringing).
  virtual void SetMonitorMode(CallId /*call*/, core::UserId /*supervisor*/, core::MonitorMode /*mode*/) {}
  // Ends the monitor leg of `supervisor` (CANCEL or BYE). A newer leg of another is left alone.
  virtual void StopMonitor(CallId /*call*/, core::UserId /*supervisor*/) {}
};

inline CallId CallControl::NewCall() {
  static std::atomic<CallId> next{CallId{1} << 48};
  return next++;
}

}  // namespace homeline::sip
