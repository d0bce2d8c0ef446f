#pragma once
// Reading a queue's history and a calendar from CSV files, so planners can forecast from their
// own exports (`homeline forecast --csv FILE`) and tests can read the bank records.
//
// History CSV: a header row, then one row per interval. Columns are found by name (others are
// ignored): `interval_start` (local "YYYY-MM-DDTHH:MM" or "YYYY-MM-DD HH:MM"), `offered` (or
// `contacts`, `volume`), and optionally `handled` (or `answered`) with `handle_s_sum` (the sum
// of handle times of the handled contacts, seconds). Rows may be 5, 10, 15, 30 or 60 minutes
// apart; each is summed into the interval of `interval_min` that holds its start, so the file's
// own interval must divide interval_min. A date with at least one row is an observed day;
// dates without rows are gaps, not zeros. Files ending in .gz (or starting with gzip's magic)
// are read through zlib.
//
// Calendar CSV: header `name,first_day,last_day,multiplier` (dates "YYYY-MM-DD", inclusive).
//
// Errors (kBadRequest) name the file, the line and the field. Thread-safe (no shared state).

#include <string>
#include <vector>

#include "common/result.h"
#include "core/wfm/forecast.h"

namespace homeline::wfmio {

[[nodiscard]] Result<core::wfm::History> ReadHistoryCsv(const std::string& path, int interval_min);
[[nodiscard]] Result<std::vector<core::wfm::CalendarEvent>> ReadCalendarCsv(const std::string& path);

// The inverse, for tests and for users who want the aggregated series: one row per interval of
// every known day, columns interval_start,offered,handled,handle_s_sum.
std::string HistoryCsv(const core::wfm::History& history);

}  // namespace homeline::wfmio
