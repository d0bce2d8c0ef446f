#include "adapters/wfm/schedule_render.h"

#include <cctype>

#include <fmt/format.h>

#include "core/wfm/schedule_json.h"

namespace homeline::wfmio {

using core::wfm::AgentSchedule;
using core::wfm::ScheduleResult;
using core::wfm::Shift;

namespace {

// 20261130T080000Z
std::string IcsTime(TimeMs t) {
  const std::string iso = core::wfm::IsoUtc(t);  // 2026-11-30T08:00:00Z
  return iso.substr(0, 4) + iso.substr(5, 2) + iso.substr(8, 5) + iso.substr(14, 2) +
         iso.substr(17, 2) + "Z";
}

std::string HourMinute(TimeMs t) { return core::wfm::IsoUtc(t).substr(11, 5); }

std::string EscapeText(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case ';': out += "\\;"; break;
      case ',': out += "\\,"; break;
      case '\n': out += "\\n"; break;
      case '\r': break;
      default: out += c;
    }
  }
  return out;
}

// Characters that may not appear in a UID or property value unescaped are replaced.
std::string UidPart(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += (std::isalnum(c) || c == '-' || c == '_' || c == '.') ? static_cast<char>(c) : '_';
  return out;
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Segments(const Shift& s) {
  std::string out;
  for (const auto& g : s.segments) {
    if (!out.empty()) out += ';';
    out += fmt::format("{} {}-{}", g.name, HourMinute(g.start), HourMinute(g.end));
  }
  return out;
}

}  // namespace

std::string FoldLine(const std::string& line) {
  std::string out;
  std::size_t i = 0, limit = 75;  // the first line holds 75 octets, continuations 1 + 74
  while (line.size() - i > limit) {
    std::size_t cut = i + limit;
    // Back off to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx).
    while (cut > i && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    out.append(line, i, cut - i);
    out += "\r\n ";
    i = cut;
    limit = 74;
  }
  out.append(line, i, std::string::npos);
  return out;
}

std::string AgentIcs(const AgentSchedule& a, const std::string& scope, TimeMs stamp) {
  std::string out;
  auto line = [&out](const std::string& l) {
    out += FoldLine(l);
    out += "\r\n";
  };
  line("BEGIN:VCALENDAR");
  line("VERSION:2.0");
  line("PRODID:-//Homeline//Schedules//EN");
  line("CALSCALE:GREGORIAN");
  line("METHOD:PUBLISH");
  line("X-WR-CALNAME:" + EscapeText("Shifts of " + (a.name.empty() ? a.agent_id : a.name)));
  for (const Shift& s : a.shifts) {
    line("BEGIN:VEVENT");
    line(fmt::format("UID:shift-{}-{}@{}.homeline", UidPart(a.agent_id),
                     IcsTime(s.start).substr(0, 8), UidPart(scope)));
    line("DTSTAMP:" + IcsTime(stamp));
    line("DTSTART:" + IcsTime(s.start));
    line("DTEND:" + IcsTime(s.end));
    line("SUMMARY:" + EscapeText(fmt::format("Shift ({})", s.template_id)));
    std::string desc = fmt::format("Paid hours: {:g}", s.paid_hours);
    for (const auto& g : s.segments)
      desc += fmt::format("\n{}: {}-{} UTC{}", g.name, HourMinute(g.start), HourMinute(g.end),
                          g.paid ? "" : " (unpaid)");
    line("DESCRIPTION:" + EscapeText(desc));
    line("TRANSP:OPAQUE");
    line("END:VEVENT");
  }
  line("END:VCALENDAR");
  return out;
}

std::string ShiftsCsv(const ScheduleResult& r) {
  std::string out = "agent_id,name,contract,template,start,end,paid_hours,hourly_rate,cost,segments\n";
  for (const AgentSchedule& a : r.agents)
    for (const Shift& s : a.shifts)
      out += fmt::format("{},{},{},{},{},{},{:g},{:g},{:.2f},{}\n", CsvField(a.agent_id),
                         CsvField(a.name), core::wfm::Name(a.contract), CsvField(s.template_id),
                         core::wfm::IsoUtc(s.start), core::wfm::IsoUtc(s.end), s.paid_hours,
                         a.hourly_rate, s.cost, CsvField(Segments(s)));
  return out;
}

std::string CoverageCsv(const ScheduleResult& r) {
  std::string out = "interval_start,required,scheduled,under,over\n";
  const auto& c = r.coverage;
  for (std::size_t i = 0; i < c.scheduled.size(); ++i)
    out += fmt::format("{},{},{},{},{}\n",
                       core::wfm::IsoUtc(r.week_start + static_cast<TimeMs>(i) * core::wfm::kIntervalMin * kMinute),
                       i < c.required.size() ? c.required[i] : 0, c.scheduled[i], c.under[i], c.over[i]);
  return out;
}

}  // namespace homeline::wfmio
