#pragma once
// The durable event log. Every state change of the engine is an event; the store appends
// events in batches (group commit: many events, one transaction, one fsync) and replays them
// at start so the engine can rebuild its state.
//
// Threads: Replay() and LastSeq() are called once, before Start(), on the caller's thread.
// Append() may be called from any thread after Start(). The on_durable callback runs on the
// store's writer thread and must only post work elsewhere.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/time.h"

namespace homeline::store {

struct StoredEvent {
  std::uint64_t seq = 0;     // assigned by the engine; strictly increasing from 1, no gaps
  TimeMs ts = 0;             // engine time of the change
  std::uint64_t tenant = 0;  // 0 for platform-level events (users, tenants)
  std::string type;          // e.g. "agent.presence"
  std::string payload;       // JSON object text
};

struct StoreStats {
  std::uint64_t committed_events = 0;
  std::uint64_t commits = 0;       // transactions (each one fsync)
  std::uint64_t queued_events = 0; // appended but not yet committed
  std::uint64_t dropped_events = 0; // refused or lost: appended after Stop() or after a failure
  bool failed = false;              // on_failure was called; nothing more will be committed
  // Commits retried because another connection held the database locked past the busy
  // timeout (the SQLite store waits it out; see docs/decisions.md 45).
  std::uint64_t busy_retries = 0;
  // queued_events has reached the store's bound (SqliteOptions::max_queued_events): the disk
  // is behind. Append still takes what comes (the engine has applied those events already);
  // the owner stops admitting new writes until it clears (the server answers them 503).
  bool full = false;
};

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Calls fn for every committed event in seq order. Stops at the first error fn returns.
  [[nodiscard]] virtual Status Replay(const std::function<Status(const StoredEvent&)>& fn) = 0;

  // Highest committed seq (0 when empty).
  virtual std::uint64_t LastSeq() const = 0;

  // Starts the writer thread. on_durable(seq): every event with seq <= seq is committed and
  // synced to disk. on_failure: the store can no longer write (disk full, I/O error); the
  // server treats it as fatal, since nothing more can be acknowledged.
  virtual void Start(std::function<void(std::uint64_t seq)> on_durable,
                     std::function<void(const Error&)> on_failure) = 0;

  // Queues events for the next group commit. Never blocks on I/O, and never refuses for a
  // full queue: bounding the queue is the caller's part, by Stats().full. Events must arrive in seq
  // order across calls, contiguous from LastSeq() + 1; an event out of order is a bug, reported
  // through on_failure once what was queued before it is committed. After a failure or Stop(),
  // events are dropped and counted in Stats().dropped_events.
  virtual void Append(std::vector<StoredEvent> events) = 0;

  // Commits what is queued, then stops the writer thread. Idempotent.
  virtual void Stop() = 0;

  virtual StoreStats Stats() const = 0;

  // Reads the committed events of one tenant with ts ≥ from whose type is one of `types`, in
  // seq order, on a connection of its own: callable from any thread, at any time after open,
  // alongside the writer (it sees what was committed when it started). For reads of the
  // history that the engine no longer holds (forecasts, reports), off the engine thread.
  // Stops at the first error fn returns. Cost: a scan of the tenant's events since `from`.
  [[nodiscard]] virtual Status ScanTenant(
      std::uint64_t tenant, TimeMs from, const std::vector<std::string>& types,
      const std::function<Status(const StoredEvent&)>& fn) const = 0;

  // Reads the committed events of one call recording: tenant's recording.started, .paused and
  // .ended whose payload "id" is `id`, in seq order, like ScanTenant (any thread, own
  // connection). Cost: an index lookup (schema version 2 indexes those events by tenant and
  // id) plus the recording's own events, whatever the log's length (docs/decisions.md 48).
  [[nodiscard]] virtual Status ScanRecording(
      std::uint64_t tenant, std::uint64_t id,
      const std::function<Status(const StoredEvent&)>& fn) const = 0;
};

struct SqliteOptions {
  bool fsync = true;  // synchronous=FULL in WAL mode; off only for throwaway benchmarks
  std::size_t max_batch = 4096;  // events per transaction at most
  // Events queued (appended, not yet committed) at which Stats().full is set. About two seconds
  // of the writer's peak rate (bench/store), a few tens of MB of payloads.
  std::size_t max_queued_events = 100000;
};

// Opens (creating if missing) the SQLite database at path, runs schema migrations, and returns
// the store. Fails if the file is not a Homeline database or is from a newer schema; a refused
// file is left untouched.
[[nodiscard]] Result<std::unique_ptr<EventStore>> OpenSqliteStore(const std::string& path,
                                                                  const SqliteOptions& options);

// Runs pending migrations only (`homeline migrate`); returns the schema version reached.
[[nodiscard]] Result<int> MigrateSqlite(const std::string& path);

}  // namespace homeline::store
