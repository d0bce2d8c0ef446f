#include "exe/forecast_cli.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "adapters/api/forecast_view.h"
#include "adapters/store/event_store.h"
#include "adapters/tz/tzif.h"
#include "core/engine.h"
#include "core/event_codec.h"
#include "adapters/wfm/forecast_render.h"
#include "adapters/wfm/history_csv.h"
#include "core/wfm/forecast.h"

namespace homeline::cli {

namespace wfm = core::wfm;

namespace {

int Usage(const std::string& message) {
  std::fprintf(stderr, "homeline forecast: %s\n", message.c_str());
  return 2;
}

// "1999-05-30:9,1999-10-03" → 9 weekly origins from 30 May, and 3 October.
bool ParseOrigins(const std::string& spec, std::vector<wfm::Day>& out) {
  std::size_t i = 0;
  while (i <= spec.size()) {
    std::size_t j = spec.find(',', i);
    if (j == std::string::npos) j = spec.size();
    const std::string item = spec.substr(i, j - i);
    const std::size_t colon = item.find(':');
    auto day = wfm::ParseDate(item.substr(0, colon));
    int count = 1;
    if (colon != std::string::npos) {
      try {
        count = std::stoi(item.substr(colon + 1));
      } catch (...) {
        return false;
      }
    }
    if (!day || count < 1 || count > 104) return false;
    for (int k = 0; k < count; ++k) out.push_back(*day + 7 * k);
    i = j + 1;
  }
  return !out.empty();
}

// The forecast of one queue from a server's database: the state (tenant, queue, calendar, time
// zone) by replaying the log, the history by the same scan and job as the API's route.
int FromStore(const ForecastArgs& a) {
  if (a.tenant.empty() || a.queue.empty()) return Usage("--data needs --tenant and --queue");
  if (a.format == "text") return Usage("with --data, --format is csv or json");
  const std::string path = (std::filesystem::path(a.data) / "homeline.db").string();
  if (!std::filesystem::exists(path)) return Usage(path + ": no database");
  auto store = store::OpenSqliteStore(path, {});
  if (!store) return Usage(store.error().message);
  core::Engine engine(core::EngineOptions{.zones = tz::SystemZones::Default().Lookup()});
  auto st = (*store)->Replay([&](const store::StoredEvent& se) -> Status {
    auto body = core::DecodePayload(se.type, se.payload);
    if (!body) return std::unexpected(body.error());
    return engine.Replay(core::Event{se.seq, se.ts, se.tenant, std::move(*body)});
  });
  if (!st) return Usage("replaying " + path + ": " + st.error().message);
  const TimeMs now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  engine.SetTime(now);
  const core::Tenant* tenant = engine.FindTenantBySlug(a.tenant);
  if (tenant == nullptr) {
    for (const auto& [id, t] : engine.tenants())
      if (std::to_string(id) == a.tenant) tenant = &t;
  }
  if (tenant == nullptr) return Usage("no tenant " + a.tenant);
  const core::Queue* queue = nullptr;
  for (const core::Queue* q : engine.Queues(tenant->id))
    if (q->name == a.queue || std::to_string(q->id) == a.queue) queue = q;
  if (queue == nullptr) return Usage("no queue " + a.queue + " in " + tenant->slug);

  api::ForecastJob job;
  job.tenant = tenant->id;
  job.query.queue = queue->id;
  job.query.weeks = a.weeks;
  job.query.interval_min = a.interval_min;
  if (!a.from.empty()) {
    job.query.from = wfm::ParseDate(a.from);
    if (!job.query.from) return Usage("--from must be YYYY-MM-DD");
  }
  if (a.interval_min != 15 && a.interval_min != 30) return Usage("--interval must be 15 or 30");
  job.query.csv = a.format == "csv";
  job.zone = engine.ZoneOf(tenant->id);
  job.now = now;
  job.calendar = api::CalendarFor(engine.CalendarEvents(tenant->id), queue->id);
  store::EventStore& s = **store;
  const http::Response r = api::RunForecastJob(
      job, [&s](std::uint64_t t, TimeMs from, const std::vector<std::string>& types,
                const auto& fn) {
        return s.ScanTenant(t, from, types,
                            [&fn](const store::StoredEvent& e) { return fn(e.ts, e.type, e.payload); });
      });
  if (r.status != 200) {
    std::fprintf(stderr, "homeline forecast: %s\n", r.body.c_str());
    return 2;
  }
  std::fputs(r.body.c_str(), stdout);
  if (!job.query.csv) std::fputs("\n", stdout);
  return 0;
}

}  // namespace

int Forecast(const ForecastArgs& a) {
  if (!a.data.empty()) return FromStore(a);
  if (a.csv.empty()) return Usage("give --csv FILE, or --data DIR with --tenant and --queue");
  if (a.weeks < 1 || a.weeks > wfm::kMaxForecastDays / 7) return Usage("--weeks must be 1..26");
  if (a.horizon_weeks < 1 || a.horizon_weeks > 26) return Usage("--horizon-weeks must be 1..26");
  if (a.format != "text" && a.format != "csv" && a.format != "json")
    return Usage("--format must be text, csv or json");
  auto history = wfmio::ReadHistoryCsv(a.csv, a.interval_min);
  if (!history) return Usage(history.error().message);
  std::vector<wfm::CalendarEvent> calendar;
  if (!a.calendar.empty()) {
    auto c = wfmio::ReadCalendarCsv(a.calendar);
    if (!c) return Usage(c.error().message);
    calendar = std::move(*c);
  }

  if (!a.backtest.empty()) {
    std::vector<wfm::Day> origins;
    if (!ParseOrigins(a.backtest, origins))
      return Usage("--backtest takes DATE[:WEEKS][,DATE[:WEEKS]...]");
    auto r = wfm::RunBacktest(*history, calendar, origins, 7 * a.horizon_weeks, {});
    if (!r) return Usage(r.error().message);
    std::printf("backtest: %d origin(s), %d week(s) ahead, %d-minute intervals, %d days scored "
                "(%.0f contacts; days with calendar events not scored)\n",
                r->origins, a.horizon_weeks, a.interval_min, r->model.days, r->model.actual);
    std::printf("  volume WAPE  forecast %.4f   seasonal naive %.4f   (%.1f %% lower)\n",
                r->model.wape, r->naive.wape,
                r->naive.wape > 0 ? 100 * (1 - r->model.wape / r->naive.wape) : 0.0);
    std::printf("  AHT WAPE     forecast %.4f   seasonal naive %.4f\n", r->model.aht_wape,
                r->naive.aht_wape);
    return 0;
  }

  wfm::ForecastOptions o;
  o.first_day = history->EndDay();
  if (!a.from.empty()) {
    auto d = wfm::ParseDate(a.from);
    if (!d) return Usage("--from must be YYYY-MM-DD");
    o.first_day = *d;
  }
  o.days = 7 * a.weeks;
  auto f = wfm::MakeForecast(*history, calendar, o);
  if (!f) return Usage(f.error().message);
  if (a.format == "csv") {
    std::fputs(wfmio::ForecastCsv(*f).c_str(), stdout);
  } else if (a.format == "json") {
    std::printf("%s\n", wfmio::ForecastJson(*f).dump(2).c_str());
  } else {
    std::printf("forecast from %s, %d weeks, %d-minute intervals; level %.1f contacts a day\n",
                wfm::FormatDate(f->first_day).c_str(), a.weeks, f->interval_min, f->level);
    std::printf("  %-10s %-3s %9s %8s %-6s %8s %5s\n", "date", "day", "contacts", "AHT s",
                "peak", "at peak", "mult");
    const int slots = 1440 / f->interval_min;
    for (int k = 0; k < f->days; ++k) {
      double vol = 0, work = 0, peak = 0;
      int peak_slot = 0;
      for (int i = 0; i < slots; ++i) {
        const wfm::ForecastInterval& p = f->intervals[static_cast<std::size_t>(k) * slots + i];
        vol += p.volume;
        work += p.volume * p.aht_s;
        if (p.volume > peak) peak = p.volume, peak_slot = i;
      }
      const wfm::ForecastInterval& first = f->intervals[static_cast<std::size_t>(k) * slots];
      const std::string at = wfmio::IntervalStart(first.day, peak_slot, f->interval_min);
      std::printf("  %-10s %-3s %9.1f %8.1f %-6s %8.1f %5g\n", wfm::FormatDate(first.day).c_str(),
                  wfm::WeekdayName(wfm::Weekday(first.day)), vol, vol > 0 ? work / vol : 0.0,
                  at.substr(11).c_str(), peak, first.multiplier);
    }
  }
  return 0;
}

}  // namespace homeline::cli
