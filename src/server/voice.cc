#include "server/voice.h"

#include <algorithm>
#include <filesystem>
#include <variant>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "adapters/auth/sip_digest.h"
#include "adapters/media/media_engine.h"
#include "adapters/sip/calls.h"
#include "adapters/sip/sip_stack.h"
#include "adapters/sip/voice_service.h"
#include "server/metrics_text.h"

namespace homeline::server {

// Calls' happenings, handed to the engine loop in the order they happened.
struct Voice::Impl : sip::CallHappenings {
  core::Engine& engine;
  std::function<void(std::function<void()>)> post;
  std::unique_ptr<media::MediaEngine> media;
  std::unique_ptr<sip::Calls> calls;
  std::unique_ptr<sip::VoiceService> voice;

  Impl(core::Engine& e, std::function<void(std::function<void()>)> p) : engine(e), post(std::move(p)) {}

  // The SIP side's copy of the trunks' digest credentials (it checks INVITEs on its thread).
  // The whole set: trunks are few and change rarely.
  void PushTrunkCredentials() {
    std::vector<std::pair<std::string, std::string>> creds;
    for (const auto& [tenant, t] : engine.tenants()) {
      for (const core::Trunk* trunk : engine.Trunks(tenant)) {
        if (!trunk->inbound_user.empty())
          creds.emplace_back(trunk->inbound_user, auth::SipHa1(trunk->inbound_user, trunk->inbound_password));
      }
    }
    calls->SetTrunkCredentials(std::move(creds));
  }

  void Inbound(sip::InboundCall call) override {
    post([this, call = std::move(call)] { voice->OnInbound(call); });
  }
  void AgentAnswered(sip::CallId call, core::UserId agent) override {
    post([this, call, agent] { voice->OnAgentAnswered(call, agent); });
  }
  void AgentFailed(sip::CallId call, core::UserId agent, int status) override {
    post([this, call, agent, status] { voice->OnAgentFailed(call, agent, status); });
  }
  void CustomerHungUp(sip::CallId call) override {
    post([this, call] { voice->OnCustomerHangUp(call); });
  }
  void AgentHungUp(sip::CallId call, core::UserId agent) override {
    post([this, call, agent] { voice->OnAgentHangUp(call, agent); });
  }
  void ConsultAnswered(sip::CallId call, core::UserId agent) override {
    post([this, call, agent] { voice->OnConsultAnswered(call, agent); });
  }
  void ConsultFailed(sip::CallId call, core::UserId agent, int status) override {
    post([this, call, agent, status] { voice->OnConsultFailed(call, agent, status); });
  }
  void ConsultHungUp(sip::CallId call, core::UserId agent) override {
    post([this, call, agent] { voice->OnConsultHungUp(call, agent); });
  }
  void IvrDigit(sip::CallId call, std::uint64_t round, char digit) override {
    post([this, call, round, digit] { voice->OnIvrInput(call, round, core::IvrInput::Digit(digit)); });
  }
  void NumberAnswered(sip::CallId call) override {
    post([this, call] { voice->OnNumberAnswered(call); });
  }
  void NumberFailed(sip::CallId call, int status) override {
    post([this, call, status] { voice->OnNumberFailed(call, status); });
  }
  void NumberHungUp(sip::CallId call) override {
    post([this, call] { voice->OnNumberHangUp(call); });
  }
  void IvrTimeout(sip::CallId call, std::uint64_t round) override {
    post([this, call, round] { voice->OnIvrInput(call, round, core::IvrInput::Timeout()); });
  }
  void MonitorAnswered(sip::CallId call, core::UserId supervisor) override {
    post([this, call, supervisor] { voice->OnMonitorAnswered(call, supervisor); });
  }
  void MonitorEnded(sip::CallId call, core::UserId supervisor, int status) override {
    post([this, call, supervisor, status] { voice->OnMonitorEnded(call, supervisor, status); });
  }
};

Voice::Voice(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Voice::~Voice() {
  // The SIP stack has stopped (its shutdown hook ended the calls): nothing uses the media
  // engine any more.
  impl_->calls.reset();
  impl_->media.reset();
}

Result<std::unique_ptr<Voice>> Voice::Start(core::Engine& engine, sip::SipStack& stack,
                                            std::function<void(std::function<void()>)> post,
                                            sip::BindingLookup bindings,
                                            const VoiceOptions& options) {
  auto impl = std::make_unique<Impl>(engine, std::move(post));
  media::Options mo;
  mo.bind_address = options.media_address;
  mo.bind_address6 = options.media_address6;
  mo.port_min = options.rtp_port_min;
  mo.port_max = options.rtp_port_max;
  mo.prompt_dir = (std::filesystem::path(options.data_dir) / "prompts").string();
  auto media = media::MediaEngine::Start(mo);
  if (!media) return std::unexpected(media.error());
  impl->media = std::move(*media);
  impl->calls = std::make_unique<sip::Calls>(stack, *impl->media, *impl, std::move(bindings));
  impl->voice = std::make_unique<sip::VoiceService>(engine, *impl->calls, sip::NumberRouter(mo.prompt_dir));
  impl->voice->SetRecordingsDir(options.recordings_dir);
  impl->voice->SetPromptDir(mo.prompt_dir);
  impl->calls->SetPromptDir(mo.prompt_dir);
  impl->calls->Install();
  impl->PushTrunkCredentials();
  spdlog::info("voice: media on {} ports {}-{}, prompts in {}", mo.bind_address, mo.port_min,
               mo.port_max, mo.prompt_dir);
  return std::unique_ptr<Voice>(new Voice(std::move(impl)));
}

void Voice::Observe(const std::vector<core::Event>& events) {
  impl_->voice->Observe(events);
  const bool trunks_changed = std::any_of(events.begin(), events.end(), [](const core::Event& e) {
    return std::holds_alternative<core::TrunkSet>(e.body) || std::holds_alternative<core::TrunkDeleted>(e.body);
  });
  if (trunks_changed) impl_->PushTrunkCredentials();
}

void Voice::Tick() { impl_->voice->Tick(); }

Status Voice::Action(core::InteractionId id, const std::string& action) {
  if (action == "hold" || action == "resume") return impl_->voice->Hold(id, action == "hold");
  if (action == "pause_recording" || action == "resume_recording")
    return impl_->voice->PauseRecording(id, action == "pause_recording");
  return Fail(ErrorCode::kBadRequest, "unknown call action " + action);
}

sip::VoiceService& Voice::service() { return *impl_->voice; }
Result<core::InteractionId> Voice::CallNumber(core::UserId agent, core::TenantId t, core::QueueId q,
                                              const std::string& number) {
  return impl_->voice->CallNumber(agent, t, q, number);
}

Status Voice::TransferToNumber(core::InteractionId id, const std::string& number) {
  return impl_->voice->TransferToNumber(id, number);
}

Result<core::InteractionId> Voice::Transfer(const api::CallTransfer& t) {
  sip::VoiceService& v = *impl_->voice;
  if (t.action == "transfer_agent") return v.TransferToAgent(t.by, t.id, t.agent);
  if (t.action == "consult") return v.Consult(t.by, t.id, t.agent, t.queue);
  if (t.action == "consult_number") return v.ConsultNumber(t.by, t.id, t.number);
  if (t.action == "consult_complete") return v.CompleteConsult(t.by, t.id);
  if (t.action == "consult_cancel") {
    if (auto st = v.CancelConsult(t.by, t.id); !st) return std::unexpected(st.error());
    return t.id;
  }
  return Fail(ErrorCode::kBadRequest, "unknown transfer action " + t.action);
}

std::string Voice::Metrics() const {
  const sip::VoiceCounters& v = impl_->voice->counters();
  const sip::CallsStats c = impl_->calls->stats();
  const media::Stats m = impl_->media->stats();
  std::string out;
  AppendMetric(out, "homeline_voice_calls_live", "gauge", c.live);
  AppendMetric(out, "homeline_voice_ivr_calls", "gauge", impl_->voice->ivr_calls());
  AppendMetric(out, "homeline_voice_inbound_total", "counter", v.inbound);
  AppendMetric(out, "homeline_voice_refused_total", "counter", v.refused);
  AppendMetric(out, "homeline_voice_agent_rings_total", "counter", v.rung);
  AppendMetric(out, "homeline_voice_bridged_total", "counter", v.bridged);
  AppendMetric(out, "homeline_voice_abandoned_total", "counter", v.abandoned);
  AppendMetric(out, "homeline_voice_monitors_total", "counter", v.monitors);
  AppendMetric(out, "homeline_voice_dialled_total", "counter", v.dialled);
  AppendMetric(out, "homeline_voice_dial_answered_total", "counter", v.dial_answered);
  AppendMetric(out, "homeline_voice_bad_sdp_total", "counter", c.bad_sdp);
  AppendMetric(out, "homeline_voice_trunk_auth_failures_total", "counter", c.auth_failures);
  AppendMetric(out, "homeline_voice_trunk_auth_limited_total", "counter", c.auth_limited);
  AppendMetric(out, "homeline_media_legs", "gauge", m.legs);
  AppendMetric(out, "homeline_media_packets_in_total", "counter", m.packets_in);
  AppendMetric(out, "homeline_media_packets_out_total", "counter", m.packets_out);
  AppendMetric(out, "homeline_media_packets_relayed_total", "counter", m.packets_relayed);
  return out;
}

}  // namespace homeline::server
