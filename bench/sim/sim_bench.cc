// Simulated events per second through the real engine (sim::Simulate driving core::Engine).
//
// Setup (seeded): one day, 30-minute intervals; --queues voice queues (default 20), each
// requiring one of as many skills at proficiency >= 3; --agents agents (1,000) with 2-4 skills at
// proficiency 1-10 (at least one >= 3), split over two shifts (06:00-14:00 and 13:00-21:00).
// Each queue's arrivals follow the staffed capacity (load --load, default 0.9 of the agents'
// time when spread evenly over the queues): lognormal handle times (mean 240 s, sd 180 s),
// exponential patience (mean 180 s), 10 s wrap-up run by the engine's timer.
//
// An EVENT is what sim/simulator.h counts: each arrival, answer, abandonment, end of contact,
// end of wrap-up, login and logout. events/s = events / time of sim::Simulate (setup of the
// engine included; it is a few ms), by the wall clock and by the process's CPU time (the latter
// holds up better on a machine shared with other work). "engine events" are the events the
// engine emitted.
//
// Instruction counts (independent of machine load):
//   valgrind --tool=callgrind --callgrind-out-file=cg.out bench_sim --replications 1
// and Ir / events from callgrind_annotate's total (setup included).
//
// usage: bench_sim [--agents N] [--queues N] [--load X] [--replications N] [--seed N]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include <time.h>

#include "sim/simulator.h"

namespace {

using namespace homeline;
using namespace homeline::sim;
using Clock = std::chrono::steady_clock;

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct Config {
  int agents = 1000;
  int queues = 20;
  double load = 0.9;
  int replications = 3;
  std::uint64_t seed = 42;
};

Config ParseArgs(int argc, char** argv) {
  Config c;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--agents") c.agents = std::atoi(v);
    else if (k == "--queues") c.queues = std::atoi(v);
    else if (k == "--load") c.load = std::atof(v);
    else if (k == "--replications") c.replications = std::atoi(v);
    else if (k == "--seed") c.seed = std::strtoull(v, nullptr, 10);
    else { std::fprintf(stderr, "unknown option %s\n", k.c_str()); std::exit(2); }
  }
  return c;
}

Scenario Build(const Config& c) {
  std::mt19937_64 rng(c.seed);
  Scenario s;
  s.seed = c.seed;
  s.interval = 30 * kMinute;
  const int n = s.intervals();
  std::vector<double> staffed(n, 0);
  for (int i = 0; i < c.agents; ++i) {
    AgentSpec a;
    a.name = "a" + std::to_string(i);
    const int skills = 2 + static_cast<int>(rng() % 3);
    a.skills["s" + std::to_string(rng() % c.queues)] = 3 + static_cast<int>(rng() % 8);
    while (static_cast<int>(a.skills.size()) < skills)
      a.skills["s" + std::to_string(rng() % c.queues)] = 1 + static_cast<int>(rng() % 10);
    const TimeMs start = i % 2 == 0 ? 6 * kHour : 13 * kHour;
    a.shifts = {{start, start + 8 * kHour}};
    for (int k = static_cast<int>(start / s.interval); k < (start + 8 * kHour) / s.interval; ++k) staffed[k] += 1;
    s.agents.push_back(a);
  }
  const double aht = 240, wrap = 10;
  for (int q = 0; q < c.queues; ++q) {
    QueueSpec spec;
    spec.name = "q" + std::to_string(q);
    spec.skills = {{"s" + std::to_string(q), 3}};
    spec.handle = {Distribution::kLogNormal, aht, 180};
    spec.patience_s = 180;
    spec.wrapup_s = wrap;
    spec.arrivals.resize(n);
    for (int k = 0; k < n; ++k) spec.arrivals[k] = c.load * staffed[k] * 1800 / (aht + wrap) / c.queues;
    s.queues.push_back(spec);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = ParseArgs(argc, argv);
  const Scenario s = Build(cfg);
  std::printf("bench_sim: agents=%d queues=%d load=%.2f replications=%d seed=%llu\n", cfg.agents,
              cfg.queues, cfg.load, cfg.replications, static_cast<unsigned long long>(cfg.seed));
  double best = 0, total_s = 0, total_cpu = 0;
  std::uint64_t total_events = 0;
  for (int r = 0; r < cfg.replications; ++r) {
    const auto t0 = Clock::now();
    const double c0 = CpuSeconds();
    auto run = Simulate(s, r);
    const double sec = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu = CpuSeconds() - c0;
    if (!run) {
      std::fprintf(stderr, "bench_sim: %s\n", run.error().message.c_str());
      return 1;
    }
    const Figures& t = run->all.total;
    const double rate = run->events / sec;
    best = std::max(best, rate);
    total_s += sec;
    total_cpu += cpu;
    total_events += run->events;
    std::printf("replication %d: %.3f s (CPU %.3f s), %llu events (%llu engine events), %.0f events/s "
                "(CPU %.0f); offered %lld, answered %lld, abandoned %lld, SL %.1f%%, occupancy %.1f%%\n",
                r, sec, cpu, static_cast<unsigned long long>(run->events),
                static_cast<unsigned long long>(run->engine_events), rate, run->events / cpu,
                static_cast<long long>(t.offered), static_cast<long long>(t.answered),
                static_cast<long long>(t.abandoned), t.ServiceLevel() * 100, t.Occupancy() * 100);
  }
  std::printf("events/s: %.0f over all replications (wall), best %.0f; by CPU time %.0f\n",
              total_events / total_s, best, total_events / total_cpu);
  return 0;
}
