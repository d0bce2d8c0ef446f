// Scenario files: the sample under examples/ loads and runs; mistakes get one clear error.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/wfm/schedule_json.h"

#include "sim/scenario_toml.h"
#include "sim/simulator.h"

namespace homeline::sim {
namespace {

const char* kMinimal = R"(
seed = 3
interval_minutes = 15
[[queue]]
name = "q"
handle_time = { mean = 100, sigma = 0.5 }
arrivals = { start = "09:00", per_interval = [4, 8] }
[[agent]]
name = "a"
count = 2
shifts = [{ start = "09:00", end = "10:00" }, { start = "22:00", end = "02:00", day = 1 }]
)";

TEST(ScenarioToml, ReadsTheFormat) {
  auto s = ParseScenario(kMinimal);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->seed, 3u);
  EXPECT_EQ(s->interval, 15 * kMinute);
  ASSERT_EQ(s->queues.size(), 1u);
  const QueueSpec& q = s->queues[0];
  ASSERT_EQ(q.arrivals.size(), 96u);  // the day's intervals
  EXPECT_EQ(q.arrivals[36], 4);
  EXPECT_EQ(q.arrivals[37], 8);
  EXPECT_EQ(q.arrivals[35], 0);
  EXPECT_EQ(q.arrivals[38], 0);
  EXPECT_EQ(q.handle.kind, Distribution::kLogNormal);
  EXPECT_NEAR(q.handle.sd_s, 100 * std::sqrt(std::expm1(0.25)), 1e-9);
  ASSERT_EQ(s->agents.size(), 2u);
  EXPECT_EQ(s->agents[1].name, "a-2");
  ASSERT_EQ(s->agents[0].shifts.size(), 2u);
  EXPECT_EQ(s->agents[0].shifts[1].start, 22 * kHour);
  EXPECT_EQ(s->agents[0].shifts[1].end, 26 * kHour);  // past midnight
}

TEST(ScenarioToml, SampleScenarioRuns) {
  auto s = LoadScenario(HOMELINE_SOURCE_DIR "/examples/sim/support.toml");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->queues.size(), 3u);
  EXPECT_EQ(s->agents.size(), 17u);
  auto r = Simulate(*s);
  ASSERT_TRUE(r) << r.error().message;
  for (const QueueResult& q : r->queues) {
    EXPECT_GT(q.total.offered, 0);
    EXPECT_EQ(q.total.offered, q.total.answered + q.total.abandoned + q.total.unfinished);
  }
  // Spanish speakers work 08:00-18:00: 8.5 + 8.5 + 6 hours.
  EXPECT_GT(r->all.total.staffed_s, (14 * 8 + 23) * 3600.0 - 1);
}

TEST(ScenarioToml, ClearErrors) {
  auto err = [](const std::string& text) {
    auto s = ParseScenario(text, "x.toml");
    return s ? std::string("(accepted)") : s.error().message;
  };
  const std::string queue = "[[queue]]\nname = \"q\"\nhandle_time = { mean = 60, sd = 30 }\n";
  const std::string agent = "[[agent]]\nname = \"a\"\nalways = true\n";
  EXPECT_EQ(err(queue + agent), "(accepted)");
  EXPECT_NE(err("sed = 1\n" + queue + agent).find("unknown key 'sed'"), std::string::npos);
  EXPECT_NE(err("seed = \n").find("x.toml:1"), std::string::npos);
  EXPECT_NE(err(queue + "[[agent]]\nname = \"a\"\nshifts = [{ start = \"8:00\", end = \"16:00\" }]\n")
                .find("HH:MM"), std::string::npos);
  EXPECT_NE(err(queue + agent + "[[shift]]\nagent = \"zed\"\nstart = \"08:00\"\nend = \"09:00\"\n")
                .find("no [[agent]] named 'zed'"), std::string::npos);
  EXPECT_NE(err("[[queue]]\nname = \"q\"\nhandle_time = { mean = 60 }\n" + agent).find("sd"),
            std::string::npos);
  EXPECT_NE(err(queue + "arrivals = { start = \"23:00\", per_interval = [1, 2, 3] }\n" + agent)
                .find("past midnight"), std::string::npos);
  EXPECT_NE(err(queue).find("agents or staffing"), std::string::npos);
  EXPECT_NE(err(queue + agent + "[[agent]]\nname = \"a\"\n").find("twice"), std::string::npos);
}

}  // namespace
}  // namespace homeline::sim

namespace homeline::sim {
namespace {

// examples/sim/week_schedule.json is `homeline schedule tests/data/schedule/small.json --json`:
// with no customers, every agent is logged in exactly when the schedule's coverage says they
// work (shifts minus breaks and lunch), 15 minutes by 15 minutes.
TEST(ScenarioToml, PublishedScheduleIsWorkedAsScheduled) {
  auto s = LoadScenario(HOMELINE_SOURCE_DIR "/examples/sim/week.toml");
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->agents.size(), 5u);
  EXPECT_EQ(s->agents[0].name, "alice");
  EXPECT_EQ(s->agents[0].skills.at("support"), 8);
  EXPECT_EQ(s->agents[1].skills.at("support"), 5);  // [schedule] skills
  EXPECT_GT(s->agents[0].shifts.size(), 5u);        // split by breaks

  std::ifstream in(HOMELINE_SOURCE_DIR "/examples/sim/week_schedule.json");
  auto schedule = core::wfm::ResultFromJson(nlohmann::json::parse(in));
  ASSERT_TRUE(schedule) << schedule.error().message;
  const std::vector<int>& working = schedule->coverage.scheduled;  // per 15 minutes
  ASSERT_EQ(working.size(), 672u);

  s->interval = 15 * kMinute;
  for (QueueSpec& q : s->queues) q.arrivals.clear();
  auto r = Simulate(*s);
  ASSERT_TRUE(r) << r.error().message;
  int mismatches = 0;
  for (int k = 0; k < 672; ++k)
    mismatches += std::abs(r->all.intervals[k].staffed_s - working[k] * 900.0) > 1e-6;
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(r->all.total.staffed_s, 100 * 3600.0);
}

TEST(ScenarioToml, ScheduleErrors) {
  const std::string queue = "[[queue]]\nname = \"q\"\nhandle_time = { mean = 60, sd = 30 }\n";
  auto err = [&](const std::string& text) {
    auto s = ParseScenario("days = 7\n" + queue + text, "x.toml", HOMELINE_SOURCE_DIR "/examples/sim");
    return s ? std::string("(accepted)") : s.error().message;
  };
  EXPECT_NE(err("").find("agents or staffing"), std::string::npos);
  EXPECT_NE(err("[schedule]\nfile = \"week_schedule.json\"\n").find("no [[agent]] entry"), std::string::npos);
  EXPECT_NE(err("[schedule]\nfile = \"nope.json\"\nskills = { q = 1 }\n").find("cannot read"), std::string::npos);
  EXPECT_NE(err("[schedule]\nfile = \"week.toml\"\nskills = { q = 1 }\n").find("not JSON"), std::string::npos);
  EXPECT_EQ(err("[schedule]\nfile = \"week_schedule.json\"\nskills = { q = 1 }\nfirst_day = \"2026-11-30\"\n"),
            "(accepted)");
}

// The API's options: a schedule given in memory is worked exactly as the same schedule read
// from a file; a `file` key is refused whether or not a schedule is given; max_days bounds days.
TEST(ScenarioToml, ScheduleInMemoryAndNoFiles) {
  std::ifstream in(HOMELINE_SOURCE_DIR "/examples/sim/week_schedule.json");
  auto schedule = core::wfm::ResultFromJson(nlohmann::json::parse(in));
  ASSERT_TRUE(schedule) << schedule.error().message;
  const std::string queue = "days = 7\n[[queue]]\nname = \"q\"\nhandle_time = { mean = 60, sd = 30 }\n";
  const std::string table = "[schedule]\nskills = { q = 1 }\n";
  auto from_file = ParseScenario(queue + table + "file = \"week_schedule.json\"\n", "x.toml",
                                 HOMELINE_SOURCE_DIR "/examples/sim");
  ASSERT_TRUE(from_file) << from_file.error().message;
  auto given = ParseScenario(queue + table, "x.toml", ParseOptions{.allow_files = false, .schedule = &*schedule});
  ASSERT_TRUE(given) << given.error().message;
  ASSERT_EQ(given->agents.size(), from_file->agents.size());
  for (std::size_t i = 0; i < given->agents.size(); ++i) {
    EXPECT_EQ(given->agents[i].name, from_file->agents[i].name);
    ASSERT_EQ(given->agents[i].shifts.size(), from_file->agents[i].shifts.size());
    for (std::size_t k = 0; k < given->agents[i].shifts.size(); ++k) {
      EXPECT_EQ(given->agents[i].shifts[k].start, from_file->agents[i].shifts[k].start);
      EXPECT_EQ(given->agents[i].shifts[k].end, from_file->agents[i].shifts[k].end);
    }
  }
  auto err = [&](const std::string& text, const ParseOptions& o) {
    auto s = ParseScenario(text, "x.toml", o);
    return s ? std::string("(accepted)") : s.error().message;
  };
  const std::string with_file = queue + table + "file = \"/etc/passwd\"\n";
  EXPECT_NE(err(with_file, {.allow_files = false}).find("'file' is not allowed"), std::string::npos);
  EXPECT_NE(err(with_file, {.schedule = &*schedule}).find("'file' is not allowed"), std::string::npos);
  EXPECT_NE(err(queue + table, {.allow_files = false}).find("needs a schedule"), std::string::npos);
  // No [schedule] table at all: an empty one, so the schedule's agents need [[agent]] entries.
  EXPECT_NE(err(queue, {.schedule = &*schedule}).find("no [[agent]] entry"), std::string::npos);
  EXPECT_NE(err(queue + table, {.schedule = &*schedule, .max_days = 5}).find("days must be 1-5"), std::string::npos);
}

}  // namespace
}  // namespace homeline::sim
