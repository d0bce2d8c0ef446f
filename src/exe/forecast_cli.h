#pragma once
// `homeline forecast`: a queue's forecast (or a backtest of it) from a CSV of history, or from
// a server's database, printed as text, CSV or JSON. See docs/wfm.md.

#include <string>

namespace homeline::cli {

struct ForecastArgs {
  std::string csv;       // history CSV (history_csv.h)
  // Or the server's data directory: the history of one queue of one tenant (id or slug; the
  // queue by id or name), with the tenant's calendar and time zone, as the API reads them.
  std::string data;
  std::string tenant;
  std::string queue;
  std::string calendar;  // optional calendar CSV
  int interval_min = 30;
  int weeks = 4;
  std::string from;      // first forecast day; default the day after the history
  std::string format = "text";  // text | csv | json
  std::string backtest;  // "DATE[:COUNT][,…]": weekly origins to hold out and score
  int horizon_weeks = 1;
};

// Exit status: 0, or 2 on bad input (message on stderr).
int Forecast(const ForecastArgs& args);

}  // namespace homeline::cli
