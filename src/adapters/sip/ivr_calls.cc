#include "adapters/sip/ivr_calls.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "adapters/sip/voice_service.h"

namespace homeline::sip {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string MediaType(std::string_view content_type) {
  const auto semi = content_type.find(';');
  return Lower(Trim(content_type.substr(0, semi)));
}

std::optional<char> Key(std::string_view v) {
  v = Trim(v);
  if (v == "10") return '*';
  if (v == "11") return '#';
  if (v.size() != 1) return std::nullopt;
  const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(v[0])));
  if ((c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D')) return c;
  return std::nullopt;
}

}  // namespace

bool IsDtmfInfoType(std::string_view content_type) {
  const std::string t = MediaType(content_type);
  return t == "application/dtmf-relay" || t == "application/dtmf";
}

std::optional<char> ParseDtmfInfo(std::string_view content_type, std::string_view body) {
  const std::string t = MediaType(content_type);
  if (t == "application/dtmf") return Key(body);
  if (t != "application/dtmf-relay") return std::nullopt;
  // Lines "Name=value"; the one named Signal (any case) carries the key.
  while (!body.empty()) {
    const auto eol = body.find('\n');
    std::string_view line = body.substr(0, eol);
    body = eol == std::string_view::npos ? std::string_view() : body.substr(eol + 1);
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    if (Lower(Trim(line.substr(0, eq))) == "signal") return Key(line.substr(eq + 1));
  }
  return std::nullopt;
}

std::string IvrPromptName(std::string_view text) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("ivr_{:016x}", h);
}

// ---- VoiceService: callers in IVR menus (engine thread) ----------------------------------------

void VoiceService::StartIvr(const InboundCall& in, const InboundRoute& route) {
  const core::TenantId tenant = route.tenant;
  const core::IvrMenuId menu = route.ivr;
  IvrCall& c = ivr_[in.call];
  c.in = in;
  c.tenant = tenant;
  c.trunk = route.trunk;
  // The customer leg starts now, with no interaction and no queue: the IVR time is in it.
  core::CdrLegStart leg;
  leg.tenant = tenant;
  leg.role = core::CdrRole::kCustomer;
  leg.from = in.from_user.substr(0, 256);
  leg.to = in.number.substr(0, 256);
  leg.trunk = route.trunk;
  if (auto cdr = engine_.StartCdrLeg(std::move(leg))) {
    c.customer_cdr = *cdr;
    (void)engine_.AnswerCdrLeg(tenant, *cdr);  // the menu answers
  }
  spdlog::info("voice: call={} from {} to {}: IVR menu {}", in.call, in.from_user, in.number, menu);
  auto find = [this, tenant](core::IvrMenuId id) { return engine_.FindIvrMenu(tenant, id); };
  ApplyIvr(in.call, core::IvrStart(find, menu, &c.session));
}

void VoiceService::EndIvrCdr(core::TenantId tenant, core::CdrLegId cdr, core::CdrResult result,
                             const std::string& cause, core::CdrParty by) {
  if (cdr != 0) (void)engine_.EndCdrLeg(tenant, cdr, result, cause, by, 0);
}

void VoiceService::OnIvrInput(CallId call, std::uint64_t round, core::IvrInput input) {
  auto it = ivr_.find(call);
  if (it == ivr_.end() || it->second.round != round) return;  // a stale input
  IvrCall& c = it->second;
  const core::TenantId tenant = c.tenant;
  auto find = [this, tenant](core::IvrMenuId id) { return engine_.FindIvrMenu(tenant, id); };
  ApplyIvr(call, core::IvrStep(find, &c.session, input));
}

void VoiceService::ApplyIvr(CallId call, const core::IvrOutcome& out) {
  auto it = ivr_.find(call);
  if (it == ivr_.end()) return;
  IvrCall& c = it->second;
  using K = core::IvrOutcome::Kind;
  switch (out.kind) {
    case K::kPlay: {
      ++c.round;
      // Files are plain names (core::ValidPromptFile), so they stay inside the folder.
      std::string path = out.prompt_file.empty() ? std::string() : prompt_dir_ + "/" + out.prompt_file;
      control_.PlayMenu(call, c.round, out.prompt_text, std::move(path), out.timeout);
      return;
    }
    case K::kQueue: {
      InboundCall in = std::move(c.in);
      const core::TenantId tenant = c.tenant;
      const core::CdrLegId cdr = c.customer_cdr;
      const core::TrunkId trunk = c.trunk;
      ivr_.erase(it);
      auto route = QueueRoute(engine_, tenant, out.queue, prompt_dir_);
      if (!route) {
        ++counters_.refused;
        spdlog::warn("voice: call={} IVR to queue {}: {}", call, out.queue, route.error().message);
        EndIvrCdr(tenant, cdr, core::CdrResult::kFailed, route.error().message, core::CdrParty::kSystem);
        control_.HangUp(call, route.error().message);
        return;
      }
      route->trunk = trunk;
      Enqueue(in, *route, cdr);
      return;
    }
    case K::kTransfer: {
      // Put through to the number by the tenant's outbound trunk (the caller hears music until
      // it answers); without one the caller is hung up rather than left in silence.
      const core::TenantId tenant = c.tenant;
      const core::CdrLegId cdr = c.customer_cdr;
      auto target = TrunkDials(engine_, tenant, out.number);
      ivr_.erase(it);
      if (!target) {
        spdlog::warn("voice: call={} IVR transfer to {}: {}", call, out.number, target.error().message);
        EndIvrCdr(tenant, cdr, core::CdrResult::kFailed, "no outbound trunk", core::CdrParty::kSystem);
        control_.HangUp(call, target.error().message);
        return;
      }
      spdlog::info("voice: call={} IVR transfer to {}", call, out.number);
      PutThrough(call, tenant, 0, cdr, std::move(*target));
      return;
    }
    case K::kHangUp:
      spdlog::info("voice: call={} IVR hangs up ({})", call, out.reason);
      EndIvrCdr(c.tenant, c.customer_cdr,
                out.reason == "hangup_option" ? core::CdrResult::kAnswered : core::CdrResult::kFailed,
                "ivr " + out.reason, core::CdrParty::kSystem);
      ivr_.erase(it);
      control_.HangUp(call, "ivr: " + out.reason);
      return;
  }
}

}  // namespace homeline::sip
