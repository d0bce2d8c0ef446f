#pragma once
// Call detail records as the API shows them:
//   GET /api/v1/tenants/{t}/cdrs?from=&to=&queue=&agent=&offset=&limit=   (JSON, paged)
//   GET /api/v1/tenants/{t}/cdrs.csv?from=&to=&queue=&agent=               (CSV, every call)
// The engine keeps only live legs (core/voice.h); finished ones are in the event log. The
// engine thread parses the query and gathers names (queues, agents' logins); a worker thread
// scans the tenant's cdr.* events from `from` (EventScan), rebuilds each call's legs in order,
// filters, sorts and renders. Pure apart from the scan.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "adapters/api/forecast_view.h"  // EventScan
#include "adapters/http/http_server.h"
#include "common/result.h"
#include "common/time.h"
#include "core/types.h"
#include "core/voice.h"

namespace homeline::api {

struct CdrQuery {
  TimeMs from = 0;  // calls whose first leg started in [from, to)
  TimeMs to = 0;
  core::QueueId queue = 0;  // 0: any; else calls with a leg for this queue
  core::UserId agent = 0;   // 0: any; else calls with a leg of this agent
  std::size_t offset = 0;   // JSON paging, in start order
  std::size_t limit = 100;  // 1..1000
};

// Most a query may span: a month of calls is read and held in memory by one request.
constexpr DurationMs kMaxCdrRange = 31 * kDay;

// from/to: milliseconds since the epoch or "YYYY-MM-DDTHH:MM:SSZ"; default the last 24 hours
// up to now (to = now + 1 ms). kBadRequest naming the parameter (to <= from, a range over
// kMaxCdrRange, limit outside 1..1000, ids that are not ids).
[[nodiscard]] Result<CdrQuery> CdrQueryFrom(const http::Request& req, TimeMs now);

struct CdrJob {
  core::TenantId tenant = 0;
  CdrQuery query;
  bool csv = false;
  std::map<std::uint64_t, std::string> queue_names;  // for the CSV
  std::map<std::uint64_t, std::string> agent_logins;  // for the CSV
};

// JSON or CSV (RFC 4180: CRLF lines, fields with ',', '"', CR or LF quoted, quotes doubled);
// 503 when the store cannot be read.
http::Response RunCdrJob(const CdrJob& job, const EventScan& scan);

// ---- recordings (the same approach: the engine keeps live ones only, core/engine.h) ----------
//   GET /api/v1/tenants/{t}/recordings?from=&to=&interaction=
// from/to as for CDRs (default the last 24 hours, at most 31 days): recordings that started in
// [from, to); interaction: only that call's (from any time when no from/to is given). id (not
// from the query): the one recording of that id, whenever it started (the engine no longer
// holds an ended one: the store's index by recording id finds its events).
struct RecordingQuery {
  TimeMs from = 0;
  TimeMs to = 0;
  core::InteractionId interaction = 0;
  core::RecordingId id = 0;
};
[[nodiscard]] Result<RecordingQuery> RecordingQueryFrom(const http::Request& req, TimeMs now);

// Reads the events of one recording of a tenant, in order (the store's ScanRecording: an
// index lookup, not a scan of the log). Called on a worker thread.
using RecordingEventScan = std::function<Status(
    std::uint64_t tenant, core::RecordingId id,
    const std::function<Status(TimeMs ts, const std::string& type, const std::string& payload)>&)>;

// The tenant's recordings the query names, rebuilt from its recording.* events, by id (a
// recording ended by a restart has end_reason "restart", as the engine wrote it). One by id
// (q.id) reads only its own events through by_id when given, else the tenant's log from the
// start. kUnavailable when the store cannot be read.
[[nodiscard]] Result<std::vector<core::Recording>> ScanRecordings(
    core::TenantId tenant, const RecordingQuery& q, const EventScan& scan,
    const RecordingEventScan& by_id = {});

// One CSV field as RFC 4180 writes it (exposed for the unit test).
std::string CsvField(const std::string& s);

}  // namespace homeline::api
