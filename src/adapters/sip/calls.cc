#include "adapters/sip/calls.h"

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "adapters/media/media_engine.h"
#include "adapters/media/prompts.h"
#include "adapters/sip/digest_check.h"
#include "adapters/sip/ivr_calls.h"
#include "adapters/sip/re_include.h"
#include "adapters/sip/sdp.h"
#include "adapters/sip/sip_stack.h"

namespace homeline::sip {

namespace {

constexpr const char* kAllow = "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER\r\n";
constexpr int kDtmfPt = 101;

std::string Str(const struct pl& p) { return std::string(p.p ? p.p : "", p.p ? p.l : 0); }

// The SIP message body (after the headers), as text.
std::string_view Body(const struct sip_msg* msg) {
  if (msg == nullptr || msg->mb == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(mbuf_buf(msg->mb)), mbuf_get_left(msg->mb));
}

struct mbuf* ToMbuf(const std::string& text) {
  struct mbuf* mb = mbuf_alloc(text.size());
  if (mb == nullptr) return nullptr;
  (void)mbuf_write_mem(mb, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  mb->pos = 0;
  return mb;
}

bool IsIpv6(const std::string& address) { return address.find(':') != std::string::npos; }

// A phone's route (the source it registered from: sip:[2001:db8::5]:5062) names an IPv6 host.
bool IsIpv6Route(const std::string& route) { return route.find('[') != std::string::npos; }

media::Codec CodecOf(int pt) { return pt == kPtPcma ? media::Codec::kPcma : media::Codec::kPcmu; }

// Releases libre session objects outside libre's own call stack: handlers ask for it while
// libre is still working on the session (close handlers), so the last reference goes on the
// next loop turn. The handler arguments (LegRef) of those sessions go in the same turn, after
// them: a released session stops calling our handlers (libre swaps in its own).
template <typename Ref>
struct Graveyard {
  std::vector<void*> sessions;
  std::vector<std::unique_ptr<Ref>> refs;
  struct tmr tmr {};
  bool armed = false;
  static void Flush(void* arg) {
    auto* g = static_cast<Graveyard*>(arg);
    g->armed = false;
    auto sessions = std::move(g->sessions);
    auto refs = std::move(g->refs);
    g->sessions.clear();
    g->refs.clear();
    for (void* p : sessions) mem_deref(p);
    refs.clear();
  }
  void Add(void* session, std::unique_ptr<Ref> ref) {
    if (session != nullptr) sessions.push_back(session);
    if (ref) refs.push_back(std::move(ref));
    if (!armed) {
      armed = true;
      tmr_start(&tmr, 0, Flush, this);
    }
  }
  void Clear() {
    tmr_cancel(&tmr);
    Flush(this);
  }
};

}  // namespace

struct Calls::Impl : std::enable_shared_from_this<Calls::Impl> {
  SipStack& stack;
  media::MediaEngine& media;
  CallHappenings& happenings;
  BindingLookup bindings;

  std::string prompt_dir;  // IVR prompts spoken from text are cached here
  std::mutex makers_mu;
  std::vector<std::thread> makers;  // espeak-ng runs for IVR prompts, joined by ~Calls
  // SIP thread: prompts being spoken, with the (call, round) waiting for each; prompts that
  // could not be made (not tried again: a missing espeak-ng must not cost a thread per call).
  std::unordered_map<std::string, std::vector<std::pair<CallId, std::uint64_t>>> speaking;
  std::unordered_set<std::string> unspeakable;

  // SIP thread: trunks that authenticate by digest (user name -> HA1), and the check.
  std::unordered_map<std::string, std::array<std::uint8_t, 16>> trunk_ha1;
  DigestCheck digest;
  std::int64_t last_sweep_s = 0;

  std::atomic<std::uint64_t> next_call{1};
  mutable std::mutex stats_mu;
  CallsStats counters;

  // ---- SIP thread state ------------------------------------------------------------------------
  struct Call;
  // A libre handler's argument: which call and which leg. Owned by the call; libre stops using
  // it when the session is released (its handlers are replaced by internal ones).
  struct LegRef {
    LegRef(Impl* i, CallId c, bool a, core::UserId ag, std::uint64_t s)
        : impl(i), call(c), agent_side(a), agent(ag), serial(s) {}
    Impl* impl = nullptr;
    CallId call = 0;
    bool agent_side = false;
    core::UserId agent = 0;    // the agent, or the supervisor of a monitor leg
    std::uint64_t serial = 0;  // which agent (or monitor) leg of the call
    // A leg to a number through a trunk (Dial): its digest credentials, and whether they were
    // given already (a second challenge fails the leg rather than loop).
    bool number = false;
    std::string auth_user, auth_password;
    bool auth_tried = false;
    bool monitor_side = false;  // a supervisor's monitor leg (CallControl::Monitor)
    // A number leg: whether the far end has said anything yet (a provisional or final
    // response, a challenge), and the timer that gives the trunk up when it has not.
    bool responded = false;
    struct tmr response_tmr {};
    ~LegRef() { tmr_cancel(&response_tmr); }
  };
  struct AgentLeg {
    struct sipsess* sess = nullptr;
    media::LegId media = 0;
    core::UserId agent = 0;
    bool established = false;
    LocalMedia sdp;  // what we offered on this leg
    std::unique_ptr<LegRef> ref;
    struct tmr ring_tmr {};
  };
  // A supervisor's phone monitoring the call (CallControl::Monitor): rung like an agent leg,
  // then joined to the mixer with the customer and agent legs.
  struct MonitorLeg {
    struct sipsess* sess = nullptr;
    media::LegId media = 0;
    core::UserId supervisor = 0;
    core::MonitorMode mode = core::MonitorMode::kListen;
    bool established = false;
    LocalMedia sdp;
    std::unique_ptr<LegRef> ref;
    struct tmr ring_tmr {};
  };
  // A caller in an IVR menu (ivr_calls.h): the round of the last PlayMenu, whether it still
  // takes an input, and the wait for a key that starts when the prompt has played.
  struct IvrWait {
    Impl* impl = nullptr;
    CallId call = 0;
    std::uint64_t round = 0;
    bool open = false;            // an input is still expected in this round
    bool prompt_playing = false;  // the wait starts when it ends
    DurationMs timeout = 0;
    struct tmr tmr {};
    IvrWait() { tmr_init(&tmr); }
    ~IvrWait() { tmr_cancel(&tmr); }
  };
  struct Call {
    Call() { tmr_init(&dial_tmr); }
    ~Call() { tmr_cancel(&dial_tmr); }
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;
    CallId id = 0;
    // Started by CallAgent: the agent leg comes first and the customer leg is ours, placed by
    // Dial through a trunk (answered = the number answered); dial_tmr is its no-answer timer.
    bool outbound = false;
    struct tmr dial_tmr {};
    std::unique_ptr<IvrWait> ivr;  // in an IVR menu
    struct sipsess* customer = nullptr;
    std::unique_ptr<LegRef> customer_ref;
    media::LegId customer_media = 0;
    bool answered = false;      // 200 sent
    bool bridged = false;
    bool waiting_music = false;  // music/prompts on the customer leg (until bridged)
    MediaDescription offer;      // the customer's SDP
    LocalMedia customer_sdp;     // our answer to it
    int codec = kPtPcmu;
    std::optional<int> dtmf;
    std::string from_user, from_name;
    WaitPrompts prompts;
    std::uint64_t agent_serial = 0;
    std::unique_ptr<AgentLeg> agent;
    std::unique_ptr<MonitorLeg> monitor;
    // A consultee's phone (CallControl::RingConsult); on completion it becomes `agent`.
    std::unique_ptr<AgentLeg> consult;
  };
  std::unordered_map<CallId, std::unique_ptr<Call>> calls;
  std::unordered_map<media::LegId, CallId> by_customer_media;
  Graveyard<LegRef> graveyard;

  Impl(SipStack& s, media::MediaEngine& m, CallHappenings& h, BindingLookup b)
      : stack(s), media(m), happenings(h), bindings(std::move(b)) {}

  Call* Find(CallId id) {
    auto it = calls.find(id);
    return it == calls.end() ? nullptr : it->second.get();
  }
  void Count(std::uint64_t CallsStats::*field) {
    std::lock_guard lk(stats_mu);
    ++(counters.*field);
  }
  void SetLive() {
    std::lock_guard lk(stats_mu);
    counters.live = calls.size();
  }

  // ---- customer leg ----------------------------------------------------------------------------

  // A re-INVITE on either leg (a session refresh, a phone putting us on hold, a new address):
  // the media goes where the new SDP says (latching starts again), and the answer is our same
  // port and codec with the version bumped. Without a usable SDP: 488, the call stays.
  static int OnOffer(struct mbuf** descp, const struct sip_msg* msg, void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    Impl* self = ref->impl;
    Call* c = self->Find(ref->call);
    if (c == nullptr) return EPROTO;
    LocalMedia* lm = nullptr;
    media::LegId leg = 0;
    if (ref->monitor_side) {
      if (MonitorLeg* m = self->MonitorOf(ref)) {
        lm = &m->sdp;
        leg = m->media;
      }
    } else if (!ref->agent_side) {
      lm = &c->customer_sdp;
      leg = c->customer_media;
    } else if (AgentLeg* a = self->LegOf(ref)) {
      lm = &a->sdp;
      leg = a->media;
    }
    if (lm == nullptr || leg == 0 || lm->port == 0) return EPROTO;
    const std::string_view body = Body(msg);
    if (!body.empty()) {
      auto md = ParseSdp(body);
      if (!md || !md->Has(lm->codec_pt)) return EPROTO;
      if (!md->OnHold()) {
        self->media.SetRemote(leg, media::Endpoint{md->address, md->port}, CodecOf(lm->codec_pt),
                              md->DtmfPt().value_or(-1));
      }
    }
    ++lm->version;
    *descp = ToMbuf(BuildSdp(*lm));
    return *descp ? 0 : ENOMEM;
  }
  static int OnAnswerNone(const struct sip_msg*, void*) { return 0; }
  static void OnCustomerEstablished(const struct sip_msg*, void*) {}
  static void OnCustomerClosed(int err, const struct sip_msg* msg, void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    Impl* self = ref->impl;
    const CallId id = ref->call;
    spdlog::info("sip: call={} customer leg closed ({})", id,
                 msg ? fmt::format("{}", msg->scode) : (err ? std::strerror(err) : "bye"));
    Call* c = self->Find(id);
    if (c == nullptr) return;
    self->EndCall(id, "customer hung up");
    self->happenings.CustomerHungUp(id);
  }

  // Detaches the customer session from the call; returns it for release (or null).
  struct sipsess* ReleaseCustomer(Call& c) {
    struct sipsess* s = c.customer;
    c.customer = nullptr;
    return s;
  }

  // An INVITE with trunk credentials (Proxy-Authorization, or Authorization): true with the
  // trunk's user name when they match; otherwise the INVITE has been answered (407 again for
  // a nonce that is not ours or is old, 403 for a failure, 400 for a header that does not
  // parse).
  bool Authenticate(const struct sip_msg& msg, const struct sip_hdr& header, std::string* user) {
    const std::int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::steady_clock::now().time_since_epoch()).count();
    if (now_s != last_sweep_s) {  // used nonces age out (no timer of its own: at most once a second)
      last_sweep_s = now_s;
      digest.Sweep();
    }
    const auto ha1_of = [this](const std::string& u) -> const std::uint8_t* {
      auto it = trunk_ha1.find(u);
      return it == trunk_ha1.end() ? nullptr : it->second.data();
    };
    switch (digest.Check(msg, header.val, ha1_of, user)) {
      case DigestCheck::Outcome::kOk:
        return true;
      case DigestCheck::Outcome::kMalformed:
        (void)sip_treply(nullptr, stack.sip(), &msg, 400, "Bad Proxy-Authorization");
        return false;
      case DigestCheck::Outcome::kChallenge:
        Challenge(msg, digest.Challenge(false));
        return false;
      case DigestCheck::Outcome::kStale:
        Challenge(msg, digest.Challenge(true));
        return false;
      case DigestCheck::Outcome::kLimited:
        Count(&CallsStats::auth_limited);
        break;
      case DigestCheck::Outcome::kFailed:
        Count(&CallsStats::auth_failures);
        spdlog::info("sip: INVITE with wrong trunk credentials for '{}'", *user);
        break;
    }
    (void)sip_treply(nullptr, stack.sip(), &msg, 403, "Forbidden");
    return false;
  }

  void Challenge(const struct sip_msg& msg, const std::string& challenge) {
    (void)sip_treplyf(nullptr, nullptr, stack.sip(), &msg, false, 407, "Proxy Authentication Required",
                      "Proxy-Authenticate: %s\r\nContent-Length: 0\r\n\r\n", challenge.c_str());
  }

  void OnInvite(const struct sip_msg& msg) {
    Count(&CallsStats::invites_in);
    std::string trunk_user;
    const struct sip_hdr* auth = sip_msg_hdr(&msg, SIP_HDR_PROXY_AUTHORIZATION);
    if (auth == nullptr) auth = sip_msg_hdr(&msg, SIP_HDR_AUTHORIZATION);
    if (auth != nullptr && !Authenticate(msg, *auth, &trunk_user)) return;
    auto offer = ParseSdp(Body(&msg));
    std::optional<int> codec;
    if (offer) codec = ChooseCodec(*offer);
    if (!offer || !codec) {
      Count(&CallsStats::bad_sdp);
      (void)sip_treply(nullptr, stack.sip(), &msg, 488, "Not Acceptable Here");
      return;
    }
    auto c = std::make_unique<Call>();
    c->id = next_call++;
    c->offer = std::move(*offer);
    c->codec = *codec;
    c->dtmf = c->offer.DtmfPt();
    c->from_user = Str(msg.from.uri.user);
    c->from_name = Str(msg.from.dname);
    c->customer_ref = std::make_unique<LegRef>(LegRef{this, c->id, false, 0, 0});
    // 180 at once: the INVITE transaction is ours (retransmissions absorbed) while the engine
    // thread decides on the call (trunk, number); the final answer follows in milliseconds.
    int err = sipsess_accept(&c->customer, stack.sessions(), &msg, 180, "Ringing", "homeline",
                             "application/sdp", nullptr, nullptr, nullptr, false, OnOffer,
                             OnAnswerNone, OnCustomerEstablished, OnCustomerInfo, nullptr,
                             OnCustomerClosed, c->customer_ref.get(), "%s", kAllow);
    if (err != 0) {
      spdlog::warn("sip: accepting an INVITE failed: {}", std::strerror(err));
      (void)sip_treply(nullptr, stack.sip(), &msg, 500, "Server Internal Error");
      return;
    }
    char src[64];
    re_snprintf(src, sizeof(src), "%j", &msg.src);
    InboundCall in;
    in.call = c->id;
    in.source = src;
    in.number = Str(msg.uri.user);
    in.from_user = c->from_user;
    in.from_name = c->from_name;
    in.trunk_user = std::move(trunk_user);
    calls.emplace(c->id, std::move(c));
    SetLive();
    happenings.Inbound(std::move(in));
  }

  void DoAnswer(CallId id, WaitPrompts prompts) {
    Call* c = Find(id);
    if (c == nullptr || c->customer == nullptr) return;
    if (c->answered) {
      if (!c->ivr) return;
      // Out of the IVR into a queue: the greeting and music of the queue.
      c->ivr.reset();
      media.StopPlay(c->customer_media);
      StartWaiting(*c, std::move(prompts));
      return;
    }
    if (!AnswerCustomer(*c)) return;
    StartWaiting(*c, std::move(prompts));
  }

  // 200 with our SDP on a fresh media leg. False when the call ended instead.
  bool AnswerCustomer(Call& call) {
    Call* c = &call;
    const CallId id = c->id;
    // The media leg in the caller's family: an IPv6 SDP address gets an IPv6 leg (when the media
    // engine has an IPv6 address), so our SDP says c=IN IP6 and the relay crosses families.
    auto leg = media.OpenLeg(IsIpv6(c->offer.address) && media.has_ipv6());
    if (!leg) {
      spdlog::warn("sip: call={} no media port: {}", id, leg.error().message);
      DoRefuse(id, 503, "Service Unavailable");
      return false;
    }
    c->customer_media = leg->id;
    by_customer_media[leg->id] = id;
    media.SetRemote(leg->id, media::Endpoint{c->offer.address, c->offer.port}, CodecOf(c->codec),
                    c->dtmf.value_or(-1));
    LocalMedia lm;
    lm.address = leg->address;
    lm.port = leg->local_port;
    lm.codec_pt = c->codec;
    lm.dtmf_pt = c->dtmf;
    lm.session_id = id;
    lm.version = 1;
    c->customer_sdp = lm;
    struct mbuf* desc = ToMbuf(BuildSdp(lm));
    int err = sipsess_answer(c->customer, 200, "OK", desc, "%s", kAllow);
    mem_deref(desc);
    if (err != 0) {
      spdlog::warn("sip: call={} answer failed: {}", id, std::strerror(err));
      EndCall(id, "answer failed");
      happenings.CustomerHungUp(id);
      return false;
    }
    c->answered = true;
    return true;
  }

  void StartWaiting(Call& call, WaitPrompts prompts) {
    Call* c = &call;
    c->prompts = std::move(prompts);
    c->waiting_music = true;
    const std::string greeting = c->prompts.greeting.empty() ? "greeting" : c->prompts.greeting;
    if (auto st = media.Play(c->customer_media, {media::PromptRef{greeting}}, false); !st) {
      spdlog::warn("sip: call={} greeting: {}", c->id, st.error().message);
      PlayMusic(*c);
    }
  }

  // ---- IVR (ivr_calls.h) -----------------------------------------------------------------------

  void DoPlayMenu(CallId id, std::uint64_t round, const std::string& text, const std::string& path,
                  DurationMs timeout) {
    Call* c = Find(id);
    if (c == nullptr || c->customer == nullptr || c->waiting_music || c->bridged) return;
    if (!c->answered && !AnswerCustomer(*c)) return;
    if (!c->ivr) {
      c->ivr = std::make_unique<IvrWait>();
      c->ivr->impl = this;
      c->ivr->call = id;
    }
    IvrWait& w = *c->ivr;
    tmr_cancel(&w.tmr);
    w.round = round;
    w.open = true;
    w.timeout = timeout;
    w.prompt_playing = true;
    std::string prompt = path;
    if (prompt.empty() && !text.empty() && !prompt_dir.empty()) {
      const std::string name = IvrPromptName(text);
      if (!media.HasPrompt(name) && !unspeakable.contains(name)) {
        auto [it, fresh] = speaking.try_emplace(name);
        it->second.emplace_back(id, round);  // plays when spoken
        if (fresh) MakePrompt(name, text);
        return;
      }
      if (!unspeakable.contains(name)) prompt = name;
    }
    PlayIvrPrompt(*c, prompt);
  }

  void PlayIvrPrompt(Call& c, const std::string& prompt) {
    if (!prompt.empty()) {
      auto st = media.Play(c.customer_media, {media::PromptRef{prompt}}, false);
      if (st) return;  // the wait starts at kPlayDone
      spdlog::warn("sip: call={} IVR prompt {}: {}", c.id, prompt, st.error().message);
    }
    StartIvrWait(c);
  }

  // Speaks a menu's text with espeak-ng off the SIP thread (cached in prompt_dir), then plays
  // it if the caller is still waiting in that round.
  void MakePrompt(const std::string& name, const std::string& text) {
    const std::string file = (std::filesystem::path(prompt_dir) / (name + ".wav")).string();
    std::weak_ptr<Impl> weak = shared_from_this();
    std::lock_guard lk(makers_mu);
    makers.emplace_back([weak, name, text, file] {
      auto self = weak.lock();
      if (!self) return;
      std::error_code ec;
      Status st = std::filesystem::exists(file, ec) ? Status{} : media::SpeakPrompt(text, file);
      if (st) st = self->media.LoadPrompt(name, file);
      if (!st) spdlog::warn("sip: IVR prompt \"{}\": {}", text, st.error().message);
      const bool ok = static_cast<bool>(st);
      self->stack.Post([weak, name, ok] {
        auto s = weak.lock();
        if (!s) return;
        if (!ok) s->unspeakable.insert(name);
        auto waiting = std::move(s->speaking[name]);
        s->speaking.erase(name);
        for (auto [id, round] : waiting) {
          Call* c = s->Find(id);
          if (c == nullptr || !c->ivr || c->ivr->round != round || !c->ivr->open ||
              !c->ivr->prompt_playing)
            continue;
          s->PlayIvrPrompt(*c, ok ? name : std::string());
        }
      });
    });
  }

  void StartIvrWait(Call& c) {
    if (!c.ivr || !c.ivr->open) return;
    c.ivr->prompt_playing = false;
    tmr_start(&c.ivr->tmr, static_cast<std::uint64_t>(std::max<DurationMs>(c.ivr->timeout, 1)),
              OnIvrTimer, c.ivr.get());
  }

  static void OnIvrTimer(void* arg) {
    auto* w = static_cast<IvrWait*>(arg);
    if (!w->open) return;
    w->open = false;
    w->impl->happenings.IvrTimeout(w->call, w->round);
  }

  // A key from the caller (RFC 4733 through media, or SIP INFO): the round's input.
  void IvrKey(CallId id, char digit) {
    Call* c = Find(id);
    if (c == nullptr || !c->ivr || !c->ivr->open) return;
    IvrWait& w = *c->ivr;
    w.open = false;
    tmr_cancel(&w.tmr);
    if (w.prompt_playing) media.StopPlay(c->customer_media);
    w.prompt_playing = false;
    spdlog::debug("sip: call={} IVR key {}", id, digit);
    happenings.IvrDigit(id, w.round, digit);
  }

  void OnDtmf(media::LegId leg, char digit) {
    auto it = by_customer_media.find(leg);
    if (it != by_customer_media.end()) IvrKey(it->second, digit);
  }

  // In-dialog INFO from the customer: DTMF (application/dtmf-relay, application/dtmf) is taken,
  // other bodies get 415; without a handler libre would answer 501.
  static void OnCustomerInfo(struct ::sip* sip, const struct sip_msg* msg, void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    const std::string ctype = msg->ctyp.type.p ? fmt::format("{}/{}", Str(msg->ctyp.type), Str(msg->ctyp.subtype)) : std::string();
    if (!IsDtmfInfoType(ctype)) {
      (void)sip_reply(sip, msg, 415, "Unsupported Media Type");
      return;
    }
    (void)sip_reply(sip, msg, 200, "OK");
    if (auto key = ParseDtmfInfo(ctype, Body(msg))) ref->impl->IvrKey(ref->call, *key);
  }

  void PlayMusic(Call& c) {
    if (!c.waiting_music || c.customer_media == 0) return;
    const std::string music = c.prompts.music.empty() ? "moh" : c.prompts.music;
    if (auto st = media.Play(c.customer_media, {media::PromptRef{music}}, true); !st)
      spdlog::warn("sip: call={} music on hold: {}", c.id, st.error().message);
  }

  void DoRefuse(CallId id, int status, const std::string& reason) {
    Call* c = Find(id);
    if (c == nullptr) return;
    if (c->customer != nullptr && !c->answered) {
      if (status == 407) {  // no trunk allows the source: it may authenticate as one
        (void)sipsess_reject(c->customer, 407, "Proxy Authentication Required", "Proxy-Authenticate: %s\r\n",
                             digest.Challenge(false).c_str());
      } else {
        (void)sipsess_reject(c->customer, static_cast<std::uint16_t>(status), reason.c_str(), nullptr);
      }
    }
    EndCall(id, reason);
  }

  void DoAnnounce(CallId id, int position) {
    Call* c = Find(id);
    if (c == nullptr || !c->waiting_music || c->customer_media == 0) return;
    if (auto st = media.Play(c->customer_media, media::MediaEngine::PositionAnnouncement(position), false); !st)
      spdlog::warn("sip: call={} position prompt: {}", id, st.error().message);
  }

  // A prompt ended on a waiting customer's leg: music again.
  void OnPlayDone(media::LegId leg) {
    auto it = by_customer_media.find(leg);
    if (it == by_customer_media.end()) return;
    Call* c = Find(it->second);
    if (c == nullptr) return;
    if (c->ivr) {
      if (c->ivr->prompt_playing) StartIvrWait(*c);
      return;
    }
    PlayMusic(*c);
  }

  // ---- agent leg -------------------------------------------------------------------------------

  AgentLeg* AgentOf(LegRef* ref) {
    Call* c = Find(ref->call);
    if (c == nullptr || !c->agent || c->agent->ref.get() != ref) return nullptr;
    return c->agent.get();
  }
  AgentLeg* ConsultOf(LegRef* ref) {
    Call* c = Find(ref->call);
    if (c == nullptr || !c->consult || c->consult->ref.get() != ref) return nullptr;
    return c->consult.get();
  }
  // The agent or consult leg the handler's argument names (a completed consultation's leg is
  // the agent leg from then on: the same LegRef).
  AgentLeg* LegOf(LegRef* ref) {
    AgentLeg* leg = AgentOf(ref);
    return leg != nullptr ? leg : ConsultOf(ref);
  }

  static int OnAgentAnswer(const struct sip_msg* msg, void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    Impl* self = ref->impl;
    AgentLeg* leg = self->LegOf(ref);
    if (leg == nullptr) return 0;
    if (!self->PointMedia(leg->media, msg, true)) {
      spdlog::info("sip: call={} agent={} answered with unusable SDP", ref->call, ref->agent);
      return EPROTO;  // libre ends the leg (ACK + BYE); the close handler reports it
    }
    return 0;
  }
  static void OnAgentProgress(const struct sip_msg* msg, void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    spdlog::debug("sip: call={} agent={} phone {}", ref->call, ref->agent, msg->scode);
  }
  static void OnAgentEstablished(const struct sip_msg*, void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    Impl* self = ref->impl;
    AgentLeg* leg = self->LegOf(ref);
    if (leg == nullptr) return;
    leg->established = true;
    tmr_cancel(&leg->ring_tmr);
    if (leg == self->ConsultOf(ref)) {
      self->happenings.ConsultAnswered(ref->call, ref->agent);
      return;
    }
    self->happenings.AgentAnswered(ref->call, ref->agent);
  }
  static void OnAgentClosed(int err, const struct sip_msg* msg, void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    Impl* self = ref->impl;
    const CallId id = ref->call;
    const core::UserId agent = ref->agent;
    if (AgentLeg* consult = self->ConsultOf(ref)) {
      const bool was_up = consult->established;
      const int status = msg && msg->scode >= 300 ? msg->scode : (err == ETIMEDOUT ? 408 : 480);
      self->ReleaseConsultLeg(*self->Find(id));
      spdlog::info("sip: call={} consultee={} {}", id, agent,
                   was_up ? std::string("hung up") : fmt::format("phone answered {}", status));
      if (was_up) {
        self->happenings.ConsultHungUp(id, agent);
      } else {
        self->happenings.ConsultFailed(id, agent, status);
      }
      return;
    }
    AgentLeg* leg = self->AgentOf(ref);
    if (leg == nullptr) return;
    const bool was_up = leg->established;
    const int status = msg && msg->scode >= 300 ? msg->scode : (err == ETIMEDOUT ? 408 : 480);
    Call* c = self->Find(id);
    const bool bridged = c->bridged;
    if (was_up && (bridged || c->outbound)) self->ReleaseMonitorLeg(*c);  // ends with the call
    self->ReleaseAgentLeg(*c);
    if (was_up && (bridged || c->outbound)) {
      // An outbound call's agent hanging up while the number rings ends the call too.
      spdlog::info("sip: call={} agent={} hung up", id, agent);
      self->EndCall(id, "agent hung up");
      self->happenings.AgentHungUp(id, agent);
    } else if (was_up) {
      // Answered but never bridged (a late answer being dropped, or the engine refused it).
      spdlog::info("sip: call={} agent={} leg ended before the bridge", id, agent);
    } else {
      spdlog::info("sip: call={} agent={} phone answered {}", id, agent, status);
      self->happenings.AgentFailed(id, agent, status);
    }
  }
  static void OnRingTimeout(void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    Impl* self = ref->impl;
    const CallId id = ref->call;
    const core::UserId agent = ref->agent;
    if (AgentLeg* consult = self->ConsultOf(ref)) {
      if (consult->established) return;
      self->ReleaseConsultLeg(*self->Find(id));  // CANCEL
      self->happenings.ConsultFailed(id, agent, 408);
      return;
    }
    AgentLeg* leg = self->AgentOf(ref);
    if (leg == nullptr || leg->established) return;
    self->ReleaseAgentLeg(*self->Find(id));  // CANCEL
    self->happenings.AgentFailed(id, agent, 408);
  }

  // Ends the call's agent leg: CANCEL when ringing, BYE when answered (libre decides from the
  // session state when it is released; a session the peer ended is just freed), and closes
  // its media.
  void ReleaseAgentLeg(Call& c) {
    if (!c.agent) return;
    if (c.monitor) {
      // The monitor mixed this agent leg: it ends with it (whatever replaces the leg: a
      // transfer, a dialled number), and the engine side hears of it unless it ordered it.
      const core::UserId supervisor = c.monitor->supervisor;
      ReleaseMonitorLeg(c);
      happenings.MonitorEnded(c.id, supervisor, kMonitorAgentLegEnded);
    }
    std::unique_ptr<AgentLeg> leg = std::move(c.agent);
    tmr_cancel(&leg->ring_tmr);
    if (leg->media != 0) media.CloseLeg(leg->media);
    c.bridged = false;
    graveyard.Add(leg->sess, std::move(leg->ref));
  }

  // The consult leg ends like an agent leg (CANCEL or BYE); the call and its agent leg stay.
  void ReleaseConsultLeg(Call& c) {
    if (!c.consult) return;
    std::unique_ptr<AgentLeg> leg = std::move(c.consult);
    tmr_cancel(&leg->ring_tmr);
    if (leg->media != 0) media.CloseLeg(leg->media);
    graveyard.Add(leg->sess, std::move(leg->ref));
  }

  void DoRingAgent(CallId id, core::UserId agent, const std::string& sip_user, DurationMs timeout) {
    Call* c = Find(id);
    if (c == nullptr || !c->answered) return;
    if (c->agent) ReleaseAgentLeg(*c);  // a previous agent's leg, if still there
    StartAgentLeg(*c, agent, sip_user, timeout);
  }

  // An outbound call (CallControl::CallAgent): the agent's phone first, no customer yet.
  void DoCallAgent(CallId id, core::UserId agent, const std::string& sip_user,
                   const std::string& show, DurationMs timeout) {
    if (Find(id) != nullptr) return;
    auto c = std::make_unique<Call>();
    c->id = id;
    c->outbound = true;
    c->codec = kPtPcmu;
    c->from_user = show;
    Call& call = *c;
    calls.emplace(id, std::move(c));
    SetLive();
    StartAgentLeg(call, agent, sip_user, timeout);
  }

  // INVITEs the agent's registered phone for the call; AgentFailed when it cannot.
  void StartAgentLeg(Call& call, core::UserId agent, const std::string& sip_user, DurationMs timeout) {
    int status = 0;
    call.agent = MakeAgentLeg(call, agent, sip_user, timeout, &status);
    if (!call.agent) happenings.AgentFailed(call.id, agent, status);
  }

  void DoRingConsult(CallId id, core::UserId agent, const std::string& sip_user, DurationMs timeout) {
    Call* c = Find(id);
    if (c == nullptr || !c->agent || !c->agent->established) return;
    if (c->consult) ReleaseConsultLeg(*c);
    int status = 0;
    c->consult = MakeAgentLeg(*c, agent, sip_user, timeout, &status);
    if (!c->consult) happenings.ConsultFailed(id, agent, status);
  }

  void DoBridgeConsult(CallId id) {
    Call* c = Find(id);
    if (c == nullptr || !c->agent || !c->consult || !c->consult->established) return;
    media.Unbridge(c->customer_media);  // on hold already; the customer keeps its music
    media.Bridge(c->agent->media, c->consult->media);
  }

  void DoDropConsult(CallId id) {
    Call* c = Find(id);
    if (c == nullptr) return;
    ReleaseConsultLeg(*c);
  }

  void DoCompleteConsult(CallId id, const std::string& record_path) {
    Call* c = Find(id);
    if (c == nullptr || !c->consult || !c->consult->established) return;
    ReleaseAgentLeg(*c);  // BYE to the first agent; its recording ends with its media leg
    c->agent = std::move(c->consult);
    c->waiting_music = false;
    media.StopPlay(c->customer_media);
    media.Bridge(c->customer_media, c->agent->media);
    c->bridged = true;
    if (!record_path.empty()) media.StartRecording(c->customer_media, c->agent->media, record_path);
  }

  // Rings an agent's phone for call c (its leg, not yet the call's); null with *status (480 no
  // phone, 503) when it cannot.
  std::unique_ptr<AgentLeg> MakeAgentLeg(Call& call, core::UserId agent, const std::string& sip_user,
                                          DurationMs timeout, int* status) {
    Call* c = &call;
    const CallId id = c->id;
    std::optional<AgentBinding> b;
    if (bindings && !sip_user.empty()) b = bindings(sip_user);
    if (!b) {
      spdlog::info("sip: call={} agent={} ({}) has no registered phone", id, agent, sip_user);
      *status = 480;
      return nullptr;
    }
    auto leg = std::make_unique<AgentLeg>();
    leg->agent = agent;
    leg->ref = std::make_unique<LegRef>(LegRef{this, id, true, agent, ++c->agent_serial});
    // The phone's family is the one it registered over (its route: sip:[2001:db8::5]:5062).
    const bool v6 = IsIpv6Route(b->route) && media.has_ipv6();
    auto ml = c->customer_media != 0 ? media.OpenLegNear(c->customer_media, v6) : media.OpenLeg(v6);
    if (!ml) {
      spdlog::warn("sip: call={} no media port for the agent leg: {}", id, ml.error().message);
      *status = 503;
      return nullptr;
    }
    leg->media = ml->id;
    // Offer only the customer's codec (and telephone-event): the relay then forwards packets
    // as they are.
    LocalMedia lm;
    lm.address = ml->address;
    lm.port = ml->local_port;
    lm.codec_pt = c->codec;
    lm.dtmf_pt = kDtmfPt;
    lm.session_id = id * 2 + 1;
    lm.version = 1;
    leg->sdp = lm;
    struct mbuf* desc = ToMbuf(BuildSdp(lm));
    const std::string from_uri = fmt::format(
        "sip:{}@{}", c->from_user.empty() ? "anonymous" : c->from_user, stack.host());
    const std::string our_rr = OurRecordRoute(b->route);
    const char* routev[] = {b->route.c_str()};
    const std::string from_name = c->from_name.empty() ? c->from_user : c->from_name;
    int err = sipsess_connect(&leg->sess, stack.sessions(), b->contact.c_str(), from_name.c_str(),
                              from_uri.c_str(), "homeline", routev, 1, "application/sdp", desc,
                              nullptr, nullptr, false, OnOffer, OnAgentAnswer, OnAgentProgress,
                              OnAgentEstablished, nullptr, nullptr, OnAgentClosed, leg->ref.get(),
                              "Record-Route: <%s;lr>\r\nRecord-Route: <%s;lr>\r\n%s",
                              our_rr.c_str(), b->route.c_str(), kAllow);
    mem_deref(desc);
    if (err != 0) {
      spdlog::warn("sip: call={} agent={} INVITE to {} failed: {}", id, agent, b->contact,
                   std::strerror(err));
      media.CloseLeg(leg->media);
      *status = 503;
      return nullptr;
    }
    Count(&CallsStats::invites_out);
    tmr_init(&leg->ring_tmr);
    tmr_start(&leg->ring_tmr, static_cast<std::uint64_t>(std::max<DurationMs>(timeout, 1000)),
              OnRingTimeout, leg->ref.get());
    return leg;
  }

  // ---- legs to numbers through a trunk (CallControl::Dial) ------------------------------------
  // A number's leg sits in the customer slot of an outbound call (Call::outbound) and in the
  // agent slot otherwise (AgentLeg with agent 0): Bridge, Hold, recording and the re-INVITE
  // handler then work on it unchanged.

  // The media leg of a number leg's handler argument; 0 when that leg is gone.
  media::LegId NumberMedia(LegRef* ref) {
    Call* c = Find(ref->call);
    if (c == nullptr) return 0;
    if (!ref->agent_side) return c->customer_ref.get() == ref ? c->customer_media : 0;
    AgentLeg* a = LegOf(ref);  // the agent slot, or the consult slot (DialConsult)
    return a != nullptr ? a->media : 0;
  }

  // Points the leg's media at the SDP of a 183 or 200. False when the SDP is unusable.
  bool NumberRemote(LegRef* ref, const struct sip_msg* msg) {
    const media::LegId leg = NumberMedia(ref);
    return leg == 0 || PointMedia(leg, msg, true);
  }

  // Points a media leg at the answer's SDP (address, port, a G.711 law it offers; its RFC 4733
  // payload type when `dtmf`). The other G.711 law than the far leg's is fine: media transcodes.
  // False, and nothing changed, when the SDP is unusable.
  bool PointMedia(media::LegId leg, const struct sip_msg* msg, bool dtmf) {
    auto md = ParseSdp(Body(msg));
    std::optional<int> codec;
    if (md) codec = ChooseCodec(*md);
    if (!md || !codec) return false;
    media.SetRemote(leg, media::Endpoint{md->address, md->port}, CodecOf(*codec),
                    dtmf ? md->DtmfPt().value_or(-1) : -1);
    return true;
  }

  static int OnNumberAuth(char** user, char** password, const char* realm, void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    ref->responded = true;
    tmr_cancel(&ref->response_tmr);
    if (ref->auth_user.empty() || ref->auth_tried) {
      spdlog::info("sip: call={} the carrier's challenge ({}) {}", ref->call, realm ? realm : "",
                   ref->auth_user.empty() ? "but the trunk has no credentials" : "again: refused");
      return EAUTH;
    }
    ref->auth_tried = true;
    int err = str_dup(user, ref->auth_user.c_str());
    err |= str_dup(password, ref->auth_password.c_str());
    return err;
  }
  static int OnNumberAnswer(const struct sip_msg* msg, void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    ref->responded = true;
    tmr_cancel(&ref->response_tmr);
    if (!ref->impl->NumberRemote(ref, msg)) {
      spdlog::info("sip: call={} the number answered with unusable SDP", ref->call);
      return EPROTO;  // libre ends the leg; the close handler reports it
    }
    return 0;
  }
  static void OnNumberProgress(const struct sip_msg* msg, void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    spdlog::debug("sip: call={} number {}", ref->call, msg->scode);
    ref->responded = true;
    tmr_cancel(&ref->response_tmr);
    // Early media (183 with SDP): the relay carries it to the other leg (ringback, announcements).
    if (!Body(msg).empty()) (void)ref->impl->NumberRemote(ref, msg);
  }
  static void OnNumberEstablished(const struct sip_msg*, void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    Impl* self = ref->impl;
    Call* c = self->Find(ref->call);
    if (c == nullptr) return;
    if (AgentLeg* k = self->ConsultOf(ref)) {  // a consultation with a number
      k->established = true;
      tmr_cancel(&k->ring_tmr);
      spdlog::info("sip: call={} the consulted number answered", ref->call);
      self->happenings.ConsultAnswered(ref->call, 0);
      return;
    }
    if (!ref->agent_side) {
      if (c->customer_ref.get() != ref) return;
      c->answered = true;
      tmr_cancel(&c->dial_tmr);
    } else {
      AgentLeg* leg = self->AgentOf(ref);
      if (leg == nullptr) return;
      leg->established = true;
      tmr_cancel(&leg->ring_tmr);
    }
    spdlog::info("sip: call={} the number answered", ref->call);
    self->happenings.NumberAnswered(ref->call);
  }
  static void OnNumberClosed(int err, const struct sip_msg* msg, void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    Impl* self = ref->impl;
    const CallId id = ref->call;
    Call* c = self->Find(id);
    if (c == nullptr) return;
    // No final response: a transaction timeout (408), or the transport could not send (500);
    // both are the trunk's failures (TrunkFailure).
    const int status = msg && msg->scode >= 300 ? msg->scode : (err == ETIMEDOUT ? 408 : 500);
    if (AgentLeg* k = self->ConsultOf(ref)) {  // a consultation with a number
      const bool up = k->established;
      self->ReleaseConsultLeg(*c);
      spdlog::info("sip: call={} the consulted number {}", id,
                   up ? std::string("hung up") : fmt::format("answered {}", status));
      if (up) {
        self->happenings.ConsultHungUp(id, 0);
      } else {
        self->happenings.ConsultFailed(id, 0, status);
      }
      return;
    }
    bool was_up = false;
    if (!ref->agent_side) {
      if (c->customer_ref.get() != ref) return;
      was_up = c->answered;
      if (was_up) {
        spdlog::info("sip: call={} the customer (number) hung up", id);
        self->EndCall(id, "customer hung up");
        self->happenings.CustomerHungUp(id);
        return;
      }
      self->ReleaseNumberCustomer(*c);
    } else {
      AgentLeg* leg = self->AgentOf(ref);
      if (leg == nullptr) return;
      was_up = leg->established;
      self->ReleaseAgentLeg(*c);
      if (was_up) {
        spdlog::info("sip: call={} the number hung up", id);
        self->EndCall(id, "number hung up");
        self->happenings.NumberHungUp(id);
        return;
      }
    }
    spdlog::info("sip: call={} the number answered {}", id, status);
    self->happenings.NumberFailed(id, status);
  }
  static void OnDialTimeout(void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    Impl* self = ref->impl;
    Call* c = self->Find(ref->call);
    if (c == nullptr) return;
    if (AgentLeg* k = self->ConsultOf(ref)) {
      if (k->established) return;
      self->ReleaseConsultLeg(*c);  // CANCEL
      spdlog::info("sip: call={} the consulted number did not answer in time", ref->call);
      self->happenings.ConsultFailed(ref->call, 0, 487);
      return;
    }
    if (!ref->agent_side) {
      if (c->customer_ref.get() != ref || c->answered) return;
      self->ReleaseNumberCustomer(*c);  // CANCEL
    } else {
      AgentLeg* leg = self->AgentOf(ref);
      if (leg == nullptr || leg->established) return;
      self->ReleaseAgentLeg(*c);  // CANCEL
    }
    spdlog::info("sip: call={} the number did not answer in time", ref->call);
    self->happenings.NumberFailed(ref->call, 487);  // CANCELled by us: Request Terminated
  }
  // The trunk said nothing at all within DialOut::response_timeout: given up (libre abandons
  // the transaction when the session is released), 408 so that the next trunk is tried.
  static void OnNoResponse(void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    if (ref->responded) return;
    Impl* self = ref->impl;
    Call* c = self->Find(ref->call);
    if (c == nullptr) return;
    if (AgentLeg* k = self->ConsultOf(ref)) {
      if (k->established) return;
      self->ReleaseConsultLeg(*c);
      spdlog::info("sip: call={} no response from the trunk (consultation)", ref->call);
      self->happenings.ConsultFailed(ref->call, 0, 408);
      return;
    }
    if (!ref->agent_side) {
      if (c->customer_ref.get() != ref || c->answered) return;
      self->ReleaseNumberCustomer(*c);
    } else {
      AgentLeg* leg = self->AgentOf(ref);
      if (leg == nullptr || leg->established) return;
      self->ReleaseAgentLeg(*c);
    }
    spdlog::info("sip: call={} no response from the trunk", ref->call);
    self->happenings.NumberFailed(ref->call, 408);
  }

  // An outbound call's customer leg that never answered: CANCEL (libre, on release), media
  // closed. The agent leg stays.
  void ReleaseNumberCustomer(Call& c) {
    tmr_cancel(&c.dial_tmr);
    if (c.customer_media != 0) {
      by_customer_media.erase(c.customer_media);
      media.CloseLeg(c.customer_media);
      c.customer_media = 0;
    }
    c.bridged = false;
    graveyard.Add(ReleaseCustomer(c), std::move(c.customer_ref));
  }

  // INVITE to target through its trunk, offering lm; null when libre refused to send it.
  struct sipsess* ConnectNumber(const DialOut& t, const LocalMedia& lm, LegRef* ref) {
    // An IPv6 host goes in brackets in a URI, whether it was configured with them or not.
    auto bracket = [](const std::string& h) {
      if (h.size() >= 2 && h.front() == '[' && h.back() == ']') return h;
      return h.find(':') != std::string::npos ? "[" + h + "]" : h;
    };
    const std::string to_uri =
        fmt::format("sip:{}@{}:{}{}", t.number, bracket(t.host), t.port,
                    t.transport == core::SipTransport::kTcp ? ";transport=tcp" : "");
    const std::string from_user = t.caller_id.empty() ? "anonymous" : t.caller_id;
    const std::string from_uri = fmt::format("sip:{}@{}", from_user, bracket(stack.host()));
    // The caller id the carrier shows (RFC 3325); without one the call is anonymous.
    const std::string identity =
        t.caller_id.empty() ? std::string("Privacy: id\r\n")
                            : fmt::format("P-Asserted-Identity: <{}>\r\n", from_uri);
    ref->number = true;
    ref->auth_user = t.user;
    ref->auth_password = t.password;
    struct mbuf* desc = ToMbuf(BuildSdp(lm));
    struct sipsess* sess = nullptr;
    int err = sipsess_connect(&sess, stack.sessions(), to_uri.c_str(), t.caller_name.c_str(),
                              from_uri.c_str(), "homeline", nullptr, 0, "application/sdp", desc,
                              OnNumberAuth, ref, false, OnOffer, OnNumberAnswer, OnNumberProgress,
                              OnNumberEstablished, nullptr, nullptr, OnNumberClosed, ref, "%s%s",
                              identity.c_str(), kAllow);
    mem_deref(desc);
    if (err != 0) {
      spdlog::warn("sip: call={} INVITE to {} failed: {}", ref->call, to_uri, std::strerror(err));
      return nullptr;
    }
    Count(&CallsStats::invites_out);
    Count(&CallsStats::dials);
    spdlog::info("sip: call={} dialling {} through trunk {} as {}", ref->call, to_uri, t.trunk,
                 from_user);
    tmr_init(&ref->response_tmr);
    tmr_start(&ref->response_tmr,
              static_cast<std::uint64_t>(std::max<DurationMs>(t.response_timeout, 500)),
              OnNoResponse, ref);
    return sess;
  }

  // Our address in the Record-Route of an INVITE to a registered phone: the phone's in-dialog
  // requests come back to it, so it is of the family the phone registered over.
  std::string OurRecordRoute(const std::string& phone_route) const {
    if (IsIpv6Route(phone_route) && !stack.host6().empty()) {
      return fmt::format("sip:[{}]:{}", stack.host6(), stack.port());
    }
    return fmt::format("sip:{}:{}", stack.host(), stack.port());
  }

  // A trunk whose outbound host is an IPv6 address gets its media on IPv6 too (SDP c=IN IP6),
  // when the media engine has an IPv6 address; a host name or an IPv4 address, IPv4.
  bool NumberIsIpv6(const DialOut& t) const { return IsIpv6(t.host) && media.has_ipv6(); }

  void DoDial(CallId id, const DialOut& t) {
    Call* c = Find(id);
    if (c == nullptr) return;
    const DurationMs timeout = std::max<DurationMs>(t.timeout, 1000);
    if (c->outbound) {
      // The agent answered: the number becomes the customer leg.
      if (!c->agent || !c->agent->established || c->customer != nullptr) {
        happenings.NumberFailed(id, 500);
        return;
      }
      auto ml = media.OpenLegNear(c->agent->media, NumberIsIpv6(t));
      if (!ml) {
        spdlog::warn("sip: call={} no media port to dial: {}", id, ml.error().message);
        happenings.NumberFailed(id, 503);
        return;
      }
      c->customer_media = ml->id;
      by_customer_media[ml->id] = id;
      LocalMedia lm;
      lm.address = ml->address;
      lm.port = ml->local_port;
      lm.codec_pt = c->codec;
      lm.dtmf_pt = kDtmfPt;
      lm.session_id = id * 2;
      lm.version = 1;
      c->customer_sdp = lm;
      c->customer_ref = std::make_unique<LegRef>(LegRef{this, id, false, 0, 0});
      c->customer = ConnectNumber(t, lm, c->customer_ref.get());
      if (c->customer == nullptr) {
        ReleaseNumberCustomer(*c);
        happenings.NumberFailed(id, 500);
        return;
      }
      // Early media (or silence) reaches the agent while it rings.
      media.Bridge(c->agent->media, c->customer_media);
      tmr_start(&c->dial_tmr, static_cast<std::uint64_t>(timeout), OnDialTimeout,
                c->customer_ref.get());
      return;
    }
    // A customer is on the call (a transfer, an IVR option): the number replaces the agent leg.
    if (c->customer == nullptr || !c->answered || c->customer_media == 0) {
      happenings.NumberFailed(id, 500);
      return;
    }
    c->ivr.reset();
    ReleaseMonitorLeg(*c);  // the monitor follows the agent leg it mixes
    if (c->agent) {
      media.Unbridge(c->customer_media);
      ReleaseAgentLeg(*c);  // BYE or CANCEL
    }
    c->waiting_music = true;
    media.StopPlay(c->customer_media);
    PlayMusic(*c);
    int status = 0;
    auto leg = CallNumber(*c, id, c->customer_media, t, id * 2 + 1, timeout, &status);
    if (!leg) {
      happenings.NumberFailed(id, status);
      return;
    }
    c->agent = std::move(leg);
  }

  // A leg calling a number through a trunk: its media port near `near_media`, the INVITE sent,
  // ringing for `timeout`. Null with the status to report (503 no media port, 500 not sent).
  std::unique_ptr<AgentLeg> CallNumber(Call& c, CallId id, media::LegId near_media, const DialOut& t,
                                       std::uint64_t session_id, DurationMs timeout, int* status) {
    auto leg = std::make_unique<AgentLeg>();
    leg->agent = 0;
    leg->ref = std::make_unique<LegRef>(LegRef{this, id, true, 0, ++c.agent_serial});
    auto ml = media.OpenLegNear(near_media, NumberIsIpv6(t));
    if (!ml) {
      spdlog::warn("sip: call={} no media port to dial a number: {}", id, ml.error().message);
      *status = 503;
      return nullptr;
    }
    leg->media = ml->id;
    LocalMedia lm;
    lm.address = ml->address;
    lm.port = ml->local_port;
    lm.codec_pt = c.codec;
    lm.dtmf_pt = kDtmfPt;
    lm.session_id = session_id;
    lm.version = 1;
    leg->sdp = lm;
    leg->sess = ConnectNumber(t, lm, leg->ref.get());
    if (leg->sess == nullptr) {
      media.CloseLeg(leg->media);
      *status = 500;
      return nullptr;
    }
    tmr_init(&leg->ring_tmr);
    tmr_start(&leg->ring_tmr, static_cast<std::uint64_t>(timeout), OnDialTimeout, leg->ref.get());
    return leg;
  }

  // A consultation with a number: the consult leg calls target while the agent leg stays (the
  // customer is on hold already).
  void DoDialConsult(CallId id, const DialOut& t) {
    Call* c = Find(id);
    if (c == nullptr) return;
    if (!c->agent || !c->agent->established || c->customer_media == 0) {
      happenings.ConsultFailed(id, 0, 500);
      return;
    }
    if (c->consult) ReleaseConsultLeg(*c);
    int status = 0;
    auto leg = CallNumber(*c, id, c->agent->media, t, id * 2 + 3, std::max<DurationMs>(t.timeout, 1000),
                          &status);
    if (!leg) {
      happenings.ConsultFailed(id, 0, status);
      return;
    }
    c->consult = std::move(leg);
  }

  void DoDropAgent(CallId id, core::UserId agent) {
    Call* c = Find(id);
    if (c == nullptr || !c->agent || c->agent->agent != agent) return;
    if (c->bridged) return;  // a bridged leg ends only by hang-up
    ReleaseAgentLeg(*c);
  }

  void DoBridge(CallId id, const std::string& record_path) {
    Call* c = Find(id);
    if (c == nullptr || !c->agent || !c->agent->established) return;
    c->waiting_music = false;
    media.StopPlay(c->customer_media);
    media.Bridge(c->customer_media, c->agent->media);
    c->bridged = true;
    if (!record_path.empty()) media.StartRecording(c->customer_media, c->agent->media, record_path);
  }

  void DoPauseRecording(CallId id, bool paused) {
    Call* c = Find(id);
    if (c == nullptr || c->customer_media == 0) return;
    media.PauseRecording(c->customer_media, paused);
  }

  void DoHold(CallId id, bool on) {
    Call* c = Find(id);
    if (c == nullptr || !c->bridged || !c->agent) return;
    if (on) {
      media.Unbridge(c->customer_media);
      c->waiting_music = true;
      PlayMusic(*c);
    } else {
      c->waiting_music = false;
      media.StopPlay(c->customer_media);
      media.Bridge(c->customer_media, c->agent->media);
    }
  }

  void DoRequeue(CallId id) {
    Call* c = Find(id);
    if (c == nullptr) return;
    ReleaseMonitorLeg(*c);  // the monitor follows the agent leg
    if (c->agent) {
      media.Unbridge(c->customer_media);
      ReleaseAgentLeg(*c);  // BYE
    }
    c->waiting_music = true;
    PlayMusic(*c);
  }

  // ---- monitor leg (a supervisor) -------------------------------------------------------------

  static media::ListenMode ListenOf(core::MonitorMode m) {
    switch (m) {
      case core::MonitorMode::kWhisper: return media::ListenMode::kWhisper;
      case core::MonitorMode::kBarge: return media::ListenMode::kBarge;
      default: return media::ListenMode::kListen;
    }
  }

  MonitorLeg* MonitorOf(LegRef* ref) {
    Call* c = Find(ref->call);
    if (c == nullptr || !c->monitor || c->monitor->ref.get() != ref) return nullptr;
    return c->monitor.get();
  }

  // The answered monitor leg hears (and, whispering or barging, is heard) through the mixer.
  // Nothing is sent to the customer's or the agent's phone: their dialogs stay as they are.
  void JoinMonitor(Call& c) {
    if (!c.monitor || !c.monitor->established || !c.agent || c.customer_media == 0) return;
    media.Listen(c.monitor->media, c.customer_media, c.agent->media, ListenOf(c.monitor->mode));
  }

  void ReleaseMonitorLeg(Call& c) {
    if (!c.monitor) return;
    std::unique_ptr<MonitorLeg> leg = std::move(c.monitor);
    tmr_cancel(&leg->ring_tmr);
    if (leg->media != 0) media.CloseLeg(leg->media);  // ends the mix
    graveyard.Add(leg->sess, std::move(leg->ref));
  }

  static int OnMonitorAnswer(const struct sip_msg* msg, void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    Impl* self = ref->impl;
    MonitorLeg* leg = self->MonitorOf(ref);
    if (leg == nullptr) return 0;
    if (!self->PointMedia(leg->media, msg, false)) {
      spdlog::info("sip: call={} supervisor={} answered with unusable SDP", ref->call, ref->agent);
      return EPROTO;
    }
    return 0;
  }
  static void OnMonitorEstablished(const struct sip_msg*, void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    Impl* self = ref->impl;
    MonitorLeg* leg = self->MonitorOf(ref);
    if (leg == nullptr) return;
    leg->established = true;
    tmr_cancel(&leg->ring_tmr);
    self->JoinMonitor(*self->Find(ref->call));
    self->happenings.MonitorAnswered(ref->call, ref->agent);
  }
  static void OnMonitorClosed(int err, const struct sip_msg* msg, void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    Impl* self = ref->impl;
    MonitorLeg* leg = self->MonitorOf(ref);
    if (leg == nullptr) return;
    const bool was_up = leg->established;
    const int status = msg && msg->scode >= 300 ? msg->scode : (err == ETIMEDOUT ? 408 : 480);
    const CallId id = ref->call;
    const core::UserId supervisor = ref->agent;
    self->ReleaseMonitorLeg(*self->Find(id));
    spdlog::info("sip: call={} supervisor={} monitor leg ended ({})", id, supervisor,
                 was_up ? std::string("hung up") : std::to_string(status));
    self->happenings.MonitorEnded(id, supervisor, was_up ? 0 : status);
  }
  static void OnMonitorRingTimeout(void* arg) {
    auto* ref = static_cast<LegRef*>(arg);
    Impl* self = ref->impl;
    MonitorLeg* leg = self->MonitorOf(ref);
    if (leg == nullptr || leg->established) return;
    const CallId id = ref->call;
    const core::UserId supervisor = ref->agent;
    self->ReleaseMonitorLeg(*self->Find(id));  // CANCEL
    self->happenings.MonitorEnded(id, supervisor, 408);
  }

  void DoMonitor(CallId id, core::UserId supervisor, const std::string& sip_user,
                 core::MonitorMode mode, DurationMs timeout) {
    Call* c = Find(id);
    if (c == nullptr || !c->bridged || !c->agent) {
      happenings.MonitorEnded(id, supervisor, 481);  // the call ended meanwhile
      return;
    }
    ReleaseMonitorLeg(*c);
    std::optional<AgentBinding> b;
    if (bindings && !sip_user.empty()) b = bindings(sip_user);
    if (!b) {
      spdlog::info("sip: call={} supervisor={} ({}) has no registered phone", id, supervisor, sip_user);
      happenings.MonitorEnded(id, supervisor, 480);
      return;
    }
    auto leg = std::make_unique<MonitorLeg>();
    leg->supervisor = supervisor;
    leg->mode = mode;
    leg->ref = std::make_unique<LegRef>(this, id, false, supervisor, ++c->agent_serial);
    leg->ref->monitor_side = true;
    // The supervisor's phone's family is the one it registered over, as for an agent's phone.
    auto ml = media.OpenLegNear(c->customer_media, IsIpv6Route(b->route) && media.has_ipv6());
    if (!ml) {
      spdlog::warn("sip: call={} no media port for the monitor leg: {}", id, ml.error().message);
      happenings.MonitorEnded(id, supervisor, 503);
      return;
    }
    leg->media = ml->id;
    LocalMedia lm;
    lm.address = ml->address;
    lm.port = ml->local_port;
    lm.codec_pt = c->codec;  // the mixer encodes for this leg's codec
    lm.dtmf_pt = std::nullopt;
    lm.session_id = id * 2 + 2;
    lm.version = 1;
    leg->sdp = lm;
    struct mbuf* desc = ToMbuf(BuildSdp(lm));
    // The supervisor's phone shows whom the call is with.
    const std::string from_uri = fmt::format(
        "sip:{}@{}", c->from_user.empty() ? "anonymous" : c->from_user, stack.host());
    const std::string from_name =
        "Monitor " + (c->from_name.empty() ? c->from_user : c->from_name);
    const std::string our_rr = OurRecordRoute(b->route);
    const char* routev[] = {b->route.c_str()};
    int err = sipsess_connect(&leg->sess, stack.sessions(), b->contact.c_str(), from_name.c_str(),
                              from_uri.c_str(), "homeline", routev, 1, "application/sdp", desc,
                              nullptr, nullptr, false, OnOffer, OnMonitorAnswer, OnAgentProgress,
                              OnMonitorEstablished, nullptr, nullptr, OnMonitorClosed,
                              leg->ref.get(),
                              "Record-Route: <%s;lr>\r\nRecord-Route: <%s;lr>\r\n%s",
                              our_rr.c_str(), b->route.c_str(), kAllow);
    mem_deref(desc);
    if (err != 0) {
      spdlog::warn("sip: call={} supervisor={} INVITE to {} failed: {}", id, supervisor,
                   b->contact, std::strerror(err));
      media.CloseLeg(leg->media);
      happenings.MonitorEnded(id, supervisor, 503);
      return;
    }
    Count(&CallsStats::invites_out);
    tmr_init(&leg->ring_tmr);
    tmr_start(&leg->ring_tmr, static_cast<std::uint64_t>(std::max<DurationMs>(timeout, 1000)),
              OnMonitorRingTimeout, leg->ref.get());
    c->monitor = std::move(leg);
  }

  void DoSetMonitorMode(CallId id, core::UserId supervisor, core::MonitorMode mode) {
    Call* c = Find(id);
    if (c == nullptr || !c->monitor || c->monitor->supervisor != supervisor) return;
    c->monitor->mode = mode;
    JoinMonitor(*c);  // a no-op until answered; then the mixer changes mode in place
  }

  void DoStopMonitor(CallId id, core::UserId supervisor) {
    Call* c = Find(id);
    if (c == nullptr || !c->monitor || c->monitor->supervisor != supervisor) return;
    ReleaseMonitorLeg(*c);
  }

  // Ends both legs of a call and forgets it. No happening: the caller reports what it needs.
  void EndCall(CallId id, const std::string& cause) {
    auto it = calls.find(id);
    if (it == calls.end()) return;
    std::unique_ptr<Call> c = std::move(it->second);
    calls.erase(it);
    SetLive();
    spdlog::debug("sip: call={} ends: {}", id, cause);
    c->bridged = false;
    ReleaseMonitorLeg(*c);
    ReleaseConsultLeg(*c);
    ReleaseAgentLeg(*c);
    if (c->customer != nullptr && !c->answered && !c->outbound)
      (void)sipsess_reject(c->customer, 480, "Temporarily Unavailable", nullptr);
    // An established session sends BYE when released; one the peer ended is just freed.
    graveyard.Add(ReleaseCustomer(*c), std::move(c->customer_ref));
    if (c->customer_media != 0) {
      by_customer_media.erase(c->customer_media);
      media.CloseLeg(c->customer_media);
    }
  }

  void EndAll() {
    std::vector<CallId> ids;
    for (const auto& [id, c] : calls) ids.push_back(id);
    for (CallId id : ids) EndCall(id, "server stopping");
    graveyard.Clear();
  }
};

Calls::Calls(SipStack& stack, media::MediaEngine& media, CallHappenings& happenings,
             BindingLookup bindings)
    : impl_(std::make_shared<Impl>(stack, media, happenings, std::move(bindings))) {}

Calls::~Calls() {
  // espeak-ng runs for IVR prompts use the media engine: done before it goes.
  std::vector<std::thread> makers;
  {
    std::lock_guard lk(impl_->makers_mu);
    makers = std::move(impl_->makers);
  }
  for (auto& t : makers) t.join();
}

void Calls::SetTrunkCredentials(std::vector<std::pair<std::string, std::string>> user_ha1) {
  impl_->stack.Post([s = impl_, creds = std::move(user_ha1)] {
    s->trunk_ha1.clear();
    for (const auto& [user, hex] : creds) {
      std::array<std::uint8_t, 16> ha1{};
      if (FromHex(hex, ha1.data(), ha1.size())) s->trunk_ha1[user] = ha1;
    }
  });
}

void Calls::SetPromptDir(std::string dir) { impl_->prompt_dir = std::move(dir); }

void Calls::Install() {
  std::weak_ptr<Impl> weak = impl_;
  impl_->media.SetSink([weak](const media::MediaEvent& e) {
    auto self = weak.lock();
    if (!self) return;
    if (e.kind == media::MediaEvent::Kind::kDtmf) {
      self->stack.Post([weak, leg = e.leg, digit = e.digit] {
        if (auto s = weak.lock()) s->OnDtmf(leg, digit);
      });
      return;
    }
    if (e.kind != media::MediaEvent::Kind::kPlayDone) return;
    self->stack.Post([weak, leg = e.leg] {
      if (auto s = weak.lock()) s->OnPlayDone(leg);
    });
  });
  auto self = impl_;
  impl_->stack.Post([self] {
    tmr_init(&self->graveyard.tmr);
    self->stack.SetInviteHandler([self](const ::sip_msg& msg) { self->OnInvite(msg); });
    self->stack.AddShutdownHook([self] { self->EndAll(); });
  });
}

void Calls::Answer(CallId call, WaitPrompts prompts) {
  impl_->stack.Post([s = impl_, call, p = std::move(prompts)]() mutable { s->DoAnswer(call, std::move(p)); });
}
void Calls::Refuse(CallId call, int status, std::string reason) {
  impl_->stack.Post([s = impl_, call, status, r = std::move(reason)] { s->DoRefuse(call, status, r); });
}
void Calls::Announce(CallId call, int position) {
  impl_->stack.Post([s = impl_, call, position] { s->DoAnnounce(call, position); });
}
void Calls::RingAgent(CallId call, core::UserId agent, std::string sip_user, DurationMs timeout) {
  impl_->stack.Post([s = impl_, call, agent, u = std::move(sip_user), timeout] {
    s->DoRingAgent(call, agent, u, timeout);
  });
}
void Calls::DropAgent(CallId call, core::UserId agent) {
  impl_->stack.Post([s = impl_, call, agent] { s->DoDropAgent(call, agent); });
}
void Calls::Bridge(CallId call, std::string record_path) {
  impl_->stack.Post([s = impl_, call, p = std::move(record_path)] { s->DoBridge(call, p); });
}
void Calls::PauseRecording(CallId call, bool paused) {
  impl_->stack.Post([s = impl_, call, paused] { s->DoPauseRecording(call, paused); });
}
void Calls::Hold(CallId call, bool on) {
  impl_->stack.Post([s = impl_, call, on] { s->DoHold(call, on); });
}
void Calls::Requeue(CallId call) {
  impl_->stack.Post([s = impl_, call] { s->DoRequeue(call); });
}
void Calls::HangUp(CallId call, std::string cause) {
  impl_->stack.Post([s = impl_, call, c = std::move(cause)] { s->EndCall(call, c); });
}

CallId Calls::NewCall() { return impl_->next_call++; }
void Calls::CallAgent(CallId call, core::UserId agent, std::string sip_user, std::string show,
                      DurationMs timeout) {
  impl_->stack.Post([s = impl_, call, agent, u = std::move(sip_user), w = std::move(show), timeout] {
    s->DoCallAgent(call, agent, u, w, timeout);
  });
}
void Calls::Dial(CallId call, DialOut target) {
  impl_->stack.Post([s = impl_, call, t = std::move(target)] { s->DoDial(call, t); });
}
void Calls::DialConsult(CallId call, DialOut target) {
  impl_->stack.Post([s = impl_, call, t = std::move(target)] { s->DoDialConsult(call, t); });
}
void Calls::RingConsult(CallId call, core::UserId agent, std::string sip_user, DurationMs timeout) {
  impl_->stack.Post([s = impl_, call, agent, u = std::move(sip_user), timeout] {
    s->DoRingConsult(call, agent, u, timeout);
  });
}
void Calls::BridgeConsult(CallId call) {
  impl_->stack.Post([s = impl_, call] { s->DoBridgeConsult(call); });
}
void Calls::DropConsult(CallId call) {
  impl_->stack.Post([s = impl_, call] { s->DoDropConsult(call); });
}
void Calls::CompleteConsult(CallId call, std::string record_path) {
  impl_->stack.Post([s = impl_, call, p = std::move(record_path)] { s->DoCompleteConsult(call, p); });
}

void Calls::PlayMenu(CallId call, std::uint64_t round, std::string prompt_text,
                     std::string prompt_path, DurationMs timeout) {
  impl_->stack.Post([s = impl_, call, round, t = std::move(prompt_text), p = std::move(prompt_path),
                     timeout] { s->DoPlayMenu(call, round, t, p, timeout); });
}

void Calls::Monitor(CallId call, core::UserId supervisor, std::string sip_user,
                    core::MonitorMode mode, DurationMs timeout) {
  impl_->stack.Post([s = impl_, call, supervisor, u = std::move(sip_user), mode, timeout] {
    s->DoMonitor(call, supervisor, u, mode, timeout);
  });
}
void Calls::SetMonitorMode(CallId call, core::UserId supervisor, core::MonitorMode mode) {
  impl_->stack.Post([s = impl_, call, supervisor, mode] { s->DoSetMonitorMode(call, supervisor, mode); });
}
void Calls::StopMonitor(CallId call, core::UserId supervisor) {
  impl_->stack.Post([s = impl_, call, supervisor] { s->DoStopMonitor(call, supervisor); });
}

void Calls::HangUpAll() {
  auto done = std::make_shared<std::promise<void>>();
  auto f = done->get_future();
  impl_->stack.Post([s = impl_, done] {
    s->EndAll();
    done->set_value();
  });
  // The stack may be stopping (posts dropped): do not wait forever.
  (void)f.wait_for(std::chrono::seconds(2));
}

CallsStats Calls::stats() const {
  std::lock_guard lk(impl_->stats_mu);
  return impl_->counters;
}

}  // namespace homeline::sip
