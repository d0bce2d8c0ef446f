// Schedules in and out: the problem JSON planners write, the result JSON (API and store),
// iCalendar (RFC 5545 structure, folding, escaping) and CSV.
#include <fstream>
#include <algorithm>
#include <map>
#include <set>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "adapters/wfm/schedule_render.h"
#include "core/wfm/schedule.h"
#include "core/wfm/schedule_json.h"

namespace homeline::core::wfm {
namespace {

using nlohmann::json;

constexpr TimeMs kWeek = 1795996800000;  // Monday 2026-11-30 00:00 UTC

json SmallProblem() {
  std::ifstream in(HOMELINE_SCHEDULE_DATA "/small.json");
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str());
}

TEST(ScheduleJson, ParsesThePlannersFormat) {
  auto p = ProblemFromJson(SmallProblem());
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_TRUE(Validate(*p)) << Validate(*p).error().message;
  EXPECT_EQ(p->week_start, kWeek);
  EXPECT_EQ(p->required.size(), 672u);
  EXPECT_EQ(p->min_rest_min, 660);
  ASSERT_EQ(p->templates.size(), 3u);
  EXPECT_EQ(p->templates[0].days, (std::vector<int>{0, 1, 2, 3, 4}));  // mon..fri from a Monday
  EXPECT_EQ(p->templates[0].starts_min, (std::vector<int>{480, 510, 540, 570, 600}));
  EXPECT_FALSE(p->templates[0].breaks[1].paid);
  EXPECT_EQ(p->templates[2].days, (std::vector<int>{5, 6}));
  EXPECT_DOUBLE_EQ(p->templates[1].pay_factor, 1.2);
  ASSERT_EQ(p->agents.size(), 5u);
  EXPECT_EQ(p->agents[2].contract, Contract::kContractor);
  EXPECT_EQ(p->agents[2].availability[0].start_min, 1 * 1440 + 16 * 60);
  EXPECT_EQ(p->agents[0].preferences.earliest_start_min, 480);
  EXPECT_EQ(p->agents[0].preferences.days, (std::vector<int>{0, 1, 2, 3}));
}

TEST(ScheduleJson, DaysFollowTheWeekStartAndSpansCrossMidnight) {
  json j = SmallProblem();
  j["week_start"] = "2026-12-02T00:00:00Z";  // a Wednesday: "mon" is day 5
  j["agents"][0]["availability"] = {{{"day", "mon"}, {"from", "22:00"}, {"to", "06:00"}},
                                    {{"day", 6}, {"from", "20:00"}, {"to", "24:00"}}};
  auto p = ProblemFromJson(j);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ(p->templates[0].days, (std::vector<int>{5, 6, 0, 1, 2}));
  EXPECT_EQ(p->agents[0].availability[0].start_min, 5 * 1440 + 22 * 60);
  EXPECT_EQ(p->agents[0].availability[0].end_min, 6 * 1440 + 6 * 60);
  EXPECT_EQ(p->agents[0].availability[1].end_min, 7 * 1440);
}

TEST(ScheduleJson, BadFieldsAreNamed) {
  auto expect = [](json j, const std::string& part) {
    auto p = ProblemFromJson(j);
    ASSERT_FALSE(p) << part;
    EXPECT_EQ(p.error().code, ErrorCode::kBadRequest);
    EXPECT_NE(p.error().message.find(part), std::string::npos) << p.error().message;
  };
  json j = SmallProblem();
  j["surprise"] = 1;
  expect(j, "surprise: unknown field");
  j = SmallProblem(), j["week_start"] = "2026-11-30";
  expect(j, "week_start");
  j = SmallProblem(), j["required"][3] = "x";
  expect(j, "required[3]: must be an integer");
  j = SmallProblem(), j["templates"][1]["starts"] = {"25:00"};
  expect(j, "templates[1].starts[0]");
  j = SmallProblem(), j["templates"][0]["days"] = {"funday"};
  expect(j, "templates[0].days[0]");
  j = SmallProblem(), j["agents"][3]["contract"] = "intern";
  expect(j, "agents[3].contract");
  j = SmallProblem(), j["agents"][1]["availability"][0]["from"] = 9;
  expect(j, "agents[1].availability[0]");
  j = SmallProblem(), j["agents"][0].erase("hourly_rate");
  expect(j, "agents[0].hourly_rate: missing");
  j = SmallProblem(), j["templates"][0]["breaks"][0]["length_min"] = 7.5;
  expect(j, "templates[0].breaks[0].length_min: must be an integer");
  expect(json::array(), "must be an object");
}

ScheduleResult Sample() {
  ScheduleResult r;
  r.week_start = kWeek;
  r.status = SolveStatus::kTimeLimit;
  r.objective = 100.5;
  r.bound = 99;
  r.gap = 1.5 / 100.5;
  r.labour_cost = 90;
  r.coverage.required.assign(kIntervalsPerWeek, 1);
  r.coverage.scheduled.assign(kIntervalsPerWeek, 0);
  r.coverage.under.assign(kIntervalsPerWeek, 1);
  r.coverage.over.assign(kIntervalsPerWeek, 0);
  r.coverage.under_total = kIntervalsPerWeek;
  AgentSchedule a;
  a.agent_id = "zoë";
  a.name = "Zoë Ångström-Łukasiewicz, Senior Agent; Team \"North\"";
  a.contract = Contract::kContractor;
  a.hourly_rate = 22.5;
  Shift s;
  s.template_id = "early";
  s.start = kWeek + 8 * kHour;
  s.end = kWeek + 16 * kHour + 30 * kMinute;
  s.paid_hours = 8;
  s.cost = 180;
  s.segments = {{"break", s.start + 90 * kMinute, s.start + 105 * kMinute, true},
                {"lunch", s.start + 240 * kMinute, s.start + 270 * kMinute, false}};
  a.shifts.push_back(s);
  s.start += kDay, s.end += kDay;
  for (auto& g : s.segments) g.start += kDay, g.end += kDay;
  a.shifts.push_back(s);
  a.paid_hours = 16;
  a.cost = 360;
  r.agents.push_back(a);
  return r;
}

TEST(ScheduleJson, ResultRoundTrips) {
  const ScheduleResult r = Sample();
  const json j = ToJson(r);
  EXPECT_EQ(j["agents"][0]["shifts"][0]["start"], "2026-11-30T08:00:00Z");
  auto back = ResultFromJson(j);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(ToJson(*back), j);
  EXPECT_EQ(back->agents[0].shifts[1].segments[1].end, r.agents[0].shifts[1].segments[1].end);
}

TEST(ScheduleJson, IsoTimes) {
  EXPECT_EQ(IsoUtc(kWeek), "2026-11-30T00:00:00Z");
  EXPECT_EQ(IsoUtc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(IsoUtc(951782400000 + 1000), "2000-02-29T00:00:01Z");
  EXPECT_EQ(*ParseIsoUtc("2000-02-29T00:00:01Z"), 951782401000);
  EXPECT_FALSE(ParseIsoUtc("2026-11-30T00:00:00+01:00"));
  EXPECT_FALSE(ParseIsoUtc("2026-13-01T00:00:00Z"));
  EXPECT_FALSE(ParseIsoUtc(""));
}

// Unfolds RFC 5545 content lines: CRLF followed by one space or tab continues the line.
std::vector<std::string> Unfold(const std::string& ics) {
  std::vector<std::string> lines;
  std::size_t i = 0;
  while (i < ics.size()) {
    const std::size_t e = ics.find("\r\n", i);
    if (e == std::string::npos) break;
    std::string l = ics.substr(i, e - i);
    if (!l.empty() && (l[0] == ' ' || l[0] == '\t')) {
      lines.back() += l.substr(1);
    } else {
      lines.push_back(l);
    }
    i = e + 2;
  }
  return lines;
}

TEST(ScheduleIcs, ParsesAsRfc5545) {
  const ScheduleResult r = Sample();
  const std::string ics = wfmio::AgentIcs(r.agents[0], "acme", kWeek - kDay);
  // Every line ends in CRLF, none is longer than 75 octets, and no bare LF.
  ASSERT_GE(ics.size(), 2u);
  EXPECT_EQ(ics.substr(ics.size() - 2), "\r\n");
  std::size_t start = 0;
  while (start < ics.size()) {
    const std::size_t e = ics.find("\r\n", start);
    ASSERT_NE(e, std::string::npos);
    EXPECT_LE(e - start, 75u) << ics.substr(start, e - start);
    EXPECT_EQ(ics.substr(start, e - start).find('\n'), std::string::npos);
    start = e + 2;
  }
  // Folding never cut a UTF-8 sequence: each physical line is valid UTF-8 on its own.
  const std::vector<std::string> lines = Unfold(ics);
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines.front(), "BEGIN:VCALENDAR");
  EXPECT_EQ(lines.back(), "END:VCALENDAR");
  const std::regex prop("^[A-Z-]+(;[^:]*)?:.*$");
  const std::regex utc("^\\d{8}T\\d{6}Z$");
  std::vector<std::string> stack;
  std::vector<std::map<std::string, std::string>> events;
  std::map<std::string, std::string> calendar;
  for (const std::string& l : lines) {
    ASSERT_TRUE(std::regex_match(l, prop)) << l;
    const std::string name = l.substr(0, l.find(':'));
    const std::string value = l.substr(l.find(':') + 1);
    if (name == "BEGIN") {
      stack.push_back(value);
      if (value == "VEVENT") events.emplace_back();
    } else if (name == "END") {
      ASSERT_FALSE(stack.empty());
      EXPECT_EQ(stack.back(), value);
      stack.pop_back();
    } else if (stack.back() == "VEVENT") {
      EXPECT_FALSE(events.back().contains(name)) << "repeated " << name;
      events.back()[name] = value;
    } else {
      calendar[name] = value;
    }
  }
  EXPECT_TRUE(stack.empty());
  EXPECT_EQ(calendar["VERSION"], "2.0");
  EXPECT_FALSE(calendar["PRODID"].empty());
  ASSERT_EQ(events.size(), 2u);
  std::set<std::string> uids;
  for (auto& ev : events) {
    for (const char* req : {"UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"})
      EXPECT_TRUE(ev.contains(req)) << req;
    EXPECT_TRUE(std::regex_match(ev["DTSTART"], utc)) << ev["DTSTART"];
    EXPECT_TRUE(std::regex_match(ev["DTEND"], utc));
    EXPECT_TRUE(std::regex_match(ev["DTSTAMP"], utc));
    EXPECT_LT(ev["DTSTART"], ev["DTEND"]);
    uids.insert(ev["UID"]);
  }
  EXPECT_EQ(uids.size(), 2u);
  EXPECT_EQ(events[0]["DTSTART"], "20261130T080000Z");
  EXPECT_EQ(events[0]["DTEND"], "20261130T163000Z");
  EXPECT_EQ(events[1]["DTSTART"], "20261201T080000Z");
  EXPECT_EQ(events[0]["DTSTAMP"], "20261129T000000Z");
  EXPECT_NE(events[0]["DESCRIPTION"].find("lunch: 12:00-12:30 UTC (unpaid)"), std::string::npos);
  // TEXT escaping: the name's comma, semicolon and quote survive unfolding, escaped.
  EXPECT_NE(calendar["X-WR-CALNAME"].find("Łukasiewicz\\, Senior Agent\\; Team \"North\""),
            std::string::npos)
      << calendar["X-WR-CALNAME"];
  // An export made later (another DTSTAMP) keeps the UIDs, so calendars update the events; another
  // tenant's export does not share them.
  EXPECT_NE(wfmio::AgentIcs(r.agents[0], "acme", kWeek).find(events[0]["UID"]), std::string::npos);
  EXPECT_EQ(wfmio::AgentIcs(r.agents[0], "globex", kWeek).find(events[0]["UID"]), std::string::npos);
}

TEST(ScheduleIcs, FoldsAt75OctetsWithoutSplittingUtf8) {
  std::string line = "DESCRIPTION:";
  for (int i = 0; i < 60; ++i) line += "é";  // 2 octets each
  const std::string folded = wfmio::FoldLine(line);
  std::size_t start = 0;
  std::string joined;
  while (true) {
    const std::size_t e = folded.find("\r\n", start);
    const std::string part = folded.substr(start, e == std::string::npos ? std::string::npos : e - start);
    EXPECT_LE(part.size(), 75u);
    // A physical line never starts with a UTF-8 continuation byte (after the fold's space).
    const std::string content = start == 0 ? part : part.substr(1);
    if (start != 0) {
      EXPECT_EQ(part[0], ' ');
    }
    ASSERT_FALSE(content.empty());
    EXPECT_NE(static_cast<unsigned char>(content[0]) & 0xC0, 0x80);
    joined += content;
    if (e == std::string::npos) break;
    start = e + 2;
  }
  EXPECT_EQ(joined, line);
  EXPECT_EQ(wfmio::FoldLine("SHORT:x"), "SHORT:x");
}

TEST(ScheduleCsv, ShiftsAndCoverage) {
  const ScheduleResult r = Sample();
  const std::string csv = wfmio::ShiftsCsv(r);
  std::istringstream in(csv);
  std::string header, row;
  std::getline(in, header);
  EXPECT_EQ(header, "agent_id,name,contract,template,start,end,paid_hours,hourly_rate,cost,segments");
  std::getline(in, row);
  EXPECT_EQ(row,
            "zoë,\"Zoë Ångström-Łukasiewicz, Senior Agent; Team \"\"North\"\"\",contractor,early,"
            "2026-11-30T08:00:00Z,2026-11-30T16:30:00Z,8,22.5,180.00,break 09:30-09:45;lunch 12:00-12:30");
  int rows = 1;
  while (std::getline(in, row)) ++rows;
  EXPECT_EQ(rows, 2);
  const std::string cov = wfmio::CoverageCsv(r);
  EXPECT_EQ(cov.substr(0, cov.find('\n')), "interval_start,required,scheduled,under,over");
  EXPECT_NE(cov.find("\n2026-11-30T00:15:00Z,1,0,1,0\n"), std::string::npos);
  EXPECT_EQ(std::count(cov.begin(), cov.end(), '\n'), 673);
}

}  // namespace
}  // namespace homeline::core::wfm
