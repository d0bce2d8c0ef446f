// The SQLite event store against real database files, one fresh directory per test.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "adapters/store/event_store.h"

namespace homeline::store {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Every wait in these tests is bounded by this, so a hang fails instead of stalling CI.
constexpr auto kWaitLimit = 30s;

// pad adds that many bytes, derived from seq, so a torn or misplaced page shows up.
std::string PayloadFor(std::uint64_t seq, std::size_t pad) {
  return R"({"seq":)" + std::to_string(seq) + R"(,"agent":"a-)" + std::to_string(seq % 97) +
         R"(","state":"available","pad":")" + std::string(pad, static_cast<char>('a' + seq % 26)) +
         R"("})";
}

StoredEvent MakeEvent(std::uint64_t seq, std::size_t pad = 0) {
  return StoredEvent{.seq = seq,
                     .ts = 1'700'000'000'000 + static_cast<TimeMs>(seq),
                     .tenant = seq % 3,
                     .type = "agent.presence",
                     .payload = PayloadFor(seq, pad)};
}

std::vector<StoredEvent> MakeEvents(std::uint64_t first, std::uint64_t last, std::size_t pad = 0) {
  std::vector<StoredEvent> events;
  for (std::uint64_t seq = first; seq <= last; ++seq) events.push_back(MakeEvent(seq, pad));
  return events;
}

// Records on_durable / on_failure calls from the writer thread, and lets the test wait.
class Callbacks {
 public:
  std::function<void(std::uint64_t)> OnDurable() {
    return [this](std::uint64_t seq) {
      std::lock_guard lock(mu_);
      durable_.push_back(seq);
      cv_.notify_all();
    };
  }
  std::function<void(const Error&)> OnFailure() {
    return [this](const Error& error) {
      std::lock_guard lock(mu_);
      failures_.push_back(error);
      cv_.notify_all();
    };
  }
  bool WaitDurable(std::uint64_t seq) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWaitLimit,
                        [&] { return !durable_.empty() && durable_.back() >= seq; });
  }
  bool WaitFailure() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kWaitLimit, [&] { return !failures_.empty(); });
  }
  std::vector<std::uint64_t> durable() const {
    std::lock_guard lock(mu_);
    return durable_;
  }
  std::vector<Error> failures() const {
    std::lock_guard lock(mu_);
    return failures_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::uint64_t> durable_;
  std::vector<Error> failures_;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "homeline-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr) << std::strerror(errno);
    dir_ = templ;
    path_ = (dir_ / "events.db").string();
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::unique_ptr<EventStore> Open(SqliteOptions options = {}) {
    auto store = OpenSqliteStore(path_, options);
    EXPECT_TRUE(store.has_value()) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }

  std::vector<StoredEvent> ReplayAll(EventStore& store) {
    std::vector<StoredEvent> events;
    auto status = store.Replay([&](const StoredEvent& e) -> Status {
      events.push_back(e);
      return {};
    });
    EXPECT_TRUE(status.has_value()) << status.error().message;
    return events;
  }

  // Runs SQL on the file behind the store's back, as an operator's sqlite3 shell would.
  void RawExec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error != nullptr ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }

  std::string ReadFile() {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  fs::path dir_;
  std::string path_;
};

void ExpectEventsEqual(const std::vector<StoredEvent>& got, std::uint64_t first, std::uint64_t last,
                       std::size_t pad = 0) {
  ASSERT_EQ(got.size(), last - first + 1);
  for (std::size_t i = 0; i < got.size(); ++i) {
    const StoredEvent want = MakeEvent(first + i, pad);
    ASSERT_EQ(got[i].seq, want.seq);
    EXPECT_EQ(got[i].ts, want.ts);
    EXPECT_EQ(got[i].tenant, want.tenant);
    EXPECT_EQ(got[i].type, want.type);
    EXPECT_EQ(got[i].payload, want.payload);
  }
}

TEST_F(SqliteStoreTest, NewDatabaseIsEmptyAndAtLatestVersion) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->LastSeq(), 0u);
  EXPECT_TRUE(ReplayAll(*store).empty());
  store.reset();

  auto version = MigrateSqlite(path_);
  ASSERT_TRUE(version.has_value()) << version.error().message;
  EXPECT_GE(*version, 1);
  auto again = MigrateSqlite(path_);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *version);
}

TEST_F(SqliteStoreTest, OnDurableReportsIncreasingSeqsUpToTheLastAppended) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Callbacks cb;
  store->Start(cb.OnDurable(), cb.OnFailure());
  for (std::uint64_t first = 1; first <= 100; first += 10) {
    store->Append(MakeEvents(first, first + 9));
  }
  ASSERT_TRUE(cb.WaitDurable(100));

  const auto durable = cb.durable();
  for (std::size_t i = 1; i < durable.size(); ++i) EXPECT_LT(durable[i - 1], durable[i]);
  EXPECT_EQ(durable.back(), 100u);
  EXPECT_TRUE(cb.failures().empty());
  const StoreStats stats = store->Stats();
  EXPECT_EQ(stats.committed_events, 100u);
  EXPECT_EQ(stats.queued_events, 0u);
  EXPECT_EQ(stats.commits, durable.size());
  EXPECT_EQ(store->LastSeq(), 100u);
}

// The forecast's read of stored history: one tenant, types and a time from, on its own
// connection while the writer keeps committing.
TEST_F(SqliteStoreTest, ScanTenantFiltersByTenantTypeAndTimeWhileWriting) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Callbacks cb;
  store->Start(cb.OnDurable(), cb.OnFailure());
  std::vector<StoredEvent> events = MakeEvents(1, 300);
  for (StoredEvent& e : events)
    if (e.seq % 2 == 0) e.type = "interaction.created";
  store->Append(events);
  ASSERT_TRUE(cb.WaitDurable(300));
  std::atomic<bool> stop{false};
  std::thread writer([&] {  // keeps the writer busy during the scans
    for (std::uint64_t first = 301; first < 3301 && !stop; first += 100) {
      store->Append(MakeEvents(first, first + 99));
      cb.WaitDurable(first + 99);
    }
  });
  std::vector<std::uint64_t> seen;
  auto st = store->ScanTenant(1, 1'700'000'000'000 + 100, {"interaction.created"},
                              [&](const StoredEvent& e) -> Status {
                                seen.push_back(e.seq);
                                return {};
                              });
  ASSERT_TRUE(st) << st.error().message;
  // Tenant 1 is seq % 3 == 1; even seqs are interaction.created; ts ≥ from is seq ≥ 100.
  ASSERT_FALSE(seen.empty());
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i] % 3, 1u);
    EXPECT_EQ(seen[i] % 2, 0u);
    EXPECT_GE(seen[i], 100u);
    if (i > 0) EXPECT_LT(seen[i - 1], seen[i]);
  }
  EXPECT_EQ(seen.front(), 100u);
  // Every type, and an error from fn stops the scan and comes back.
  int calls = 0;
  st = store->ScanTenant(2, 0, {}, [&](const StoredEvent&) -> Status {
    return ++calls == 3 ? Fail(ErrorCode::kBadRequest, "enough") : Status{};
  });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "enough");
  EXPECT_EQ(calls, 3);
  stop = true;
  writer.join();
  EXPECT_TRUE(cb.failures().empty());
}

// A recording by id (GET .../recordings/{id}, docs/decisions.md 48): its own events through
// the index on the payload's id, not a read of the tenant's log; across a reopen, and for a
// database written before the index existed (schema version 1, migrated on open).
TEST_F(SqliteStoreTest, ScanRecordingReadsOneRecordingsEventsThroughItsIndex) {
  const TimeMs t0 = 1'700'000'000'000;
  auto rec = [&](std::uint64_t seq, std::uint64_t tenant, const char* type, std::uint64_t id) {
    return StoredEvent{.seq = seq, .ts = t0 + static_cast<TimeMs>(seq), .tenant = tenant,
                       .type = type, .payload = R"({"id":)" + std::to_string(id) + "}"};
  };
  // A database of schema version 1 (what Homeline wrote before the index), with a recording.
  RawExec(
      "PRAGMA application_id = 1212958038;"  // "HLEV"
      "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
      "CREATE TABLE events(seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
      " tenant INTEGER NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL);"
      "CREATE INDEX events_tenant_seq ON events(tenant, seq);"
      "INSERT INTO meta VALUES('schema_version', '1');"
      "INSERT INTO events VALUES(1, 1700000000001, 1, 'recording.started', '{\"id\":7}');"
      "INSERT INTO events VALUES(2, 1700000000002, 1, 'recording.ended', '{\"id\":7}');");
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->LastSeq(), 2u);
    Callbacks cb;
    store->Start(cb.OnDurable(), cb.OnFailure());
    std::vector<StoredEvent> events{
        rec(3, 1, "recording.started", 9),
        rec(4, 2, "recording.started", 9),  // another tenant's recording 9
        rec(5, 1, "recording.paused", 9),
        // Other types are not in the index: their payloads are never read as JSON.
        StoredEvent{.seq = 6, .ts = t0 + 6, .tenant = 1, .type = "cdr.leg_started", .payload = R"({"id":9})"},
        StoredEvent{.seq = 7, .ts = t0 + 7, .tenant = 1, .type = "agent.presence", .payload = "not json"},
        rec(8, 1, "recording.started", 90),
        rec(9, 1, "recording.ended", 9),
    };
    store->Append(events);
    ASSERT_TRUE(cb.WaitDurable(9));
    EXPECT_TRUE(cb.failures().empty());
  }
  auto store = Open();  // reopened: the index is in the file
  ASSERT_NE(store, nullptr);
  auto seqs = [&](std::uint64_t tenant, std::uint64_t id) {
    std::vector<std::uint64_t> out;
    auto st = store->ScanRecording(tenant, id, [&](const StoredEvent& e) -> Status {
      out.push_back(e.seq);
      return {};
    });
    EXPECT_TRUE(st) << st.error().message;
    return out;
  };
  EXPECT_EQ(seqs(1, 9), (std::vector<std::uint64_t>{3, 5, 9}));
  EXPECT_EQ(seqs(2, 9), (std::vector<std::uint64_t>{4}));
  EXPECT_EQ(seqs(1, 7), (std::vector<std::uint64_t>{1, 2}));  // written under version 1
  EXPECT_EQ(seqs(1, 90), (std::vector<std::uint64_t>{8}));
  EXPECT_TRUE(seqs(1, 8).empty());
  EXPECT_TRUE(seqs(3, 9).empty());
  EXPECT_TRUE(seqs(1, ~0ull).empty());
  store.reset();

  // SQLite's plan for the lookup uses the index (a search), not the tenant's rows.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* plan = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "EXPLAIN QUERY PLAN SELECT seq, ts, tenant, type, payload FROM events"
                               " WHERE tenant = 1 AND type IN ('recording.started', 'recording.paused',"
                               " 'recording.ended') AND json_extract(payload, '$.id') = 9 ORDER BY seq",
                               -1, &plan, nullptr),
            SQLITE_OK);
  std::string detail;
  while (sqlite3_step(plan) == SQLITE_ROW)
    detail += reinterpret_cast<const char*>(sqlite3_column_text(plan, 3)) + std::string("\n");
  sqlite3_finalize(plan);
  sqlite3_close(db);
  EXPECT_NE(detail.find("USING INDEX events_recording"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("TEMP B-TREE"), std::string::npos) << detail;  // seq order from the index
}

TEST_F(SqliteStoreTest, ReplayReturnsExactlyWhatWasCommittedAcrossReopen) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    store->Start(nullptr, nullptr);
    store->Append(MakeEvents(1, 500));
    store->Stop();
  }
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->LastSeq(), 500u);
    ExpectEventsEqual(ReplayAll(*store), 1, 500);
    Callbacks cb;
    store->Start(cb.OnDurable(), cb.OnFailure());
    store->Append(MakeEvents(501, 600));
    ASSERT_TRUE(cb.WaitDurable(600));
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->LastSeq(), 600u);
  ExpectEventsEqual(ReplayAll(*store), 1, 600);
}

TEST_F(SqliteStoreTest, ReplayStopsAtTheFirstErrorAndReturnsIt) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    store->Start(nullptr, nullptr);
    store->Append(MakeEvents(1, 10));
  }  // the destructor commits
  auto store = Open();
  ASSERT_NE(store, nullptr);
  int calls = 0;
  auto status = store->Replay([&](const StoredEvent& e) -> Status {
    ++calls;
    if (e.seq == 3) return Fail(ErrorCode::kConflict, "stop here");
    return {};
  });
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, ErrorCode::kConflict);
  EXPECT_EQ(calls, 3);
}

TEST_F(SqliteStoreTest, ConcurrentAppendsFromFourThreadsAllLand) {
  constexpr int kThreads = 4;
  constexpr std::uint64_t kPerThread = 2000;
  constexpr std::uint64_t kTotal = kThreads * kPerThread;
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Callbacks cb;
  store->Start(cb.OnDurable(), cb.OnFailure());

  // Like the engine: seqs are assigned and appended under one lock, so they arrive in order.
  std::mutex seq_mu;
  std::uint64_t next_seq = 1;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::uint64_t sent = 0;
      while (sent < kPerThread) {
        const std::uint64_t n = std::min<std::uint64_t>(1 + rng() % 8, kPerThread - sent);
        std::lock_guard lock(seq_mu);
        store->Append(MakeEvents(next_seq, next_seq + n - 1));
        next_seq += n;
        sent += n;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(cb.WaitDurable(kTotal));
  EXPECT_TRUE(cb.failures().empty());
  EXPECT_EQ(store->Stats().committed_events, kTotal);
  store.reset();

  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->LastSeq(), kTotal);
  ExpectEventsEqual(ReplayAll(*reopened), 1, kTotal);
}

TEST_F(SqliteStoreTest, StopCommitsEverythingQueuedAndIsIdempotent) {
  constexpr std::uint64_t kTotal = 20000;
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Callbacks cb;
  store->Start(cb.OnDurable(), cb.OnFailure());
  for (std::uint64_t seq = 1; seq <= kTotal; ++seq) store->Append({MakeEvent(seq)});
  store->Stop();  // returns only once the queue is committed

  StoreStats stats = store->Stats();
  EXPECT_EQ(stats.committed_events, kTotal);
  EXPECT_EQ(stats.queued_events, 0u);
  EXPECT_EQ(cb.durable().back(), kTotal);
  store->Stop();
  store->Append({MakeEvent(kTotal + 1)});  // after Stop: dropped, and counted
  stats = store->Stats();
  EXPECT_EQ(stats.committed_events, kTotal);
  EXPECT_EQ(stats.dropped_events, 1u);
  store.reset();

  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->LastSeq(), kTotal);
}

TEST_F(SqliteStoreTest, GroupCommitPutsManyEventsInOneTransaction) {
  constexpr std::uint64_t kTotal = 20000;
  auto store = Open(SqliteOptions{.fsync = true});
  ASSERT_NE(store, nullptr);
  Callbacks cb;
  store->Start(cb.OnDurable(), cb.OnFailure());
  // One event per Append, as fast as possible: far faster than one fsync per event.
  for (std::uint64_t seq = 1; seq <= kTotal; ++seq) store->Append({MakeEvent(seq)});
  ASSERT_TRUE(cb.WaitDurable(kTotal));
  const StoreStats stats = store->Stats();
  EXPECT_EQ(stats.committed_events, kTotal);
  EXPECT_GE(stats.commits, 1u);
  EXPECT_LT(stats.commits, kTotal / 2) << "group commit did not batch";
}

TEST_F(SqliteStoreTest, BatchesNeverExceedMaxBatch) {
  auto store = Open(SqliteOptions{.fsync = false, .max_batch = 16});
  ASSERT_NE(store, nullptr);
  Callbacks cb;
  store->Start(cb.OnDurable(), cb.OnFailure());
  store->Append(MakeEvents(1, 1000));
  ASSERT_TRUE(cb.WaitDurable(1000));
  std::uint64_t previous = 0;
  for (std::uint64_t seq : cb.durable()) {
    EXPECT_LE(seq - previous, 16u);
    previous = seq;
  }
  EXPECT_GE(store->Stats().commits, 1000u / 16);
}

// A slow disk: another connection holds the write lock, so the writer waits (busy timeout)
// while appends pile up. The store says it is full from its bound on, still loses nothing, and
// clears once the writer catches up (the server refuses new writes while it is full).
TEST_F(SqliteStoreTest, FullAtItsBoundWhileTheWriterIsBehindThenClears) {
  auto store = Open(SqliteOptions{.fsync = false, .max_queued_events = 50});
  ASSERT_NE(store, nullptr);
  Callbacks cb;
  store->Start(cb.OnDurable(), cb.OnFailure());
  store->Append({MakeEvent(1)});  // the writer has committed before the disk slows down
  ASSERT_TRUE(cb.WaitDurable(1));
  sqlite3* disk = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &disk), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(disk, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  store->Append(MakeEvents(2, 49));
  StoreStats stats = store->Stats();
  EXPECT_EQ(stats.queued_events, 48u);
  store->Append({MakeEvent(50)});
  EXPECT_EQ(store->Stats().queued_events, 49u);
  EXPECT_FALSE(store->Stats().full);
  EXPECT_FALSE(stats.full);
  store->Append({MakeEvent(51)});
  EXPECT_TRUE(store->Stats().full);
  store->Append(MakeEvents(52, 60));  // a full store still takes what the engine already did
  stats = store->Stats();
  EXPECT_EQ(stats.queued_events, 59u);
  EXPECT_TRUE(stats.full);
  EXPECT_EQ(stats.committed_events, 1u);

  // Well within the writer's busy timeout (5 s), so it waits rather than fails.
  ASSERT_EQ(sqlite3_exec(disk, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(disk);
  ASSERT_TRUE(cb.WaitDurable(60));
  stats = store->Stats();
  EXPECT_FALSE(stats.full);
  EXPECT_EQ(stats.queued_events, 0u);
  EXPECT_EQ(stats.committed_events, 60u);
  EXPECT_EQ(stats.dropped_events, 0u);
  EXPECT_TRUE(cb.failures().empty());
  store.reset();
  ExpectEventsEqual(ReplayAll(*Open()), 1, 60);
}

// Issue 2 durability: a lock held longer than the busy timeout (5 s) used to fail the store,
// and the server with it. The writer now waits it out: nothing is lost, nothing fails.
TEST_F(SqliteStoreTest, WaitsOutALockHeldLongerThanTheBusyTimeout) {
  auto store = Open(SqliteOptions{.fsync = false, .max_queued_events = 1000});
  ASSERT_NE(store, nullptr);
  Callbacks cb;
  store->Start(cb.OnDurable(), cb.OnFailure());
  store->Append({MakeEvent(1)});
  ASSERT_TRUE(cb.WaitDurable(1));
  sqlite3* disk = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &disk), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(disk, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  store->Append(MakeEvents(2, 20));
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  store->Append(MakeEvents(21, 40));  // more arrive while it waits
  std::this_thread::sleep_for(std::chrono::milliseconds(4000));  // 7 s in all
  StoreStats stats = store->Stats();
  EXPECT_FALSE(stats.failed);
  EXPECT_GE(stats.busy_retries, 1u);
  EXPECT_EQ(stats.committed_events, 1u);
  EXPECT_EQ(stats.queued_events, 39u);
  EXPECT_TRUE(cb.failures().empty());
  ASSERT_EQ(sqlite3_exec(disk, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(disk);
  ASSERT_TRUE(cb.WaitDurable(40));
  stats = store->Stats();
  EXPECT_EQ(stats.committed_events, 40u);
  EXPECT_EQ(stats.dropped_events, 0u);
  EXPECT_TRUE(cb.failures().empty());
  store.reset();
  ExpectEventsEqual(ReplayAll(*Open()), 1, 40);
}

TEST_F(SqliteStoreTest, RefusesAnSqliteFileOfAnotherApplicationWithoutTouchingIt) {
  RawExec(
      "CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT);"
      "INSERT INTO customers(name) VALUES('alice');");
  const std::string before = ReadFile();

  auto store = OpenSqliteStore(path_, {});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kBadRequest);
  EXPECT_FALSE(store.error().message.empty());
  auto migrated = MigrateSqlite(path_);
  ASSERT_FALSE(migrated.has_value());
  EXPECT_EQ(migrated.error().code, ErrorCode::kBadRequest);

  EXPECT_EQ(ReadFile(), before);  // still a rollback-journal file with only its own table
  EXPECT_FALSE(fs::exists(path_ + "-wal"));
}

TEST_F(SqliteStoreTest, RefusesAnSqliteFileWithAnotherApplicationId) {
  RawExec("PRAGMA application_id = 1234; CREATE TABLE t(x);");
  auto store = OpenSqliteStore(path_, {});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kBadRequest);
}

TEST_F(SqliteStoreTest, RefusesAGarbageFileWithoutTouchingIt) {
  std::string garbage;
  std::mt19937 rng(42);
  for (int i = 0; i < 8192; ++i) garbage.push_back(static_cast<char>(rng()));
  {
    std::ofstream out(path_, std::ios::binary);
    out << "this is not a database\n" << garbage;
  }
  const std::string before = ReadFile();

  auto store = OpenSqliteStore(path_, {});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kBadRequest);
  auto migrated = MigrateSqlite(path_);
  ASSERT_FALSE(migrated.has_value());
  EXPECT_EQ(migrated.error().code, ErrorCode::kBadRequest);
  EXPECT_EQ(ReadFile(), before);
}

TEST_F(SqliteStoreTest, RefusesADatabaseFromANewerSchema) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
  }
  RawExec("UPDATE meta SET value = '999' WHERE key = 'schema_version'");

  auto store = OpenSqliteStore(path_, {});
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kBadRequest);
  auto migrated = MigrateSqlite(path_);
  ASSERT_FALSE(migrated.has_value());
  EXPECT_EQ(migrated.error().code, ErrorCode::kBadRequest);
}

TEST_F(SqliteStoreTest, OutOfOrderAppendCommitsWhatCameBeforeThenFailsOnce) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  Callbacks cb;
  store->Start(cb.OnDurable(), cb.OnFailure());
  store->Append(MakeEvents(1, 5));
  store->Append({MakeEvent(7)});  // 6 is missing: an engine bug
  ASSERT_TRUE(cb.WaitFailure());
  store->Append({MakeEvent(6)});  // refused: the store no longer accepts anything
  store->Stop();

  EXPECT_EQ(cb.failures().size(), 1u);
  EXPECT_EQ(cb.failures()[0].code, ErrorCode::kInternal);
  ASSERT_FALSE(cb.durable().empty());
  EXPECT_EQ(cb.durable().back(), 5u);
  const StoreStats stats = store->Stats();
  EXPECT_TRUE(stats.failed);
  EXPECT_EQ(stats.committed_events, 5u);
  EXPECT_EQ(stats.dropped_events, 2u);
  store.reset();
  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->LastSeq(), 5u);
}

TEST_F(SqliteStoreTest, SqliteErrorCallsOnFailureOnceAndNeverOnDurable) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  // Another writer took seq 2 behind the store's back, so inserting it violates the key.
  RawExec("INSERT INTO events(seq, ts, tenant, type, payload) VALUES(2, 0, 0, 'x', '{}')");
  Callbacks cb;
  store->Start(cb.OnDurable(), cb.OnFailure());
  store->Append(MakeEvents(1, 3));
  ASSERT_TRUE(cb.WaitFailure());
  store->Append({MakeEvent(4)});
  store->Stop();

  ASSERT_EQ(cb.failures().size(), 1u);
  EXPECT_EQ(cb.failures()[0].code, ErrorCode::kUnavailable);
  EXPECT_TRUE(cb.durable().empty());  // seq 1 was in the failed transaction: not durable
  const StoreStats stats = store->Stats();
  EXPECT_TRUE(stats.failed);
  EXPECT_EQ(stats.committed_events, 0u);
  EXPECT_EQ(stats.dropped_events, 4u);
  store.reset();
  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->LastSeq(), 2u);  // only the foreign row: the failed batch rolled back
}

TEST_F(SqliteStoreTest, ReplayReportsAGapInTheLog) {
  {
    auto store = Open();
    ASSERT_NE(store, nullptr);
    store->Start(nullptr, nullptr);
    store->Append(MakeEvents(1, 5));
  }
  RawExec("DELETE FROM events WHERE seq = 3");
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto status = store->Replay([](const StoredEvent&) -> Status { return {}; });
  ASSERT_FALSE(status.has_value());
}

TEST_F(SqliteStoreTest, WalIsCheckpointedWhileRunningAndStaysBounded) {
  constexpr std::uint64_t kTotal = 40000;
  constexpr std::size_t kPad = 2000;  // 80 MB of events: several checkpoint thresholds
  auto store = Open(SqliteOptions{.fsync = false});
  ASSERT_NE(store, nullptr);
  Callbacks cb;
  store->Start(cb.OnDurable(), cb.OnFailure());
  std::uintmax_t max_wal = 0;
  for (std::uint64_t first = 1; first <= kTotal; first += 100) {
    store->Append(MakeEvents(first, first + 99, kPad));
    if (first % 2000 == 1) {
      std::error_code ignored;
      max_wal = std::max<std::uintmax_t>(max_wal, fs::file_size(path_ + "-wal", ignored));
    }
  }
  ASSERT_TRUE(cb.WaitDurable(kTotal));
  // The main file grows only by checkpoints, and this store's close has not run one yet.
  const auto grown = [&] {
    std::error_code ignored;
    return fs::file_size(path_, ignored) > std::uintmax_t{40} << 20;
  };
  const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
  while (!grown() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(grown());
  // The checkpoint threshold (4 MiB) plus one batch of at most max_batch events (8 MiB here).
  EXPECT_LT(max_wal, std::uintmax_t{32} << 20);
  store.reset();
  auto reopened = Open();
  ASSERT_NE(reopened, nullptr);
  ExpectEventsEqual(ReplayAll(*reopened), 1, kTotal, kPad);
}

// --- Crash durability ---------------------------------------------------------------------

// Large enough that the WAL crosses the checkpoint threshold several times a round, so some
// kills land while a checkpoint is copying pages into the main file.
constexpr std::size_t kCrashPad = 1500;

// Child side: appends until killed; after each on_durable writes the seq to the pipe.
[[noreturn]] void AppendUntilKilled(const std::string& path, int report_fd) {
  auto opened = OpenSqliteStore(path, SqliteOptions{.fsync = true});
  if (!opened) _exit(2);
  std::unique_ptr<EventStore> store = std::move(*opened);
  std::atomic<std::uint64_t> durable = store->LastSeq();
  store->Start(
      [&](std::uint64_t seq) {
        durable.store(seq);
        // The parent treats every seq read here as acknowledged to a client.
        const char* p = reinterpret_cast<const char*>(&seq);
        std::size_t left = sizeof(seq);
        while (left > 0) {
          const ssize_t n = write(report_fd, p, left);
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) _exit(4);
          p += n;
          left -= static_cast<std::size_t>(n);
        }
      },
      [](const Error&) { _exit(3); });
  std::mt19937 rng(static_cast<unsigned>(getpid()));
  std::uint64_t next = store->LastSeq() + 1;
  const auto give_up = std::chrono::steady_clock::now() + kWaitLimit;
  while (std::chrono::steady_clock::now() < give_up) {
    const std::uint64_t n = 1 + rng() % 20;
    store->Append(MakeEvents(next, next + n - 1, kCrashPad));
    next += n;
    // Bounded in-flight events, like a server whose clients wait for their acks.
    while (next - 1 - durable.load() > 2000) std::this_thread::sleep_for(50us);
  }
  _exit(5);  // the parent should have killed us long before
}

TEST_F(SqliteStoreTest, KillNineLosesNothingThatWasReportedDurable) {
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);

  for (int round = 0; round < 4; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::uint64_t start_seq;
    {
      // Closed before fork: an SQLite connection must not be carried across fork().
      auto store = Open();
      ASSERT_NE(store, nullptr);
      start_seq = store->LastSeq();
    }
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      AppendUntilKilled(path_, fds[1]);
    }
    close(fds[1]);

    // Kill at a random point: after a random number of acknowledged events, plus a random
    // delay so the kill can land mid-transaction or mid-fsync.
    const std::uint64_t kill_after = start_seq + 50 + rng() % 15000;
    std::vector<std::uint64_t> reported;
    std::string buffer;
    auto read_reports = [&](int timeout_ms) -> bool {  // false on EOF or error
      pollfd pfd{.fd = fds[0], .events = POLLIN, .revents = 0};
      if (poll(&pfd, 1, timeout_ms) <= 0) return true;
      char chunk[4096];
      const ssize_t n = read(fds[0], chunk, sizeof(chunk));
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<std::size_t>(n));
      std::size_t whole = buffer.size() / sizeof(std::uint64_t) * sizeof(std::uint64_t);
      for (std::size_t i = 0; i < whole; i += sizeof(std::uint64_t)) {
        std::uint64_t seq;
        std::memcpy(&seq, buffer.data() + i, sizeof(seq));
        reported.push_back(seq);
      }
      buffer.erase(0, whole);
      return true;
    };
    const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
    bool open = true;
    while (open && (reported.empty() || reported.back() < kill_after) &&
           std::chrono::steady_clock::now() < deadline) {
      open = read_reports(100);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 5000));
    kill(child, SIGKILL);
    int wstatus = 0;
    ASSERT_EQ(waitpid(child, &wstatus, 0), child);
    while (open) open = read_reports(1000);  // reports written before the kill
    close(fds[0]);

    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "child exited early, status " << wstatus;
    ASSERT_FALSE(reported.empty()) << "child acknowledged nothing within the time limit";
    ASSERT_GE(reported.back(), kill_after);
    for (std::size_t i = 1; i < reported.size(); ++i) ASSERT_LT(reported[i - 1], reported[i]);

    auto store = Open();
    ASSERT_NE(store, nullptr);
    const std::uint64_t last = store->LastSeq();
    EXPECT_GE(last, reported.back()) << "an acknowledged event was lost";
    ExpectEventsEqual(ReplayAll(*store), 1, last, kCrashPad);  // contiguous, intact payloads
  }
}

}  // namespace
}  // namespace homeline::store
