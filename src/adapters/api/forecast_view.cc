#include "adapters/api/forecast_view.h"

#include <charconv>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "adapters/api/responses.h"
#include "adapters/api/staffing_view.h"
#include "adapters/wfm/forecast_render.h"
#include "core/contact_history.h"
#include "core/event_codec.h"

namespace homeline::api {

namespace wfm = core::wfm;
using nlohmann::json;

namespace {

// History read for a forecast: the longest window (12 weeks of shape) with room for gaps.
constexpr int kHistoryWeeks = 20;

Status Integer(const http::Request& req, const char* name, int lo, int hi, int& out) {
  const std::string v = req.QueryParam(name);
  if (v.empty()) return {};
  int n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < lo || n > hi)
    return Fail(ErrorCode::kBadRequest,
                std::string(name) + " must be an integer " + std::to_string(lo) + ".." +
                    std::to_string(hi));
  out = n;
  return {};
}


// A forecast of zeros, for a queue that has no history yet.
wfm::Forecast Zeros(wfm::Day first_day, int days, int interval_min,
                    const std::vector<wfm::CalendarEvent>& calendar) {
  wfm::Forecast f;
  f.interval_min = interval_min;
  f.first_day = first_day;
  f.days = days;
  const int slots = 1440 / interval_min;
  for (int k = 0; k < days; ++k)
    for (int i = 0; i < slots; ++i)
      f.intervals.push_back(wfm::ForecastInterval{
          .day = first_day + k, .slot = i, .multiplier = wfm::MultiplierOn(calendar, first_day + k)});
  return f;
}

struct Requirement {
  wfm::Staffing s;
  bool staffed = false;  // false: no contacts, nothing to solve
};

http::Response Csv(std::string body, const std::string& name) {
  http::Response r;
  r.content_type = "text/csv; charset=utf-8";
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
  r.body = std::move(body);
  return r;
}

}  // namespace

Result<ForecastQuery> ForecastQueryFrom(const http::Request& req) {
  ForecastQuery q;
  const std::string queue = req.QueryParam("queue");
  if (queue.empty()) return Fail(ErrorCode::kBadRequest, "queue is required (a queue id)");
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(queue.data(), queue.data() + queue.size(), id);
  if (ec != std::errc() || end != queue.data() + queue.size() || id == 0)
    return Fail(ErrorCode::kBadRequest, "queue must be a queue id");
  q.queue = id;
  if (auto st = Integer(req, "weeks", 1, wfm::kMaxForecastDays / 7, q.weeks); !st)
    return std::unexpected(st.error());
  if (auto st = Integer(req, "interval", 15, 30, q.interval_min); !st)
    return std::unexpected(st.error());
  if (q.interval_min != 15 && q.interval_min != 30)
    return Fail(ErrorCode::kBadRequest, "interval must be 15 or 30 (minutes)");
  if (const std::string from = req.QueryParam("from"); !from.empty()) {
    q.from = wfm::ParseDate(from);
    if (!q.from) return Fail(ErrorCode::kBadRequest, "from must be a date YYYY-MM-DD");
  }
  const std::string format = req.QueryParam("format");
  if (!format.empty() && format != "json" && format != "csv")
    return Fail(ErrorCode::kBadRequest, "format must be json or csv");
  q.csv = format == "csv";
  return q;
}

std::vector<wfm::CalendarEvent> CalendarFor(const std::vector<const core::CalendarEntry*>& all,
                                            core::QueueId queue) {
  std::vector<wfm::CalendarEvent> out;
  for (const core::CalendarEntry* e : all) {
    if (e->queue != 0 && e->queue != queue) continue;
    auto first = wfm::ParseDate(e->first_day);
    auto last = wfm::ParseDate(e->last_day);
    if (!first || !last) continue;  // the engine only stores valid dates
    out.push_back(wfm::CalendarEvent{.id = e->id, .name = e->name, .first_day = *first,
                                     .last_day = *last, .multiplier = e->multiplier});
  }
  return out;
}

http::Response RunForecastJob(const ForecastJob& job, const EventScan& scan) {
  const ForecastQuery& q = job.query;
  const wfm::Day today = job.zone->LocalDay(job.now);
  const wfm::Day first_day = q.from.value_or(today);
  const wfm::Day scan_from_day = std::min(first_day, today) - 7 * kHistoryWeeks;
  const TimeMs scan_from = job.zone->DayStart(scan_from_day);

  core::ContactHistoryBuilder builder(job.zone, q.interval_min);
  if (!scan) return ErrorResponse(503, "unavailable", "the event history cannot be read");
  static const std::vector<std::string> kTypes = {
      "interaction.created", "interaction.accepted", "interaction.completed",
      "interaction.closed", "interaction.abandoned"};
  auto st = scan(job.tenant, scan_from, kTypes,
                 [&](TimeMs ts, const std::string& type, const std::string& payload) -> Status {
                   auto body = core::DecodePayload(type, payload);
                   if (body) builder.Add(ts, *body);  // an undecodable event was never applied
                   return {};
                 });
  if (!st) return ErrorResponse(503, "unavailable", st.error().message);
  auto histories = builder.Finish(job.now);

  wfm::Forecast f;
  int history_days = 0;
  auto it = histories.find(q.queue);
  if (it != histories.end()) {
    for (wfm::Day d = it->second.first_day; d < std::min(it->second.EndDay(), first_day); ++d)
      history_days += it->second.Known(d) ? 1 : 0;
  }
  if (history_days > 0) {
    wfm::ForecastOptions o;
    o.first_day = first_day;
    o.days = 7 * q.weeks;
    auto made = wfm::MakeForecast(it->second, job.calendar, o);
    if (!made) return ErrorResponse(made.error());
    f = std::move(*made);
  } else {
    f = Zeros(first_day, 7 * q.weeks, q.interval_min, job.calendar);
  }

  const std::string stem = "forecast-queue" + std::to_string(q.queue) + "-" + wfm::FormatDate(first_day);
  if (!job.staffing) {
    if (q.csv) return Csv(wfmio::ForecastCsv(f), stem + ".csv");
    json j = wfmio::ForecastJson(f);
    j["queue"] = q.queue;
    j["history_days"] = history_days;
    http::Response r;
    r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
    return r;
  }

  // Requirements: one staffing solve per interval.
  std::vector<Requirement> req(f.intervals.size());
  for (std::size_t i = 0; i < f.intervals.size(); ++i) {
    const wfm::ForecastInterval& p = f.intervals[i];
    if (p.volume <= 0 || p.aht_s <= 0) continue;
    wfm::StaffingInput in = *job.staffing;
    in.contacts = p.volume;
    in.interval_s = q.interval_min * 60.0;
    in.aht_s = p.aht_s;
    auto s = wfm::SolveStaffing(in);
    if (!s) return ErrorResponse(400, "bad_request", wfmio::IntervalStart(p.day, p.slot, q.interval_min) + ": " + s.error().message);
    req[i] = Requirement{*s, true};
  }
  const wfm::StaffingInput& target = *job.staffing;
  if (q.csv) {
    std::string out =
        "interval_start,volume,aht_s,erlangs,agents,scheduled_agents,service_level,asa_s,occupancy\n";
    char buf[192];
    for (std::size_t i = 0; i < f.intervals.size(); ++i) {
      const wfm::ForecastInterval& p = f.intervals[i];
      const Requirement& r = req[i];
      std::snprintf(buf, sizeof buf, ",%.3f,%.1f,%.3f,%d,%d,%.4f,%.1f,%.4f\n", p.volume, p.aht_s,
                    r.s.erlangs, r.s.agents, r.s.scheduled_agents,
                    r.staffed ? r.s.metrics.service_level : 1.0,
                    r.staffed ? r.s.metrics.asa_s : 0.0, r.staffed ? r.s.metrics.occupancy : 0.0);
      out += wfmio::IntervalStart(p.day, p.slot, q.interval_min);
      out += buf;
    }
    return Csv(std::move(out), "requirements-queue" + std::to_string(q.queue) + "-" +
                                   wfm::FormatDate(first_day) + ".csv");
  }
  json intervals = json::array();
  int peak = 0;
  double agent_hours = 0;
  for (std::size_t i = 0; i < f.intervals.size(); ++i) {
    const wfm::ForecastInterval& p = f.intervals[i];
    const Requirement& r = req[i];
    peak = std::max(peak, r.s.scheduled_agents);
    agent_hours += r.s.scheduled_agents * q.interval_min / 60.0;
    json row = {{"start", wfmio::IntervalStart(p.day, p.slot, q.interval_min)},
                {"volume", p.volume},
                {"aht_s", p.aht_s},
                {"erlangs", r.s.erlangs},
                {"agents", r.s.agents},
                {"scheduled_agents", r.s.scheduled_agents},
                {"service_level", r.staffed ? r.s.metrics.service_level : 1.0},
                {"asa_s", r.staffed ? r.s.metrics.asa_s : 0.0},
                {"occupancy", r.staffed ? r.s.metrics.occupancy : 0.0}};
    if (target.patience_s > 0) row["abandon_rate"] = r.staffed ? r.s.metrics.p_abandon : 0.0;
    intervals.push_back(std::move(row));
  }
  json input = {{"shrinkage", target.shrinkage},
                {"max_occupancy", target.max_occupancy},
                {"concurrency", target.concurrency},
                {"answer_within_s", target.answer_within_s}};
  if (target.target_sl > 0) input["target_sl"] = target.target_sl;
  if (target.target_asa_s > 0) input["target_asa_s"] = target.target_asa_s;
  if (target.patience_s > 0) input["patience_s"] = target.patience_s;
  json j = {{"queue", q.queue},
            {"model", target.patience_s > 0 ? "erlang_a" : "erlang_c"},
            {"interval_min", f.interval_min},
            {"first_day", wfm::FormatDate(f.first_day)},
            {"days", f.days},
            {"history_days", history_days},
            {"peak_scheduled_agents", peak},
            {"scheduled_agent_hours", agent_hours},
            {"input", std::move(input)},
            {"intervals", std::move(intervals)}};
  http::Response r;
  r.body = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

}  // namespace homeline::api
