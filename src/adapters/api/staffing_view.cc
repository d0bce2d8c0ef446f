#include "adapters/api/staffing_view.h"

#include <charconv>
#include <cmath>
#include <string>

namespace homeline::api {

namespace {

// A finite decimal number and nothing else ("nan", "inf", "1e999", "12abc" are refused).
Status Number(const http::Request& req, const char* name, bool required, double& out) {
  const std::string v = req.QueryParam(name);
  if (v.empty()) {
    if (required) return Fail(ErrorCode::kBadRequest, std::string(name) + " is required");
    return {};
  }
  double d = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
  if (ec != std::errc() || end != v.data() + v.size() || !std::isfinite(d))
    return Fail(ErrorCode::kBadRequest, std::string(name) + " must be a number");
  out = d;
  return {};
}

}  // namespace

namespace {

// Parses the target and the optional parameters; calls, interval and aht only when `volume`.
Result<core::wfm::StaffingInput> FromQuery(const http::Request& req, bool volume) {
  core::wfm::StaffingInput in;
  in.interval_s = 0;
  double concurrency = 1;
  for (auto st : {Number(req, "calls", volume, in.contacts),
                  Number(req, "interval", volume, in.interval_s),
                  Number(req, "aht", volume, in.aht_s),
                  Number(req, "target_sl", false, in.target_sl),
                  Number(req, "answer_within", false, in.answer_within_s),
                  Number(req, "target_asa", false, in.target_asa_s),
                  Number(req, "patience", false, in.patience_s),
                  Number(req, "shrinkage", false, in.shrinkage),
                  Number(req, "max_occupancy", false, in.max_occupancy),
                  Number(req, "concurrency", false, concurrency)}) {
    if (!st) return std::unexpected(st.error());
  }
  if (in.target_sl > 0 && req.QueryParam("answer_within").empty())
    return Fail(ErrorCode::kBadRequest, "target_sl needs answer_within (seconds)");
  if (!req.QueryParam("patience").empty() && in.patience_s <= 0)
    return Fail(ErrorCode::kBadRequest, "patience must be > 0 seconds");
  if (concurrency != std::floor(concurrency) || concurrency < 1 || concurrency > 100)
    return Fail(ErrorCode::kBadRequest, "concurrency must be 1..100");
  in.concurrency = static_cast<int>(concurrency);
  if (!volume) {  // checked with a stand-in interval; the forecast's come later
    core::wfm::StaffingInput probe = in;
    probe.contacts = 0;
    probe.interval_s = 1800;
    probe.aht_s = 1;
    if (auto st = core::wfm::Validate(probe); !st) return std::unexpected(st.error());
    return in;
  }
  if (auto st = core::wfm::Validate(in); !st) return std::unexpected(st.error());
  return in;
}

}  // namespace

Result<core::wfm::StaffingInput> StaffingInputFromQuery(const http::Request& req) {
  return FromQuery(req, true);
}

Result<core::wfm::StaffingInput> StaffingTargetsFromQuery(const http::Request& req) {
  return FromQuery(req, false);
}

nlohmann::json StaffingJson(const core::wfm::StaffingInput& in, const core::wfm::Staffing& s) {
  // JSON has no infinity: an unbounded ASA (never the case for a met target) is null.
  auto finite = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  nlohmann::json input = {{"calls", in.contacts},
                          {"interval_s", in.interval_s},
                          {"aht_s", in.aht_s},
                          {"shrinkage", in.shrinkage},
                          {"max_occupancy", in.max_occupancy},
                          {"concurrency", in.concurrency}};
  if (in.target_sl > 0) input["target_sl"] = in.target_sl;
  input["answer_within_s"] = in.answer_within_s;
  if (in.target_asa_s > 0) input["target_asa_s"] = in.target_asa_s;
  if (in.patience_s > 0) input["patience_s"] = in.patience_s;
  nlohmann::json out = {{"model", core::wfm::Name(s.model)},
                        {"erlangs", s.erlangs},
                        {"servers", s.servers},
                        {"agents", s.agents},
                        {"scheduled_agents", s.scheduled_agents},
                        {"service_level", s.metrics.service_level},
                        {"answer_within_s", in.answer_within_s},
                        {"probability_of_waiting", s.metrics.p_wait},
                        {"asa_s", finite(s.metrics.asa_s)},
                        {"occupancy", s.metrics.occupancy}};
  if (s.model == core::wfm::Model::kErlangA) out["abandon_rate"] = s.metrics.p_abandon;
  out["input"] = std::move(input);
  return out;
}

}  // namespace homeline::api
