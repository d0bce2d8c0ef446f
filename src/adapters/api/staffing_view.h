#pragma once
// The staffing calculator's outside shape, shared by the API route
// (GET /api/v1/tenants/{tenant}/staffing) and `homeline staffing --json`: query parameters in,
// JSON out. The math is core/wfm/staffing.h.

#include <nlohmann/json.hpp>

#include "adapters/http/http_server.h"
#include "common/result.h"
#include "core/wfm/staffing.h"

namespace homeline::api {

// calls, interval, aht (required); target_sl with answer_within, and/or target_asa; optional
// patience, shrinkage, max_occupancy, concurrency. Numbers in plain decimal; a missing,
// malformed or out-of-range value is kBadRequest naming the parameter.
[[nodiscard]] Result<core::wfm::StaffingInput> StaffingInputFromQuery(const http::Request& req);

// The same parameters without calls, interval and aht (the requirements route takes those
// from the forecast): the target (target_sl with answer_within, and/or target_asa) and the
// optional patience, shrinkage, max_occupancy, concurrency.
[[nodiscard]] Result<core::wfm::StaffingInput> StaffingTargetsFromQuery(const http::Request& req);

// {"model", "erlangs", "servers", "agents", "scheduled_agents", "service_level",
//  "answer_within_s", "probability_of_waiting", "asa_s", "occupancy", ["abandon_rate"],
//  "input": {...}}; abandon_rate only under Erlang A.
nlohmann::json StaffingJson(const core::wfm::StaffingInput& in, const core::wfm::Staffing& s);

}  // namespace homeline::api
