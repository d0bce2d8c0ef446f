#pragma once
// What the engine-side voice tests share (voice_service_test.cc, ivr_calls_test.cc): a real
// engine on a simulated clock with tenant "acme", a CallControl that records the orders it is
// given as text, and a VoiceService between them once Start() names the router.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "adapters/sip/voice_service.h"

namespace homeline::sip::voicetest {

constexpr TimeMs kT0 = 1'700'000'000'000;

// Every order as one line: "answer 7", "refuse 7 403", "ring 7 alice 20000", "hangup 7 <cause>",
// "menu 7 1 [text] [path] 5000", ...
struct RecordingControl : CallControl {
  std::vector<std::string> orders;
  void Answer(CallId c, WaitPrompts) override { orders.push_back(fmt::format("answer {}", c)); }
  void Refuse(CallId c, int status, std::string) override {
    orders.push_back(fmt::format("refuse {} {}", c, status));
  }
  void Announce(CallId c, int position) override {
    orders.push_back(fmt::format("announce {} {}", c, position));
  }
  void RingAgent(CallId c, core::UserId, std::string user, DurationMs timeout) override {
    orders.push_back(fmt::format("ring {} {} {}", c, user, timeout));
  }
  void DropAgent(CallId c, core::UserId agent) override {
    orders.push_back(fmt::format("drop {} {}", c, agent));
  }
  void Bridge(CallId c, std::string path) override {
    orders.push_back(path.empty() ? fmt::format("bridge {}", c) : fmt::format("bridge {} {}", c, path));
  }
  void PauseRecording(CallId c, bool paused) override {
    orders.push_back(fmt::format("pause {} {}", c, paused));
  }
  void Hold(CallId c, bool on) override { orders.push_back(fmt::format("hold {} {}", c, on)); }
  void Requeue(CallId c) override { orders.push_back(fmt::format("requeue {}", c)); }
  void HangUp(CallId c, std::string cause) override {
    orders.push_back(fmt::format("hangup {} {}", c, cause));
  }
  void Monitor(CallId c, core::UserId, std::string user, core::MonitorMode mode, DurationMs) override {
    orders.push_back(fmt::format("monitor {} {} {}", c, user, core::Name(mode)));
  }
  void SetMonitorMode(CallId c, core::UserId, core::MonitorMode mode) override {
    orders.push_back(fmt::format("monitor_mode {} {}", c, core::Name(mode)));
  }
  void StopMonitor(CallId c, core::UserId) override { orders.push_back(fmt::format("stop_monitor {}", c)); }
  void RingConsult(CallId c, core::UserId, std::string user, DurationMs timeout) override {
    orders.push_back(fmt::format("ring_consult {} {} {}", c, user, timeout));
  }
  void BridgeConsult(CallId c) override { orders.push_back(fmt::format("bridge_consult {}", c)); }
  void DropConsult(CallId c) override { orders.push_back(fmt::format("drop_consult {}", c)); }
  void CompleteConsult(CallId c, std::string) override {
    orders.push_back(fmt::format("complete_consult {}", c));
  }
  void Dial(CallId c, DialOut t) override {
    orders.push_back(fmt::format("dial {} {} {}:{} {} {}/{} from {}", c, t.number, t.host, t.port,
                                 core::Name(t.transport), t.user, t.password, t.caller_id));
  }
  void DialConsult(CallId c, DialOut t) override {
    orders.push_back(fmt::format("dial_consult {} {} {}:{} trunk {} timeout {}", c, t.number, t.host,
                                 t.port, t.trunk, t.timeout));
  }
  void PlayMenu(CallId c, std::uint64_t round, std::string text, std::string path,
                DurationMs timeout) override {
    orders.push_back(fmt::format("menu {} {} [{}] [{}] {}", c, round, text, path, timeout));
  }
  std::vector<std::string> Take() { return std::exchange(orders, {}); }
};

struct VoiceWorld {
  core::Engine engine;
  RecordingControl rec;
  core::TenantId tenant = 0;
  std::unique_ptr<VoiceService> voice;
  std::vector<core::Event> log;  // every event so far (Flush)

  VoiceWorld() {
    engine.SetTime(kT0);
    core::Tenant t;
    t.slug = "acme";
    t.name = "Acme";
    tenant = *engine.CreateTenant(t);
  }
  core::QueueId AddQueue(const std::string& name, DurationMs offer_timeout = 0) {
    core::Queue q;
    q.tenant = tenant;
    q.name = name;
    if (offer_timeout > 0) q.offer_timeout = offer_timeout;
    return *engine.CreateQueue(q);
  }
  core::UserId AddAgent(const std::string& login) {
    core::User user;
    user.login = login;
    user.name = login;
    const core::UserId id = *engine.CreateUser(user);
    EXPECT_TRUE(engine.SetMember(tenant, id, core::Membership{}).has_value());
    return id;
  }
  // Queue q records its calls, into dir (Start first).
  void RecordQueue(core::QueueId q, const std::string& dir) {
    voice->SetRecordingsDir(dir);
    core::QueueVoice v;
    v.tenant = tenant;
    v.queue = q;
    v.record = true;
    ASSERT_TRUE(engine.SetQueueVoice(v).has_value());
  }
  void Start(InboundRouter router) {
    voice = std::make_unique<VoiceService>(engine, rec, std::move(router));
    Flush();
  }
  // What the server's loop does after every task: the engine's events go to the service.
  void Flush() {
    std::vector<core::Event> events = engine.TakeOutbox();
    voice->Observe(events);
    for (core::Event& e : events) log.push_back(std::move(e));
  }
  // Whether an event of type E for which pred holds has been emitted (Flush first).
  template <class E, class Pred>
  bool Logged(Pred pred) {
    Flush();
    for (const core::Event& e : log)
      if (const auto* x = std::get_if<E>(&e.body); x && pred(*x)) return true;
    return false;
  }
    void Call(CallId id, std::string number, std::string source = "127.0.0.1") {
    voice->OnInbound(InboundCall{id, std::move(source), std::move(number), "+15557654321", "Vera", ""});
    Flush();
  }
  void Advance(DurationMs d) {
    engine.SetTime(engine.now() + d);
    engine.RunDue();
    Flush();
  }
};

}  // namespace homeline::sip::voicetest
