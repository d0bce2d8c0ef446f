#include "adapters/wfm/forecast_render.h"

#include <cstdio>

namespace homeline::wfmio {

namespace wfm = core::wfm;

std::string IntervalStart(wfm::Day day, int slot, int interval_min) {
  const int m = slot * interval_min;
  char buf[16];
  std::snprintf(buf, sizeof buf, "T%02d:%02d", m / 60, m % 60);
  return wfm::FormatDate(day) + buf;
}

nlohmann::json ForecastJson(const wfm::Forecast& f) {
  nlohmann::json factors = nlohmann::json::object();
  for (int w = 0; w < 7; ++w) factors[wfm::WeekdayName(w)] = f.weekday_factor[w];
  nlohmann::json intervals = nlohmann::json::array();
  for (const wfm::ForecastInterval& p : f.intervals) {
    intervals.push_back({{"start", IntervalStart(p.day, p.slot, f.interval_min)},
                         {"volume", p.volume},
                         {"aht_s", p.aht_s},
                         {"multiplier", p.multiplier}});
  }
  return {{"interval_min", f.interval_min},
          {"first_day", wfm::FormatDate(f.first_day)},
          {"days", f.days},
          {"level", f.level},
          {"weekday_factors", std::move(factors)},
          {"intervals", std::move(intervals)}};
}

std::string ForecastCsv(const wfm::Forecast& f) {
  std::string out = "interval_start,volume,aht_s,multiplier\n";
  out.reserve(out.size() + f.intervals.size() * 40);
  char buf[96];
  for (const wfm::ForecastInterval& p : f.intervals) {
    std::snprintf(buf, sizeof buf, ",%.3f,%.1f,%g\n", p.volume, p.aht_s, p.multiplier);
    out += IntervalStart(p.day, p.slot, f.interval_min);
    out += buf;
  }
  return out;
}

}  // namespace homeline::wfmio
