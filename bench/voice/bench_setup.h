#pragma once
// What the voice benches share (bench_voice_offer, bench_voice_setup): the server's voice parts
// in one process. core::Engine and sip::VoiceService run on the bench's (engine) thread;
// sip::SipStack + sip::Calls on the SIP thread; media::MediaEngine for the legs. The calls code
// hands its happenings to the engine thread through an Inbox, as the server's loop does.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "adapters/media/media_engine.h"
#include "adapters/sip/calls.h"
#include "adapters/sip/sip_stack.h"
#include "adapters/sip/voice_service.h"
#include "core/engine.h"

namespace homeline::bench {

using Clock = std::chrono::steady_clock;

TimeMs WallMs();

// The calls code's happenings, queued for the engine thread and run there against VoiceService.
struct Inbox : sip::CallHappenings {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> work;
  sip::VoiceService* voice = nullptr;
  std::uint64_t agent_failed = 0;  // engine thread

  void Post(std::function<void()> fn);
  // Waits until work is posted or `until`, then runs all of it on this (engine) thread, the
  // engine's outbox going to VoiceService after each item (the server's loop does the same).
  // False when nothing came by `until`.
  bool RunPosted(core::Engine& engine, Clock::time_point until);

  void Inbound(sip::InboundCall c) override;
  void AgentAnswered(sip::CallId c, core::UserId a) override;
  void AgentFailed(sip::CallId c, core::UserId a, int s) override;
  void CustomerHungUp(sip::CallId c) override;
  void AgentHungUp(sip::CallId c, core::UserId a) override;
};

// The demo's tenant "acme" with queue "support" (wrap-up `wrapup` ms, or the default), trunk
// "local" (calls from 127.0.0.1) and number +15550100 -> the queue.
struct BenchTenant {
  core::TenantId tenant;
  core::QueueId queue;
};
BenchTenant SetUpTenant(core::Engine& engine, std::optional<DurationMs> wrapup);

// The SIP stack on 127.0.0.1:port (0: a free one) and the media engine without a prompt
// library. Prints the error and returns nullopt when either fails.
struct Stacks {
  std::unique_ptr<sip::SipStack> sip;
  std::unique_ptr<media::MediaEngine> media;
};
std::optional<Stacks> StartStacks(std::uint16_t port);

}  // namespace homeline::bench
