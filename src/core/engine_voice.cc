// Voice configuration in the engine: trunks, numbers and per-queue voice settings (core/voice.h),
// and the lookups the SIP adapter makes on the engine thread. Kept apart from engine.cc:
// nothing here touches routing; a call is routed as any contact of channel voice.

#include <algorithm>
#include <string>
#include <utility>

#include "core/engine.h"

namespace homeline::core {

namespace {

bool ValidSipUser(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// A host name (letters, digits, '-', '.') or an IPv4/IPv6 address; what goes into a SIP URI.
bool ValidHost(const std::string& h) {
  if (h.empty() || h.size() > 253) return false;
  if (h.find(':') != std::string::npos) return ParseIpAddress(h).has_value();
  for (char c : h) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return h.front() != '.' && h.front() != '-';
}

bool HasControl(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

template <typename Map>
auto FindOf(const Map& m, TenantId t, std::uint64_t id) -> const typename Map::mapped_type* {
  auto it = m.find(id);
  return it == m.end() || it->second.tenant != t ? nullptr : &it->second;
}

template <typename Map>
auto ListOf(const Map& m, TenantId t) {
  std::vector<const typename Map::mapped_type*> out;
  for (const auto& [id, v] : m)
    if (v.tenant == t) out.push_back(&v);
  return out;
}

}  // namespace

// ---- trunks ----------------------------------------------------------------------------------

Status Engine::ValidateTrunk(Trunk& t) const {
  if (t.name.empty() || t.name.size() > 100 || HasControl(t.name))
    return Fail(ErrorCode::kBadRequest, "name must be 1-100 characters");
  if (t.sources.size() > kMaxTrunkSources)
    return Fail(ErrorCode::kBadRequest,
                "inbound.sources: at most " + std::to_string(kMaxTrunkSources) + " entries");
  std::vector<std::string> canonical;
  for (const std::string& s : t.sources) {
    auto p = ParseIpPrefix(s);
    if (!p) return Fail(ErrorCode::kBadRequest, "inbound.sources: " + p.error().message);
    std::string c = ToString(*p);
    if (std::find(canonical.begin(), canonical.end(), c) == canonical.end())
      canonical.push_back(std::move(c));
  }
  t.sources = std::move(canonical);
  if (!t.inbound_user.empty()) {
    if (!ValidSipUser(t.inbound_user))
      return Fail(ErrorCode::kBadRequest, "inbound.username must be 1-64 of A-Z a-z 0-9 . _ -");
    if (t.inbound_password.empty())
      return Fail(ErrorCode::kBadRequest, "inbound.password is needed with inbound.username");
    auto it = trunk_by_user_.find(t.inbound_user);
    if (it != trunk_by_user_.end() && it->second != t.id)
      return Fail(ErrorCode::kConflict, "inbound.username '" + t.inbound_user + "' is taken");
    // Agents register with their login as SIP user name: a trunk must not shadow one.
    if (FindUserByLogin(t.inbound_user) != nullptr)
      return Fail(ErrorCode::kConflict, "inbound.username '" + t.inbound_user + "' is a user's login");
  }
  if (t.inbound_password.size() > 128 || HasControl(t.inbound_password))
    return Fail(ErrorCode::kBadRequest, "inbound.password must be at most 128 characters");
  if (!t.outbound_host.empty() && !ValidHost(t.outbound_host))
    return Fail(ErrorCode::kBadRequest, "outbound.host must be a host name or an IP address");
  if (t.outbound_port < 1 || t.outbound_port > 65535)
    return Fail(ErrorCode::kBadRequest, "outbound.port must be 1..65535");
  if (!t.outbound_user.empty() && !ValidSipUser(t.outbound_user))
    return Fail(ErrorCode::kBadRequest, "outbound.username must be 1-64 of A-Z a-z 0-9 . _ -");
  if (t.outbound_password.size() > 128 || HasControl(t.outbound_password))
    return Fail(ErrorCode::kBadRequest, "outbound.password must be at most 128 characters");
  if (t.outbound_priority < 0 || t.outbound_priority > kMaxTrunkPriority)
    return Fail(ErrorCode::kBadRequest,
                "outbound.priority must be 0.." + std::to_string(kMaxTrunkPriority));
  if (t.dial_timeout < kMinDialTimeout || t.dial_timeout > kMaxDialTimeout ||
      t.dial_timeout % kSecond != 0)
    return Fail(ErrorCode::kBadRequest,
                "outbound.dial_timeout_s must be whole seconds " +
                    std::to_string(kMinDialTimeout / kSecond) + ".." +
                    std::to_string(kMaxDialTimeout / kSecond));
  if (!t.caller_id.empty()) {
    auto e = NormalizeE164(t.caller_id);
    if (!e) return Fail(ErrorCode::kBadRequest, "outbound.caller_id must be an E.164 number (+ and 7-15 digits)");
    t.caller_id = *e;
  }
  return {};
}

Result<TrunkId> Engine::CreateTrunk(Trunk t) {
  if (auto st = CheckTenant(t.tenant); !st) return std::unexpected(st.error());
  t.id = 0;
  if (auto st = ValidateTrunk(t); !st) return std::unexpected(st.error());
  t.id = next_id_++;
  const TrunkId id = t.id;
  EmitVoice(t.tenant, TrunkSet{std::move(t)});
  return id;
}

Status Engine::UpdateTrunk(const Trunk& t) {
  if (FindTrunk(t.tenant, t.id) == nullptr) return Fail(ErrorCode::kNotFound, "no such trunk");
  Trunk next = t;
  if (auto st = ValidateTrunk(next); !st) return st;
  EmitVoice(t.tenant, TrunkSet{std::move(next)});
  return {};
}

Status Engine::DeleteTrunk(TenantId t, TrunkId id) {
  if (FindTrunk(t, id) == nullptr) return Fail(ErrorCode::kNotFound, "no such trunk");
  for (const PhoneNumber* n : Numbers(t))
    if (n->trunk == id) return Fail(ErrorCode::kConflict, "number " + n->e164 + " names this trunk");
  EmitVoice(t, TrunkDeleted{t, id});
  return {};
}

const Trunk* Engine::FindTrunk(TenantId t, TrunkId id) const { return FindOf(trunks_, t, id); }
std::vector<const Trunk*> Engine::Trunks(TenantId t) const { return ListOf(trunks_, t); }

void Engine::ApplyVoice(const TrunkSet& b) {
  auto old = trunks_.find(b.trunk->id);
  if (old != trunks_.end() && !old->second.inbound_user.empty())
    trunk_by_user_.erase(old->second.inbound_user);
  std::erase_if(trunk_sources_, [&](const SourceEntry& e) { return e.trunk == b.trunk->id; });
  const Trunk& t = trunks_[b.trunk->id] = *b.trunk;
  if (!t.inbound_user.empty()) trunk_by_user_[t.inbound_user] = t.id;
  for (const std::string& s : t.sources) {
    // Committed sources parsed when they were stored; one that no longer parses is skipped
    // rather than failing the replay.
    if (auto p = ParseIpPrefix(s)) trunk_sources_.push_back(SourceEntry{*p, t.id, t.tenant});
  }
  next_id_ = std::max(next_id_, t.id + 1);
}

void Engine::ApplyVoice(const TrunkDeleted& b) {
  auto it = trunks_.find(b.id);
  if (it == trunks_.end()) return;
  if (!it->second.inbound_user.empty()) trunk_by_user_.erase(it->second.inbound_user);
  std::erase_if(trunk_sources_, [&](const SourceEntry& e) { return e.trunk == b.id; });
  trunks_.erase(it);
}

// ---- numbers ---------------------------------------------------------------------------------

Status Engine::ValidateNumber(PhoneNumber& n) const {
  auto e = NormalizeE164(n.e164);
  if (!e) return Fail(ErrorCode::kBadRequest, "number must be an E.164 number: + and 7-15 digits, e.g. +15550100");
  n.e164 = *e;
  auto it = number_by_e164_.find(n.e164);
  if (it != number_by_e164_.end() && it->second != n.id)
    return Fail(ErrorCode::kConflict, "number " + n.e164 + " is taken");
  if (n.name.size() > 100 || HasControl(n.name))
    return Fail(ErrorCode::kBadRequest, "name must be at most 100 characters");
  if ((n.queue == 0) == (n.ivr == 0))
    return Fail(ErrorCode::kBadRequest, "a number routes to exactly one of queue and ivr");
  if (n.queue != 0 && FindQueue(n.tenant, n.queue) == nullptr)
    return Fail(ErrorCode::kBadRequest, "queue: no such queue");
  if (n.ivr != 0 && FindIvrMenu(n.tenant, n.ivr) == nullptr)
    return Fail(ErrorCode::kBadRequest, "ivr: no such IVR menu");
  if (n.trunk != 0 && FindTrunk(n.tenant, n.trunk) == nullptr)
    return Fail(ErrorCode::kBadRequest, "trunk: no such trunk");
  return {};
}

Result<NumberId> Engine::CreateNumber(PhoneNumber n) {
  if (auto st = CheckTenant(n.tenant); !st) return std::unexpected(st.error());
  n.id = 0;
  if (auto st = ValidateNumber(n); !st) return std::unexpected(st.error());
  n.id = next_id_++;
  const NumberId id = n.id;
  EmitVoice(n.tenant, NumberSet{std::move(n)});
  return id;
}

Status Engine::UpdateNumber(const PhoneNumber& n) {
  if (FindNumberById(n.tenant, n.id) == nullptr) return Fail(ErrorCode::kNotFound, "no such number");
  PhoneNumber next = n;
  if (auto st = ValidateNumber(next); !st) return st;
  EmitVoice(n.tenant, NumberSet{std::move(next)});
  return {};
}

Status Engine::DeleteNumber(TenantId t, NumberId id) {
  if (FindNumberById(t, id) == nullptr) return Fail(ErrorCode::kNotFound, "no such number");
  EmitVoice(t, NumberDeleted{t, id});
  return {};
}

const PhoneNumber* Engine::FindNumberById(TenantId t, NumberId id) const {
  return FindOf(numbers_, t, id);
}
std::vector<const PhoneNumber*> Engine::Numbers(TenantId t) const { return ListOf(numbers_, t); }

void Engine::ApplyVoice(const NumberSet& b) {
  auto old = numbers_.find(b.number->id);
  if (old != numbers_.end()) number_by_e164_.erase(old->second.e164);
  numbers_[b.number->id] = *b.number;
  number_by_e164_[b.number->e164] = b.number->id;
  next_id_ = std::max(next_id_, b.number->id + 1);
}

void Engine::ApplyVoice(const NumberDeleted& b) {
  auto it = numbers_.find(b.id);
  if (it == numbers_.end()) return;
  number_by_e164_.erase(it->second.e164);
  numbers_.erase(it);
}

// ---- queue voice settings ------------------------------------------------------------------

Status Engine::SetQueueVoice(QueueVoice v) {
  if (FindQueue(v.tenant, v.queue) == nullptr) return Fail(ErrorCode::kNotFound, "no such queue");
  if (v.greeting_text.size() > 1000 || HasControl(v.greeting_text))
    return Fail(ErrorCode::kBadRequest, "greeting_text must be at most 1000 characters, one line");
  for (const auto& [field, value] : {std::pair{"greeting_file", &v.greeting_file},
                                     std::pair{"moh_file", &v.moh_file}}) {
    if (!value->empty() && !ValidPromptFile(*value))
      return Fail(ErrorCode::kBadRequest,
                  std::string(field) + " must be a .wav file name: 1-100 of A-Z a-z 0-9 . _ -");
  }
  if (v.position_interval != 0 &&
      (v.position_interval < 10 * kSecond || v.position_interval > kHour))
    return Fail(ErrorCode::kBadRequest, "position_interval_s must be 0 (never) or 10..3600");
  EmitVoice(v.tenant, QueueVoiceSet{std::move(v)});
  return {};
}

std::optional<QueueVoice> Engine::VoiceOf(TenantId t, QueueId q) const {
  if (FindQueue(t, q) == nullptr) return std::nullopt;
  auto it = queue_voice_.find(q);
  if (it != queue_voice_.end()) return it->second;
  QueueVoice v;
  v.queue = q;
  v.tenant = t;
  return v;
}

void Engine::ApplyVoice(const QueueVoiceSet& b) { queue_voice_[b.voice->queue] = *b.voice; }

// ---- IVR menus -------------------------------------------------------------------------------

Status Engine::ValidateIvrAction(TenantId t, IvrMenuId self, IvrAction& a,
                                 const std::string& where) const {
  switch (a.kind) {
    case IvrActionKind::kQueue:
      if (FindQueue(t, a.id) == nullptr) return Fail(ErrorCode::kBadRequest, where + ": no such queue");
      break;
    case IvrActionKind::kMenu:
      // A new menu may not name itself (it has no id yet); an existing one may (a loop).
      if (a.id != self && FindIvrMenu(t, a.id) == nullptr)
        return Fail(ErrorCode::kBadRequest, where + ": no such IVR menu");
      break;
    case IvrActionKind::kNumber: {
      auto e = NormalizeE164(a.number);
      if (!e) return Fail(ErrorCode::kBadRequest, where + ": number must be E.164 (+ and 7-15 digits)");
      a.number = *e;
      break;
    }
    default: break;
  }
  if (a.kind != IvrActionKind::kQueue && a.kind != IvrActionKind::kMenu) a.id = 0;
  if (a.kind != IvrActionKind::kNumber) a.number.clear();
  return {};
}

Status Engine::ValidateIvrMenu(IvrMenu& m) const {
  if (m.name.empty() || m.name.size() > 100 || HasControl(m.name))
    return Fail(ErrorCode::kBadRequest, "name must be 1-100 characters");
  if (m.prompt_text.size() > kMaxIvrPromptText || HasControl(m.prompt_text))
    return Fail(ErrorCode::kBadRequest, "prompt_text must be at most 1000 characters, one line");
  if (!m.prompt_file.empty() && !ValidPromptFile(m.prompt_file))
    return Fail(ErrorCode::kBadRequest, "prompt_file must be a .wav file name: 1-100 of A-Z a-z 0-9 . _ -");
  if (m.timeout < kSecond || m.timeout > 60 * kSecond)
    return Fail(ErrorCode::kBadRequest, "timeout_s must be 1..60");
  if (m.max_retries < 0 || m.max_retries > 10)
    return Fail(ErrorCode::kBadRequest, "max_retries must be 0..10");
  for (auto& [key, a] : m.options) {
    const std::string where = std::string("options.") + key;
    if (!((key >= '0' && key <= '9') || key == '*' || key == '#'))
      return Fail(ErrorCode::kBadRequest, where + ": keys are 0-9, * and #");
    if (a.kind == IvrActionKind::kNone)
      return Fail(ErrorCode::kBadRequest, where + ": must name one of queue, menu, number, repeat, hangup");
    if (auto st = ValidateIvrAction(m.tenant, m.id, a, where); !st) return st;
  }
  return ValidateIvrAction(m.tenant, m.id, m.on_failure, "on_failure");
}

Result<IvrMenuId> Engine::CreateIvrMenu(IvrMenu m) {
  if (auto st = CheckTenant(m.tenant); !st) return std::unexpected(st.error());
  m.id = 0;
  if (auto st = ValidateIvrMenu(m); !st) return std::unexpected(st.error());
  m.id = next_id_++;
  const IvrMenuId id = m.id;
  EmitVoice(m.tenant, IvrMenuSet{std::move(m)});
  return id;
}

Status Engine::UpdateIvrMenu(const IvrMenu& m) {
  if (FindIvrMenu(m.tenant, m.id) == nullptr) return Fail(ErrorCode::kNotFound, "no such IVR menu");
  IvrMenu next = m;
  if (auto st = ValidateIvrMenu(next); !st) return st;
  EmitVoice(m.tenant, IvrMenuSet{std::move(next)});
  return {};
}

Status Engine::DeleteIvrMenu(TenantId t, IvrMenuId id) {
  if (FindIvrMenu(t, id) == nullptr) return Fail(ErrorCode::kNotFound, "no such IVR menu");
  for (const PhoneNumber* n : Numbers(t))
    if (n->ivr == id) return Fail(ErrorCode::kConflict, "number " + n->e164 + " routes to it");
  for (const IvrMenu* m : IvrMenus(t)) {
    if (m->id == id) continue;
    bool uses = m->on_failure.kind == IvrActionKind::kMenu && m->on_failure.id == id;
    for (const auto& [key, a] : m->options) uses = uses || (a.kind == IvrActionKind::kMenu && a.id == id);
    if (uses) return Fail(ErrorCode::kConflict, "IVR menu " + m->name + " leads to it");
  }
  EmitVoice(t, IvrMenuDeleted{t, id});
  return {};
}

const IvrMenu* Engine::FindIvrMenu(TenantId t, IvrMenuId id) const { return FindOf(ivr_menus_, t, id); }
std::vector<const IvrMenu*> Engine::IvrMenus(TenantId t) const { return ListOf(ivr_menus_, t); }

void Engine::ApplyVoice(const IvrMenuSet& b) {
  ivr_menus_[b.menu->id] = *b.menu;
  next_id_ = std::max(next_id_, b.menu->id + 1);
}
void Engine::ApplyVoice(const IvrMenuDeleted& b) { ivr_menus_.erase(b.id); }

// ---- call detail records ----------------------------------------------------------------------

Result<CdrLegId> Engine::StartCdrLeg(CdrLegStart s) {
  if (auto st = CheckTenant(s.tenant); !st) return std::unexpected(st.error());
  if (s.from.size() > 256 || s.to.size() > 256)
    return Fail(ErrorCode::kBadRequest, "from and to are at most 256 bytes");
  if (s.call != 0 && FindCdrLeg(s.tenant, s.call) == nullptr) {
    // The first leg may have ended while the call goes on (an outbound call's first trunk
    // failed and the next one is tried): the call lasts while any of its legs does. A scan,
    // but only on that rare path.
    const bool live = std::any_of(cdr_legs_.begin(), cdr_legs_.end(), [&](const auto& kv) {
      return kv.second.start.call == s.call && kv.second.start.tenant == s.tenant;
    });
    if (!live) return Fail(ErrorCode::kNotFound, "no such call");
  }
  if (s.call == 0 && s.role != CdrRole::kCustomer)
    return Fail(ErrorCode::kBadRequest, "a call starts with the customer's leg");
  if (cdr_legs_.size() >= kMaxLiveCdrLegs)
    return Fail(ErrorCode::kUnavailable, "too many calls in progress");
  const CdrLegId id = next_id_++;
  if (s.call == 0) s.call = id;
  EmitVoice(s.tenant, CdrLegStarted{id, std::move(s)});
  return id;
}

Status Engine::AnswerCdrLeg(TenantId t, CdrLegId leg) {
  const CdrLeg* l = FindCdrLeg(t, leg);
  if (l == nullptr) return Fail(ErrorCode::kNotFound, "no such call leg");
  if (l->answered != 0) return Fail(ErrorCode::kConflict, "the leg was answered already");
  EmitVoice(t, CdrLegAnswered{leg});
  return {};
}

Status Engine::EndCdrLeg(TenantId t, CdrLegId leg, CdrResult result, std::string cause,
                         CdrParty by, InteractionId interaction) {
  const CdrLeg* l = FindCdrLeg(t, leg);
  if (l == nullptr) return Fail(ErrorCode::kNotFound, "no such call leg");
  if (result == CdrResult::kAnswered && l->answered == 0)
    return Fail(ErrorCode::kBadRequest, "a leg never answered cannot end answered");
  if (cause.size() > 256) return Fail(ErrorCode::kBadRequest, "cause is at most 256 bytes");
  EmitVoice(t, CdrLegEnded{leg, interaction, result, std::move(cause), by});
  return {};
}

const CdrLeg* Engine::FindCdrLeg(TenantId t, CdrLegId leg) const {
  auto it = cdr_legs_.find(leg);
  return it == cdr_legs_.end() || it->second.start.tenant != t ? nullptr : &it->second;
}

void Engine::ApplyVoice(const CdrLegStarted& b, TimeMs t) {
  CdrLeg& l = cdr_legs_[b.leg];
  l.id = b.leg;
  l.start = *b.start;
  l.started = t;
  next_id_ = std::max(next_id_, b.leg + 1);
}

void Engine::ApplyVoice(const CdrLegAnswered& b, TimeMs t) {
  auto it = cdr_legs_.find(b.leg);
  if (it != cdr_legs_.end()) it->second.answered = t;
}

void Engine::ApplyVoice(const CdrLegEnded& b, TimeMs) { cdr_legs_.erase(b.leg); }

void Engine::RecoverCdrLegs() {
  std::vector<CdrLegId> live;
  for (const auto& [id, l] : cdr_legs_) live.push_back(id);
  std::sort(live.begin(), live.end());
  for (CdrLegId id : live) {
    const CdrLeg& l = cdr_legs_.at(id);
    const CdrResult r = l.answered != 0 ? CdrResult::kAnswered : CdrResult::kFailed;
    EmitVoice(l.start.tenant, CdrLegEnded{id, 0, r, "restart", CdrParty::kSystem});
  }
  live.clear();
  for (const auto& [id, rec] : recordings_)
    if (rec.ended == 0) live.push_back(id);
  for (RecordingId id : live) {
    const TenantId t = recordings_.at(id).tenant;
    EmitVoice(t, RecordingEnded{id, "restart"});
  }
  std::vector<std::pair<InteractionId, TenantId>> monitored;
  for (const auto& [ix, m] : monitors_) monitored.emplace_back(ix, m.tenant);
  std::sort(monitored.begin(), monitored.end());
  for (const auto& [ix, t] : monitored) EmitVoice(t, MonitorEnded{ix, "restart"});
  std::vector<std::pair<InteractionId, TenantId>> held(held_calls_.begin(), held_calls_.end());
  std::sort(held.begin(), held.end());
  for (const auto& [ix, t] : held) EmitVoice(t, CallHold{t, ix, false});
  std::vector<std::pair<InteractionId, TenantId>> consulting;
  for (const auto& [ix, k] : number_consults_)
    if (k.ended == 0) consulting.emplace_back(ix, k.tenant);
  std::sort(consulting.begin(), consulting.end());
  for (const auto& [ix, t] : consulting) EmitVoice(t, NumberConsultEnded{ix, "restart", 0});
}

// ---- consultations with a number ----------------------------------------------------------------

Status Engine::StartNumberConsult(TenantId t, InteractionId interaction, TrunkId trunk,
                                  std::string number) {
  const Interaction* ix = FindInteraction(t, interaction);
  if (ix == nullptr || ix->channel != Channel::kVoice) return Fail(ErrorCode::kNotFound, "no such call");
  if (const NumberConsult* k = NumberConsultOf(t, interaction); k != nullptr && k->ended == 0)
    return Fail(ErrorCode::kConflict, "a consultation with a number is in progress");
  if (number.size() > 32) return Fail(ErrorCode::kBadRequest, "number is at most 32 bytes");
  EmitVoice(t, NumberConsultStarted{t, interaction, trunk, std::move(number)});
  return {};
}

Status Engine::AnswerNumberConsult(TenantId t, InteractionId interaction, TrunkId trunk) {
  const NumberConsult* k = NumberConsultOf(t, interaction);
  if (k == nullptr) return Fail(ErrorCode::kNotFound, "no consultation with a number");
  if (k->ended != 0 || k->answered != 0)
    return Fail(ErrorCode::kConflict, "the consultation is not ringing");
  EmitVoice(t, NumberConsultAnswered{interaction, trunk});
  return {};
}

Status Engine::EndNumberConsult(TenantId t, InteractionId interaction, std::string result,
                                int status) {
  const NumberConsult* k = NumberConsultOf(t, interaction);
  if (k == nullptr) return Fail(ErrorCode::kNotFound, "no consultation with a number");
  if (k->ended != 0) return Fail(ErrorCode::kConflict, "the consultation has ended");
  if (result.empty() || result.size() > 64) return Fail(ErrorCode::kBadRequest, "result is 1-64 bytes");
  EmitVoice(t, NumberConsultEnded{interaction, std::move(result), status});
  return {};
}

const NumberConsult* Engine::NumberConsultOf(TenantId t, InteractionId interaction) const {
  auto it = number_consults_.find(interaction);
  return it == number_consults_.end() || it->second.tenant != t ? nullptr : &it->second;
}

void Engine::ApplyVoice(const NumberConsultStarted& b, TimeMs t) {
  NumberConsult& k = number_consults_[b.interaction];
  k = NumberConsult{};
  k.tenant = b.tenant;
  k.interaction = b.interaction;
  k.number = b.number;
  k.trunk = b.trunk;
  k.started = t;
}

void Engine::ApplyVoice(const NumberConsultAnswered& b, TimeMs t) {
  auto it = number_consults_.find(b.interaction);
  if (it == number_consults_.end()) return;
  it->second.answered = t;
  if (b.trunk != 0) it->second.trunk = b.trunk;
}

void Engine::ApplyVoice(const NumberConsultEnded& b, TimeMs t) {
  auto it = number_consults_.find(b.interaction);
  if (it == number_consults_.end()) return;
  it->second.ended = t;
  it->second.result = b.result;
  it->second.status = b.status;
}

// ---- supervisor monitoring ---------------------------------------------------------------------

Status Engine::StartMonitor(TenantId t, InteractionId interaction, UserId supervisor,
                            MonitorMode mode) {
  const Interaction* ix = FindInteraction(t, interaction);
  if (ix == nullptr || ix->channel != Channel::kVoice) return Fail(ErrorCode::kNotFound, "no such call");
  if (monitors_.contains(interaction))
    return Fail(ErrorCode::kConflict, "the call is monitored already");
  EmitVoice(t, MonitorStarted{t, interaction, supervisor, mode});
  return {};
}

Status Engine::ChangeMonitor(TenantId t, InteractionId interaction, MonitorMode mode) {
  if (MonitorOf(t, interaction) == nullptr) return Fail(ErrorCode::kNotFound, "the call is not monitored");
  EmitVoice(t, MonitorChanged{interaction, mode});
  return {};
}

Status Engine::EndMonitor(TenantId t, InteractionId interaction, std::string reason) {
  if (MonitorOf(t, interaction) == nullptr) return Fail(ErrorCode::kNotFound, "the call is not monitored");
  EmitVoice(t, MonitorEnded{interaction, std::move(reason)});
  return {};
}

const Monitor* Engine::MonitorOf(TenantId t, InteractionId interaction) const {
  auto it = monitors_.find(interaction);
  return it == monitors_.end() || it->second.tenant != t ? nullptr : &it->second;
}

void Engine::ApplyVoice(const MonitorStarted& b, TimeMs t) {
  Monitor& m = monitors_[b.interaction];
  m.tenant = b.tenant;
  m.interaction = b.interaction;
  m.supervisor = b.supervisor;
  m.mode = b.mode;
  m.started = t;
  m.mode_since = t;
}

void Engine::ApplyVoice(const MonitorChanged& b, TimeMs t) {
  auto it = monitors_.find(b.interaction);
  if (it == monitors_.end()) return;
  it->second.mode = b.mode;
  it->second.mode_since = t;
}

void Engine::ApplyVoice(const MonitorEnded& b, TimeMs) { monitors_.erase(b.interaction); }

// ---- hold --------------------------------------------------------------------------------------

Status Engine::SetCallHold(TenantId t, InteractionId interaction, bool on) {
  if (!on) {
    if (!OnHold(t, interaction)) return Fail(ErrorCode::kConflict, "the call is not on hold");
  } else {
    const Interaction* ix = FindInteraction(t, interaction);
    if (ix == nullptr || ix->channel != Channel::kVoice) return Fail(ErrorCode::kNotFound, "no such call");
    if (ix->state != InteractionState::kConnected)
      return Fail(ErrorCode::kConflict, "the call is not connected");
    if (OnHold(t, interaction)) return Fail(ErrorCode::kConflict, "the call is already on hold");
  }
  EmitVoice(t, CallHold{t, interaction, on});
  return {};
}

bool Engine::OnHold(TenantId t, InteractionId interaction) const {
  auto it = held_calls_.find(interaction);
  return it != held_calls_.end() && it->second == t;
}

void Engine::ApplyVoice(const CallHold& b, TimeMs) {
  if (!b.on) {
    held_calls_.erase(b.interaction);
    return;
  }
  held_calls_[b.interaction] = b.tenant;
}

// ---- recordings --------------------------------------------------------------------------------

Result<RecordingId> Engine::StartRecording(TenantId t, InteractionId interaction) {
  const Interaction* ix = FindInteraction(t, interaction);
  if (ix == nullptr || ix->channel != Channel::kVoice)
    return Fail(ErrorCode::kNotFound, "no such call");
  // A call bridged again (after a transfer) is recorded again, into a file of its own.
  int part = 1;
  if (auto it = recorded_calls_.find(interaction); it != recorded_calls_.end()) {
    if (it->second.live != 0) return Fail(ErrorCode::kConflict, "the call is being recorded already");
    part = it->second.parts + 1;
  }
  const RecordingId id = next_id_++;
  EmitVoice(t, RecordingStarted{id, t, interaction, RecordingPath(t, interaction, part)});
  return id;
}

Status Engine::PauseRecording(TenantId t, RecordingId id, bool paused) {
  const Recording* r = FindRecording(t, id);
  if (r == nullptr) return Fail(ErrorCode::kNotFound, "no such recording");
  if (r->ended != 0) return Fail(ErrorCode::kConflict, "the recording has ended");
  const bool now_paused = !r->paused.empty() && r->paused.back().end == 0;
  if (now_paused == paused)
    return Fail(ErrorCode::kConflict, paused ? "the recording is paused already" : "the recording is not paused");
  EmitVoice(t, RecordingPaused{id, paused});
  return {};
}

Status Engine::EndRecording(TenantId t, RecordingId id) {
  const Recording* r = FindRecording(t, id);
  if (r == nullptr) return Fail(ErrorCode::kNotFound, "no such recording");
  if (r->ended != 0) return Fail(ErrorCode::kConflict, "the recording has ended");
  EmitVoice(t, RecordingEnded{id, ""});
  return {};
}

const Recording* Engine::FindRecording(TenantId t, RecordingId id) const {
  return FindOf(recordings_, t, id);
}
const Recording* Engine::RecordingOf(TenantId t, InteractionId interaction) const {
  auto it = recorded_calls_.find(interaction);
  return it == recorded_calls_.end() || it->second.live == 0 ? nullptr : FindRecording(t, it->second.live);
}
std::vector<const Recording*> Engine::Recordings(TenantId t) const { return ListOf(recordings_, t); }

void Engine::ApplyVoice(const RecordingStarted& b, TimeMs t) {
  Recording& r = recordings_[b.id];
  r.id = b.id;
  r.tenant = b.tenant;
  r.interaction = b.interaction;
  r.path = b.path;
  r.started = t;
  RecordedCall& call = recorded_calls_[b.interaction];
  r.part = ++call.parts;
  call.live = b.id;
  next_id_ = std::max(next_id_, b.id + 1);
}

void Engine::ApplyVoice(const RecordingPaused& b, TimeMs t) {
  auto it = recordings_.find(b.id);
  if (it == recordings_.end()) return;
  std::vector<PausedSpan>& spans = it->second.paused;
  if (b.paused) {
    spans.push_back(PausedSpan{t, 0});
  } else if (!spans.empty() && spans.back().end == 0) {
    spans.back().end = t;
  }
}

void Engine::ApplyVoice(const RecordingEnded& b, TimeMs) {
  auto it = recordings_.find(b.id);
  if (it == recordings_.end()) return;
  // Gone from memory, like an ended CDR leg: the log has it for the recordings routes.
  if (auto call = recorded_calls_.find(it->second.interaction); call != recorded_calls_.end() && call->second.live == b.id)
    call->second.live = 0;
  recordings_.erase(it);
}

// ---- lookups for the SIP adapter -------------------------------------------------------------

const PhoneNumber* Engine::FindNumber(std::string_view dialled) const {
  auto e = NormalizeDialled(dialled);
  if (!e) return nullptr;
  auto it = number_by_e164_.find(*e);
  return it == number_by_e164_.end() ? nullptr : &numbers_.at(it->second);
}

namespace {

template <typename Entries, typename Pred>
std::uint64_t BestSource(const Entries& entries, const IpPrefix& a, Pred keep) {
  std::uint64_t best = 0;
  int best_bits = -1;
  for (const auto& e : entries) {
    if (!keep(e) || !Contains(e.net, a)) continue;
    if (e.net.bits > best_bits || (e.net.bits == best_bits && e.trunk < best)) {
      best = e.trunk;
      best_bits = e.net.bits;
    }
  }
  return best;
}

}  // namespace

const Trunk* Engine::TrunkForSource(std::string_view address) const {
  auto a = ParseIpAddress(address);
  if (!a) return nullptr;
  const TrunkId id = BestSource(trunk_sources_, *a, [](const SourceEntry&) { return true; });
  return id == 0 ? nullptr : &trunks_.at(id);
}

const Trunk* Engine::TrunkForSource(TenantId t, std::string_view address) const {
  auto a = ParseIpAddress(address);
  if (!a) return nullptr;
  const TrunkId id =
      BestSource(trunk_sources_, *a, [t](const SourceEntry& e) { return e.tenant == t; });
  return id == 0 ? nullptr : &trunks_.at(id);
}

const Trunk* Engine::TrunkByDigestUser(std::string_view user) const {
  auto it = trunk_by_user_.find(std::string(user));
  return it == trunk_by_user_.end() ? nullptr : &trunks_.at(it->second);
}

}  // namespace homeline::core
