// Group-commit throughput and latency of the SQLite event store, with fsync on.
//
// N producer threads append small JSON events (one event per Append, seqs assigned under one
// lock, as the engine does) as fast as the store lets them for a fixed time. Each producer may
// have at most --window/N events appended but not yet durable, as a server whose clients wait
// for their acknowledgements. Then the bench waits until everything appended is durable.
//
// usage: bench_store [--seconds S] [--producers N] [--window W] [--max-batch B] [--no-fsync]
//                    [--dir DIR]

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapters/store/event_store.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
using homeline::store::StoredEvent;

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct Config {
  double seconds = 3;
  int producers = 4;
  std::uint64_t window = 8192;
  std::size_t max_batch = 4096;
  bool fsync = true;
  std::string dir;
};

Config ParseArgs(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--seconds")
      c.seconds = std::atof(value());
    else if (arg == "--producers")
      c.producers = std::max(1, std::atoi(value()));
    else if (arg == "--window")
      c.window = std::max<std::uint64_t>(1, std::strtoull(value(), nullptr, 10));
    else if (arg == "--max-batch")
      c.max_batch = std::strtoull(value(), nullptr, 10);
    else if (arg == "--no-fsync")
      c.fsync = false;
    else if (arg == "--dir")
      c.dir = value();
    else {
      std::fprintf(stderr, "unknown argument %s\n", arg.c_str());
      std::exit(2);
    }
  }
  return c;
}

double Percentile(std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const std::size_t i = std::min(sorted.size() - 1, static_cast<std::size_t>(p * sorted.size()));
  return static_cast<double>(sorted[i]);
}

}  // namespace

int main(int argc, char** argv) {
  const Config config = ParseArgs(argc, argv);
  std::string dir = config.dir.empty()
                        ? (fs::temp_directory_path() / "homeline-bench-store-XXXXXX").string()
                        : config.dir + "/homeline-bench-store-XXXXXX";
  if (mkdtemp(dir.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string path = dir + "/events.db";

  auto opened = homeline::store::OpenSqliteStore(
      path, {.fsync = config.fsync, .max_batch = config.max_batch});
  if (!opened) {
    std::fprintf(stderr, "open: %s\n", opened.error().message.c_str());
    return 1;
  }
  auto& store = *opened;

  // Indexed by seq; sized for far more than a fast disk commits in the run. Left
  // uninitialised so the pages are only touched (and paid for) as events are appended.
  const std::size_t capacity = 64u << 20;
  auto appended_ns = std::make_unique_for_overwrite<std::int64_t[]>(capacity + 1);
  // Written only by the writer thread (on_durable), read after Stop().
  std::vector<std::pair<std::uint64_t, std::int64_t>> durable_at;
  durable_at.reserve(1 << 20);
  std::atomic<std::uint64_t> durable{0};
  std::atomic<bool> failed{false};

  store->Start(
      [&](std::uint64_t seq) {
        durable_at.emplace_back(seq, NowNs());
        durable.store(seq, std::memory_order_release);
        durable.notify_all();
      },
      [&](const homeline::Error& error) {
        std::fprintf(stderr, "store failure: %s\n", error.message.c_str());
        failed = true;
        // Release producers blocked in durable.wait(): it only returns once the value changes.
        durable.store(UINT64_MAX);
        durable.notify_all();
      });

  const std::string type = "agent.presence";
  std::mutex seq_mu;
  std::uint64_t next_seq = 1;  // guarded by seq_mu
  std::atomic<bool> stop{false};
  const std::uint64_t per_producer_window =
      std::max<std::uint64_t>(1, config.window / static_cast<std::uint64_t>(config.producers));

  const std::int64_t started_ns = NowNs();
  std::vector<std::thread> producers;
  for (int p = 0; p < config.producers; ++p) {
    producers.emplace_back([&, p] {
      std::vector<std::uint64_t> mine;  // own seqs, oldest first, not yet known durable
      std::size_t head = 0;
      std::uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed) && !failed.load()) {
        while (head < mine.size() && mine[head] <= durable.load(std::memory_order_acquire)) ++head;
        if (mine.size() - head >= per_producer_window) {
          const std::uint64_t d = durable.load(std::memory_order_acquire);
          if (mine[head] > d && !failed.load()) durable.wait(d);
          continue;
        }
        // ~100 bytes of JSON, like a presence or routing event.
        char payload[160];
        const int len = std::snprintf(
            payload, sizeof(payload),
            R"({"agent":"agent-%04d","tenant":%d,"state":"available","reason":"",)"
            R"("n":%llu,"queue":"sales","skill":"en"})",
            p * 1000 + static_cast<int>(n % 1000), p, static_cast<unsigned long long>(n));
        ++n;
        StoredEvent event{.seq = 0,
                          .ts = 0,
                          .tenant = static_cast<std::uint64_t>(p),
                          .type = type,
                          .payload = std::string(payload, static_cast<std::size_t>(len))};
        std::vector<StoredEvent> events;
        events.reserve(1);
        {
          std::lock_guard lock(seq_mu);
          if (next_seq > capacity) break;
          event.seq = next_seq++;
          event.ts = NowNs() / 1'000'000;
          appended_ns[event.seq] = NowNs();
          events.push_back(std::move(event));
          mine.push_back(events.back().seq);
          store->Append(std::move(events));
        }
        if (mine.size() > 4096 && head > mine.size() / 2) {
          mine.erase(mine.begin(), mine.begin() + static_cast<std::ptrdiff_t>(head));
          head = 0;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(config.seconds));
  stop = true;
  for (auto& t : producers) t.join();
  const std::uint64_t last = next_seq - 1;
  std::error_code size_error;
  const auto wal_bytes = fs::file_size(path + "-wal", size_error);
  const auto db_bytes = fs::file_size(path, size_error);
  store->Stop();  // commits the tail; every appended event is durable after this
  const std::int64_t ended_ns = durable_at.empty() ? NowNs() : durable_at.back().second;
  const double elapsed = static_cast<double>(ended_ns - started_ns) / 1e9;
  const auto stats = store->Stats();

  // Latency of seq s: from its Append to the first on_durable covering it.
  std::vector<std::int64_t> latency;
  latency.reserve(last);
  std::size_t d = 0;
  for (std::uint64_t seq = 1; seq <= last && d < durable_at.size(); ++seq) {
    while (d < durable_at.size() && durable_at[d].first < seq) ++d;
    if (d == durable_at.size()) break;
    latency.push_back(durable_at[d].second - appended_ns[seq]);
  }
  std::sort(latency.begin(), latency.end());

  std::printf("store bench: fsync=%s producers=%d window=%llu max_batch=%zu dir=%s\n",
              config.fsync ? "on" : "off", config.producers,
              static_cast<unsigned long long>(config.window), config.max_batch, dir.c_str());
  std::printf("  events committed   %llu in %.2f s%s\n",
              static_cast<unsigned long long>(stats.committed_events), elapsed,
              stats.failed ? "  (STORE FAILED)" : "");
  std::printf("  events/s           %.0f\n", static_cast<double>(stats.committed_events) / elapsed);
  std::printf("  commits/s          %.0f\n", static_cast<double>(stats.commits) / elapsed);
  std::printf("  events/commit      %.1f\n",
              stats.commits
                  ? static_cast<double>(stats.committed_events) / static_cast<double>(stats.commits)
                  : 0.0);
  std::printf("  files at end       db %.1f MiB, wal %.1f MiB\n", db_bytes / 1048576.0,
              wal_bytes / 1048576.0);
  std::printf("  append->durable    p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
              Percentile(latency, 0.50) / 1e6, Percentile(latency, 0.99) / 1e6,
              latency.empty() ? 0.0 : static_cast<double>(latency.back()) / 1e6);

  store.reset();
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  return stats.failed || stats.committed_events != last ? 1 : 0;
}
