#include "adapters/sip/voice_service.h"

#include <algorithm>
#include <map>
#include <type_traits>
#include <variant>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace homeline::sip {

namespace {

int StatusOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::kForbidden: return 403;
    case ErrorCode::kUnauthorized: return 407;  // Calls adds the challenge
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kBadRequest: return 400;
    case ErrorCode::kUnavailable: return 480;
    default: return 480;
  }
}

// A failed call to a number, as its CDR leg and the interaction's reason say it.
core::CdrResult NumberResult(int status) {
  if (status == 486 || status == 600) return core::CdrResult::kBusy;
  if (status == 408 || status == 480 || status == 487) return core::CdrResult::kNoAnswer;
  return core::CdrResult::kFailed;
}
std::string NumberReason(int status) {
  switch (NumberResult(status)) {
    case core::CdrResult::kBusy: return "customer_busy";
    case core::CdrResult::kNoAnswer: return "customer_no_answer";
    default: return status == 603 ? "customer_rejected" : "customer_failed_" + std::to_string(status);
  }
}

// A phone rung for our own purposes (an outbound call's agent, a supervisor) rings as long as
// an offer of the call's queue would; this when the queue is gone.
constexpr DurationMs kAgentRing = 30 * kSecond;

}  // namespace

Result<std::vector<DialOut>> TrunkDials(const core::Engine& e, core::TenantId t,
                                        const std::string& number) {
  std::vector<const core::Trunk*> trunks;
  for (const core::Trunk* trunk : e.Trunks(t))
    if (!trunk->outbound_host.empty()) trunks.push_back(trunk);
  if (trunks.empty())
    return Fail(ErrorCode::kConflict, "no trunk of the tenant is set up for outbound calls (outbound.host)");
  std::stable_sort(trunks.begin(), trunks.end(), [](const core::Trunk* a, const core::Trunk* b) {
    return a->outbound_priority < b->outbound_priority;  // by id among equals (Trunks' order)
  });
  std::vector<DialOut> out;
  out.reserve(trunks.size());
  for (const core::Trunk* trunk : trunks) {
    DialOut d;
    d.number = number;
    d.host = trunk->outbound_host;
    d.port = trunk->outbound_port;
    d.transport = trunk->outbound_transport;
    d.user = trunk->outbound_user;
    d.password = trunk->outbound_password;
    d.caller_id = trunk->caller_id;
    d.trunk = trunk->id;
    d.timeout = trunk->dial_timeout;
    out.push_back(std::move(d));
  }
  return out;
}

bool VoiceService::NextTrunk(int status, DialOut* target, std::vector<DialOut>* fallbacks) {
  if (!TrunkFailure(status) || fallbacks->empty()) return false;
  *target = std::move(fallbacks->front());
  fallbacks->erase(fallbacks->begin());
  return true;
}

Result<InboundRoute> QueueRoute(const core::Engine& e, core::TenantId tenant, core::QueueId queue,
                                const std::string& dir) {
  if (e.FindQueue(tenant, queue) == nullptr) return Fail(ErrorCode::kNotFound, "the queue is gone");
  InboundRoute r;
  r.tenant = tenant;
  r.queue = queue;
  if (auto v = e.VoiceOf(tenant, queue)) {
    // Files are plain names (core::ValidPromptFile), so they stay inside the folder.
    if (!v->greeting_file.empty()) r.prompts.greeting = dir + "/" + v->greeting_file;
    if (!v->moh_file.empty()) r.prompts.music = dir + "/" + v->moh_file;
    r.announce_every = v->position_interval;
  }
  return r;
}

InboundRouter NumberRouter(std::string prompt_dir) {
  return [dir = std::move(prompt_dir)](const core::Engine& e,
                                       const InboundCall& in) -> Result<InboundRoute> {
    // Credentials the SIP side verified name the trunk; else the source address must be one a
    // trunk allows (or, when some trunk authenticates, the caller is challenged to).
    const core::Trunk* by_user = nullptr;
    if (!in.trunk_user.empty()) {
      by_user = e.TrunkByDigestUser(in.trunk_user);
      if (by_user == nullptr) return Fail(ErrorCode::kForbidden, "the trunk is gone");
    } else if (e.TrunkForSource(in.source) == nullptr) {
      // The source first, so that a stranger learns nothing about which numbers exist.
      if (e.HasDigestTrunks()) return Fail(ErrorCode::kUnauthorized, "authenticate as a trunk");
      return Fail(ErrorCode::kForbidden, "no trunk accepts calls from " + in.source);
    }
    const core::PhoneNumber* n = e.FindNumber(in.number);
    if (n == nullptr) return Fail(ErrorCode::kNotFound, "no such number");
    const core::Trunk* trunk = by_user != nullptr ? (by_user->tenant == n->tenant ? by_user : nullptr)
                                                  : e.TrunkForSource(n->tenant, in.source);
    if (trunk == nullptr || (n->trunk != 0 && n->trunk != trunk->id))
      return Fail(ErrorCode::kForbidden, "the number is not reachable through this trunk");
    if (n->queue == 0) {
      if (n->ivr == 0 || e.FindIvrMenu(n->tenant, n->ivr) == nullptr)
        return Fail(ErrorCode::kNotFound, "the number's menu is gone");
      InboundRoute r;
      r.tenant = n->tenant;
      r.ivr = n->ivr;
      r.trunk = trunk->id;
      return r;
    }
    auto r = QueueRoute(e, n->tenant, n->queue, dir);
    if (!r) return Fail(ErrorCode::kNotFound, "the number's queue is gone");
    r->trunk = trunk->id;
    return r;
  };
}

VoiceService::VoiceService(core::Engine& engine, CallControl& calls, InboundRouter router)
    : engine_(engine), control_(calls), router_(std::move(router)) {
  sip_user_of_ = [this](core::UserId u) {
    const core::User* user = engine_.FindUser(u);
    return user ? user->login : std::string();
  };
}

VoiceService::Call* VoiceService::Find(CallId id) {
  auto it = calls_.find(id);
  return it == calls_.end() ? nullptr : &it->second;
}

CallId VoiceService::CallOf(core::InteractionId id) const {
  auto it = by_interaction_.find(id);
  return it == by_interaction_.end() ? 0 : it->second;
}

void VoiceService::EndAgentCdr(Call& c, core::CdrResult result, const std::string& cause,
                               core::CdrParty by) {
  if (c.agent_cdr == 0) return;
  (void)engine_.EndCdrLeg(c.tenant, c.agent_cdr, result, cause, by, c.interaction);
  c.agent_cdr = 0;
  c.agent_answered = false;
}

void VoiceService::End(CallId id, const std::string& cause, core::CdrParty by) {
  auto it = calls_.find(id);
  if (it == calls_.end()) return;
  Call& c = it->second;
  EndMonitor(c, "call_ended", cause, by);  // HangUp below ends its leg with the others
  MarkHold(c, false);
  if (Consulting(c)) EndConsult(c, true, c.consult_number.empty() ? cause : "call_ended");
  EndAgentCdr(c, c.agent_answered ? core::CdrResult::kAnswered : core::CdrResult::kNoAnswer,
              c.agent_answered ? cause : "CANCEL", by);
  if (c.customer_cdr != 0) {
    const core::CdrResult r = c.bridges > 0 ? core::CdrResult::kAnswered
                              : by == core::CdrParty::kCustomer ? core::CdrResult::kAbandoned
                                                                : core::CdrResult::kFailed;
    (void)engine_.EndCdrLeg(c.tenant, c.customer_cdr, r, cause, by, c.interaction);
  }
  EndRecording(c);
  by_interaction_.erase(it->second.interaction);
  calls_.erase(it);
  control_.HangUp(id, cause);
}

void VoiceService::EndRecording(Call& c) {
  if (c.recording_id != 0) (void)engine_.EndRecording(c.tenant, c.recording_id);
  c.recording_id = 0;
  c.recording = false;
}

// ---- happenings from the SIP side ------------------------------------------------------------

void VoiceService::OnInbound(const InboundCall& in) {
  ++counters_.inbound;
  auto route = router_(engine_, in);
  if (!route) {
    ++counters_.refused;
    spdlog::info("voice: call={} from {} ({}) to {} refused: {}", in.call, in.from_user, in.source,
                 in.number, route.error().message);
    control_.Refuse(in.call, StatusOf(route.error().code), route.error().message);
    return;
  }
  if (route->ivr != 0) {
    StartIvr(in, *route);  // ivr_calls.cc
    return;
  }
  Enqueue(in, *route);
}

void VoiceService::Enqueue(const InboundCall& in, const InboundRoute& route, core::CdrLegId cdr) {
  core::Engine::NewInteraction n;
  n.tenant = route.tenant;
  n.channel = core::Channel::kVoice;
  n.queue = route.queue;
  n.customer.name = in.from_name;
  n.customer.phone = in.from_user;
  n.subject = "Call to " + in.number;
  auto id = engine_.CreateInteraction(std::move(n));
  if (!id) {
    ++counters_.refused;
    spdlog::warn("voice: call={} to {}: no interaction: {}", in.call, in.number, id.error().message);
    control_.Refuse(in.call, 480, id.error().message);
    if (cdr != 0)
      (void)engine_.EndCdrLeg(route.tenant, cdr, core::CdrResult::kFailed, id.error().message,
                              core::CdrParty::kSystem, 0);
    return;
  }
  Call c;
  c.id = in.call;
  c.interaction = *id;
  c.tenant = route.tenant;
  c.announce_every = route.announce_every;
  c.last_announce = engine_.now();
  if (cdr != 0) {
    c.customer_cdr = cdr;  // from the IVR: answered already, the interaction given at its end
  } else {
    core::CdrLegStart leg;
    leg.tenant = route.tenant;
    leg.interaction = *id;
    leg.role = core::CdrRole::kCustomer;
    leg.from = in.from_user.substr(0, 256);
    leg.to = in.number.substr(0, 256);
    leg.queue = route.queue;
    leg.trunk = route.trunk;
    if (auto started = engine_.StartCdrLeg(std::move(leg))) {
      c.customer_cdr = *started;
      (void)engine_.AnswerCdrLeg(route.tenant, *started);  // answered by Homeline (the greeting)
    }
  }
  calls_.emplace(in.call, c);
  by_interaction_.emplace(*id, in.call);
  spdlog::info("voice: call={} from {} to {}: interaction={} queued", in.call, in.from_user,
               in.number, *id);
  // The engine may already have offered it: Observe (after this command) orders the ring,
  // which the SIP side receives after this answer.
  control_.Answer(in.call, route.prompts);
}

void VoiceService::OnAgentAnswered(CallId call, core::UserId agent) {
  Call* c = Find(call);
  if (c == nullptr || c->state != State::kRinging || c->agent != agent) {
    // The offer ended meanwhile (expired, withdrawn, customer gone): a late answer.
    control_.DropAgent(call, agent);
    return;
  }
  auto st = c->placing ? Status{} : engine_.Accept(agent, c->interaction);
  if (!st) {
    spdlog::info("voice: call={} agent={} answered too late: {}", call, agent, st.error().message);
    EndAgentCdr(*c, core::CdrResult::kNoAnswer, "answered after the offer ended",
                core::CdrParty::kSystem);
    control_.DropAgent(call, agent);
    return;
  }
  if (c->agent_cdr != 0) {
    (void)engine_.AnswerCdrLeg(c->tenant, c->agent_cdr);
    c->agent_answered = true;
  }
  if (c->placing) {
    // The agent took their own call: now the number (docs/decisions.md "Outbound calls").
    c->placing = false;
    c->agent_answered = c->agent_cdr != 0;
    c->state = State::kDialling;
    ++counters_.dialled;
    control_.Dial(call, c->target);
    return;
  }
  c->state = State::kBridged;
  ++counters_.bridged;
  ++c->bridges;
  std::string path = StartRecordingFor(*c);
  control_.Bridge(call, std::move(path));
}

std::string VoiceService::StartRecordingFor(Call& c) {
  std::string path;
  if (!recordings_dir_.empty()) {
    const core::Interaction* ix = engine_.FindInteraction(c.tenant, c.interaction);
    auto voice = ix ? engine_.VoiceOf(c.tenant, ix->queue) : std::nullopt;
    if (voice && voice->record) {
      // The engine's record names the file ("recordings/<tenant>/<interaction>[-n].wav", under
      // the data directory), so the API lists and serves exactly what media writes.
      auto rec = engine_.StartRecording(c.tenant, c.interaction);
      const core::Recording* r = rec ? engine_.FindRecording(c.tenant, *rec) : nullptr;
      if (r != nullptr) {
        constexpr std::string_view kTop = "recordings";
        path = recordings_dir_ + r->path.substr(r->path.starts_with(kTop) ? kTop.size() : 0);
        c.recording_id = *rec;
      } else {
        spdlog::warn("voice: call={} not recorded: {}", c.id,
                     rec ? std::string("no record") : rec.error().message);
      }
    }
  }
  c.recording = !path.empty();
  c.recording_paused = false;
  return path;
}

void VoiceService::OnAgentFailed(CallId call, core::UserId agent, int status) {
  Call* c = Find(call);
  if (c == nullptr || c->state != State::kRinging || c->agent != agent) return;
  EndAgentCdr(*c,
              status == 486 || status == 600 || status == 603 ? core::CdrResult::kBusy
              : status == 408 || status == 480               ? core::CdrResult::kNoAnswer
                                                             : core::CdrResult::kFailed,
              std::to_string(status), core::CdrParty::kAgent);
  if (c->placing) {
    // The agent's own phone did not take the call: nobody was dialled; the agent wraps up.
    spdlog::info("voice: call={} agent={} phone answered {}: outbound call not made", call, agent, status);
    (void)engine_.EndCdrLeg(c->tenant, c->customer_cdr, core::CdrResult::kFailed,
                            "agent phone " + std::to_string(status), core::CdrParty::kAgent,
                            c->interaction);
    c->customer_cdr = 0;
    (void)engine_.EndContact(c->interaction, "agent_no_answer");
    End(call, "agent phone " + std::to_string(status), core::CdrParty::kAgent);
    return;
  }
  c->state = State::kWaiting;
  c->agent = 0;
  // Back in line with its place; the engine counts the miss and offers it to someone else.
  // It may have expired just now: then the engine already did.
  auto st = engine_.Reject(agent, c->interaction);
  spdlog::info("voice: call={} agent={} phone answered {}{}", call, agent, status,
               st ? "" : " (offer already ended)");
}

void VoiceService::OnCustomerHangUp(CallId call) {
  if (auto it = numbers_.find(call); it != numbers_.end()) {
    EndNumberCall(call, it->second.answered ? core::CdrResult::kAnswered : core::CdrResult::kNoAnswer,
                  it->second.answered ? "BYE" : "CANCEL", core::CdrParty::kCustomer, false);
    return;
  }
  if (auto it = ivr_.find(call); it != ivr_.end()) {
    // Hung up in the menus: no interaction was created, nothing to abandon in a queue.
    spdlog::info("voice: call={} hung up in the IVR", call);
    EndIvrCdr(it->second.tenant, it->second.customer_cdr, core::CdrResult::kAbandoned, "BYE",
              core::CdrParty::kCustomer);
    ivr_.erase(it);
    return;
  }
  Call* c = Find(call);
  if (c == nullptr) return;
  const core::InteractionId ix = c->interaction;
  // The customer's leaving ends the consultation too (decisions.md 49): the consultee was
  // only asked, the call was never theirs.
  if (Consulting(*c)) EndConsult(*c, true, "customer_hung_up");
  if (c->state == State::kBridged) {
    (void)engine_.EndContact(ix, "customer_hung_up");
  } else {
    ++counters_.abandoned;
    (void)engine_.Abandon(ix);
  }
  End(call, "BYE", core::CdrParty::kCustomer);
}

void VoiceService::OnAgentHangUp(CallId call, core::UserId agent) {
  Call* c = Find(call);
  if (c != nullptr && c->outbound && c->state == State::kDialling && c->agent == agent) {
    // The agent gave up while the number rang (the SIP side cancelled it).
    (void)engine_.EndCdrLeg(c->tenant, c->customer_cdr, core::CdrResult::kNoAnswer, "CANCEL",
                            core::CdrParty::kAgent, c->interaction);
    c->customer_cdr = 0;
    (void)engine_.EndContact(c->interaction, "agent_hung_up");
    End(call, "BYE", core::CdrParty::kAgent);
    return;
  }
  if (c == nullptr || c->state != State::kBridged || c->agent != agent) return;
  if (Consulting(*c)) EndConsult(*c, true, "agent_hung_up");
  (void)engine_.EndContact(c->interaction, "agent_hung_up");
  End(call, "BYE", core::CdrParty::kAgent);
}

// ---- calls to numbers ------------------------------------------------------------------------

Result<core::InteractionId> VoiceService::CallNumber(core::UserId agent, core::TenantId t,
                                                     core::QueueId q, const std::string& number) {
  auto e164 = core::NormalizeE164(number);
  if (!e164) return Fail(ErrorCode::kBadRequest, "field 'to' must be an E.164 number (+ and 7-15 digits)");
  if (engine_.FindQueue(t, q) == nullptr) return Fail(ErrorCode::kNotFound, "no such queue");
  auto targets = TrunkDials(engine_, t, *e164);
  if (!targets) return std::unexpected(targets.error());
  const core::Agent* a = engine_.FindAgent(agent);
  if (a == nullptr || !a->phone) return Fail(ErrorCode::kConflict, "your phone is not registered");
  auto id = engine_.StartOutbound(agent, t, q, core::Customer{"", *e164, ""}, "Call to " + *e164);
  if (!id) return std::unexpected(id.error());
  const CallId call = control_.NewCall();
  Call c;
  c.id = call;
  c.interaction = *id;
  c.tenant = t;
  c.state = State::kRinging;
  c.agent = agent;
  c.outbound = true;
  c.placing = true;
  c.target = std::move(targets->front());
  c.fallbacks.assign(std::make_move_iterator(targets->begin() + 1),
                     std::make_move_iterator(targets->end()));
  // CDR: the customer's leg starts the call (the CDR model's rule), then the agent's leg.
  core::CdrLegStart leg;
  leg.tenant = t;
  leg.interaction = *id;
  leg.role = core::CdrRole::kCustomer;
  leg.outbound = true;
  leg.from = c.target.caller_id;
  leg.to = *e164;
  leg.queue = q;
  leg.trunk = c.target.trunk;
  leg.agent = agent;
  if (auto started = engine_.StartCdrLeg(leg)) {
    c.customer_cdr = *started;
    c.cdr_call = *started;
    leg.call = *started;
    leg.role = core::CdrRole::kAgent;
    leg.to = sip_user_of_(agent).substr(0, 256);
    leg.trunk = 0;
    if (auto a_leg = engine_.StartCdrLeg(std::move(leg))) c.agent_cdr = *a_leg;
  }
  calls_.emplace(call, c);
  by_interaction_.emplace(*id, call);
  ++counters_.rung;
  spdlog::info("voice: call={} agent={} calls {} (interaction={}, trunk {})", call, agent, *e164,
               *id, c.target.trunk);
  // The agent's own phone rings as long as an offer of the queue would.
  const core::Queue* queue = engine_.FindQueue(t, q);
  control_.CallAgent(call, agent, sip_user_of_(agent), *e164,
                     queue != nullptr ? queue->offer_timeout : kAgentRing);
  return *id;
}

Status VoiceService::TransferToNumber(core::InteractionId id, const std::string& number) {
  auto e164 = core::NormalizeE164(number);
  if (!e164) return Fail(ErrorCode::kBadRequest, "field 'number' must be an E.164 number (+ and 7-15 digits)");
  const CallId call = CallOf(id);
  if (call == 0) return Fail(ErrorCode::kNotFound, "no live call for this interaction");
  Call& c = calls_.at(call);
  if (c.state != State::kBridged) return Fail(ErrorCode::kConflict, "the call is not connected");
  if (c.outbound) return Fail(ErrorCode::kConflict, "an outbound call cannot be transferred to a number");
  if (Consulting(c)) return Fail(ErrorCode::kConflict, "a consultation is in progress");
  auto targets = TrunkDials(engine_, c.tenant, *e164);
  if (!targets) return std::unexpected(targets.error());
  // The agent's part ends here (a supervisor listening to it too); the call itself goes on
  // without an interaction.
  EndMonitor(c, "transferred", "transfer", core::CdrParty::kSystem);
  EndAgentCdr(c, core::CdrResult::kAnswered, "transfer", core::CdrParty::kAgent);
  EndRecording(c);
  const core::TenantId tenant = c.tenant;
  const core::CdrLegId customer_cdr = c.customer_cdr;
  by_interaction_.erase(id);
  calls_.erase(call);
  (void)engine_.EndContact(id, "transferred");
  spdlog::info("voice: call={} interaction={} transferred to {}", call, id, *e164);
  PutThrough(call, tenant, id, customer_cdr, std::move(*targets));
  return {};
}

void VoiceService::PutThrough(CallId call, core::TenantId t, core::InteractionId ix,
                              core::CdrLegId customer_cdr, std::vector<DialOut> targets) {
  NumberCall n;
  n.tenant = t;
  n.interaction = ix;
  n.customer_cdr = customer_cdr;
  n.target = std::move(targets.front());
  n.fallbacks.assign(std::make_move_iterator(targets.begin() + 1),
                     std::make_move_iterator(targets.end()));
  n.number_cdr = StartNumberCdr(n, n.target);
  DialOut target = n.target;
  numbers_[call] = std::move(n);
  ++counters_.dialled;
  control_.Dial(call, std::move(target));
}

core::CdrLegId VoiceService::StartNumberCdr(const NumberCall& n, const DialOut& target) {
  if (n.customer_cdr == 0) return 0;
  core::CdrLegStart leg;
  leg.tenant = n.tenant;
  leg.call = n.customer_cdr;
  leg.interaction = n.interaction;
  leg.role = core::CdrRole::kTransfer;
  leg.outbound = true;
  leg.from = target.caller_id;
  leg.to = target.number;
  leg.trunk = target.trunk;
  auto started = engine_.StartCdrLeg(std::move(leg));
  return started ? *started : 0;
}

void VoiceService::EndNumberCall(CallId call, core::CdrResult result, const std::string& cause,
                                 core::CdrParty by, bool hang_up) {
  auto it = numbers_.find(call);
  if (it == numbers_.end()) return;
  NumberCall n = it->second;
  numbers_.erase(it);
  if (n.number_cdr != 0) (void)engine_.EndCdrLeg(n.tenant, n.number_cdr, result, cause, by, n.interaction);
  if (n.customer_cdr != 0)
    (void)engine_.EndCdrLeg(n.tenant, n.customer_cdr, core::CdrResult::kAnswered, cause, by,
                            n.interaction);
  if (hang_up) control_.HangUp(call, cause);
}

void VoiceService::OnNumberAnswered(CallId call) {
  if (auto it = numbers_.find(call); it != numbers_.end()) {
    NumberCall& n = it->second;
    n.answered = true;
    ++counters_.dial_answered;
    if (n.number_cdr != 0) (void)engine_.AnswerCdrLeg(n.tenant, n.number_cdr);
    control_.Bridge(call, "");  // not recorded: the interaction ended with the transfer
    return;
  }
  Call* c = Find(call);
  if (c == nullptr || !c->outbound || c->state != State::kDialling) {
    control_.HangUp(call, "no such call");
    return;
  }
  ++counters_.dial_answered;
  if (c->customer_cdr != 0) (void)engine_.AnswerCdrLeg(c->tenant, c->customer_cdr);
  c->state = State::kBridged;
  ++counters_.bridged;
  ++c->bridges;
  std::string path = StartRecordingFor(*c);
  control_.Bridge(call, std::move(path));
}

void VoiceService::OnNumberFailed(CallId call, int status) {
  if (auto it = numbers_.find(call); it != numbers_.end()) {
    NumberCall& n = it->second;
    if (NextTrunk(status, &n.target, &n.fallbacks)) {
      // The trunk failed, not the number: the next trunk (the customer keeps its music).
      spdlog::info("voice: call={} trunk failed ({}): trying trunk {}", call, status, n.target.trunk);
      if (n.number_cdr != 0)
        (void)engine_.EndCdrLeg(n.tenant, n.number_cdr, core::CdrResult::kFailed,
                                std::to_string(status), core::CdrParty::kTransfer, n.interaction);
      n.number_cdr = StartNumberCdr(n, n.target);
      ++counters_.dialled;
      control_.Dial(call, n.target);
      return;
    }
    // The customer cannot be put through: hung up (the interaction, if any, has ended).
    spdlog::info("voice: call={} transfer to a number failed: {}", call, status);
    EndNumberCall(call, NumberResult(status), std::to_string(status), core::CdrParty::kTransfer, true);
    return;
  }
  Call* c = Find(call);
  if (c == nullptr || !c->outbound || c->state != State::kDialling) return;
  if (NextTrunk(status, &c->target, &c->fallbacks)) {
    // The customer's leg of this trunk failed; a new one through the next (the same call).
    spdlog::info("voice: call={} trunk failed ({}): trying trunk {}", call, status, c->target.trunk);
    const core::CdrLeg* old = engine_.FindCdrLeg(c->tenant, c->customer_cdr);
    if (old != nullptr) {
      core::CdrLegStart leg = old->start;
      leg.call = c->cdr_call;
      leg.trunk = c->target.trunk;
      leg.from = c->target.caller_id;
      auto next = engine_.StartCdrLeg(std::move(leg));  // before the old one ends: the call lives
      (void)engine_.EndCdrLeg(c->tenant, c->customer_cdr, core::CdrResult::kFailed,
                              std::to_string(status), core::CdrParty::kCustomer, c->interaction);
      c->customer_cdr = next ? *next : 0;
    }
    ++counters_.dialled;
    control_.Dial(call, c->target);
    return;
  }
  spdlog::info("voice: call={} the number answered {}", call, status);
  (void)engine_.EndCdrLeg(c->tenant, c->customer_cdr, NumberResult(status), std::to_string(status),
                          core::CdrParty::kCustomer, c->interaction);
  c->customer_cdr = 0;
  (void)engine_.EndContact(c->interaction, NumberReason(status));
  End(call, std::to_string(status), core::CdrParty::kCustomer);
}

void VoiceService::OnNumberHangUp(CallId call) {
  EndNumberCall(call, core::CdrResult::kAnswered, "BYE", core::CdrParty::kTransfer, false);
}

// ---- the engine's events ---------------------------------------------------------------------

void VoiceService::Observe(const std::vector<core::Event>& events) {
  if (calls_.empty()) return;
  for (const core::Event& e : events) OnEvent(e);
}

void VoiceService::OnEvent(const core::Event& e) {
  std::visit(
      [&](const auto& b) {
        using B = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<B, core::InteractionMoved>) {
          const CallId id = CallOf(b.id);
          if (id == 0) return;
          Call& c = calls_.at(id);
          if (c.state == State::kBridged) {
            // Transferred to a queue: the agent's phone hangs up, the customer waits again
            // (the engine may offer it in the same command: that ring follows this order).
            // The monitor follows the agent leg it mixes: Requeue ends it too.
            EndMonitor(c, "transferred", "transfer", core::CdrParty::kSystem);
            EndAgentCdr(c, core::CdrResult::kAnswered, "transfer", core::CdrParty::kAgent);
            c.state = State::kWaiting;
            c.agent = 0;
            MarkHold(c, false);
            EndRecording(c);  // the agent leg's end ends the recording
            c.last_announce = engine_.now();
            control_.Requeue(id);
          }
        } else if constexpr (std::is_same_v<B, core::Offered> || std::is_same_v<B, core::OfferEnded> ||
                      std::is_same_v<B, core::ContactEnded> ||
                      std::is_same_v<B, core::Abandoned> || std::is_same_v<B, core::Closed> ||
                      std::is_same_v<B, core::Completed>) {
          if (auto k = by_consult_.find(b.id); k != by_consult_.end()) {
            OnConsultEvent(k->second, e);
            return;
          }
          const CallId id = CallOf(b.id);
          if (id == 0) return;
          Call& c = calls_.at(id);
          if constexpr (std::is_same_v<B, core::Offered>) {
            c.state = State::kRinging;
            c.agent = b.agent;
            ++counters_.rung;
            EndAgentCdr(c, core::CdrResult::kNoAnswer, "CANCEL", core::CdrParty::kSystem);
            core::CdrLegStart leg;
            leg.tenant = c.tenant;
            leg.call = c.customer_cdr;
            leg.interaction = c.interaction;
            leg.role = core::CdrRole::kAgent;
            leg.outbound = true;
            leg.to = sip_user_of_(b.agent).substr(0, 256);
            leg.agent = b.agent;
            if (const core::Interaction* ix = engine_.FindInteraction(c.tenant, c.interaction)) {
              leg.from = ix->customer().phone.substr(0, 256);
              leg.queue = ix->queue;
            }
            if (c.customer_cdr != 0) {
              if (auto cdr = engine_.StartCdrLeg(std::move(leg))) c.agent_cdr = *cdr;
            }
            const DurationMs timeout = std::max<DurationMs>(b.expires - engine_.now(), 0);
            // The engine's expiry cancels the ring; the phone's own timer is only a safety
            // net in case that order is lost.
            control_.RingAgent(id, b.agent, sip_user_of_(b.agent), timeout + 5 * kSecond);
          } else if constexpr (std::is_same_v<B, core::OfferEnded>) {
            if (c.state == State::kRinging && c.agent == b.agent) {
              EndAgentCdr(c, core::CdrResult::kNoAnswer,
                          b.result == core::OfferResult::kRejected ? "rejected" : "CANCEL",
                          core::CdrParty::kSystem);
              c.state = State::kWaiting;
              c.agent = 0;
            }
            // Expired, withdrawn, or rejected because the phone refused: stop that phone
            // (a no-op on the SIP side when its leg has already ended).
            control_.DropAgent(id, b.agent);
          } else if constexpr (std::is_same_v<B, core::ContactEnded>) {
            // Wrap-up or /end from the desktop (the agent), a supervisor, the system.
            End(id, b.reason, b.reason == "agent_ended" ? core::CdrParty::kAgent : core::CdrParty::kSystem);
          } else if constexpr (std::is_same_v<B, core::Closed>) {
            End(id, b.reason, core::CdrParty::kSystem);
          } else {
            End(id, "ended", core::CdrParty::kSystem);
          }
        }
      },
      e.body);
}

Status VoiceService::Hold(core::InteractionId id, bool on) {
  const CallId call = CallOf(id);
  if (call == 0) return Fail(ErrorCode::kNotFound, "no live call for this interaction");
  Call& c = calls_.at(call);
  if (c.state != State::kBridged) return Fail(ErrorCode::kConflict, "the call is not connected");
  if (Consulting(c)) return Fail(ErrorCode::kConflict, "a consultation is in progress");
  if (c.on_hold == on)
    return Fail(ErrorCode::kConflict, on ? "the call is already on hold" : "the call is not on hold");
  MarkHold(c, on);
  control_.Hold(call, on);
  return {};
}

Status VoiceService::PauseRecording(core::InteractionId id, bool paused) {
  const CallId call = CallOf(id);
  if (call == 0) return Fail(ErrorCode::kNotFound, "no live call for this interaction");
  Call& c = calls_.at(call);
  if (c.state != State::kBridged) return Fail(ErrorCode::kConflict, "the call is not connected");
  if (!c.recording) return Fail(ErrorCode::kConflict, "the call is not being recorded");
  if (c.recording_paused == paused)
    return Fail(ErrorCode::kConflict, paused ? "the recording is already paused" : "the recording is not paused");
  c.recording_paused = paused;
  if (c.recording_id != 0) (void)engine_.PauseRecording(c.tenant, c.recording_id, paused);
  control_.PauseRecording(call, paused);
  return {};
}

bool VoiceService::OnHold(core::InteractionId id) const {
  const CallId call = CallOf(id);
  return call != 0 && calls_.at(call).on_hold;
}

void VoiceService::MarkHold(Call& c, bool on) {
  if (c.on_hold == on) return;
  c.on_hold = on;
  if (auto st = engine_.SetCallHold(c.tenant, c.interaction, on); !st)
    spdlog::warn("voice: call={} interaction={} hold {} not recorded: {}", c.id, c.interaction,
                 on ? "on" : "off", st.error().message);
}

// ---- supervisor monitoring ---------------------------------------------------------------------

Status VoiceService::StartMonitor(core::InteractionId id, core::UserId supervisor,
                                  core::MonitorMode mode) {
  const CallId call = CallOf(id);
  if (call == 0) return Fail(ErrorCode::kConflict, "the interaction is not a live voice call");
  Call& c = calls_.at(call);
  if (c.state != State::kBridged)
    return Fail(ErrorCode::kConflict, "the call is not connected to an agent");
  if (c.monitor) {
    const core::User* u = engine_.FindUser(c.monitor->supervisor);
    return Fail(ErrorCode::kConflict,
                fmt::format("the call is monitored already (by {}); one supervisor at a time",
                            u ? u->login : std::string("another supervisor")));
  }
  if (c.agent == supervisor) return Fail(ErrorCode::kConflict, "you are the agent on this call");
  const core::Agent* a = engine_.FindAgent(supervisor);
  const std::string sip_user = sip_user_of_(supervisor);
  if (a == nullptr || !a->phone)
    return Fail(ErrorCode::kConflict,
                fmt::format("your phone is not registered (SIP user {}): register it, then try again",
                            sip_user));
  c.monitor = MonitorState{supervisor, mode, false};
  core::CdrLegStart leg;
  leg.tenant = c.tenant;
  leg.call = c.customer_cdr;
  leg.interaction = c.interaction;
  leg.role = core::CdrRole::kSupervisor;
  leg.outbound = true;
  leg.to = sip_user.substr(0, 256);
  leg.agent = supervisor;
  if (const core::Interaction* ix = engine_.FindInteraction(c.tenant, c.interaction)) {
    leg.from = ix->customer().phone.substr(0, 256);
    leg.queue = ix->queue;
  }
  if (c.customer_cdr != 0) {
    if (auto cdr = engine_.StartCdrLeg(std::move(leg))) c.monitor_cdr = *cdr;
  }
  spdlog::info("voice: call={} supervisor={} monitor ({}): ringing {}", call, supervisor,
               core::Name(mode), sip_user);
  // The supervisor's phone rings as long as an offer of the call's queue would.
  DurationMs ring = kAgentRing;
  if (const core::Interaction* ix = engine_.FindInteraction(c.tenant, c.interaction)) {
    if (const core::Queue* q = engine_.FindQueue(c.tenant, ix->queue)) ring = q->offer_timeout;
  }
  control_.Monitor(call, supervisor, sip_user, mode, ring);
  return {};
}

Status VoiceService::ChangeMonitor(core::InteractionId id, core::MonitorMode mode) {
  const CallId call = CallOf(id);
  Call* c = call == 0 ? nullptr : Find(call);
  if (c == nullptr || !c->monitor) return Fail(ErrorCode::kConflict, "the call is not monitored");
  if (c->monitor->mode == mode)
    return Fail(ErrorCode::kConflict, fmt::format("the monitor is in {} mode already", core::Name(mode)));
  c->monitor->mode = mode;
  if (c->monitor->joined) (void)engine_.ChangeMonitor(c->tenant, c->interaction, mode);
  control_.SetMonitorMode(call, c->monitor->supervisor, mode);
  return {};
}

Status VoiceService::StopMonitor(core::InteractionId id) {
  const CallId call = CallOf(id);
  Call* c = call == 0 ? nullptr : Find(call);
  if (c == nullptr || !c->monitor) return Fail(ErrorCode::kConflict, "the call is not monitored");
  const core::UserId supervisor = c->monitor->supervisor;
  EndMonitor(*c, "stopped", "stopped", core::CdrParty::kSystem);
  control_.StopMonitor(call, supervisor);
  return {};
}

std::optional<VoiceService::MonitorState> VoiceService::MonitorOf(core::InteractionId id) const {
  const CallId call = CallOf(id);
  if (call == 0) return std::nullopt;
  return calls_.at(call).monitor;
}

void VoiceService::EndMonitor(Call& c, const std::string& reason, const std::string& cause,
                              core::CdrParty by) {
  if (!c.monitor) return;
  const bool joined = c.monitor->joined;
  if (joined) (void)engine_.EndMonitor(c.tenant, c.interaction, reason);
  if (c.monitor_cdr != 0) {
    (void)engine_.EndCdrLeg(c.tenant, c.monitor_cdr,
                            joined ? core::CdrResult::kAnswered : core::CdrResult::kNoAnswer,
                            joined ? cause : "CANCEL", by, c.interaction);
  }
  c.monitor_cdr = 0;
  c.monitor.reset();
}

void VoiceService::OnMonitorAnswered(CallId call, core::UserId supervisor) {
  Call* c = Find(call);
  if (c == nullptr || !c->monitor || c->monitor->supervisor != supervisor || c->monitor->joined) {
    control_.StopMonitor(call, supervisor);  // stopped meanwhile: a late answer
    return;
  }
  if (auto st = engine_.StartMonitor(c->tenant, c->interaction, supervisor, c->monitor->mode); !st) {
    spdlog::warn("voice: call={} monitor not recorded: {}", call, st.error().message);
  }
  if (c->monitor_cdr != 0) (void)engine_.AnswerCdrLeg(c->tenant, c->monitor_cdr);
  c->monitor->joined = true;
  ++counters_.monitors;
  spdlog::info("voice: call={} supervisor={} joined ({})", call, supervisor,
               core::Name(c->monitor->mode));
}

void VoiceService::OnMonitorEnded(CallId call, core::UserId supervisor, int status) {
  Call* c = Find(call);
  if (c == nullptr || !c->monitor || c->monitor->supervisor != supervisor) return;
  if (status == kMonitorAgentLegEnded) {
    EndMonitor(*c, "agent_leg_ended", "agent leg ended", core::CdrParty::kSystem);
    return;
  }
  if (c->monitor->joined || status == 0) {
    EndMonitor(*c, "supervisor_hung_up", "BYE", core::CdrParty::kSupervisor);
    return;
  }
  // Never answered: busy, declined, not reachable, rang out.
  if (c->monitor_cdr != 0) {
    (void)engine_.EndCdrLeg(c->tenant, c->monitor_cdr,
                            status == 486 || status == 600 || status == 603 ? core::CdrResult::kBusy
                            : status == 408 || status == 480               ? core::CdrResult::kNoAnswer
                                                                           : core::CdrResult::kFailed,
                            std::to_string(status), core::CdrParty::kSupervisor, c->interaction);
  }
  c->monitor_cdr = 0;
  c->monitor.reset();
  spdlog::info("voice: call={} supervisor={} monitor phone answered {}", call, supervisor, status);
}

// ---- transfers (docs/decisions.md 49) ---------------------------------------------------------

Result<VoiceService::Call*> VoiceService::ConnectedCall(core::UserId by, core::InteractionId id) {
  const CallId call = CallOf(id);
  if (call == 0) return Fail(ErrorCode::kNotFound, "no live call for this interaction");
  Call& c = calls_.at(call);
  if (c.state != State::kBridged || c.agent != by)
    return Fail(ErrorCode::kConflict, "the call is not connected to you");
  return &c;
}

core::InteractionId VoiceService::ConsultOf(core::InteractionId id) const {
  const CallId call = CallOf(id);
  return call == 0 ? 0 : calls_.at(call).consult;
}

void VoiceService::EndConsultCdr(Call& c, core::CdrResult result, const std::string& cause,
                                 core::CdrParty by) {
  if (c.consult_cdr == 0) return;
  (void)engine_.EndCdrLeg(c.tenant, c.consult_cdr, result, cause, by, c.consult);
  c.consult_cdr = 0;
}

void VoiceService::EndConsult(Call& c, bool close, const std::string& reason) {
  if (!c.consult_number.empty()) {
    EndNumberConsult(c, reason, 0);
    return;
  }
  const core::InteractionId k = c.consult;
  if (k == 0) return;
  by_consult_.erase(k);
  EndConsultCdr(c, c.consult_answered ? core::CdrResult::kAnswered : core::CdrResult::kNoAnswer,
                c.consult_answered ? reason : "CANCEL", core::CdrParty::kSystem);
  c.consult = 0;
  c.consult_agent = 0;
  c.consult_answered = false;
  control_.DropConsult(c.id);
  if (close) (void)engine_.CloseConsult(k, reason);
}

Result<core::InteractionId> VoiceService::TransferToAgent(core::UserId by, core::InteractionId id,
                                                          core::UserId to) {
  if (CallOf(id) == 0) return engine_.TransferToAgent(by, id, to);
  auto found = ConnectedCall(by, id);
  if (!found) return std::unexpected(found.error());
  Call& c = **found;
  if (Consulting(c)) return Fail(ErrorCode::kConflict, "a consultation is in progress");
  auto next = engine_.TransferToAgent(by, id, to);
  if (!next) return next;
  // The call is the new interaction's from now on: the engine's end of `id` (wrap-up) is not
  // a hang-up, and its offer to `to` rings that phone (Observe). A monitor ends with the agent
  // leg it mixes (Calls ends its leg).
  EndMonitor(c, "transferred", "transfer", core::CdrParty::kSystem);
  EndAgentCdr(c, core::CdrResult::kAnswered, "transfer", core::CdrParty::kAgent);
  EndRecording(c);
  MarkHold(c, false);
  by_interaction_.erase(id);
  by_interaction_[*next] = c.id;
  c.interaction = *next;
  c.state = State::kWaiting;
  c.agent = 0;
  c.last_announce = engine_.now();
  spdlog::info("voice: call={} interaction={} transferred by agent={} to agent={} as {}", c.id, id,
               by, to, *next);
  control_.Requeue(c.id);
  return next;
}

Result<core::InteractionId> VoiceService::Consult(core::UserId by, core::InteractionId id,
                                                  core::UserId to_agent, core::QueueId to_queue) {
  auto found = ConnectedCall(by, id);
  if (!found) return std::unexpected(found.error());
  Call& c = **found;
  if (Consulting(c)) return Fail(ErrorCode::kConflict, "a consultation is in progress");
  auto k = engine_.Consult(by, id, to_agent, to_queue);
  if (!k) return k;
  c.consult = *k;
  by_consult_[*k] = c.id;
  if (!c.on_hold) {
    MarkHold(c, true);
    control_.Hold(c.id, true);  // before the consultee's ring (Observe, after this command)
  }
  spdlog::info("voice: call={} interaction={} consultation {} by agent={}", c.id, id, *k, by);
  return k;
}

Result<core::InteractionId> VoiceService::CompleteConsult(core::UserId by, core::InteractionId id) {
  auto found = ConnectedCall(by, id);
  if (!found) return std::unexpected(found.error());
  Call& c = **found;
  if (!c.consult_number.empty()) return CompleteNumberConsult(c);
  if (c.consult == 0) return Fail(ErrorCode::kConflict, "no consultation in progress");
  if (!c.consult_answered) return Fail(ErrorCode::kConflict, "the consultation is not answered yet");
  const core::InteractionId k = c.consult;
  if (auto st = engine_.CompleteConsult(by, k); !st) return std::unexpected(st.error());
  EndMonitor(c, "transferred", "transfer", core::CdrParty::kSystem);  // its agent leg ends
  EndAgentCdr(c, core::CdrResult::kAnswered, "transfer", core::CdrParty::kAgent);
  EndRecording(c);  // the first agent's leg ends, and with it that recording
  MarkHold(c, false);  // the first interaction's hold; the consultation's call is not held
  by_consult_.erase(k);
  by_interaction_.erase(id);
  by_interaction_[k] = c.id;
  c.interaction = k;
  c.agent = c.consult_agent;
  c.agent_cdr = c.consult_cdr;
  c.agent_answered = true;
  c.consult = 0;
  c.consult_agent = 0;
  c.consult_answered = false;
  c.consult_cdr = 0;
  c.state = State::kBridged;
  ++c.bridges;
  ++counters_.bridged;
  spdlog::info("voice: call={} consultation {} completed: agent={}", c.id, k, c.agent);
  control_.CompleteConsult(c.id, StartRecordingFor(c));
  return k;
}

Status VoiceService::CancelConsult(core::UserId by, core::InteractionId id) {
  auto found = ConnectedCall(by, id);
  if (!found) return std::unexpected(found.error());
  Call& c = **found;
  if (!Consulting(c)) return Fail(ErrorCode::kConflict, "no consultation in progress");
  EndConsult(c, true, "cancelled");
  MarkHold(c, false);
  control_.Hold(c.id, false);
  return {};
}

void VoiceService::OnConsultAnswered(CallId call, core::UserId agent) {
  Call* c = Find(call);
  if (agent == 0 && c != nullptr && !c->consult_number.empty()) {  // the number answered
    if (c->consult_answered) return;
    c->consult_answered = true;
    ++counters_.dial_answered;
    if (c->consult_cdr != 0) (void)engine_.AnswerCdrLeg(c->tenant, c->consult_cdr);
    (void)engine_.AnswerNumberConsult(c->tenant, c->interaction, c->consult_target.trunk);
    spdlog::info("voice: call={} consulted number {} answered", call, c->consult_number);
    control_.BridgeConsult(call);
    return;
  }
  if (c == nullptr || c->consult == 0 || c->consult_agent != agent || c->consult_answered) {
    control_.DropConsult(call);  // the consultation ended meanwhile: a late answer
    return;
  }
  if (auto st = engine_.Accept(agent, c->consult); !st) {
    spdlog::info("voice: call={} consultee={} answered too late: {}", call, agent, st.error().message);
    EndConsultCdr(*c, core::CdrResult::kNoAnswer, "answered after the offer ended",
                  core::CdrParty::kSystem);
    c->consult_agent = 0;
    control_.DropConsult(call);
    return;
  }
  if (c->consult_cdr != 0) (void)engine_.AnswerCdrLeg(c->tenant, c->consult_cdr);
  c->consult_answered = true;
  control_.BridgeConsult(call);
}

void VoiceService::OnConsultFailed(CallId call, core::UserId agent, int status) {
  Call* c = Find(call);
  if (agent == 0) {  // a number
    if (c == nullptr || c->consult_number.empty() || c->consult_answered) return;
    if (NextTrunk(status, &c->consult_target, &c->consult_fallbacks)) {
      spdlog::info("voice: call={} trunk failed ({}): consulting through trunk {}", call, status,
                   c->consult_target.trunk);
      EndConsultCdr(*c, core::CdrResult::kFailed, std::to_string(status), core::CdrParty::kTransfer);
      c->consult_cdr = StartConsultNumberCdr(*c);
      ++counters_.dialled;
      control_.DialConsult(call, c->consult_target);
      return;
    }
    spdlog::info("voice: call={} consulted number {} answered {}", call, c->consult_number, status);
    EndConsultCdr(*c, NumberResult(status), std::to_string(status), core::CdrParty::kTransfer);
    const core::CdrResult r = NumberResult(status);
    EndNumberConsult(*c,
                     r == core::CdrResult::kBusy       ? "busy"
                     : r == core::CdrResult::kNoAnswer ? "no_answer"
                     : status == 603                   ? "rejected"
                                                       : "failed",
                     status);
    if (c->state == State::kBridged && c->on_hold) {  // back to the customer
      MarkHold(*c, false);
      control_.Hold(call, false);
    }
    return;
  }
  if (c == nullptr || c->consult == 0 || c->consult_agent != agent || c->consult_answered) return;
  EndConsultCdr(*c,
                status == 486 || status == 600 || status == 603 ? core::CdrResult::kBusy
                : status == 408 || status == 480               ? core::CdrResult::kNoAnswer
                                                               : core::CdrResult::kFailed,
                std::to_string(status), core::CdrParty::kTransfer);
  c->consult_agent = 0;
  // To an agent: the engine closes the consultation (Observe resumes the call); to a queue:
  // it is offered to the next agent.
  (void)engine_.Reject(agent, c->consult);
}

void VoiceService::OnConsultHungUp(CallId call, core::UserId agent) {
  Call* c = Find(call);
  if (agent == 0) {  // the number hung up while consulted
    if (c == nullptr || c->consult_number.empty() || !c->consult_answered) return;
    EndConsultCdr(*c, core::CdrResult::kAnswered, "BYE", core::CdrParty::kTransfer);
    EndNumberConsult(*c, "hung_up", 0);
    if (c->state == State::kBridged && c->on_hold) {
      MarkHold(*c, false);
      control_.Hold(call, false);
    }
    return;
  }
  if (c == nullptr || c->consult == 0 || c->consult_agent != agent || !c->consult_answered) return;
  EndConsultCdr(*c, core::CdrResult::kAnswered, "BYE", core::CdrParty::kTransfer);
  EndConsult(*c, true, "consultee_hung_up");
  MarkHold(*c, false);
  control_.Hold(call, false);
}

// The engine's events about an open consultation of `call`.
void VoiceService::OnConsultEvent(CallId call, const core::Event& e) {
  Call* c = Find(call);
  if (c == nullptr) return;
  if (const auto* o = std::get_if<core::Offered>(&e.body)) {
    c->consult_agent = o->agent;
    c->consult_answered = false;
    EndConsultCdr(*c, core::CdrResult::kNoAnswer, "CANCEL", core::CdrParty::kSystem);
    core::CdrLegStart leg;
    leg.tenant = c->tenant;
    leg.call = c->customer_cdr;
    leg.interaction = c->consult;
    leg.role = core::CdrRole::kTransfer;
    leg.outbound = true;
    leg.to = sip_user_of_(o->agent).substr(0, 256);
    leg.agent = o->agent;
    if (const core::Interaction* ix = engine_.FindInteraction(c->tenant, c->consult)) {
      leg.from = ix->customer().phone.substr(0, 256);
      leg.queue = ix->queue;
    }
    if (c->customer_cdr != 0) {
      if (auto cdr = engine_.StartCdrLeg(std::move(leg))) c->consult_cdr = *cdr;
    }
    const DurationMs timeout = std::max<DurationMs>(o->expires - engine_.now(), 0);
    control_.RingConsult(call, o->agent, sip_user_of_(o->agent), timeout + 5 * kSecond);
  } else if (const auto* oe = std::get_if<core::OfferEnded>(&e.body)) {
    if (c->consult_agent == oe->agent && !c->consult_answered) {
      EndConsultCdr(*c, core::CdrResult::kNoAnswer,
                    oe->result == core::OfferResult::kRejected ? "rejected" : "CANCEL",
                    core::CdrParty::kSystem);
      c->consult_agent = 0;
      control_.DropConsult(call);
    }
  } else if (std::holds_alternative<core::Closed>(e.body) ||
             std::holds_alternative<core::Abandoned>(e.body) ||
             std::holds_alternative<core::ContactEnded>(e.body) ||
             std::holds_alternative<core::Completed>(e.body)) {
    // Over without being completed (no answer to a directed offer, the consultee ended it):
    // the agent is back with the customer.
    EndConsult(*c, std::holds_alternative<core::ContactEnded>(e.body), "consult_ended");
    if (c->state == State::kBridged && c->on_hold) {
      MarkHold(*c, false);
      control_.Hold(call, false);
    }
  }
}

// ---- consultations with a number (docs/decisions.md 58) ----------------------------------------

Result<core::InteractionId> VoiceService::ConsultNumber(core::UserId by, core::InteractionId id,
                                                        const std::string& number) {
  auto e164 = core::NormalizeE164(number);
  if (!e164) return Fail(ErrorCode::kBadRequest, "field 'number' must be an E.164 number (+ and 7-15 digits)");
  auto found = ConnectedCall(by, id);
  if (!found) return std::unexpected(found.error());
  Call& c = **found;
  if (Consulting(c)) return Fail(ErrorCode::kConflict, "a consultation is in progress");
  if (c.outbound) return Fail(ErrorCode::kConflict, "an outbound call cannot be handed to a number");
  auto targets = TrunkDials(engine_, c.tenant, *e164);
  if (!targets) return std::unexpected(targets.error());
  if (auto st = engine_.StartNumberConsult(c.tenant, id, targets->front().trunk, *e164); !st)
    return std::unexpected(st.error());
  c.consult_number = *e164;
  c.consult_target = std::move(targets->front());
  c.consult_fallbacks.assign(std::make_move_iterator(targets->begin() + 1),
                             std::make_move_iterator(targets->end()));
  c.consult_answered = false;
  c.consult_cdr = StartConsultNumberCdr(c);
  if (!c.on_hold) {
    MarkHold(c, true);
    control_.Hold(c.id, true);  // music for the customer, before the number's INVITE
  }
  ++counters_.dialled;
  spdlog::info("voice: call={} interaction={} agent={} consults {} (trunk {})", c.id, id, by,
               c.consult_number, c.consult_target.trunk);
  control_.DialConsult(c.id, c.consult_target);
  return id;
}

core::CdrLegId VoiceService::StartConsultNumberCdr(const Call& c) {
  if (c.customer_cdr == 0) return 0;
  core::CdrLegStart leg;
  leg.tenant = c.tenant;
  leg.call = c.customer_cdr;
  leg.interaction = c.interaction;
  leg.role = core::CdrRole::kTransfer;
  leg.outbound = true;
  leg.from = c.consult_target.caller_id;
  leg.to = c.consult_number;
  leg.trunk = c.consult_target.trunk;
  if (const core::Interaction* ix = engine_.FindInteraction(c.tenant, c.interaction)) leg.queue = ix->queue;
  auto started = engine_.StartCdrLeg(std::move(leg));
  return started ? *started : 0;
}

void VoiceService::EndNumberConsult(Call& c, const std::string& result, int status) {
  if (c.consult_number.empty()) return;
  EndConsultCdr(c, c.consult_answered ? core::CdrResult::kAnswered : core::CdrResult::kNoAnswer,
                c.consult_answered ? result : "CANCEL", core::CdrParty::kSystem);
  (void)engine_.EndNumberConsult(c.tenant, c.interaction, result, status);
  c.consult_number.clear();
  c.consult_fallbacks.clear();
  c.consult_answered = false;
  control_.DropConsult(c.id);  // a no-op on the SIP side when the leg has ended already
}

Result<core::InteractionId> VoiceService::CompleteNumberConsult(Call& c) {
  if (!c.consult_answered) return Fail(ErrorCode::kConflict, "the consultation is not answered yet");
  const core::InteractionId id = c.interaction;
  const CallId call = c.id;
  // As a blind transfer to a number from here: the agent's part ends, the consult leg is the
  // customer's number leg (its CDR leg goes on), not recorded.
  (void)engine_.EndNumberConsult(c.tenant, id, "completed", 0);
  MarkHold(c, false);  // the customer talks to the number now
  EndMonitor(c, "transferred", "transfer", core::CdrParty::kSystem);
  EndAgentCdr(c, core::CdrResult::kAnswered, "transfer", core::CdrParty::kAgent);
  EndRecording(c);
  NumberCall n;
  n.tenant = c.tenant;
  n.interaction = id;
  n.customer_cdr = c.customer_cdr;
  n.number_cdr = c.consult_cdr;
  n.answered = true;
  n.target = std::move(c.consult_target);
  by_interaction_.erase(id);
  calls_.erase(call);  // c is gone
  numbers_[call] = std::move(n);
  (void)engine_.EndContact(id, "transferred");
  spdlog::info("voice: call={} interaction={} completed to the consulted number", call, id);
  control_.CompleteConsult(call, "");
  return id;
}

void VoiceService::Tick() {
  const TimeMs now = engine_.now();
  // Positions per queue, computed once per tick for the queues that have an announcement due.
  std::map<std::pair<core::TenantId, core::QueueId>, std::vector<std::pair<std::int64_t, core::InteractionId>>> lines;
  std::vector<std::pair<CallId, const core::Interaction*>> due;
  for (auto& [id, c] : calls_) {
    if (c.state == State::kBridged || c.announce_every <= 0) continue;
    if (now - c.last_announce < c.announce_every) continue;
    const core::Interaction* ix = engine_.FindInteraction(c.tenant, c.interaction);
    if (ix == nullptr || (ix->state != core::InteractionState::kQueued &&
                          ix->state != core::InteractionState::kOffered))
      continue;
    due.emplace_back(id, ix);
    lines.try_emplace({ix->tenant, ix->queue});
  }
  if (due.empty()) return;
  // The line of each queue, in routing order (score, then id), among this process's calls:
  // every voice contact of a queue is a call here.
  for (auto& [id, c] : calls_) {
    const core::Interaction* ix = engine_.FindInteraction(c.tenant, c.interaction);
    if (ix == nullptr) continue;
    auto it = lines.find({ix->tenant, ix->queue});
    if (it == lines.end()) continue;
    if (ix->state == core::InteractionState::kQueued || ix->state == core::InteractionState::kOffered)
      it->second.emplace_back(ix->score, ix->id);
  }
  for (auto& [key, line] : lines) std::sort(line.begin(), line.end());
  for (auto& [id, ix] : due) {
    const auto& line = lines.at({ix->tenant, ix->queue});
    auto pos = std::lower_bound(line.begin(), line.end(), std::make_pair(ix->score, ix->id));
    calls_.at(id).last_announce = now;
    control_.Announce(id, static_cast<int>(pos - line.begin()) + 1);
  }
}

void VoiceService::HangUpAll(const std::string& cause) {
  // No engine commands: the interactions stay live until the next start closes them
  // (Engine::Recover, reason "restart"), as for a crash.
  std::vector<CallId> ids;
  ids.reserve(calls_.size());
  for (const auto& [id, c] : calls_) ids.push_back(id);
  for (CallId id : ids) {
    // No engine commands (the store may be closing): the legs are ended at the next start.
    Call& c = calls_.at(id);
    c.customer_cdr = 0;
    c.agent_cdr = 0;
    c.monitor_cdr = 0;
    c.monitor.reset();  // a joined monitor ends at the next start too (Engine::Recover)
    c.on_hold = false;  // so does a hold
    c.consult = 0;  // closed at the next start, like the call's interaction
    c.consult_cdr = 0;
    c.consult_number.clear();  // ended "restart" at the next start
    End(id, cause, core::CdrParty::kSystem);
  }
  for (const auto& [id, c] : ivr_) control_.HangUp(id, cause);  // CDR legs ended at next start
  ivr_.clear();
  for (const auto& [id, n] : numbers_) control_.HangUp(id, cause);
  numbers_.clear();
}

}  // namespace homeline::sip
