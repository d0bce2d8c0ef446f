#pragma once
// A solved schedule as files people open elsewhere: an agent's shifts as iCalendar (RFC 5545,
// for their calendar app), every shift as CSV (a spreadsheet), and the per-interval coverage as
// CSV. Shared by `homeline schedule` and the API. Pure functions.

#include <string>

#include "common/time.h"
#include "core/wfm/schedule.h"

namespace homeline::wfmio {

// VCALENDAR with one VEVENT per shift: UID stable per agent and day (a republished week updates
// the events instead of duplicating them), DTSTAMP = `stamp`, DTSTART/DTEND in UTC, SUMMARY with
// the template, DESCRIPTION listing breaks and lunch. CRLF line ends; lines folded at 75 octets
// (never inside a UTF-8 sequence); TEXT values escaped (\\ \; \, \n). `scope` goes into the UIDs
// (the tenant's slug), keeping two tenants' events apart.
std::string AgentIcs(const core::wfm::AgentSchedule& agent, const std::string& scope,
                     TimeMs stamp);

// Header agent_id,name,contract,template,start,end,paid_hours,hourly_rate,cost,segments; one row
// per shift in agent then time order; segments "lunch 11:30-12:00;break 14:00-14:15" (UTC).
std::string ShiftsCsv(const core::wfm::ScheduleResult& result);

// Header interval_start,required,scheduled,under,over; one row per 15-minute interval.
std::string CoverageCsv(const core::wfm::ScheduleResult& result);

// RFC 5545 §3.1 folding of one content line (without its CRLF): CRLF + space before every 75
// octets, not splitting a UTF-8 sequence. Exposed for its test.
std::string FoldLine(const std::string& line);

}  // namespace homeline::wfmio
