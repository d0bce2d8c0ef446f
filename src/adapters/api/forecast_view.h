#pragma once
// The forecast and requirements routes' outside shape and their work off the engine thread:
//   GET /api/v1/tenants/{t}/forecast?queue=ID[&weeks=N][&interval=15|30][&from=DATE][&format=csv]
//   GET /api/v1/tenants/{t}/requirements?queue=ID&… + the staffing route's target parameters
// The engine thread parses the query and gathers what the job needs (queue, calendar, time
// zone, now); a worker thread scans the tenant's stored events (the engine keeps finished
// contacts only 24 h), builds the history (core/contact_history.h), forecasts
// (core/wfm/forecast.h) and, for requirements, solves staffing per interval.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/http/http_server.h"
#include "common/result.h"
#include "common/time.h"
#include "core/time_zone.h"
#include "core/types.h"
#include "core/wfm/forecast.h"
#include "core/wfm/staffing.h"

namespace homeline::api {

// Reads a tenant's stored events with ts ≥ from of the given types, in order (the store's
// ScanTenant). Called on a worker thread.
using EventScan = std::function<Status(
    std::uint64_t tenant, TimeMs from, const std::vector<std::string>& types,
    const std::function<Status(TimeMs ts, const std::string& type, const std::string& payload)>&)>;

struct ForecastQuery {
  core::QueueId queue = 0;
  int weeks = 4;           // 1..26
  int interval_min = 30;   // 15 or 30
  std::optional<core::wfm::Day> from;  // default: today in the tenant's time zone
  bool csv = false;        // format=csv
};
// Missing or malformed values are kBadRequest naming the parameter.
[[nodiscard]] Result<ForecastQuery> ForecastQueryFrom(const http::Request& req);

struct ForecastJob {
  core::TenantId tenant = 0;
  ForecastQuery query;
  std::shared_ptr<const core::TimeZone> zone = core::TimeZone::Utc();  // the tenant's
  TimeMs now = 0;
  std::vector<core::wfm::CalendarEvent> calendar;  // the tenant's for this queue
  std::optional<core::wfm::StaffingInput> staffing;  // set: requirements
};

// The calendar entries that apply to a queue, as the forecast takes them.
std::vector<core::wfm::CalendarEvent> CalendarFor(const std::vector<const core::CalendarEntry*>& all,
                                                  core::QueueId queue);

// Runs a job to its HTTP response: JSON or CSV, or a JSON error (a store that cannot be read
// is 503). A queue without history gets a forecast of zeros and "history_days": 0.
http::Response RunForecastJob(const ForecastJob& job, const EventScan& scan);

}  // namespace homeline::api
