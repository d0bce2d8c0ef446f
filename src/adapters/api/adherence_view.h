#pragma once
// The adherence routes' outside shape (docs/api.md, docs/wfm.md "Adherence"):
//   GET /api/v1/tenants/{t}/adherence?date=YYYY-MM-DD[&agent=ID][&grace=MIN][&format=csv]
//   GET /api/v1/tenants/{t}/me/adherence?date=…           (the caller's own)
//   GET /api/v1/tenants/{t}/adherence/live[?grace=MIN]
// Per-day adherence reads the agents' presence history from the store, so the engine thread
// gathers the published shifts and a worker scans and computes (RunAdherenceJob). The live list
// is computed on the engine thread from current state (one check per scheduled agent).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/api/forecast_view.h"
#include "adapters/http/http_server.h"
#include "common/result.h"
#include "common/time.h"
#include "core/types.h"
#include "core/wfm/adherence.h"
#include "core/wfm/forecast.h"
#include "core/wfm/schedule.h"

namespace homeline::api {

struct AdherenceQuery {
  std::optional<core::wfm::Day> date;  // default: today in the tenant's time zone
  core::UserId agent = 0;              // 0: every scheduled agent
  DurationMs grace = 5 * 60'000;       // grace=MIN, 0..60
  bool csv = false;
};
// Malformed values are kBadRequest naming the parameter.
[[nodiscard]] Result<AdherenceQuery> AdherenceQueryFrom(const http::Request& req);

// The grace parameter alone (the live route).
[[nodiscard]] Result<DurationMs> GraceFrom(const http::Request& req);

struct AdherenceAgent {
  core::UserId user = 0;
  std::string login;
  std::string name;
  core::wfm::AgentSchedule schedule;  // shifts from the tenant's published schedules
};

struct AdherenceJob {
  core::TenantId tenant = 0;
  AdherenceQuery query;
  std::shared_ptr<const core::TimeZone> zone = core::TimeZone::Utc();  // the tenant's
  TimeMs now = 0;
  std::vector<AdherenceAgent> agents;
};

// How far before the day the history is read for each agent's state at its start.
inline constexpr DurationMs kAdherenceLookback = 7 * kDay;

core::wfm::AgentState AdherenceState(core::Presence p);

// Scans the tenant's presence events and computes each agent's day: JSON or CSV, or a JSON
// error (a store that cannot be read is 503).
http::Response RunAdherenceJob(const AdherenceJob& job, const EventScan& scan);

nlohmann::json StretchJson(const core::wfm::Stretch& s);

}  // namespace homeline::api
