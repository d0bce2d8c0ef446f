// The in-process variant of the call-setup rate bench (bench/voice/setup_rate.sh with
// SYSTEMS=inprocess; by default the script measures the real `homeline serve`, store and HTTP
// included). Issue 3: the highest ACD call rate with zero failed calls, >= 1,000 calls/s. The
// server's voice parts in one process, without the event store, HTTP or prompts, as bench_voice_offer: core::Engine and sip::VoiceService on this (the engine)
// thread, sip::SipStack + sip::Calls on the SIP thread, media::MediaEngine for the legs. SIPp
// plays the trunk (customers calling +15550100) and the agents' phones (one SIPp UAS answering
// for every agent).
//
// The agents' phones: every agent has the SIP password "demo" (HA1 in the engine and the
// sip::Registrar, as the server does) and the engine's voice_requires_phone is on, so an agent
// takes calls only once its phone registered with digest; the driver registers every agent
// from the agents' SIPp's port (register_agents.xml) before the trials, and the calls ring the
// registered bindings (the lookup the server gives Voice::Start). No OPTIONS qualify (the
// agents' SIPp would take them for calls). Auto wrap-up: the queue's wrap-up is 1 ms, so the engine's own wrap-up timer makes the agent
// available again right after each call (and agents the engine put on "missed" are made
// available again every 200 ms). No prompt library: the customer hears nothing while
// the call waits (a call waits a few ms here; prompts are media work, see bench/media).
//
// Every 200 ms the counters go to --stats FILE (one line, written then renamed) so the driver
// can take them before and after each trial: calls decided on, refused, agent legs rung,
// bridged, abandoned, agent legs failed, live calls, agents available, phones registered, libre
// timers running (transactions kept after the calls: docs/benchmarks.md), CPU time of this
// process.
//
// Usage: bench_voice_setup --port 5060 --agents 3000 --stats FILE

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "adapters/auth/sip_digest.h"
#include "adapters/sip/re_timers.h"
#include "adapters/sip/registrar.h"
#include "bench_setup.h"

using namespace homeline;
using bench::Clock;
using bench::WallMs;

namespace {

std::atomic<bool> g_stop{false};

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  int agents = 3000;
  int port = 5060;
  std::string stats_path = "setup_stats.txt";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--agents") agents = std::atoi(argv[i + 1]);
    else if (a == "--port") port = std::atoi(argv[i + 1]);
    else if (a == "--stats") stats_path = argv[i + 1];
  }
  spdlog::set_level(spdlog::level::err);
  signal(SIGTERM, [](int) { g_stop = true; });
  signal(SIGINT, [](int) { g_stop = true; });

  core::EngineOptions eo;
  eo.voice_requires_phone = true;  // as the server with SIP on
  core::Engine engine(eo);
  engine.SetTime(WallMs());
  const auto [tenant, queue] = bench::SetUpTenant(engine, 1);  // auto wrap-up: 1 ms after the call
  std::vector<core::UserId> users;
  for (int i = 0; i < agents; ++i) {
    core::User u;
    u.login = fmt::format("agent{}", i);
    u.name = u.login;
    users.push_back(*engine.CreateUser(u));
    (void)engine.SetSipCredential(users.back(), auth::SipHa1(u.login, "demo"));
    (void)engine.SetMember(tenant, users.back(), core::Membership{});
    (void)engine.SetPresence(users.back(), tenant, core::Presence::kAvailable, "");
  }
  engine.TakeOutbox();

  auto stacks = bench::StartStacks(static_cast<std::uint16_t>(port));
  if (!stacks) return 1;
  auto& stack = stacks->sip;
  auto& media = stacks->media;
  bench::Inbox inbox;
  sip::RegistrarOptions ro;
  ro.qualify_interval_s = 0;
  sip::Registrar registrar(*stack, ro, [&](core::UserId u, bool registered) {
    inbox.Post([&, u, registered] {
      engine.SetPhone(u, registered);
    });
  });
  registrar.Install();
  for (std::size_t i = 0; i < users.size(); ++i)
    registrar.SetCredential(engine.FindUser(users[i])->login, users[i], engine.sip_credentials().at(users[i]));
  sip::Calls calls_sip(*stack, *media, inbox, [&](const std::string& login) -> std::optional<sip::AgentBinding> {
    auto b = registrar.Lookup(login);
    if (!b) return std::nullopt;
    return sip::AgentBinding{b->contact, b->route};
  });
  sip::VoiceService voice(engine, calls_sip, sip::NumberRouter(""));
  inbox.voice = &voice;
  calls_sip.Install();
  std::fprintf(stdout, "bench_voice_setup: SIP 127.0.0.1:%d, %d agents\n", port, agents);
  std::fflush(stdout);

  std::atomic<std::size_t> libre_timers{0};  // libre timers running, read on the SIP thread
  auto write_stats = [&] {
    const auto& c = voice.counters();
    std::size_t available = 0, phones = 0;
    std::array<std::size_t, core::kActivityCount> by_activity{};
    for (core::UserId u : users) {
      const auto& view = engine.AgentView(u);
      if (view.activity == core::Activity::kAvailable) ++available;
      ++by_activity[static_cast<int>(view.activity)];
      if (view.phone) ++phones;
    }
    std::string activities;  // agents by activity, in core::Activity's order
    for (std::size_t n : by_activity) activities += fmt::format("{}{}", activities.empty() ? "" : ",", n);
    const std::string tmp = stats_path + ".tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fprintf(f, "inbound=%llu refused=%llu rung=%llu bridged=%llu abandoned=%llu agent_failed=%llu live=%zu available=%zu phones=%zu activities=%s timers=%zu cpu_s=%.3f\n",
                   static_cast<unsigned long long>(c.inbound), static_cast<unsigned long long>(c.refused),
                   static_cast<unsigned long long>(c.rung), static_cast<unsigned long long>(c.bridged),
                   static_cast<unsigned long long>(c.abandoned), static_cast<unsigned long long>(inbox.agent_failed),
                   voice.live_calls(), available, phones, activities.c_str(), libre_timers.load(), CpuSeconds());
      std::fclose(f);
      std::rename(tmp.c_str(), stats_path.c_str());
    }
  };

  auto next_stats = Clock::now();
  auto next_tick = Clock::now();
  while (!g_stop) {
    // Sleep until work is posted, the engine's next timer (wrap-up ends) or the next stats
    // write: the server's loop does the same (no polling, whose wake-ups would be counted as
    // CPU per call at low rates).
    auto until = next_stats;
    if (auto d = engine.NextDeadline())
      until = std::min(until, Clock::now() + std::chrono::milliseconds(std::max<TimeMs>(0, *d - WallMs())));
    if (!inbox.RunPosted(engine, until)) engine.SetTime(WallMs());
    engine.RunDue();
    voice.Observe(engine.TakeOutbox());
    const auto now = Clock::now();
    if (now >= next_tick) {
      // The agents' desktops' keep-alives: without them the engine's lease logs them out.
      for (core::UserId u : users) engine.Touch(u);
      voice.Tick();
      next_tick = now + std::chrono::seconds(1);
    }
    if (now >= next_stats) {
      // An agent whose phone did not answer (an overloaded trial) is put on "missed" by the
      // engine; like the agent clicking "available" again, so that one failed trial does not
      // leave the next one without agents (the failure was counted already).
      for (core::UserId u : users)
        if (engine.AgentView(u).activity == core::Activity::kMissed)
          (void)engine.SetPresence(u, tenant, core::Presence::kAvailable, "");
      voice.Observe(engine.TakeOutbox());
      write_stats();
      stack->Post([&] { libre_timers = sip::LibreTimersRunning(); });
      next_stats = now + std::chrono::milliseconds(200);
    }
  }
  write_stats();
  voice.HangUpAll("shutdown");
  stack->Stop();
  return 0;
}
