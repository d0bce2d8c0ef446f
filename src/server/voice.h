#pragma once
// The server's voice wiring: the media engine, the SIP calls (on the SIP stack's thread) and
// the VoiceService (on the engine loop), and the hand-over between the threads: what Calls
// reports is posted to the engine loop, what VoiceService orders is posted to the SIP thread.
//
// Threads: construct, Observe, Tick and the destructor on the engine loop thread; Stop before
// the SIP stack stops.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/api/api.h"
#include "adapters/sip/calls.h"
#include "common/result.h"
#include "core/engine.h"

namespace homeline::media {
class MediaEngine;
}
namespace homeline::sip {
class SipStack;
class VoiceService;
}  // namespace homeline::sip

namespace homeline::server {

struct VoiceOptions {
  std::string data_dir;            // prompts under data_dir/prompts
  std::string media_address;       // RTP sockets bind here (the SIP host)
  std::string media_address6;      // and here for IPv6 peers ("" : none)
  std::string recordings_dir;      // recordings under here, per tenant
  std::uint16_t rtp_port_min = 20000;
  std::uint16_t rtp_port_max = 30000;
};

class Voice {
 public:
  // post(fn) runs fn on the engine loop, then the loop's RunDue and outbox flush. bindings
  // finds an agent's registered phone (the registrar; called on the SIP thread).
  static Result<std::unique_ptr<Voice>> Start(core::Engine& engine, sip::SipStack& stack,
                                              std::function<void(std::function<void()>)> post,
                                              sip::BindingLookup bindings,
                                              const VoiceOptions& options);
  ~Voice();

  // Every event the engine emitted, in order (before the store commits them: calls cannot
  // wait for an fsync, and do not survive a restart anyway).
  void Observe(const std::vector<core::Event>& events);
  void Tick();  // about once a second
  // The API's call control: "hold", "resume", "pause_recording", "resume_recording" on the call
  // of a connected voice interaction (see sip::VoiceService).
  Status Action(core::InteractionId id, const std::string& action);
  // The engine-side voice service (supervisor monitoring and the like; engine loop only).
  sip::VoiceService& service();
  // The API's transfers of a call (api::CallTransfer; sip::VoiceService::TransferToAgent,
  // Consult, CompleteConsult, CancelConsult). Returns the interaction the call continues as
  // (consult: the consultation; cancel: the call's own).
  Result<core::InteractionId> Transfer(const api::CallTransfer& t);
  // Calls to numbers (sip::VoiceService::CallNumber, TransferToNumber).
  Result<core::InteractionId> CallNumber(core::UserId agent, core::TenantId t, core::QueueId q,
                                         const std::string& number);
  Status TransferToNumber(core::InteractionId id, const std::string& number);
  std::string Metrics() const;  // Prometheus text

  struct Impl;

 private:
  explicit Voice(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace homeline::server
