// SQLite implementation of EventStore: one connection, one writer thread, group commit.

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "adapters/store/event_store.h"

namespace homeline::store {
namespace {

// PRAGMA application_id: "HLEV". Lets us tell our own file from any other SQLite database
// before we touch it (switching a foreign file to WAL would already modify it).
constexpr std::int32_t kApplicationId = 0x484C4556;

// Schema migrations: step i takes the schema from version i to i + 1. Append only: a released
// step is never edited, since databases in the field have already run it.
constexpr std::string_view kMigrations[] = {
    // 1: the event log. seq is the rowid, so appends go to the end of the table's b-tree and
    // replay in seq order is a plain table scan. The (tenant, seq) index serves per-tenant reads.
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE events("
    "  seq INTEGER PRIMARY KEY,"
    "  ts INTEGER NOT NULL,"
    "  tenant INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  payload TEXT NOT NULL);"
    "CREATE INDEX events_tenant_seq ON events(tenant, seq);",
    // 2: call recordings by id (ScanRecording). A partial index on the payload's id, over
    // the recording events only: a download finds its record without reading the tenant's
    // log from the start, and the other events' inserts pay only the type test.
    "CREATE INDEX events_recording ON events(tenant, json_extract(payload, '$.id'))"
    " WHERE type IN ('recording.started', 'recording.paused', 'recording.ended');",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// How long one attempt waits for another connection's lock (SQLite's busy handler). The writer
// then backs off and tries the same batch again, for as long as the lock is held (a backup, an
// operator's `sqlite3` shell): replies wait, and new writes get 503 once the queue is full
// (docs/decisions.md 41, 45). Readers (scans) give up after one attempt.
constexpr int kBusyTimeoutMs = 5000;
// Pause between the writer's attempts while the database stays locked, doubling to the max.
constexpr std::chrono::milliseconds kBusyBackoffFirst{10};
constexpr std::chrono::milliseconds kBusyBackoffMax{1000};
// Once Stop() is asked, a lock held this much longer fails the store instead of hanging the
// shutdown (nothing still queued then has been acknowledged).
constexpr std::chrono::seconds kBusyLimitWhileStopping{30};

bool IsBusy(int rc) { return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED; }

// SQLite's default: once the WAL holds this many pages, the writer checkpoints it (copies the
// pages into the main file, fsyncs both) right after a commit. Measured with bench_store:
// larger thresholds make each stall of the commit path longer without saving work, and
// checkpointing on a second thread and connection halved commits/s at light load (its fsyncs
// compete with the WAL's) while helping only at saturation, far above any real load.
constexpr int kWalAutocheckpointPages = 1000;
// After a burst the WAL file is truncated back to this size instead of keeping its peak.
constexpr std::int64_t kJournalSizeLimitBytes = 64 << 20;

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// A file that is not a database, or not ours, is the operator's mistake (kBadRequest); any
// other failure means the store cannot work right now (kUnavailable).
Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  const ErrorCode code =
      primary == SQLITE_NOTADB ? ErrorCode::kBadRequest : ErrorCode::kUnavailable;
  std::string message = "sqlite store: ";
  message += what;
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error{code, std::move(message)};
}

Status Exec(sqlite3* db, const char* sql, std::string_view what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(SqliteError(db, rc, what));
  return {};
}

Result<StmtPtr> Prepare(sqlite3* db, std::string_view sql, unsigned flags = 0) {
  sqlite3_stmt* stmt = nullptr;
  const int rc =
      sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), flags, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return std::unexpected(SqliteError(db, rc, std::string("prepare ") + std::string(sql)));
  }
  return StmtPtr(stmt);
}

// First column of the first row; fallback when the query returns no row.
Result<std::int64_t> QueryInt(sqlite3* db, std::string_view sql, std::int64_t fallback = 0) {
  auto stmt = Prepare(db, sql);
  if (!stmt) return std::unexpected(stmt.error());
  const int rc = sqlite3_step(stmt->get());
  if (rc == SQLITE_ROW) return sqlite3_column_int64(stmt->get(), 0);
  if (rc == SQLITE_DONE) return fallback;
  return std::unexpected(SqliteError(db, rc, sql));
}

// Returns the schema version of an existing Homeline database, 0 for an empty file, or an
// error for anything else. Reads only, so a refused file is left exactly as it was.
Result<int> ReadSchemaVersion(sqlite3* db, const std::string& path) {
  auto app_id = QueryInt(db, "PRAGMA application_id");
  if (!app_id) {
    if (app_id.error().code == ErrorCode::kBadRequest) {
      return Fail(ErrorCode::kBadRequest, "sqlite store: " + path + " is not an SQLite database");
    }
    return std::unexpected(app_id.error());
  }
  if (*app_id != kApplicationId) {
    if (*app_id != 0) {
      return Fail(ErrorCode::kBadRequest, "sqlite store: " + path +
                                              " is an SQLite database of another application "
                                              "(application_id " +
                                              std::to_string(*app_id) + ")");
    }
    auto objects = QueryInt(db, "SELECT count(*) FROM sqlite_schema");
    if (!objects) return std::unexpected(objects.error());
    if (*objects != 0) {
      return Fail(ErrorCode::kBadRequest,
                  "sqlite store: " + path + " is an SQLite database but not a Homeline one");
    }
    return 0;
  }
  auto version =
      QueryInt(db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'schema_version'", -1);
  if (!version) return std::unexpected(version.error());
  if (*version < 1) {
    return Fail(ErrorCode::kBadRequest,
                "sqlite store: " + path + " is a damaged Homeline database (no schema version)");
  }
  if (*version > kSchemaVersion) {
    return Fail(ErrorCode::kBadRequest,
                "sqlite store: " + path + " has schema version " + std::to_string(*version) +
                    ", newer than this Homeline knows (" + std::to_string(kSchemaVersion) +
                    "); run a newer Homeline");
  }
  return static_cast<int>(*version);
}

// Runs the pending steps in one transaction, so a crash mid-migration leaves the old schema.
Result<int> Migrate(sqlite3* db, const std::string& path) {
  // IMMEDIATE takes the write lock up front: a second process migrating the same file waits
  // (busy_timeout) and then sees the version we wrote, instead of failing half-way.
  if (auto s = Exec(db, "BEGIN IMMEDIATE", "begin migration"); !s)
    return std::unexpected(s.error());
  auto run = [&]() -> Result<int> {
    auto version = ReadSchemaVersion(db, path);
    if (!version) return version;
    if (*version == kSchemaVersion) return version;
    for (int v = *version; v < kSchemaVersion; ++v) {
      const std::string sql(kMigrations[v]);
      if (auto s = Exec(db, sql.c_str(), "migration to version " + std::to_string(v + 1)); !s) {
        return std::unexpected(s.error());
      }
    }
    const std::string stamp = "PRAGMA application_id = " + std::to_string(kApplicationId) +
                              ";"
                              "INSERT INTO meta(key, value) VALUES('schema_version', '" +
                              std::to_string(kSchemaVersion) +
                              "') ON CONFLICT(key) DO UPDATE SET value = excluded.value;";
    if (auto s = Exec(db, stamp.c_str(), "record schema version"); !s) {
      return std::unexpected(s.error());
    }
    return kSchemaVersion;
  };
  auto version = run();
  if (!version) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return version;
  }
  if (auto s = Exec(db, "COMMIT", "commit migration"); !s) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return std::unexpected(s.error());
  }
  return version;
}

struct OpenedDb {
  DbPtr db;
  int version = 0;
};

Result<OpenedDb> OpenAndMigrate(const std::string& path, const SqliteOptions& options) {
  sqlite3* raw = nullptr;
  // NOMUTEX: one thread at a time uses the connection (the caller before Start(), the writer
  // after), so SQLite's per-call connection mutex would be pure overhead on the insert loop.
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);  // sqlite3_open_v2 allocates a handle even on failure; it must be closed.
  if (rc != SQLITE_OK) return std::unexpected(SqliteError(raw, rc, "open " + path));
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);

  // Identify the file before any pragma that writes to it.
  if (auto version = ReadSchemaVersion(db.get(), path); !version) {
    return std::unexpected(version.error());
  }

  auto mode = Prepare(db.get(), "PRAGMA journal_mode = WAL");
  if (!mode) return std::unexpected(mode.error());
  if (const int step = sqlite3_step(mode->get()); step != SQLITE_ROW) {
    return std::unexpected(SqliteError(db.get(), step, "set WAL mode"));
  }
  const std::string_view got(reinterpret_cast<const char*>(sqlite3_column_text(mode->get(), 0)));
  if (got != "wal") {
    return Fail(ErrorCode::kUnavailable, "sqlite store: " + path +
                                             " cannot use WAL mode (journal_mode is " +
                                             std::string(got) + ")");
  }
  mode->reset();

  // In WAL mode synchronous=FULL fsyncs the WAL at every COMMIT, which is what makes an
  // on_durable promise survive power loss; NORMAL would only survive a process crash.
  const std::string pragmas = std::string("PRAGMA synchronous = ") +
                              (options.fsync ? "FULL" : "OFF") +
                              ";"
                              "PRAGMA wal_autocheckpoint = " +
                              std::to_string(kWalAutocheckpointPages) +
                              ";"
                              "PRAGMA journal_size_limit = " +
                              std::to_string(kJournalSizeLimitBytes) + ";";
  if (auto s = Exec(db.get(), pragmas.c_str(), "configure"); !s) return std::unexpected(s.error());

  auto version = Migrate(db.get(), path);
  if (!version) return std::unexpected(version.error());
  return OpenedDb{std::move(db), *version};
}

class SqliteEventStore final : public EventStore {
 public:
  SqliteEventStore(DbPtr db, const SqliteOptions& options, std::uint64_t last_seq,
                   std::string path)
      : path_(std::move(path)),
        db_(std::move(db)),
        max_batch_(std::max<std::size_t>(options.max_batch, 1)),
        max_queued_(std::max<std::size_t>(options.max_queued_events, 1)),
        last_seq_(last_seq),
        next_seq_(last_seq + 1) {}

  ~SqliteEventStore() override { Stop(); }

  Status Init() {
    // PERSISTENT: these live as long as the store, so SQLite keeps them out of its lookaside.
    auto begin = Prepare(db_.get(), "BEGIN IMMEDIATE", SQLITE_PREPARE_PERSISTENT);
    auto commit = Prepare(db_.get(), "COMMIT", SQLITE_PREPARE_PERSISTENT);
    auto insert = Prepare(
        db_.get(), "INSERT INTO events(seq, ts, tenant, type, payload) VALUES(?, ?, ?, ?, ?)",
        SQLITE_PREPARE_PERSISTENT);
    if (!begin) return std::unexpected(begin.error());
    if (!commit) return std::unexpected(commit.error());
    if (!insert) return std::unexpected(insert.error());
    begin_ = std::move(*begin);
    commit_ = std::move(*commit);
    insert_ = std::move(*insert);
    return {};
  }

  Status Replay(const std::function<Status(const StoredEvent&)>& fn) override {
    assert(!writer_.joinable() && "Replay() runs before Start(): they share one connection");
    try {
      auto stmt =
          Prepare(db_.get(), "SELECT seq, ts, tenant, type, payload FROM events ORDER BY seq");
      if (!stmt) return std::unexpected(stmt.error());
      sqlite3_stmt* s = stmt->get();
      StoredEvent event;  // reused, so each row costs no allocation once strings have grown
      std::uint64_t previous = 0;
      int rc;
      while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        event.seq = static_cast<std::uint64_t>(sqlite3_column_int64(s, 0));
        // The engine rebuilds its state from this log; a hole means rows were removed
        // outside Homeline and the rebuilt state would silently be wrong.
        if (event.seq != previous + 1) {
          return Fail(ErrorCode::kInternal, "sqlite store: event log has a gap: seq " +
                                                std::to_string(event.seq) + " follows " +
                                                std::to_string(previous));
        }
        previous = event.seq;
        event.ts = sqlite3_column_int64(s, 1);
        event.tenant = static_cast<std::uint64_t>(sqlite3_column_int64(s, 2));
        // text() before bytes(): SQLite's documented order for a correct length.
        const auto* type = reinterpret_cast<const char*>(sqlite3_column_text(s, 3));
        event.type.assign(type != nullptr ? type : "", sqlite3_column_bytes(s, 3));
        const auto* payload = reinterpret_cast<const char*>(sqlite3_column_text(s, 4));
        event.payload.assign(payload != nullptr ? payload : "", sqlite3_column_bytes(s, 4));
        if (auto status = fn(event); !status) return status;
      }
      if (rc != SQLITE_DONE) return std::unexpected(SqliteError(db_.get(), rc, "replay"));
      return {};
    } catch (const std::exception& e) {
      return Fail(ErrorCode::kInternal, std::string("sqlite store: replay: ") + e.what());
    }
  }

  std::uint64_t LastSeq() const override { return last_seq_.load(std::memory_order_acquire); }

  Status ScanTenant(std::uint64_t tenant, TimeMs from, const std::vector<std::string>& types,
                    const std::function<Status(const StoredEvent&)>& fn) const override {
    std::string sql = "SELECT seq, ts, tenant, type, payload FROM events WHERE tenant = ? AND ts >= ?";
    if (!types.empty()) {
      sql += " AND type IN (";
      for (std::size_t i = 0; i < types.size(); ++i) sql += i == 0 ? "?" : ", ?";
      sql += ")";
    }
    sql += " ORDER BY seq";
    return Scan(sql, [&](sqlite3_stmt* st) {
      sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(tenant));
      sqlite3_bind_int64(st, 2, from);
      for (std::size_t i = 0; i < types.size(); ++i)
        sqlite3_bind_text(st, static_cast<int>(i) + 3, types[i].data(),
                          static_cast<int>(types[i].size()), SQLITE_STATIC);
    }, fn);
  }

  Status ScanRecording(std::uint64_t tenant, std::uint64_t id,
                       const std::function<Status(const StoredEvent&)>& fn) const override {
    // The types are written out as in the index's WHERE (not bound), so that SQLite can tell
    // the partial index applies; ids above 2^63 are not ids the engine hands out.
    if (id > static_cast<std::uint64_t>(INT64_MAX)) return {};
    return Scan(
        "SELECT seq, ts, tenant, type, payload FROM events WHERE tenant = ?"
        " AND type IN ('recording.started', 'recording.paused', 'recording.ended')"
        " AND json_extract(payload, '$.id') = ? ORDER BY seq",
        [&](sqlite3_stmt* st) {
          sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(tenant));
          sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(id));
        },
        fn);
  }

  // One read on a connection of its own: the writer's is used only by its thread, and WAL
  // lets a reader run beside it without blocking either.
  Status Scan(const std::string& sql, const std::function<void(sqlite3_stmt*)>& bind,
              const std::function<Status(const StoredEvent&)>& fn) const {
    try {
      sqlite3* raw = nullptr;
      const int rc = sqlite3_open_v2(path_.c_str(), &raw,
                                     SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
      DbPtr db(raw);
      if (rc != SQLITE_OK) return std::unexpected(SqliteError(raw, rc, "open for reading"));
      sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
      auto stmt = Prepare(db.get(), sql);
      if (!stmt) return std::unexpected(stmt.error());
      sqlite3_stmt* st = stmt->get();
      bind(st);
      StoredEvent event;
      int step;
      while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        event.seq = static_cast<std::uint64_t>(sqlite3_column_int64(st, 0));
        event.ts = sqlite3_column_int64(st, 1);
        event.tenant = static_cast<std::uint64_t>(sqlite3_column_int64(st, 2));
        const auto* type = reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
        event.type.assign(type != nullptr ? type : "", sqlite3_column_bytes(st, 3));
        const auto* payload = reinterpret_cast<const char*>(sqlite3_column_text(st, 4));
        event.payload.assign(payload != nullptr ? payload : "", sqlite3_column_bytes(st, 4));
        if (auto status = fn(event); !status) return status;
      }
      if (step != SQLITE_DONE) return std::unexpected(SqliteError(db.get(), step, "scan"));
      return {};
    } catch (const std::exception& e) {
      return Fail(ErrorCode::kInternal, std::string("sqlite store: scan: ") + e.what());
    }
  }

  void Start(std::function<void(std::uint64_t seq)> on_durable,
             std::function<void(const Error&)> on_failure) override {
    std::lock_guard stop_lock(lifecycle_mu_);
    assert(!started_ && "Start() is called once");
    if (started_) return;
    started_ = true;
    on_durable_ = std::move(on_durable);
    on_failure_ = std::move(on_failure);
    writer_ = std::thread([this] { WriterLoop(); });
  }

  void Append(std::vector<StoredEvent> events) override {
    if (events.empty()) return;
    {
      std::lock_guard lock(mu_);
      if (failed_ || stopping_ || misuse_) {
        dropped_ += events.size();
        return;
      }
      for (std::size_t i = 0; i < events.size(); ++i) {
        if (events[i].seq != next_seq_ + i) {
          misuse_ = Error{ErrorCode::kInternal, "sqlite store: append out of seq order: got " +
                                                    std::to_string(events[i].seq) + ", expected " +
                                                    std::to_string(next_seq_ + i)};
          dropped_ += events.size();
          break;
        }
      }
      if (!misuse_) {
        next_seq_ += events.size();
        if (pending_.empty()) {
          pending_ = std::move(events);  // the common case under load: no per-event moves
        } else {
          pending_.insert(pending_.end(), std::make_move_iterator(events.begin()),
                          std::make_move_iterator(events.end()));
        }
      }
    }
    wake_.notify_one();
  }

  void Stop() override {
    // Serialises concurrent Stop() calls, so exactly one of them joins.
    std::lock_guard stop_lock(lifecycle_mu_);
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (writer_.joinable()) {
      assert(writer_.get_id() != std::this_thread::get_id() && "Stop() from on_durable");
      writer_.join();
    } else if (!started_) {
      // Events appended without a writer thread are still owed a commit.
      started_ = true;
      WriterLoop();
    }
  }

  StoreStats Stats() const override {
    std::lock_guard lock(mu_);
    StoreStats stats;
    stats.committed_events = committed_events_;
    stats.commits = commits_;
    stats.queued_events = pending_.size() + in_flight_;
    stats.dropped_events = dropped_;
    stats.busy_retries = busy_retries_;
    stats.failed = failed_;
    stats.full = stats.queued_events >= max_queued_;
    return stats;
  }

 private:
  void WriterLoop() {
    std::vector<StoredEvent> batch;
    batch.reserve(std::min<std::size_t>(max_batch_, 4096));
    for (;;) {
      std::optional<Error> misuse;
      {
        std::unique_lock lock(mu_);
        wake_.wait(lock, [this] { return !pending_.empty() || stopping_ || misuse_; });
        if (pending_.empty()) {
          if (!misuse_) return;  // stopping, and everything queued is committed
          misuse = misuse_;
        } else {
          TakeBatch(batch);
          in_flight_ = batch.size();
        }
      }
      if (misuse) {
        FailStore(*misuse);
        return;
      }
      // Appends arriving from here on accumulate in pending_ for the next batch: that is
      // what turns one fsync per commit into one fsync per many events.
      Status committed = CommitRetryingWhileBusy(batch);
      if (!committed) {
        FailStore(committed.error());
        return;
      }
      const std::uint64_t durable = batch.back().seq;
      {
        std::lock_guard lock(mu_);
        committed_events_ += batch.size();
        ++commits_;
        in_flight_ = 0;
      }
      last_seq_.store(durable, std::memory_order_release);
      batch.clear();
      if (on_durable_) on_durable_(durable);
    }
  }

  // Commits the batch; while another connection holds the database's lock past the busy
  // timeout, the failed attempt (rolled back, nothing written) is retried after a pause. Other
  // failures, and a lock still held kBusyLimitWhileStopping after Stop(), are returned.
  Status CommitRetryingWhileBusy(const std::vector<StoredEvent>& batch) {
    auto backoff = kBusyBackoffFirst;
    std::optional<std::chrono::steady_clock::time_point> stop_seen;
    for (;;) {
      last_rc_ = SQLITE_OK;
      Status committed;
      try {
        committed = CommitBatch(batch);
      } catch (const std::exception& e) {
        return Fail(ErrorCode::kInternal, std::string("sqlite store: commit: ") + e.what());
      }
      if (committed || !IsBusy(last_rc_)) return committed;
      std::unique_lock lock(mu_);
      ++busy_retries_;
      const auto now = std::chrono::steady_clock::now();
      if (stopping_) {
        if (!stop_seen) stop_seen = now;
        if (now - *stop_seen >= kBusyLimitWhileStopping) return committed;
      }
      // Appends wake the wait early; that only makes the next attempt sooner.
      wake_.wait_for(lock, backoff);
      backoff = std::min(backoff * 2, kBusyBackoffMax);
    }
  }

  // Requires mu_. Swapping keeps the lock hold O(1) whatever the batch size.
  void TakeBatch(std::vector<StoredEvent>& batch) {
    if (pending_.size() <= max_batch_) {
      batch.swap(pending_);
      return;
    }
    const auto end = pending_.begin() + static_cast<std::ptrdiff_t>(max_batch_);
    batch.assign(std::make_move_iterator(pending_.begin()), std::make_move_iterator(end));
    pending_.erase(pending_.begin(), end);
  }

  Status CommitBatch(const std::vector<StoredEvent>& batch) {
    sqlite3* db = db_.get();
    if (auto s = Step(begin_.get(), "begin"); !s) return s;
    sqlite3_stmt* insert = insert_.get();
    for (const StoredEvent& e : batch) {
      // SQLITE_STATIC: the batch outlives the step, so SQLite reads our buffers in place
      // instead of copying every payload.
      sqlite3_bind_int64(insert, 1, static_cast<sqlite3_int64>(e.seq));
      sqlite3_bind_int64(insert, 2, e.ts);
      sqlite3_bind_int64(insert, 3, static_cast<sqlite3_int64>(e.tenant));
      sqlite3_bind_text64(insert, 4, e.type.data(), e.type.size(), SQLITE_STATIC, SQLITE_UTF8);
      sqlite3_bind_text64(insert, 5, e.payload.data(), e.payload.size(), SQLITE_STATIC,
                          SQLITE_UTF8);
      if (auto s = Step(insert, "insert event " + std::to_string(e.seq)); !s) {
        sqlite3_clear_bindings(insert);
        sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
        return s;
      }
    }
    sqlite3_clear_bindings(insert);  // drop pointers into the batch before it is cleared
    if (auto s = Step(commit_.get(), "commit"); !s) {
      // A failed COMMIT may leave the transaction open; roll back so nothing half-made stays.
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
    return {};
  }

  Status Step(sqlite3_stmt* stmt, std::string_view what) {
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) {
      last_rc_ = rc;
      return std::unexpected(SqliteError(db_.get(), rc, what));
    }
    return {};
  }

  void FailStore(const Error& error) {
    {
      std::lock_guard lock(mu_);
      failed_ = true;
      dropped_ += pending_.size() + in_flight_;
      pending_.clear();
      in_flight_ = 0;
    }
    if (on_failure_) on_failure_(error);
  }

  // Declared first so it is destroyed last, after the statements that belong to it.
  const std::string path_;  // for ScanTenant's own connections
  DbPtr db_;
  StmtPtr begin_;
  StmtPtr commit_;
  StmtPtr insert_;
  const std::size_t max_batch_;
  const std::size_t max_queued_;
  std::atomic<std::uint64_t> last_seq_;

  // Set in Start() before the writer thread exists, read only by it afterwards.
  std::function<void(std::uint64_t)> on_durable_;
  std::function<void(const Error&)> on_failure_;

  std::mutex lifecycle_mu_;  // Start() and Stop()
  bool started_ = false;     // guarded by lifecycle_mu_
  std::thread writer_;       // guarded by lifecycle_mu_

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<StoredEvent> pending_;    // guarded by mu_
  std::uint64_t next_seq_;              // guarded by mu_: the seq the next appended event carries
  std::optional<Error> misuse_;         // guarded by mu_: an out-of-order Append, to be reported
  bool stopping_ = false;               // guarded by mu_
  bool failed_ = false;                 // guarded by mu_
  std::size_t in_flight_ = 0;           // guarded by mu_: events the writer is committing
  std::uint64_t committed_events_ = 0;  // guarded by mu_
  std::uint64_t commits_ = 0;           // guarded by mu_
  std::uint64_t dropped_ = 0;           // guarded by mu_
  std::uint64_t busy_retries_ = 0;      // guarded by mu_
  int last_rc_ = 0;                     // writer thread: the code of the last failed step
};

}  // namespace

Result<std::unique_ptr<EventStore>> OpenSqliteStore(const std::string& path,
                                                    const SqliteOptions& options) {
  try {
    auto opened = OpenAndMigrate(path, options);
    if (!opened) return std::unexpected(opened.error());
    auto last_seq = QueryInt(opened->db.get(), "SELECT coalesce(max(seq), 0) FROM events");
    if (!last_seq) return std::unexpected(last_seq.error());
    auto store = std::make_unique<SqliteEventStore>(std::move(opened->db), options,
                                                    static_cast<std::uint64_t>(*last_seq), path);
    if (auto s = store->Init(); !s) return std::unexpected(s.error());
    return std::unique_ptr<EventStore>(std::move(store));
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("sqlite store: open ") + path + ": " + e.what());
  }
}

Result<int> MigrateSqlite(const std::string& path) {
  try {
    auto opened = OpenAndMigrate(path, SqliteOptions{});
    if (!opened) return std::unexpected(opened.error());
    return opened->version;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal,
                std::string("sqlite store: migrate ") + path + ": " + e.what());
  }
}

}  // namespace homeline::store
