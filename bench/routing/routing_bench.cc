// Routing decisions of core::Engine at contact-center scale, on one core.
//
// Setup (seeded, so runs compare): one tenant, --agents agents (default 10,000) logged in, each
// with 3-6 of --skills skills (200) at random proficiency 1-10 and capacity voice 1, chat 3,
// email 2; --queues queues (1,000), each requiring 1-2 skills at minimum proficiency 1-5 with
// relaxation steps (30 s: 3, 90 s: 1) and a random strategy mix; --waiting contacts (50,000)
// waiting, mixed 40% voice / 40% chat / 20% email. Agents take their offers (they hold as many
// as their capacity allows). The line stays long because most of it waits in queues that few
// or no agents qualify for; the queues that are staffed drain, so as the run goes on most agents
// are idle between offers (after 500,000 decisions about 8,000 of 10,000 hold nothing) and
// about half of the arrivals and releases end with an offer.
//
// One DECISION is one engine call that ends with the router choosing a counterpart:
//  - release: Engine::WrapUp of a contact the agent accepted (untimed Accept before it). The
//    agent's slot frees up and the router picks, over every queue and channel the agent
//    serves, the best waiting contact (priority, then longest wait) and offers it;
//  - arrival: Engine::CreateInteraction of a new contact (the request is drawn before the
//    clock starts). The router looks for the best available agent of its queue at its step,
//    or the contact joins the line.
// The loop alternates the two, so the line stays at about --waiting. Each call is timed with
// steady_clock; decisions/s is decisions over the summed time of those calls (engine time
// only); "loop" is the wall rate including the untimed Accept, clock steps, RunDue and
// dropping the emitted events. The events are taken (TakeOutbox) before each timed call, as the
// server does after every command (App's FlushOutbox after each request and timer run): a
// decision writes its events into an outbox the previous command left empty. (Until round 8
// the bench drained every 1,024 iterations, so each decision wrote its events into cold lines
// of an outbox of about 2,500 events that swept the core's L2: docs/benchmarks.md.)
//
// Instruction counts: the timed calls are wrapped in callgrind's collection toggles, so
//   valgrind --tool=callgrind --collect-atstart=no bench_routing --decisions 20000
// counts exactly the measured engine calls (Ir / decisions = instructions per decision;
// callgrind_annotate --inclusive=yes splits Engine::WrapUp from Engine::CreateInteraction).
//
// Heap: the server's reserve (src/common/heap.h), as `homeline serve --heap-reserve 1024` runs:
// 1 GiB faulted in at start on huge pages, which the run's growth (about 480 MB after 2,000,000
// decisions: nothing finished is evicted within its two simulated minutes) stays within.
// --heap-reserve 0 runs with the system's pages as they come (the figures before round 8).
//
// usage: bench_routing [--decisions N] [--agents N] [--queues N] [--skills N] [--waiting N]
//                      [--seed N] [--heap-reserve MB]

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/heap.h"
#include "core/engine.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HOMELINE_MEASURE_TOGGLE() CALLGRIND_TOGGLE_COLLECT
#else
#define HOMELINE_MEASURE_TOGGLE() ((void)0)
#endif

namespace {

using namespace homeline;
using namespace homeline::core;
using Clock = std::chrono::steady_clock;

struct Config {
  long decisions = 2'000'000;
  int agents = 10'000;
  int queues = 1'000;
  int skills = 200;
  int waiting = 50'000;
  std::uint64_t seed = 42;
  long heap_reserve_mb = 1024;  // as `homeline serve --heap-reserve 1024`
};

Config ParseArgs(int argc, char** argv) {
  Config c;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const long v = std::atol(argv[i + 1]);
    if (k == "--decisions") c.decisions = v;
    else if (k == "--agents") c.agents = static_cast<int>(v);
    else if (k == "--queues") c.queues = static_cast<int>(v);
    else if (k == "--skills") c.skills = static_cast<int>(v);
    else if (k == "--waiting") c.waiting = static_cast<int>(v);
    else if (k == "--seed") c.seed = static_cast<std::uint64_t>(v);
    else if (k == "--heap-reserve") c.heap_reserve_mb = v;
    else { std::fprintf(stderr, "unknown option %s\n", k.c_str()); std::exit(2); }
  }
  return c;
}

template <typename T>
T Must(Result<T> r) {
  if (!r) { std::fprintf(stderr, "setup failed: %s\n", r.error().message.c_str()); std::exit(1); }
  return *r;
}
void Must(const Status& s) {
  if (!s) { std::fprintf(stderr, "setup failed: %s\n", s.error().message.c_str()); std::exit(1); }
}

Channel RandomChannel(std::mt19937_64& rng) {
  const unsigned r = rng() % 10;
  return r < 4 ? Channel::kVoice : r < 8 ? Channel::kChat : Channel::kEmail;
}

double Percentile(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const std::size_t i = std::min(sorted.size() - 1, static_cast<std::size_t>(p * sorted.size()));
  return sorted[i] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = ParseArgs(argc, argv);
  const HeapReserve heap = ReserveHeap(static_cast<std::size_t>(cfg.heap_reserve_mb) << 20);
  std::mt19937_64 rng(cfg.seed);
  TimeMs now = 20458 * kDay + 9 * kHour;  // 2026-01-05 09:00 UTC
  Engine engine(EngineOptions{cfg.seed});
  engine.SetTime(now);

  // ---- setup ----
  const auto setup_start = Clock::now();
  Tenant tenant;
  tenant.slug = tenant.name = "bench";
  const TenantId t = Must(engine.CreateTenant(tenant));
  std::vector<SkillId> skills;
  for (int i = 0; i < cfg.skills; ++i)
    skills.push_back(Must(engine.CreateSkill(Skill{0, t, "s" + std::to_string(i)})));
  std::vector<QueueId> queues;
  const Strategy strategies[] = {Strategy::kBestProficiency, Strategy::kBestProficiency,
                                 Strategy::kLongestIdle, Strategy::kRoundRobin,
                                 Strategy::kFewestContacts, Strategy::kLeastTalkTime};
  for (int i = 0; i < cfg.queues; ++i) {
    Queue q;
    q.tenant = t;
    q.name = "q" + std::to_string(i);
    const int n = 1 + static_cast<int>(rng() % 2);
    for (int k = 0; k < n; ++k) {
      const SkillId s = skills[rng() % skills.size()];
      if (k == 1 && s == q.skills[0].skill) break;
      q.skills.push_back({s, 1 + static_cast<int>(rng() % 5)});
    }
    q.steps = {{30 * kSecond, 3, 0}, {90 * kSecond, 1, 0}};
    q.strategy = strategies[rng() % std::size(strategies)];
    q.offer_timeout = 24 * kHour;  // agents here always answer; expiry is not measured
    queues.push_back(Must(engine.CreateQueue(q)));
  }
  std::vector<UserId> agents;
  for (int i = 0; i < cfg.agents; ++i) {
    User u;
    u.login = u.name = "a" + std::to_string(i);
    const UserId id = Must(engine.CreateUser(u));
    Membership m;
    const int n = 3 + static_cast<int>(rng() % 4);
    while (static_cast<int>(m.skills.size()) < n)
      m.skills[skills[rng() % skills.size()]] = 1 + static_cast<int>(rng() % 10);
    m.capacity.slots = {1, 3, 2, 0, 0};
    Must(engine.SetMember(t, id, m));
    agents.push_back(id);
  }
  // A new contact's request: drawing it is the caller's work, so it is made before the clock
  // starts; the call (moving the request in included) is what is timed.
  auto request = [&] {
    Engine::NewInteraction n;
    n.tenant = t;
    n.channel = RandomChannel(rng);
    n.queue = queues[rng() % queues.size()];
    n.priority = rng() % 8 == 0 ? 1 : 0;
    return n;
  };
  auto arrive = [&] { return engine.CreateInteraction(request()); };
  for (int i = 0; i < cfg.waiting; ++i) Must(arrive());
  for (UserId u : agents) {
    engine.Connected(u);
    Must(engine.SetPresence(u, t, Presence::kAvailable, ""));
  }
  auto count_waiting = [&] {
    long n = 0;
    for (const Interaction* ix : engine.Interactions(t, true))
      n += ix->state == InteractionState::kQueued;
    return n;
  };
  for (long w = count_waiting(); w < cfg.waiting; w = count_waiting())
    for (long i = w; i < cfg.waiting; ++i) Must(arrive());
  engine.TakeOutbox();
  const double setup_s = std::chrono::duration<double>(Clock::now() - setup_start).count();

  // ---- measured loop ----
  std::vector<std::uint32_t> ns, release_ns, arrival_ns;
  ns.reserve(cfg.decisions);
  release_ns.reserve(cfg.decisions / 2 + 1);
  arrival_ns.reserve(cfg.decisions / 2 + 1);
  std::uint64_t engine_ns = 0;
  long releases = 0, arrivals = 0, no_offer = 0;
  const auto loop_start = Clock::now();
  for (long i = 0; static_cast<long>(ns.size()) < cfg.decisions; ++i) {
    if ((i & 15) == 0) {
      engine.SetTime(++now);
      engine.RunDue();
    }
    Clock::time_point t0, t1;
    if (i % 2 == 0) {
      // A random agent holding an offer (some agents have nothing they qualify for).
      UserId u = 0;
      InteractionId offered = 0;
      while (offered == 0) {
        u = agents[rng() % agents.size()];
        for (InteractionId id : engine.FindAgent(u)->work) {
          if (engine.FindInteraction(t, id)->state == InteractionState::kOffered) {
            offered = id;
            break;
          }
        }
        no_offer += offered == 0;
      }
      Must(engine.Accept(u, offered));
      engine.TakeOutbox();
      t0 = Clock::now();
      HOMELINE_MEASURE_TOGGLE();
      const Status s = engine.WrapUp(u, offered, 0, {});
      HOMELINE_MEASURE_TOGGLE();
      t1 = Clock::now();
      Must(s);
      ++releases;
    } else {
      Engine::NewInteraction n = request();
      engine.TakeOutbox();
      t0 = Clock::now();
      HOMELINE_MEASURE_TOGGLE();
      const auto r = engine.CreateInteraction(std::move(n));
      HOMELINE_MEASURE_TOGGLE();
      t1 = Clock::now();
      Must(r);
      ++arrivals;
    }
    const auto d = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
    engine_ns += d;
    ns.push_back(static_cast<std::uint32_t>(d));
    (i % 2 == 0 ? release_ns : arrival_ns).push_back(static_cast<std::uint32_t>(d));
  }
  const double loop_s = std::chrono::duration<double>(Clock::now() - loop_start).count();
  const long waiting_end = count_waiting();

  std::sort(ns.begin(), ns.end());
  std::sort(release_ns.begin(), release_ns.end());
  std::sort(arrival_ns.begin(), arrival_ns.end());
  std::printf("bench_routing: agents=%d queues=%d skills=%d waiting=%d (end %ld) seed=%llu\n",
              cfg.agents, cfg.queues, cfg.skills, cfg.waiting, waiting_end,
              static_cast<unsigned long long>(cfg.seed));
  std::printf("%s\n", Describe(heap).c_str());
  std::printf("setup %.1f s; decisions=%zu (releases %ld, arrivals %ld, agents without an offer "
              "skipped %ld)\n", setup_s, ns.size(), releases, arrivals, no_offer);
  std::printf("decisions/s %.0f (engine time)   loop %.0f/s (wall)\n",
              ns.size() / (engine_ns / 1e9), ns.size() / loop_s);
  std::printf("latency us: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.1f\n",
              Percentile(ns, 0.50), Percentile(ns, 0.90), Percentile(ns, 0.99),
              Percentile(ns, 0.999), ns.back() / 1000.0);
  for (const auto* v : {&release_ns, &arrival_ns}) {
    std::printf("  %-8s p50 %.2f  p99 %.2f  p99.9 %.2f\n", v == &release_ns ? "release" : "arrival",
                Percentile(*v, 0.50), Percentile(*v, 0.99), Percentile(*v, 0.999));
  }
  return 0;
}
