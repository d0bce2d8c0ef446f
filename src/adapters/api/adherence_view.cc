#include "adapters/api/adherence_view.h"

#include <charconv>
#include <cstdio>
#include <map>

#include "adapters/api/responses.h"
#include "core/event_codec.h"
#include "core/events.h"
#include "core/wfm/schedule_json.h"

namespace homeline::api {

namespace wfm = core::wfm;
using nlohmann::json;

namespace {


double Minutes(DurationMs d) { return static_cast<double>(d) / 60'000.0; }

json Pct(const std::optional<double>& p) { return p ? json(*p) : json(nullptr); }

}  // namespace

Result<DurationMs> GraceFrom(const http::Request& req) {
  const std::string v = req.QueryParam("grace");
  if (v.empty()) return DurationMs{5 * 60'000};
  int n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < 0 || n > 60)
    return Fail(ErrorCode::kBadRequest, "grace must be an integer 0..60 (minutes)");
  return DurationMs{n} * 60'000;
}

Result<AdherenceQuery> AdherenceQueryFrom(const http::Request& req) {
  AdherenceQuery q;
  if (const std::string d = req.QueryParam("date"); !d.empty()) {
    q.date = wfm::ParseDate(d);
    if (!q.date) return Fail(ErrorCode::kBadRequest, "date must be a date YYYY-MM-DD");
  }
  if (const std::string a = req.QueryParam("agent"); !a.empty()) {
    const auto [end, ec] = std::from_chars(a.data(), a.data() + a.size(), q.agent);
    if (ec != std::errc() || end != a.data() + a.size() || q.agent == 0)
      return Fail(ErrorCode::kBadRequest, "agent must be a user id");
  }
  auto grace = GraceFrom(req);
  if (!grace) return std::unexpected(grace.error());
  q.grace = *grace;
  const std::string format = req.QueryParam("format");
  if (!format.empty() && format != "json" && format != "csv")
    return Fail(ErrorCode::kBadRequest, "format must be json or csv");
  q.csv = format == "csv";
  return q;
}

wfm::AgentState AdherenceState(core::Presence p) {
  switch (p) {
    case core::Presence::kAvailable: return wfm::AgentState::kWorking;
    case core::Presence::kBreak:
    case core::Presence::kMissed: return wfm::AgentState::kNotReady;
    case core::Presence::kOffline: return wfm::AgentState::kOffline;
  }
  return wfm::AgentState::kOffline;
}

json StretchJson(const wfm::Stretch& s) {
  return json{{"start", wfm::IsoUtc(s.start)},
              {"end", wfm::IsoUtc(s.end)},
              {"minutes", Minutes(s.end - s.start)},
              {"scheduled", s.scheduled == wfm::Activity::kWork    ? "work"
                            : s.scheduled == wfm::Activity::kBreak ? "break"
                                                                   : "off"},
              {"actual", wfm::Name(s.actual)},
              {"forgiven", s.forgiven}};
}

http::Response RunAdherenceJob(const AdherenceJob& job, const EventScan& scan) {
  const AdherenceQuery& q = job.query;
  const wfm::Day day = q.date.value_or(job.zone->LocalDay(job.now));
  const TimeMs from = job.zone->DayStart(day);
  const TimeMs day_end = job.zone->DayStart(day + 1);  // 23 or 25 hours when the clocks change
  const TimeMs to = std::min(day_end, job.now);

  // Each agent's presence timeline in this tenant, from the lookback on.
  std::map<core::UserId, std::vector<wfm::StateChange>> timelines;
  for (const AdherenceAgent& a : job.agents) timelines[a.user];
  if (!scan) return ErrorResponse(503, "unavailable", "the event history cannot be read");
  if (to > from) {
    static const std::vector<std::string> kTypes = {"agent.presence"};
    auto st = scan(job.tenant, from - kAdherenceLookback, kTypes,
                   [&](TimeMs ts, const std::string& type, const std::string& payload) -> Status {
                     if (ts >= to) return {};
                     auto body = core::DecodePayload(type, payload);
                     if (!body) return {};  // an undecodable event was never applied
                     const auto* p = std::get_if<core::PresenceChanged>(&*body);
                     if (p == nullptr) return {};
                     auto it = timelines.find(p->user);
                     if (it == timelines.end()) return {};
                     it->second.push_back({ts, AdherenceState(p->presence)});
                     return {};
                   });
    if (!st) return ErrorResponse(503, "unavailable", st.error().message);
  }

  const wfm::AdherenceOptions options{.grace = q.grace};
  const std::string date = wfm::FormatDate(day);
  if (q.csv) {
    std::string out =
        "date,agent,login,scheduled_min,scheduled_work_min,in_adherence_min,worked_min,adherence_pct,"
        "conformance_pct,out_of_adherence_min\n";
    char buf[256];
    for (const AdherenceAgent& a : job.agents) {
      const wfm::AdherenceDay d = wfm::ComputeAdherence(a.schedule, timelines[a.user], from, std::max(from, to), options);
      DurationMs out_ms = 0;
      for (const wfm::Stretch& s : d.stretches)
        if (!s.forgiven && s.scheduled != wfm::Activity::kOff) out_ms += s.end - s.start;
      std::snprintf(buf, sizeof buf, ",%.2f,%.2f,%.2f,%.2f,", Minutes(d.scheduled),
                    Minutes(d.scheduled_work), Minutes(d.in_adherence), Minutes(d.worked));
      out += date + "," + std::to_string(a.user) + "," + a.login + buf;
      if (d.adherence_pct) { std::snprintf(buf, sizeof buf, "%.2f", *d.adherence_pct); out += buf; }
      out += ",";
      if (d.conformance_pct) { std::snprintf(buf, sizeof buf, "%.2f", *d.conformance_pct); out += buf; }
      std::snprintf(buf, sizeof buf, ",%.2f\n", Minutes(out_ms));
      out += buf;
    }
    http::Response r;
    r.content_type = "text/csv; charset=utf-8";
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"adherence-" + date + ".csv\"");
    r.body = std::move(out);
    return r;
  }
  json agents = json::array();
  for (const AdherenceAgent& a : job.agents) {
    const wfm::AdherenceDay d = wfm::ComputeAdherence(a.schedule, timelines[a.user], from, std::max(from, to), options);
    json stretches = json::array();
    for (const wfm::Stretch& s : d.stretches) stretches.push_back(StretchJson(s));
    agents.push_back(json{{"agent", a.user},
                          {"login", a.login},
                          {"name", a.name},
                          {"scheduled_min", Minutes(d.scheduled)},
                          {"scheduled_work_min", Minutes(d.scheduled_work)},
                          {"in_adherence_min", Minutes(d.in_adherence)},
                          {"worked_min", Minutes(d.worked)},
                          {"adherence_pct", Pct(d.adherence_pct)},
                          {"conformance_pct", Pct(d.conformance_pct)},
                          {"out_of_adherence", stretches}});
  }
  json j{{"date", date},
         {"from", wfm::IsoUtc(from)},
         {"until", wfm::IsoUtc(std::max(from, to))},
         {"complete", to >= day_end},
         {"grace_min", Minutes(q.grace)},
         {"agents", agents}};
  http::Response r;
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

}  // namespace homeline::api
