#include "bench_setup.h"

#include <cstdio>
#include <string>

namespace homeline::bench {

TimeMs WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Inbox::Post(std::function<void()> fn) {
  {
    std::lock_guard lk(mu);
    work.push_back(std::move(fn));
  }
  cv.notify_one();
}

bool Inbox::RunPosted(core::Engine& engine, Clock::time_point until) {
  std::deque<std::function<void()>> batch;
  {
    std::unique_lock lk(mu);
    if (!cv.wait_until(lk, until, [&] { return !work.empty(); })) return false;
    batch.swap(work);
  }
  engine.SetTime(WallMs());
  for (auto& fn : batch) {
    fn();
    voice->Observe(engine.TakeOutbox());
  }
  return true;
}

void Inbox::Inbound(sip::InboundCall c) { Post([this, c] { voice->OnInbound(c); }); }
void Inbox::AgentAnswered(sip::CallId c, core::UserId a) { Post([this, c, a] { voice->OnAgentAnswered(c, a); }); }
void Inbox::AgentFailed(sip::CallId c, core::UserId a, int s) {
  Post([this, c, a, s] {
    ++agent_failed;
    voice->OnAgentFailed(c, a, s);
  });
}
void Inbox::CustomerHungUp(sip::CallId c) { Post([this, c] { voice->OnCustomerHangUp(c); }); }
void Inbox::AgentHungUp(sip::CallId c, core::UserId a) { Post([this, c, a] { voice->OnAgentHangUp(c, a); }); }

BenchTenant SetUpTenant(core::Engine& engine, std::optional<DurationMs> wrapup) {
  core::Tenant t;
  t.slug = "acme";
  t.name = "Acme";
  const core::TenantId tenant = *engine.CreateTenant(t);
  core::Queue q;
  q.tenant = tenant;
  q.name = "support";
  if (wrapup) q.wrapup = *wrapup;
  const core::QueueId queue = *engine.CreateQueue(q);
  core::Trunk trunk;
  trunk.tenant = tenant;
  trunk.name = "local";
  trunk.sources = {"127.0.0.1"};
  (void)engine.CreateTrunk(trunk);
  core::PhoneNumber number;
  number.tenant = tenant;
  number.e164 = "+15550100";
  number.queue = queue;
  (void)engine.CreateNumber(number);
  return {tenant, queue};
}

std::optional<Stacks> StartStacks(std::uint16_t port) {
  auto stack = sip::SipStack::Start(sip::StackOptions{"127.0.0.1", port, "homeline-bench"});
  if (!stack) {
    std::fprintf(stderr, "sip: %s\n", stack.error().message.c_str());
    return std::nullopt;
  }
  media::Options mo;
  mo.prompt_dir = "";  // no prompt library: nothing to play while a call waits
  mo.generate_prompts = false;
  auto media = media::MediaEngine::Start(mo);
  if (!media) {
    std::fprintf(stderr, "media: %s\n", media.error().message.c_str());
    return std::nullopt;
  }
  return Stacks{std::move(*stack), std::move(*media)};
}

}  // namespace homeline::bench
