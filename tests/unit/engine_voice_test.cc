// Voice configuration in the engine (core/voice.h, engine_voice.cc): E.164 normalisation, IP
// prefix matching, trunks, numbers and queue voice settings, the SIP adapter's lookups, tenant
// scoping, and the same state after replaying the events into a fresh engine (a restart).
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/engine.h"
#include "core/event_codec.h"
#include "replay_through_codec.h"

namespace homeline::core {
namespace {

constexpr TimeMs kT0 = 1'700'000'000'000;

// ---- E.164 ---------------------------------------------------------------------------------

TEST(VoiceE164, NormalisesSeparatorsAndRefusesTheRest) {
  EXPECT_EQ(NormalizeE164("+15550100"), "+15550100");
  EXPECT_EQ(NormalizeE164("+1 (555) 010-0"), "+15550100");
  EXPECT_EQ(NormalizeE164("+44 20 7946.0958"), "+442079460958");
  EXPECT_EQ(NormalizeE164("+123456789012345"), "+123456789012345");  // 15 digits
  for (const char* bad : {"", "+", "15550100", "0015550100", "+0123456789", "+1234567890123456",
                          "+123456", "+1555010a", "+ 15550100", "+(1)5550100", "tel:+15550100",
                          "+15550100;ext=1", "+1555\n0100", "+１5550100"}) {
    EXPECT_EQ(NormalizeE164(bad), std::nullopt) << bad;
  }
}

TEST(VoiceE164, DialledNumbersMayLackThePlus) {
  EXPECT_EQ(NormalizeDialled("15550100"), "+15550100");
  EXPECT_EQ(NormalizeDialled("+15550100"), "+15550100");
  EXPECT_EQ(NormalizeDialled("alice"), std::nullopt);
  EXPECT_EQ(NormalizeDialled("0123456789"), std::nullopt);
  EXPECT_EQ(NormalizeDialled(""), std::nullopt);
}

// ---- IP prefixes ------------------------------------------------------------------------------

IpPrefix P(const char* s) {
  auto p = ParseIpPrefix(s);
  EXPECT_TRUE(p.has_value()) << s << ": " << (p ? "" : p.error().message);
  return p.value_or(IpPrefix{});
}

bool In(const char* net, const char* addr) {
  auto a = ParseIpAddress(addr);
  EXPECT_TRUE(a.has_value()) << addr;
  return a && Contains(P(net), *a);
}

TEST(VoiceIp, ParsesAndPrintsCanonically) {
  EXPECT_EQ(ToString(P("127.0.0.1")), "127.0.0.1/32");
  EXPECT_EQ(ToString(P("10.0.0.0/8")), "10.0.0.0/8");
  EXPECT_EQ(ToString(P("0.0.0.0/0")), "0.0.0.0/0");
  EXPECT_EQ(ToString(P("::1")), "::1/128");
  EXPECT_EQ(ToString(P("2001:DB8:0:0::/32")), "2001:db8::/32");
  // IPv4-mapped IPv6 is IPv4 (decisions.md).
  EXPECT_EQ(ToString(P("::ffff:192.0.2.0/120")), "192.0.2.0/24");
  EXPECT_EQ(ToString(P("::ffff:127.0.0.1")), "127.0.0.1/32");
  for (const char* bad : {"", "10.0.0.1/33", "::1/129", "10.1.2.3/8", "2001:db8::1/32",
                          "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "10.0.0", "host.example",
                          "fe80::1%eth0", "[::1]", "1.2.3.4 ", "10.0.0.0/08x"}) {
    EXPECT_FALSE(ParseIpPrefix(bad).has_value()) << bad;
  }
}

TEST(VoiceIp, MatchesBothFamiliesAndMappedAddresses) {
  EXPECT_TRUE(In("127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(In("127.0.0.1", "127.0.0.2"));
  EXPECT_TRUE(In("203.0.113.0/24", "203.0.113.255"));
  EXPECT_FALSE(In("203.0.113.0/24", "203.0.114.0"));
  EXPECT_TRUE(In("203.0.113.128/25", "203.0.113.200"));
  EXPECT_FALSE(In("203.0.113.128/25", "203.0.113.127"));  // a prefix not on a byte boundary
  EXPECT_TRUE(In("0.0.0.0/0", "198.51.100.1"));
  EXPECT_TRUE(In("2001:db8::/32", "2001:db8:ffff::1"));
  EXPECT_TRUE(In("2001:db8::/32", "[2001:db8::5]"));  // as SIP writes it
  EXPECT_FALSE(In("2001:db8::/32", "2001:db9::1"));
  EXPECT_TRUE(In("::1", "::1"));
  // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d: they match IPv4 entries...
  EXPECT_TRUE(In("127.0.0.1", "::ffff:127.0.0.1"));
  EXPECT_TRUE(In("10.0.0.0/8", "::ffff:10.9.8.7"));
  // ...and never an IPv6 entry, not even ::/0, nor does an IPv4 entry match IPv6.
  EXPECT_FALSE(In("::/0", "::ffff:10.9.8.7"));
  EXPECT_FALSE(In("0.0.0.0/0", "::1"));
  EXPECT_FALSE(ParseIpAddress("10.0.0.0/8").has_value());
  EXPECT_FALSE(ParseIpAddress("localhost").has_value());
}

// ---- engine ------------------------------------------------------------------------------------

struct World {
  Engine e;
  TenantId acme = 0, globex = 0;
  QueueId support = 0, g_support = 0;
  World() {
    e.SetTime(kT0);
    Tenant a, g;
    a.slug = a.name = "acme";
    g.slug = g.name = "globex";
    acme = *e.CreateTenant(a);
    globex = *e.CreateTenant(g);
    Queue q;
    q.tenant = acme;
    q.name = "support";
    support = *e.CreateQueue(q);
    q.tenant = globex;
    g_support = *e.CreateQueue(q);
    User u;
    u.login = "alice";
    (void)*e.CreateUser(u);
  }
  Trunk MakeTrunk(TenantId t, std::vector<std::string> sources, std::string user = "") {
    Trunk tr;
    tr.tenant = t;
    tr.name = "carrier";
    tr.sources = std::move(sources);
    tr.inbound_user = std::move(user);
    if (!tr.inbound_user.empty()) tr.inbound_password = "pw";
    return tr;
  }
  // A new interaction in acme's support queue: a call (what recordings and monitors need), or
  // of another channel (what they refuse).
  InteractionId Call() { return Contact(Channel::kVoice); }
  InteractionId Contact(Channel channel) {
    Engine::NewInteraction n;
    n.tenant = acme;
    n.channel = channel;
    n.queue = support;
    return *e.CreateInteraction(std::move(n));
  }
};

TEST(EngineVoice, TrunksAreCheckedCanonicalAndScoped) {
  World w;
  Trunk t = w.MakeTrunk(w.acme, {"203.0.113.0/24", "::ffff:127.0.0.1", "127.0.0.1", "::1"}, "acme-in");
  t.caller_id = "+1 555 0100";
  t.outbound_host = "sip.example.net";
  auto id = w.e.CreateTrunk(t);
  ASSERT_TRUE(id) << id.error().message;
  const Trunk* got = w.e.FindTrunk(w.acme, *id);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->sources, (std::vector<std::string>{"203.0.113.0/24", "127.0.0.1/32", "::1/128"}));
  EXPECT_EQ(got->caller_id, "+15550100");
  EXPECT_EQ(w.e.FindTrunk(w.globex, *id), nullptr);
  EXPECT_TRUE(w.e.Trunks(w.globex).empty());

  struct Bad {
    const char* what;
    void (*change)(Trunk&);
    ErrorCode code;
  };
  const std::vector<Bad> bad{
      {"empty name", [](Trunk& x) { x.name = ""; }, ErrorCode::kBadRequest},
      {"bad source", [](Trunk& x) { x.sources = {"10.0.0.1/8"}; }, ErrorCode::kBadRequest},
      {"bad caller id", [](Trunk& x) { x.caller_id = "5550100"; }, ErrorCode::kBadRequest},
      {"port", [](Trunk& x) { x.outbound_port = 70000; }, ErrorCode::kBadRequest},
      {"host", [](Trunk& x) { x.outbound_host = "sip.example.net;transport=tls"; }, ErrorCode::kBadRequest},
      {"user no password", [](Trunk& x) { x.inbound_user = "u2"; x.inbound_password = ""; }, ErrorCode::kBadRequest},
      {"user taken", [](Trunk& x) { x.inbound_user = "acme-in"; x.inbound_password = "p"; }, ErrorCode::kConflict},
      {"user is a login", [](Trunk& x) { x.inbound_user = "alice"; x.inbound_password = "p"; }, ErrorCode::kConflict},
      {"priority < 0", [](Trunk& x) { x.outbound_priority = -1; }, ErrorCode::kBadRequest},
      {"priority > max", [](Trunk& x) { x.outbound_priority = kMaxTrunkPriority + 1; }, ErrorCode::kBadRequest},
      {"dial timeout short", [](Trunk& x) { x.dial_timeout = kMinDialTimeout - kSecond; }, ErrorCode::kBadRequest},
      {"dial timeout long", [](Trunk& x) { x.dial_timeout = kMaxDialTimeout + kSecond; }, ErrorCode::kBadRequest},
      {"dial timeout ms", [](Trunk& x) { x.dial_timeout = 7500; }, ErrorCode::kBadRequest},
  };
  for (const Bad& b : bad) {
    Trunk x = w.MakeTrunk(w.globex, {"198.51.100.7"});
    b.change(x);
    const std::uint64_t seq = w.e.last_seq();
    auto r = w.e.CreateTrunk(x);
    ASSERT_FALSE(r) << b.what;
    EXPECT_EQ(r.error().code, b.code) << b.what;
    EXPECT_EQ(w.e.last_seq(), seq) << b.what << ": a refused command emitted";
  }
  // The reverse: logins and trunk user names share the SIP realm, so a user may not take a
  // trunk's user name either (409, nothing written).
  {
    User shadow;
    shadow.login = "acme-in";
    const std::uint64_t seq = w.e.last_seq();
    auto r = w.e.CreateUser(shadow);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kConflict);
    EXPECT_NE(r.error().message.find("trunk"), std::string::npos) << r.error().message;
    EXPECT_EQ(w.e.last_seq(), seq);
    EXPECT_TRUE(w.e.HasDigestTrunks());
  }
  // The trunk may keep its own user name on update.
  Trunk same = *got;
  same.name = "renamed";
  EXPECT_TRUE(w.e.UpdateTrunk(same));
  same.tenant = w.globex;
  EXPECT_EQ(w.e.UpdateTrunk(same).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(w.e.DeleteTrunk(w.globex, *id).error().code, ErrorCode::kNotFound);
}

TEST(EngineVoice, SourceLookupPicksTheMostSpecificAndTheTenantOverloadScopes) {
  World w;
  const TrunkId wide = *w.e.CreateTrunk(w.MakeTrunk(w.acme, {"203.0.113.0/24", "127.0.0.1"}));
  const TrunkId narrow = *w.e.CreateTrunk(w.MakeTrunk(w.globex, {"203.0.113.64/26", "2001:db8::/32"}));
  const TrunkId by_user = *w.e.CreateTrunk(w.MakeTrunk(w.globex, {}, "globex-pbx"));

  auto id_of = [](const Trunk* t) { return t == nullptr ? TrunkId{0} : t->id; };
  EXPECT_EQ(id_of(w.e.TrunkForSource("203.0.113.1")), wide);
  EXPECT_EQ(id_of(w.e.TrunkForSource("203.0.113.70")), narrow);  // /26 beats /24
  EXPECT_EQ(id_of(w.e.TrunkForSource(w.acme, "203.0.113.70")), wide);  // a carrier shared by both
  EXPECT_EQ(id_of(w.e.TrunkForSource(w.globex, "203.0.113.1")), 0u);
  EXPECT_EQ(id_of(w.e.TrunkForSource("::ffff:127.0.0.1")), wide);
  EXPECT_EQ(id_of(w.e.TrunkForSource("[2001:db8::9]")), narrow);
  EXPECT_EQ(id_of(w.e.TrunkForSource("198.51.100.1")), 0u);
  EXPECT_EQ(id_of(w.e.TrunkForSource("not an address")), 0u);
  EXPECT_EQ(id_of(w.e.TrunkByDigestUser("globex-pbx")), by_user);
  EXPECT_EQ(w.e.TrunkByDigestUser("nobody"), nullptr);

  // Changing the sources or user name moves the lookups; deleting removes them.
  Trunk t = *w.e.FindTrunk(w.globex, narrow);
  t.sources = {"198.51.100.0/24"};
  ASSERT_TRUE(w.e.UpdateTrunk(t));
  EXPECT_EQ(id_of(w.e.TrunkForSource("203.0.113.70")), wide);
  EXPECT_EQ(id_of(w.e.TrunkForSource("198.51.100.1")), narrow);
  Trunk u = *w.e.FindTrunk(w.globex, by_user);
  u.inbound_user = "globex-2";
  ASSERT_TRUE(w.e.UpdateTrunk(u));
  EXPECT_EQ(w.e.TrunkByDigestUser("globex-pbx"), nullptr);
  EXPECT_EQ(id_of(w.e.TrunkByDigestUser("globex-2")), by_user);
  ASSERT_TRUE(w.e.DeleteTrunk(w.globex, narrow));
  EXPECT_EQ(w.e.TrunkForSource("198.51.100.1"), nullptr);
  // The old user name is free again, for a trunk or a user.
  EXPECT_TRUE(w.e.CreateTrunk(w.MakeTrunk(w.acme, {}, "globex-pbx")));
  User u2;
  u2.login = "globex-2";
  EXPECT_EQ(w.e.CreateUser(u2).error().code, ErrorCode::kConflict);
  ASSERT_TRUE(w.e.DeleteTrunk(w.globex, by_user));
  EXPECT_TRUE(w.e.CreateUser(u2));
}

TEST(EngineVoice, NumbersAreUniqueServerWideAndRouteToOneTarget) {
  World w;
  PhoneNumber n;
  n.tenant = w.acme;
  n.e164 = "+1 555 0100";
  n.queue = w.support;
  const NumberId id = *w.e.CreateNumber(n);
  EXPECT_EQ(w.e.FindNumberById(w.acme, id)->e164, "+15550100");
  const PhoneNumber* found = w.e.FindNumber("15550100");  // a trunk that drops the '+'
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->tenant, w.acme);
  EXPECT_EQ(found->queue, w.support);
  EXPECT_EQ(w.e.FindNumber("+15550101"), nullptr);
  EXPECT_EQ(w.e.FindNumber("support"), nullptr);

  const std::uint64_t seq = w.e.last_seq();
  PhoneNumber taken = n;
  taken.tenant = w.globex;
  taken.queue = w.g_support;
  taken.e164 = "+15550100";
  EXPECT_EQ(w.e.CreateNumber(taken).error().code, ErrorCode::kConflict);  // another tenant's
  PhoneNumber x = n;
  x.e164 = "+15550199";
  x.queue = w.g_support;  // another tenant's queue
  EXPECT_EQ(w.e.CreateNumber(x).error().code, ErrorCode::kBadRequest);
  x.queue = 0;
  EXPECT_EQ(w.e.CreateNumber(x).error().code, ErrorCode::kBadRequest);  // no target
  x.queue = w.support;
  x.ivr = 12345;
  EXPECT_EQ(w.e.CreateNumber(x).error().code, ErrorCode::kBadRequest);  // two targets
  x.ivr = 0;
  x.e164 = "5550199";
  EXPECT_EQ(w.e.CreateNumber(x).error().code, ErrorCode::kBadRequest);
  x.e164 = "+15550199";
  x.trunk = 999;
  EXPECT_EQ(w.e.CreateNumber(x).error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(w.e.last_seq(), seq);

  // A number keeps its own e164 on update; renumbering frees the old one.
  PhoneNumber moved = *w.e.FindNumberById(w.acme, id);
  moved.e164 = "+15550111";
  ASSERT_TRUE(w.e.UpdateNumber(moved));
  EXPECT_EQ(w.e.FindNumber("+15550100"), nullptr);
  EXPECT_NE(w.e.FindNumber("+15550111"), nullptr);
  // A queue or trunk a number uses cannot be deleted.
  const TrunkId tr = *w.e.CreateTrunk(w.MakeTrunk(w.acme, {"127.0.0.1"}));
  moved.trunk = tr;
  ASSERT_TRUE(w.e.UpdateNumber(moved));
  EXPECT_EQ(w.e.DeleteQueue(w.acme, w.support).error().code, ErrorCode::kConflict);
  EXPECT_EQ(w.e.DeleteTrunk(w.acme, tr).error().code, ErrorCode::kConflict);
  EXPECT_EQ(w.e.DeleteNumber(w.globex, id).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(w.e.DeleteNumber(w.acme, id));
  EXPECT_EQ(w.e.FindNumber("+15550111"), nullptr);
  EXPECT_TRUE(w.e.DeleteTrunk(w.acme, tr));
  EXPECT_TRUE(w.e.DeleteQueue(w.acme, w.support));
}

TEST(EngineVoice, QueueVoiceSettingsHaveDefaultsAndRules) {
  World w;
  auto v = w.e.VoiceOf(w.acme, w.support);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->queue, w.support);
  EXPECT_FALSE(v->record);
  EXPECT_FALSE(w.e.VoiceOf(w.globex, w.support));
  v->greeting_text = "Welcome to Acme";
  v->moh_file = "jazz.wav";
  v->position_interval = 30 * kSecond;
  v->record = true;
  ASSERT_TRUE(w.e.SetQueueVoice(*v));
  EXPECT_TRUE(w.e.VoiceOf(w.acme, w.support)->record);

  const std::uint64_t seq = w.e.last_seq();
  for (auto change : std::vector<void (*)(QueueVoice&)>{
           [](QueueVoice& x) { x.moh_file = "../etc/passwd.wav"; },
           [](QueueVoice& x) { x.greeting_file = "hello.mp3"; },
           [](QueueVoice& x) { x.greeting_file = ".hidden.wav"; },
           [](QueueVoice& x) { x.position_interval = 5 * kSecond; },
           [](QueueVoice& x) { x.greeting_text = "two\nlines"; }}) {
    QueueVoice x = *v;
    change(x);
    EXPECT_EQ(w.e.SetQueueVoice(x).error().code, ErrorCode::kBadRequest);
  }
  QueueVoice other = *v;
  other.tenant = w.globex;
  EXPECT_EQ(w.e.SetQueueVoice(other).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(w.e.last_seq(), seq);
  // Deleting the queue takes its settings along.
  ASSERT_TRUE(w.e.DeleteQueue(w.acme, w.support));
  EXPECT_FALSE(w.e.VoiceOf(w.acme, w.support));
}

TEST(EngineVoice, ReplayThroughTheCodecGivesTheSameLookups) {
  World w;
  Engine& e = w.e;
  Trunk first = w.MakeTrunk(w.acme, {"127.0.0.1", "::1"}, "acme-in");
  first.outbound_priority = 7;
  first.dial_timeout = 25 * kSecond;
  const TrunkId t1 = *e.CreateTrunk(first);
  const TrunkId t2 = *e.CreateTrunk(w.MakeTrunk(w.globex, {"10.0.0.0/8"}));
  PhoneNumber n;
  n.tenant = w.acme;
  n.e164 = "+15550100";
  n.queue = w.support;
  const NumberId num = *e.CreateNumber(n);
  n.e164 = "+15550101";
  const NumberId gone = *e.CreateNumber(n);
  ASSERT_TRUE(e.DeleteNumber(w.acme, gone));
  ASSERT_TRUE(e.DeleteTrunk(w.globex, t2));
  QueueVoice v = *e.VoiceOf(w.acme, w.support);
  v.record = true;
  ASSERT_TRUE(e.SetQueueVoice(v));

  Engine fresh;
  for (const Event& ev : e.TakeOutbox()) {
    auto body = DecodePayload(TypeName(ev.body), EncodePayload(ev.body));
    ASSERT_TRUE(body) << body.error().message;
    ASSERT_TRUE(fresh.Replay(Event(ev.seq, ev.ts, ev.tenant, std::move(*body))));
  }
  fresh.Recover();
  ASSERT_NE(fresh.FindNumber("+15550100"), nullptr);
  EXPECT_EQ(fresh.FindNumber("+15550100")->id, num);
  EXPECT_EQ(fresh.FindNumber("+15550101"), nullptr);
  ASSERT_NE(fresh.TrunkForSource("::1"), nullptr);
  EXPECT_EQ(fresh.TrunkForSource("::1")->id, t1);
  EXPECT_EQ(fresh.TrunkForSource("10.1.1.1"), nullptr);
  ASSERT_NE(fresh.TrunkByDigestUser("acme-in"), nullptr);
  EXPECT_EQ(fresh.TrunkByDigestUser("acme-in")->inbound_password, "pw");
  EXPECT_EQ(fresh.FindTrunk(w.acme, t1)->outbound_priority, 7);
  EXPECT_EQ(fresh.FindTrunk(w.acme, t1)->dial_timeout, 25 * kSecond);
  EXPECT_TRUE(fresh.VoiceOf(w.acme, w.support)->record);
  // New ids continue after the replayed ones.
  EXPECT_GT(*fresh.CreateTrunk(w.MakeTrunk(w.acme, {})), num);
}

// ---- IVR state machine (pure) ------------------------------------------------------------------

struct Menus {
  std::map<IvrMenuId, IvrMenu> by_id;
  IvrMenuLookup find() const {
    return [this](IvrMenuId id) -> const IvrMenu* {
      auto it = by_id.find(id);
      return it == by_id.end() ? nullptr : &it->second;
    };
  }
};

Menus TwoMenus() {
  Menus m;
  IvrMenu main;
  main.id = 1;
  main.name = "main";
  main.prompt_text = "For support press 1, billing 2, an operator 0, to hear this again star.";
  main.options = {{'1', {IvrActionKind::kQueue, 11, ""}},
                  {'2', {IvrActionKind::kMenu, 2, ""}},
                  {'0', {IvrActionKind::kNumber, 0, "+15550199"}},
                  {'*', {IvrActionKind::kRepeat, 0, ""}},
                  {'#', {IvrActionKind::kHangUp, 0, ""}}};
  main.timeout = 4 * kSecond;
  main.max_retries = 2;
  main.on_failure = {IvrActionKind::kQueue, 12, ""};
  IvrMenu billing;
  billing.id = 2;
  billing.name = "billing";
  billing.prompt_file = "billing.wav";
  billing.options = {{'1', {IvrActionKind::kQueue, 13, ""}}, {'9', {IvrActionKind::kMenu, 1, ""}}};
  billing.max_retries = 0;  // on_failure kNone: hang up at once
  m.by_id[1] = main;
  m.by_id[2] = billing;
  return m;
}

using Kind = IvrOutcome::Kind;

TEST(Ivr, StartPlaysThePromptAndKeysChoose) {
  const Menus m = TwoMenus();
  IvrSession s;
  IvrOutcome o = IvrStart(m.find(), 1, &s);
  EXPECT_EQ(o.kind, Kind::kPlay);
  EXPECT_EQ(o.menu, 1u);
  EXPECT_EQ(o.prompt_text, m.by_id.at(1).prompt_text);
  EXPECT_EQ(o.timeout, 4 * kSecond);
  EXPECT_FALSE(o.retry);

  IvrSession a = s;
  o = IvrStep(m.find(), &a, IvrInput::Digit('1'));
  EXPECT_EQ(o.kind, Kind::kQueue);
  EXPECT_EQ(o.queue, 11u);

  IvrSession b = s;
  o = IvrStep(m.find(), &b, IvrInput::Digit('0'));
  EXPECT_EQ(o.kind, Kind::kTransfer);
  EXPECT_EQ(o.number, "+15550199");

  IvrSession c = s;
  o = IvrStep(m.find(), &c, IvrInput::Digit('#'));
  EXPECT_EQ(o.kind, Kind::kHangUp);
  EXPECT_EQ(o.reason, "hangup_option");

  // Star repeats without counting a failure: three repeats, then two failures still replay.
  IvrSession d = s;
  for (int i = 0; i < 3; ++i) {
    o = IvrStep(m.find(), &d, IvrInput::Digit('*'));
    EXPECT_EQ(o.kind, Kind::kPlay);
    EXPECT_FALSE(o.retry);
  }
  EXPECT_EQ(d.failures, 0);
}

TEST(Ivr, SubMenuThenBackResetsRetries) {
  const Menus m = TwoMenus();
  IvrSession s;
  IvrStart(m.find(), 1, &s);
  IvrOutcome o = IvrStep(m.find(), &s, IvrInput::Timeout());  // one failure in main
  EXPECT_EQ(o.kind, Kind::kPlay);
  EXPECT_TRUE(o.retry);
  EXPECT_EQ(s.failures, 1);
  o = IvrStep(m.find(), &s, IvrInput::Digit('2'));
  EXPECT_EQ(o.kind, Kind::kPlay);
  EXPECT_EQ(o.menu, 2u);
  EXPECT_EQ(o.prompt_file, "billing.wav");
  EXPECT_EQ(o.timeout, 5 * kSecond);  // the default
  EXPECT_EQ(s.menu, 2u);
  EXPECT_EQ(s.failures, 0);
  o = IvrStep(m.find(), &s, IvrInput::Digit('9'));  // back to main
  EXPECT_EQ(o.menu, 1u);
  o = IvrStep(m.find(), &s, IvrInput::Digit('2'));
  o = IvrStep(m.find(), &s, IvrInput::Digit('1'));
  EXPECT_EQ(o.kind, Kind::kQueue);
  EXPECT_EQ(o.queue, 13u);
}

TEST(Ivr, TimeoutsAndInvalidKeysRetryThenTakeTheFailureTarget) {
  const Menus m = TwoMenus();
  IvrSession s;
  IvrStart(m.find(), 1, &s);
  IvrOutcome o = IvrStep(m.find(), &s, IvrInput::Digit('7'));  // no option 7
  EXPECT_EQ(o.kind, Kind::kPlay);
  EXPECT_TRUE(o.retry);
  o = IvrStep(m.find(), &s, IvrInput::Timeout());
  EXPECT_EQ(o.kind, Kind::kPlay);
  EXPECT_TRUE(o.retry);
  o = IvrStep(m.find(), &s, IvrInput::Timeout());  // the third failure: max_retries was 2
  EXPECT_EQ(o.kind, Kind::kQueue);
  EXPECT_EQ(o.queue, 12u);

  // Billing: no retries, no failure target: hang up at the first failure.
  IvrSession b;
  IvrStart(m.find(), 2, &b);
  o = IvrStep(m.find(), &b, IvrInput::Digit('5'));
  EXPECT_EQ(o.kind, Kind::kHangUp);
  EXPECT_EQ(o.reason, "failed");
}

TEST(Ivr, MissingMenusAndEndlessWalksHangUp) {
  Menus m = TwoMenus();
  IvrSession s;
  EXPECT_EQ(IvrStart(m.find(), 99, &s).reason, "no_menu");
  IvrStart(m.find(), 1, &s);
  m.by_id.erase(1);  // deleted while the caller listens
  EXPECT_EQ(IvrStep(m.find(), &s, IvrInput::Digit('1')).reason, "no_menu");

  // A caller pressing star for ever is hung up after kMaxIvrSteps inputs.
  const Menus loop = TwoMenus();
  IvrSession l;
  IvrOutcome o = IvrStart(loop.find(), 1, &l);
  int plays = 0;
  for (int i = 0; i < kMaxIvrSteps + 5 && o.kind != Kind::kHangUp; ++i) {
    o = IvrStep(loop.find(), &l, IvrInput::Digit('*'));
    plays += o.kind == Kind::kPlay;
  }
  EXPECT_EQ(o.kind, Kind::kHangUp);
  EXPECT_EQ(o.reason, "too_many_steps");
  EXPECT_EQ(plays, kMaxIvrSteps);

  // "repeat" as a failure target would never end: it hangs up.
  Menus r = TwoMenus();
  r.by_id[2].on_failure = {IvrActionKind::kRepeat, 0, ""};
  IvrSession rs;
  IvrStart(r.find(), 2, &rs);
  EXPECT_EQ(IvrStep(r.find(), &rs, IvrInput::Timeout()).kind, Kind::kHangUp);
}

// ---- IVR menus in the engine ---------------------------------------------------------------

TEST(EngineVoice, IvrMenusAreCheckedAndNumbersRouteToThem) {
  World w;
  IvrMenu m;
  m.tenant = w.acme;
  m.name = "main";
  m.prompt_text = "Press 1";
  m.options = {{'1', {IvrActionKind::kQueue, w.support, ""}},
               {'0', {IvrActionKind::kNumber, 0, "+1 555 0199"}}};
  m.on_failure = {IvrActionKind::kQueue, w.support, ""};
  const IvrMenuId main = *w.e.CreateIvrMenu(m);
  EXPECT_EQ(w.e.FindIvrMenu(w.acme, main)->options.at('0').number, "+15550199");
  EXPECT_EQ(w.e.FindIvrMenu(w.globex, main), nullptr);

  IvrMenu sub = m;
  sub.name = "sub";
  sub.options = {{'9', {IvrActionKind::kMenu, main, ""}}};
  const IvrMenuId subid = *w.e.CreateIvrMenu(sub);
  // main -> sub -> main: a loop is allowed, and a menu may lead to itself.
  IvrMenu main2 = *w.e.FindIvrMenu(w.acme, main);
  main2.options['2'] = {IvrActionKind::kMenu, subid, ""};
  main2.options['3'] = {IvrActionKind::kMenu, main, ""};
  ASSERT_TRUE(w.e.UpdateIvrMenu(main2));

  const std::uint64_t seq = w.e.last_seq();
  std::vector<void (*)(IvrMenu&, QueueId)> bad{
      [](IvrMenu& x, QueueId) { x.name = ""; },
      [](IvrMenu& x, QueueId) { x.options['a'] = {IvrActionKind::kHangUp, 0, ""}; },
      [](IvrMenu& x, QueueId) { x.options['1'] = {IvrActionKind::kNone, 0, ""}; },
      [](IvrMenu& x, QueueId g) { x.options['1'] = {IvrActionKind::kQueue, g, ""}; },
      [](IvrMenu& x, QueueId) { x.options['1'] = {IvrActionKind::kMenu, 424242, ""}; },
      [](IvrMenu& x, QueueId) { x.options['1'] = {IvrActionKind::kNumber, 0, "555"}; },
      [](IvrMenu& x, QueueId) { x.on_failure = {IvrActionKind::kMenu, 424242, ""}; },
      [](IvrMenu& x, QueueId) { x.timeout = 0; },
      [](IvrMenu& x, QueueId) { x.timeout = 61 * kSecond; },
      [](IvrMenu& x, QueueId) { x.max_retries = 11; },
      [](IvrMenu& x, QueueId) { x.prompt_file = "x/y.wav"; },
  };
  for (std::size_t i = 0; i < bad.size(); ++i) {
    IvrMenu x = m;
    bad[i](x, w.g_support);
    auto r = w.e.CreateIvrMenu(x);
    ASSERT_FALSE(r) << i;
    EXPECT_EQ(r.error().code, ErrorCode::kBadRequest) << i;
  }
  EXPECT_EQ(w.e.last_seq(), seq);

  PhoneNumber n;
  n.tenant = w.acme;
  n.e164 = "+15550100";
  n.ivr = main;
  const NumberId num = *w.e.CreateNumber(n);
  EXPECT_EQ(w.e.FindNumber("+15550100")->ivr, main);
  n.tenant = w.globex;
  n.e164 = "+15550101";
  EXPECT_EQ(w.e.CreateNumber(n).error().code, ErrorCode::kBadRequest);  // acme's menu

  // The engine's menus drive the state machine.
  IvrSession s;
  auto find = [&](IvrMenuId id) { return w.e.FindIvrMenu(w.acme, id); };
  EXPECT_EQ(IvrStart(find, main, &s).prompt_text, "Press 1");
  EXPECT_EQ(IvrStep(find, &s, IvrInput::Digit('2')).menu, subid);
  EXPECT_EQ(IvrStep(find, &s, IvrInput::Digit('9')).menu, main);
  IvrOutcome o = IvrStep(find, &s, IvrInput::Digit('1'));
  EXPECT_EQ(o.kind, Kind::kQueue);
  EXPECT_EQ(o.queue, w.support);

  // What leads somewhere cannot be deleted; a menu's own self-reference does not count.
  EXPECT_EQ(w.e.DeleteIvrMenu(w.acme, main).error().code, ErrorCode::kConflict);   // the number
  EXPECT_EQ(w.e.DeleteQueue(w.acme, w.support).error().code, ErrorCode::kConflict);  // main's option
  EXPECT_EQ(w.e.DeleteIvrMenu(w.acme, subid).error().code, ErrorCode::kConflict);  // main's option 2
  EXPECT_EQ(w.e.DeleteIvrMenu(w.globex, subid).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(w.e.DeleteNumber(w.acme, num));
  main2.options.erase('2');
  ASSERT_TRUE(w.e.UpdateIvrMenu(main2));
  ASSERT_TRUE(w.e.DeleteIvrMenu(w.acme, subid));
  EXPECT_TRUE(w.e.DeleteIvrMenu(w.acme, main));  // only its own option 3 leads to it
  EXPECT_EQ(w.e.FindIvrMenu(w.acme, main), nullptr);
}

// ---- call detail records ------------------------------------------------------------------

TEST(EngineCdr, LegsAreStampedCheckedAndEndedOnRecover) {
  World w;
  Engine& e = w.e;
  CdrLegStart cust;
  cust.tenant = w.acme;
  cust.from = "+15551234";
  cust.to = "+15550100";
  cust.queue = w.support;
  const CdrLegId call = *e.StartCdrLeg(cust);
  const CdrLeg* l = e.FindCdrLeg(w.acme, call);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->start.call, call);  // the first leg names the call
  EXPECT_EQ(l->started, kT0);
  EXPECT_EQ(e.FindCdrLeg(w.globex, call), nullptr);

  e.SetTime(kT0 + 100);
  ASSERT_TRUE(e.AnswerCdrLeg(w.acme, call));
  EXPECT_EQ(e.FindCdrLeg(w.acme, call)->answered, kT0 + 100);
  EXPECT_EQ(e.AnswerCdrLeg(w.acme, call).error().code, ErrorCode::kConflict);

  CdrLegStart agent;
  agent.tenant = w.acme;
  agent.call = call;
  agent.role = CdrRole::kAgent;
  agent.outbound = true;
  agent.agent = 7;
  agent.interaction = 55;
  const CdrLegId a1 = *e.StartCdrLeg(agent);
  EXPECT_EQ(e.FindCdrLeg(w.acme, a1)->start.call, call);
  // Rang out: no answer, ended by us.
  EXPECT_EQ(e.EndCdrLeg(w.acme, a1, CdrResult::kAnswered, "", CdrParty::kSystem).error().code,
            ErrorCode::kBadRequest);
  ASSERT_TRUE(e.EndCdrLeg(w.acme, a1, CdrResult::kNoAnswer, "timeout", CdrParty::kSystem));
  EXPECT_EQ(e.FindCdrLeg(w.acme, a1), nullptr);  // finished legs leave memory
  EXPECT_EQ(e.EndCdrLeg(w.acme, a1, CdrResult::kFailed, "", CdrParty::kSystem).error().code,
            ErrorCode::kNotFound);

  const std::uint64_t seq = e.last_seq();
  CdrLegStart bad = agent;
  bad.call = 424242;
  EXPECT_EQ(e.StartCdrLeg(bad).error().code, ErrorCode::kNotFound);
  bad.call = call;
  bad.tenant = w.globex;  // another tenant's call
  EXPECT_EQ(e.StartCdrLeg(bad).error().code, ErrorCode::kNotFound);
  bad = agent;
  bad.call = 0;  // an agent leg cannot start a call
  EXPECT_EQ(e.StartCdrLeg(bad).error().code, ErrorCode::kBadRequest);
  bad = agent;
  bad.from = std::string(300, 'x');
  EXPECT_EQ(e.StartCdrLeg(bad).error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(e.AnswerCdrLeg(w.globex, call).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(e.last_seq(), seq);

  const CdrLegId a2 = *e.StartCdrLeg(agent);
  ASSERT_TRUE(e.AnswerCdrLeg(w.acme, a2));
  EXPECT_EQ(e.live_cdr_legs(), 2u);

  // A restart: the replayed engine ends both live legs, answered ones as answered.
  std::vector<Event> log = e.TakeOutbox();
  Engine fresh;
  for (const Event& ev : log) {
    auto body = DecodePayload(TypeName(ev.body), EncodePayload(ev.body));
    ASSERT_TRUE(body) << body.error().message;
    ASSERT_TRUE(fresh.Replay(Event(ev.seq, ev.ts, ev.tenant, std::move(*body))));
  }
  EXPECT_EQ(fresh.live_cdr_legs(), 2u);
  EXPECT_EQ(fresh.FindCdrLeg(w.acme, a2)->answered, kT0 + 100);
  fresh.Recover();
  EXPECT_EQ(fresh.live_cdr_legs(), 0u);
  int ended = 0;
  for (const Event& ev : fresh.TakeOutbox()) {
    if (auto* x = std::get_if<CdrLegEnded>(&ev.body)) {
      ++ended;
      EXPECT_EQ(x->result, CdrResult::kAnswered);
      EXPECT_EQ(x->cause, "restart");
      EXPECT_EQ(x->hung_up_by, CdrParty::kSystem);
      EXPECT_TRUE(x->leg == call || x->leg == a2);
    }
  }
  EXPECT_EQ(ended, 2);
  EXPECT_GT(*fresh.StartCdrLeg(cust), a2);  // ids go on after the replayed ones
}

// ---- recordings ----------------------------------------------------------------------------

TEST(EngineRecordings, StartPauseEndAndRecover) {
  World w;
  Engine& e = w.e;
  const InteractionId call = w.Call();
  const InteractionId mail = w.Contact(Channel::kEmail);

  EXPECT_EQ(e.StartRecording(w.acme, mail).error().code, ErrorCode::kNotFound);  // not a call
  EXPECT_EQ(e.StartRecording(w.globex, call).error().code, ErrorCode::kNotFound);
  const RecordingId rec = *e.StartRecording(w.acme, call);
  const Recording* r = e.FindRecording(w.acme, rec);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->path, "recordings/" + std::to_string(w.acme) + "/" + std::to_string(call) + ".wav");
  EXPECT_EQ(r->started, kT0);
  EXPECT_EQ(r->ended, 0);
  EXPECT_EQ(e.RecordingOf(w.acme, call), r);
  EXPECT_EQ(e.FindRecording(w.globex, rec), nullptr);
  EXPECT_EQ(e.StartRecording(w.acme, call).error().code, ErrorCode::kConflict);

  e.SetTime(kT0 + 10 * kSecond);
  ASSERT_TRUE(e.PauseRecording(w.acme, rec, true));
  EXPECT_EQ(e.PauseRecording(w.acme, rec, true).error().code, ErrorCode::kConflict);
  e.SetTime(kT0 + 25 * kSecond);
  ASSERT_TRUE(e.PauseRecording(w.acme, rec, false));
  EXPECT_EQ(e.PauseRecording(w.acme, rec, false).error().code, ErrorCode::kConflict);
  e.SetTime(kT0 + 30 * kSecond);
  ASSERT_TRUE(e.PauseRecording(w.acme, rec, true));  // still paused at the end
  EXPECT_EQ(r->paused, (std::vector<PausedSpan>{{kT0 + 10 * kSecond, kT0 + 25 * kSecond},
                                                {kT0 + 30 * kSecond, 0}}));
  e.SetTime(kT0 + 40 * kSecond);
  std::vector<Event> history = e.TakeOutbox();  // everything so far, for the replay below
  ASSERT_TRUE(e.EndRecording(w.acme, rec));
  // The end is an event (the API rebuilds the record from the log, paused span closed there)...
  std::vector<Event> ended = e.TakeOutbox();
  ASSERT_EQ(ended.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<RecordingEnded>(ended[0].body));
  EXPECT_EQ(ended[0].ts, kT0 + 40 * kSecond);
  for (Event& ev : ended) history.push_back(std::move(ev));
  // ...and the record leaves memory, like an ended CDR leg.
  EXPECT_EQ(e.FindRecording(w.acme, rec), nullptr);
  EXPECT_EQ(e.RecordingOf(w.acme, call), nullptr);
  EXPECT_TRUE(e.Recordings(w.acme).empty());
  EXPECT_EQ(e.EndRecording(w.acme, rec).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(e.PauseRecording(w.acme, rec, true).error().code, ErrorCode::kNotFound);

  // Bridged again after a transfer: a new recording, in a file of its own (the call's count of
  // recordings stays while the interaction is in memory).
  const RecordingId again = *e.StartRecording(w.acme, call);
  EXPECT_EQ(e.FindRecording(w.acme, again)->path,
            "recordings/" + std::to_string(w.acme) + "/" + std::to_string(call) + "-2.wav");
  EXPECT_EQ(e.FindRecording(w.acme, again)->part, 2);
  EXPECT_EQ(e.RecordingOf(w.acme, call)->id, again);
  ASSERT_TRUE(e.EndRecording(w.acme, again));

  // A second call still recording when the process dies: ended at recovery, with a reason.
  const InteractionId call2 = w.Call();
  const RecordingId rec2 = *e.StartRecording(w.acme, call2);
  for (Event& ev : e.TakeOutbox()) history.push_back(std::move(ev));
  const std::unique_ptr<Engine> replayed = ReplayThroughCodec(history);
  Engine& fresh = *replayed;
  // Replayed: only the live one is in memory.
  EXPECT_EQ(fresh.FindRecording(w.acme, rec), nullptr);
  EXPECT_EQ(fresh.FindRecording(w.acme, again), nullptr);
  ASSERT_NE(fresh.FindRecording(w.acme, rec2), nullptr);
  fresh.SetTime(kT0 + kHour);
  (void)fresh.TakeOutbox();
  fresh.Recover();
  bool restart_ended = false;
  for (const Event& ev : fresh.TakeOutbox())
    if (const auto* x = std::get_if<RecordingEnded>(&ev.body); x && x->id == rec2)
      restart_ended = x->reason == "restart" && ev.ts == kT0 + kHour;
  EXPECT_TRUE(restart_ended);
  EXPECT_EQ(fresh.FindRecording(w.acme, rec2), nullptr);
  // Replay counted the call's parts the same: its next recording is the third.
  auto third = fresh.StartRecording(w.acme, call);
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_EQ(fresh.FindRecording(w.acme, *third)->path,
            "recordings/" + std::to_string(w.acme) + "/" + std::to_string(call) + "-3.wav");
}

TEST(EngineMonitors, StartChangeEndAndRecover) {
  World w;
  Engine& e = w.e;
  const InteractionId call = w.Call();
  const InteractionId call2 = w.Call();
  const InteractionId chat = w.Contact(Channel::kEmail);
  constexpr UserId kSup = 4242;  // the adapter checks who may monitor; the engine records it

  EXPECT_EQ(e.StartMonitor(w.acme, chat, kSup, MonitorMode::kListen).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(e.StartMonitor(w.globex, call, kSup, MonitorMode::kListen).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(e.ChangeMonitor(w.acme, call, MonitorMode::kBarge).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(e.StartMonitor(w.acme, call, kSup, MonitorMode::kListen));
  EXPECT_EQ(e.StartMonitor(w.acme, call, kSup + 1, MonitorMode::kBarge).error().code, ErrorCode::kConflict);
  EXPECT_EQ(e.MonitorOf(w.globex, call), nullptr);  // another tenant's view
  e.SetTime(kT0 + 5 * kSecond);
  ASSERT_TRUE(e.ChangeMonitor(w.acme, call, MonitorMode::kWhisper));
  const Monitor* m = e.MonitorOf(w.acme, call);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->supervisor, kSup);
  EXPECT_EQ(m->mode, MonitorMode::kWhisper);
  EXPECT_EQ(m->started, kT0);
  EXPECT_EQ(m->mode_since, kT0 + 5 * kSecond);
  ASSERT_TRUE(e.EndMonitor(w.acme, call, "stopped"));
  EXPECT_EQ(e.MonitorOf(w.acme, call), nullptr);
  EXPECT_EQ(e.EndMonitor(w.acme, call, "stopped").error().code, ErrorCode::kNotFound);

  // A monitor live when the process dies ends at recovery ("restart"); the ended one stays ended.
  ASSERT_TRUE(e.StartMonitor(w.acme, call2, kSup, MonitorMode::kBarge));
  const std::unique_ptr<Engine> replayed = ReplayThroughCodec(e.TakeOutbox());
  Engine& fresh = *replayed;
  ASSERT_NE(fresh.MonitorOf(w.acme, call2), nullptr);
  EXPECT_EQ(fresh.MonitorOf(w.acme, call2)->mode, MonitorMode::kBarge);
  EXPECT_EQ(fresh.MonitorOf(w.acme, call), nullptr);
  fresh.SetTime(kT0 + kHour);
  fresh.Recover();
  EXPECT_EQ(fresh.MonitorOf(w.acme, call2), nullptr);
  bool ended = false;
  for (const Event& ev : fresh.TakeOutbox())
    if (auto* x = std::get_if<MonitorEnded>(&ev.body); x && x->interaction == call2)
      ended = x->reason == "restart";
  EXPECT_TRUE(ended);
}


// ---- outbound calls (Engine::StartOutbound, docs/decisions.md "Outbound calls") ----

struct Outbound : World {
  UserId alice = 0;
  std::vector<Event> log;
  Outbound() {
    alice = e.FindUserByLogin("alice")->id;
    EXPECT_TRUE(e.SetMember(acme, alice, Membership{}).has_value());
    Drain();
  }
  void Drain() {
    for (Event& ev : e.TakeOutbox()) log.push_back(std::move(ev));
  }
  Result<InteractionId> Dial() {
    return e.StartOutbound(alice, acme, support, Customer{"", "+15550199", ""}, "Call to +15550199");
  }
};

TEST(EngineOutbound, ConnectedToTheAgentAtOnceAndOutOfTheQueueFigures) {
  Outbound w;
  ASSERT_TRUE(w.e.SetPresence(w.alice, w.acme, Presence::kBreak, "lunch").has_value());
  auto id = w.Dial();
  ASSERT_TRUE(id.has_value()) << id.error().message;
  const Interaction* ix = w.e.FindInteraction(w.acme, *id);
  ASSERT_NE(ix, nullptr);
  EXPECT_TRUE(ix->outbound);
  EXPECT_EQ(ix->channel, Channel::kVoice);
  EXPECT_EQ(ix->state, InteractionState::kConnected);
  EXPECT_EQ(ix->agent, w.alice);
  EXPECT_EQ(ix->customer().phone, "+15550199");
  EXPECT_EQ(w.e.AgentView(w.alice).activity, Activity::kBusy);
  // A second call while the first is in hand, and one in wrap-up: 409.
  auto again = w.Dial();
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  ASSERT_TRUE(w.e.EndContact(*id, "customer_busy").has_value());
  EXPECT_EQ(w.Dial().error().code, ErrorCode::kConflict);
  ASSERT_TRUE(w.e.WrapUp(w.alice, *id, 0, "no answer").has_value());
  const QueueStats st = w.e.Stats(w.acme, w.support);
  EXPECT_EQ(st.entered + st.answered + st.handled + st.abandoned, 0);
  // The event goes through the codec and replays to the same state.
  w.Drain();
  Engine fresh;
  for (const Event& ev : w.log) {
    auto body = DecodePayload(TypeName(ev.body), EncodePayload(ev.body));
    ASSERT_TRUE(body.has_value());
    ASSERT_TRUE(fresh.Replay(Event{ev.seq, ev.ts, ev.tenant, std::move(*body)}).has_value());
  }
  const Interaction* replayed = fresh.FindInteraction(w.acme, *id);
  ASSERT_NE(replayed, nullptr);
  EXPECT_TRUE(replayed->outbound);
  EXPECT_EQ(replayed->state, InteractionState::kCompleted);
  EXPECT_EQ(replayed->customer().phone, "+15550199");
}

// ---- hold (call.hold, docs/decisions.md 55) ------------------------------------------------

TEST(EngineHold, OnlyConnectedCallsOffWhateverTheStateAndRecoverTakesThemOff) {
  Outbound w;
  // On break: the waiting call is not offered to her, and she may still dial.
  ASSERT_TRUE(w.e.SetPresence(w.alice, w.acme, Presence::kBreak, "lunch").has_value());
  const InteractionId waiting = w.Call();  // queued, never connected
  const InteractionId mail = w.Contact(Channel::kEmail);
  auto call = w.Dial();
  ASSERT_TRUE(call.has_value()) << call.error().message;
  w.Drain();

  EXPECT_EQ(w.e.SetCallHold(w.acme, mail, true).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(w.e.SetCallHold(w.globex, *call, true).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(w.e.SetCallHold(w.acme, waiting, true).error().code, ErrorCode::kConflict);
  EXPECT_EQ(w.e.SetCallHold(w.acme, *call, false).error().code, ErrorCode::kConflict);
  EXPECT_TRUE(w.e.TakeOutbox().empty());  // refusals write nothing

  ASSERT_TRUE(w.e.SetCallHold(w.acme, *call, true));
  EXPECT_TRUE(w.e.OnHold(w.acme, *call));
  EXPECT_FALSE(w.e.OnHold(w.globex, *call));  // another tenant's view
  EXPECT_EQ(w.e.SetCallHold(w.acme, *call, true).error().code, ErrorCode::kConflict);
  ASSERT_TRUE(w.e.SetCallHold(w.acme, *call, false));
  EXPECT_FALSE(w.e.OnHold(w.acme, *call));
  ASSERT_TRUE(w.e.SetCallHold(w.acme, *call, true));
  // Ended while held: still held until the adapter takes it off, which it may in any state.
  ASSERT_TRUE(w.e.EndContact(*call, "customer_hung_up").has_value());
  EXPECT_TRUE(w.e.OnHold(w.acme, *call));
  ASSERT_TRUE(w.e.SetCallHold(w.acme, *call, false));
  w.Drain();
  std::vector<std::pair<bool, TimeMs>> holds;
  for (const Event& ev : w.log)
    if (const auto* x = std::get_if<CallHold>(&ev.body)) holds.emplace_back(x->on, ev.ts);
  EXPECT_EQ(holds.size(), 4u);

  // A call held when the process dies: held again after the replay, taken off at Recover.
  ASSERT_TRUE(w.e.WrapUp(w.alice, *call, 0, "").has_value());
  auto second = w.Dial();
  ASSERT_TRUE(second.has_value()) << second.error().message;
  ASSERT_TRUE(w.e.SetCallHold(w.acme, *second, true));
  w.Drain();
  const std::unique_ptr<Engine> fresh = ReplayThroughCodec(w.log);
  EXPECT_FALSE(fresh->OnHold(w.acme, *call));
  EXPECT_TRUE(fresh->OnHold(w.acme, *second));
  fresh->SetTime(kT0 + kHour);
  (void)fresh->TakeOutbox();
  fresh->Recover();
  EXPECT_FALSE(fresh->OnHold(w.acme, *second));
  bool off = false;
  for (const Event& ev : fresh->TakeOutbox())
    if (const auto* x = std::get_if<CallHold>(&ev.body); x && x->interaction == *second)
      off = !x->on && ev.ts == kT0 + kHour;
  EXPECT_TRUE(off);
}

TEST(EngineOutbound, RefusedOfflineForAnotherTenantOrQueueAndWithoutPhone) {
  Outbound w;
  EXPECT_EQ(w.Dial().error().code, ErrorCode::kConflict);  // offline
  ASSERT_TRUE(w.e.SetPresence(w.alice, w.acme, Presence::kAvailable, "").has_value());
  EXPECT_EQ(w.e.StartOutbound(w.alice, w.acme, w.g_support, {}, "").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(w.e.StartOutbound(w.alice, w.globex, w.g_support, {}, "").error().code, ErrorCode::kNotFound);
  w.Drain();
  EXPECT_TRUE(w.e.TakeOutbox().empty());
  Engine phones({.voice_requires_phone = true});
  phones.SetTime(kT0);
  Tenant t;
  t.slug = t.name = "acme";
  const TenantId acme = *phones.CreateTenant(t);
  Queue q;
  q.tenant = acme;
  q.name = "support";
  const QueueId support = *phones.CreateQueue(q);
  User u;
  u.login = "bob";
  const UserId bob = *phones.CreateUser(u);
  ASSERT_TRUE(phones.SetMember(acme, bob, Membership{}).has_value());
  ASSERT_TRUE(phones.SetPresence(bob, acme, Presence::kAvailable, "").has_value());
  EXPECT_EQ(phones.StartOutbound(bob, acme, support, {}, "").error().code, ErrorCode::kConflict);
  phones.SetPhone(bob, true);
  EXPECT_TRUE(phones.StartOutbound(bob, acme, support, {}, "").has_value());
}

TEST(EngineOutbound, RecoverClosesALiveOutboundCall) {
  Outbound w;
  ASSERT_TRUE(w.e.SetPresence(w.alice, w.acme, Presence::kAvailable, "").has_value());
  auto id = w.Dial();
  ASSERT_TRUE(id.has_value());
  w.Drain();
  Engine fresh;
  for (const Event& ev : w.log) ASSERT_TRUE(fresh.Replay(ev).has_value());
  fresh.Recover();
  const Interaction* ix = fresh.FindInteraction(w.acme, *id);
  ASSERT_NE(ix, nullptr);
  EXPECT_EQ(ix->state, InteractionState::kClosed);
  EXPECT_EQ(ix->reason, "restart");
}

}  // namespace
}  // namespace homeline::core
