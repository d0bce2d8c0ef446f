// Named time zones: our TZif (RFC 8536) and POSIX TZ parsers (adapters/tz) against known
// transitions and against glibc's `zdump -v` over the system's zone files; local-day arithmetic
// (core/time_zone.h); and the engine's business hours and "today" figures across DST changes.
// The zone files the known-transition tests read are copies from Debian's tzdata 2025b in
// tests/data/zoneinfo, so they do not depend on the machine's tzdata version.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/tz/tzif.h"
#include "core/contact_history.h"
#include "core/engine.h"
#include "core/time_zone.h"

namespace homeline {
namespace {

using core::TimeZone;

// UTC instant of a civil date and time.
TimeMs At(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return core::DaysFromCivil(y, mo, d) * kDay + h * kHour + mi * kMinute + s * kSecond;
}

tz::SystemZones& TestZones() {
  static tz::SystemZones zones(HOMELINE_TEST_ZONEINFO);
  return zones;
}

std::shared_ptr<const TimeZone> Zone(const char* name) {
  auto z = TestZones().Find(name);
  EXPECT_NE(z, nullptr) << name;
  return z;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

TEST(TimeZone, NewYorkSpringForwardAndFallBack2026) {
  auto ny = Zone("America/New_York");
  ASSERT_NE(ny, nullptr);
  EXPECT_EQ(ny->name(), "America/New_York");
  // 2026-03-08 02:00 EST -> 03:00 EDT, at 07:00 UTC.
  EXPECT_EQ(ny->OffsetAt(At(2026, 3, 8, 6, 59, 59)), -5 * kHour);
  EXPECT_FALSE(ny->IsDst(At(2026, 3, 8, 6, 59, 59)));
  EXPECT_EQ(ny->OffsetAt(At(2026, 3, 8, 7)), -4 * kHour);
  EXPECT_TRUE(ny->IsDst(At(2026, 3, 8, 7)));
  // 2026-11-01 02:00 EDT -> 01:00 EST, at 06:00 UTC.
  EXPECT_EQ(ny->OffsetAt(At(2026, 11, 1, 5, 59, 59)), -4 * kHour);
  EXPECT_EQ(ny->OffsetAt(At(2026, 11, 1, 6)), -5 * kHour);
  auto next = ny->NextTransition(At(2026, 1, 1));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->at, At(2026, 3, 8, 7));
  EXPECT_EQ(next->offset_s, -4 * 3600);
  next = ny->NextTransition(next->at);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->at, At(2026, 11, 1, 6));
}

TEST(TimeZone, LocalTimesInGapsAndFoldsAndDayLengths) {
  auto ny = Zone("America/New_York");
  ASSERT_NE(ny, nullptr);
  const std::int64_t mar8 = core::DaysFromCivil(2026, 3, 8), nov1 = core::DaysFromCivil(2026, 11, 1);
  // 02:30 does not exist on 2026-03-08: the clocks jump past it at 07:00 UTC (03:00 EDT).
  EXPECT_EQ(ny->ToUtc(mar8 * kDay + 2 * kHour + 30 * kMinute), At(2026, 3, 8, 7));
  EXPECT_EQ(ny->ToUtc(mar8 * kDay + 3 * kHour), At(2026, 3, 8, 7));
  EXPECT_EQ(ny->ToUtc(mar8 * kDay + 1 * kHour), At(2026, 3, 8, 6));
  // 01:30 happens twice on 2026-11-01: the first (EDT) one.
  EXPECT_EQ(ny->ToUtc(nov1 * kDay + 1 * kHour + 30 * kMinute), At(2026, 11, 1, 5, 30));
  // Local days: midnight EST, then EDT; 23 and 25 hours long on the change days.
  EXPECT_EQ(ny->DayStart(mar8), At(2026, 3, 8, 5));
  EXPECT_EQ(ny->DayStart(mar8 + 1), At(2026, 3, 9, 4));
  EXPECT_EQ(ny->DayStart(mar8 + 1) - ny->DayStart(mar8), 23 * kHour);
  EXPECT_EQ(ny->DayStart(nov1 + 1) - ny->DayStart(nov1), 25 * kHour);
  EXPECT_EQ(ny->LocalDay(At(2026, 3, 9, 3, 59)), mar8);
  EXPECT_EQ(ny->LocalDay(At(2026, 3, 9, 4)), mar8 + 1);
}

TEST(TimeZone, BerlinSummerTime2026) {
  auto berlin = Zone("Europe/Berlin");
  ASSERT_NE(berlin, nullptr);
  EXPECT_EQ(berlin->OffsetAt(At(2026, 3, 29, 0, 59, 59)), 1 * kHour);
  EXPECT_EQ(berlin->OffsetAt(At(2026, 3, 29, 1)), 2 * kHour);
  EXPECT_EQ(berlin->OffsetAt(At(2026, 10, 25, 0, 59, 59)), 2 * kHour);
  EXPECT_EQ(berlin->OffsetAt(At(2026, 10, 25, 1)), 1 * kHour);
  EXPECT_EQ(berlin->DayStart(core::DaysFromCivil(2026, 7, 1)), At(2026, 6, 30, 22));
}

TEST(TimeZone, LordHoweHalfHourDaylightSaving) {
  auto lh = Zone("Australia/Lord_Howe");
  ASSERT_NE(lh, nullptr);
  // +11 until 2026-04-05 02:00 local, then +10:30; +11 again from 2026-10-04 02:00 (+10:30).
  EXPECT_EQ(lh->OffsetAt(At(2026, 4, 4, 14, 59, 59)), 11 * kHour);
  EXPECT_EQ(lh->OffsetAt(At(2026, 4, 4, 15)), 10 * kHour + 30 * kMinute);
  EXPECT_EQ(lh->OffsetAt(At(2026, 10, 3, 15, 29, 59)), 10 * kHour + 30 * kMinute);
  EXPECT_EQ(lh->OffsetAt(At(2026, 10, 3, 15, 30)), 11 * kHour);
  const std::int64_t oct4 = core::DaysFromCivil(2026, 10, 4);
  EXPECT_EQ(lh->DayStart(oct4 + 1) - lh->DayStart(oct4), 23 * kHour + 30 * kMinute);
}

TEST(TimeZone, ZoneWithoutDaylightSaving) {
  auto tokyo = Zone("Asia/Tokyo");
  ASSERT_NE(tokyo, nullptr);
  EXPECT_EQ(tokyo->OffsetAt(At(2026, 1, 1)), 9 * kHour);
  EXPECT_EQ(tokyo->OffsetAt(At(2026, 7, 1)), 9 * kHour);
  EXPECT_EQ(tokyo->OffsetAt(At(2150, 7, 1)), 9 * kHour);
  EXPECT_FALSE(tokyo->NextTransition(At(2000, 1, 1)).has_value()) << "the footer JST-9 never changes";
  EXPECT_EQ(tokyo->DayStart(core::DaysFromCivil(2026, 1, 1)), At(2025, 12, 31, 15));
}

TEST(TimeZone, PastTheTableTheFooterRuleApplies) {
  auto ny = Zone("America/New_York");
  auto lh = Zone("Australia/Lord_Howe");
  ASSERT_NE(ny, nullptr);
  ASSERT_NE(lh, nullptr);
  ASSERT_LT(ny->table().back().at, At(2040, 1, 1)) << "the file's table ends in 2037";
  // 2050: second Sunday of March, first Sunday of November (EST5EDT,M3.2.0,M11.1.0).
  EXPECT_EQ(ny->OffsetAt(At(2050, 3, 13, 6, 59, 59)), -5 * kHour);
  EXPECT_EQ(ny->OffsetAt(At(2050, 3, 13, 7)), -4 * kHour);
  EXPECT_EQ(ny->OffsetAt(At(2050, 11, 6, 5, 59, 59)), -4 * kHour);
  EXPECT_EQ(ny->OffsetAt(At(2050, 11, 6, 6)), -5 * kHour);
  auto next = ny->NextTransition(At(2050, 1, 1));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->at, At(2050, 3, 13, 7));
  // A southern rule: DST spans the new year (<+1030>-10:30<+11>-11,M10.1.0,M4.1.0).
  EXPECT_EQ(lh->OffsetAt(At(2050, 1, 15)), 11 * kHour);
  EXPECT_EQ(lh->OffsetAt(At(2050, 4, 2, 14, 59, 59)), 11 * kHour);
  EXPECT_EQ(lh->OffsetAt(At(2050, 4, 2, 15)), 10 * kHour + 30 * kMinute);
  EXPECT_EQ(lh->OffsetAt(At(2050, 7, 1)), 10 * kHour + 30 * kMinute);
}

TEST(TimeZone, FixedOffsets) {
  EXPECT_EQ(core::ParseFixedOffset("UTC"), 0);
  EXPECT_EQ(core::ParseFixedOffset("Z"), 0);
  EXPECT_EQ(core::ParseFixedOffset("+02:00"), 2 * kHour);
  EXPECT_EQ(core::ParseFixedOffset("-05:30"), -(5 * kHour + 30 * kMinute));
  EXPECT_EQ(core::ParseFixedOffset("+0530"), 5 * kHour + 30 * kMinute);
  EXPECT_EQ(core::ParseFixedOffset("UTC+2"), 2 * kHour);
  EXPECT_EQ(core::ParseFixedOffset("GMT-3"), -3 * kHour);
  EXPECT_EQ(core::ParseFixedOffset("+18:00"), 18 * kHour);
  for (const char* bad : {"Europe/Berlin", "Etc/GMT+5", "+19", "+02:60", "+2:0", "+023", "2", "+",
                          "UTC+", "+02:00x", "EST"})
    EXPECT_FALSE(core::ParseFixedOffset(bad).has_value()) << bad;
  auto z = core::ResolveZone("+02:00", nullptr);
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(z->name(), "+02:00");
  EXPECT_TRUE(z->fixed());
  EXPECT_EQ(z->DayStart(core::DaysFromCivil(2026, 3, 29)), At(2026, 3, 28, 22));
  EXPECT_EQ(core::ResolveZone("Europe/Berlin", nullptr), nullptr) << "no lookup: names unknown";
}

TEST(Tzif, PosixStrings) {
  auto lh = tz::ParsePosixTz("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
  ASSERT_TRUE(lh) << lh.error().message;
  EXPECT_EQ(lh->std_abbr, "+1030");
  EXPECT_EQ(lh->std_offset_s, 37800);
  EXPECT_EQ(lh->dst_offset_s, 39600);
  EXPECT_EQ(lh->start.month, 10);
  EXPECT_EQ(lh->end.month, 4);
  auto berlin = tz::ParsePosixTz("CET-1CEST,M3.5.0,M10.5.0/3");
  ASSERT_TRUE(berlin);
  EXPECT_EQ(berlin->end.time_s, 3 * 3600);
  EXPECT_EQ(berlin->dst_offset_s, 7200) << "default: one hour ahead of standard time";
  auto julian = tz::ParsePosixTz("XXX3YYY,J60/-1,300/167");
  ASSERT_TRUE(julian) << julian.error().message;
  EXPECT_EQ(julian->start.kind, core::PosixTz::Date::kJulianNoLeap);
  EXPECT_EQ(julian->start.time_s, -3600);
  EXPECT_EQ(julian->end.kind, core::PosixTz::Date::kJulianZero);
  EXPECT_EQ(julian->end.time_s, 167 * 3600);
  auto fixed = tz::ParsePosixTz("<-03>3");
  ASSERT_TRUE(fixed);
  EXPECT_FALSE(fixed->has_dst);
  EXPECT_EQ(fixed->std_offset_s, -3 * 3600);
  for (const char* bad : {"", "E5", "EST", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
                          "EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J5", "EST5EDT,M3.2.0", "<+10",
                          "EST5EDT,M3.2.0/168,M11.1.0", "EST5EDT,M3.2.0,M11.1.0x", "EST25"})
    EXPECT_FALSE(tz::ParsePosixTz(bad)) << bad;
}

TEST(Tzif, BadFilesAreErrors) {
  const std::string ny = ReadFile(std::string(HOMELINE_TEST_ZONEINFO) + "/America/New_York");
  ASSERT_GT(ny.size(), 1000u);
  EXPECT_TRUE(tz::ParseTzif(ny, "x"));
  // Every truncation fails cleanly, except the one that drops only the optional footer.
  int accepted = 0;
  for (std::size_t n = 0; n < ny.size(); ++n) accepted += tz::ParseTzif(ny.substr(0, n), "x").has_value();
  EXPECT_LE(accepted, 1);
  std::string v1 = ny;
  v1[4] = '\0';
  EXPECT_FALSE(tz::ParseTzif(v1, "x"));
  std::string magic = ny;
  magic[0] = 'X';
  EXPECT_FALSE(tz::ParseTzif(magic, "x"));
  std::string big = ny;
  big[32] = '\x7f';  // a v1 time count far past the bytes present
  EXPECT_FALSE(tz::ParseTzif(big, "x"));
}

TEST(Tzif, ZoneNamesAreCheckedBeforeAnyFileIsOpened) {
  for (const char* bad : {"", "../etc/passwd", "/etc/passwd", "America//New_York", "America/",
                          "America/../Europe/Berlin", ".hidden", "a b", "America/New_York\n"})
    EXPECT_FALSE(tz::ValidZoneName(bad)) << bad;
  EXPECT_TRUE(tz::ValidZoneName("America/Argentina/Buenos_Aires"));
  EXPECT_TRUE(tz::ValidZoneName("Etc/GMT+5"));
  EXPECT_EQ(TestZones().Find("Mars/Olympus_Mons"), nullptr);
  EXPECT_EQ(TestZones().Find("America"), nullptr) << "a directory";
  EXPECT_EQ(TestZones().Find("America/New_York"), TestZones().Find("America/New_York")) << "cached";
}

// Our reading of the system's files against glibc's (zdump -v prints every transition with the
// offsets on both sides), over 1900-2100: the tables, and past 2037 the footer rules.
TEST(Tzif, AgreesWithZdumpOnTheSystemZones) {
  tz::SystemZones system("/usr/share/zoneinfo");
  const std::vector<std::string> zones = {
      "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Tokyo", "Asia/Kolkata",
      "America/Sao_Paulo", "Europe/Dublin", "Pacific/Chatham", "America/St_Johns",
      "Africa/Casablanca", "Pacific/Apia", "Antarctica/Troll"};
  if (std::system("zdump --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no zdump";
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int checked = 0;
  for (const std::string& name : zones) {
    auto zone = system.Find(name);
    if (zone == nullptr) {
      ADD_FAILURE() << name << " missing from /usr/share/zoneinfo (tzdata)";
      continue;
    }
    const std::string cmd = "zdump -v -c 1900,2100 " + name;
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    char line[512];
    while (std::fgets(line, sizeof line, p) != nullptr) {
      // "America/New_York  Sun Mar  8 06:59:59 2026 UT = Sun Mar  8 01:59:59 2026 EST isdst=0 gmtoff=-18000"
      std::istringstream in(line);
      std::string zn, wd, mon, hms, ut;
      int day = 0, year = 0;
      if (!(in >> zn >> wd >> mon >> day >> hms >> year >> ut) || ut != "UT") continue;
      const char* off = std::strstr(line, "gmtoff=");
      const char* dst = std::strstr(line, "isdst=");
      if (off == nullptr || dst == nullptr) continue;
      unsigned m = 0;
      for (unsigned i = 0; i < 12; ++i)
        if (mon == kMonths[i]) m = i + 1;
      int h = 0, mi = 0, s = 0;
      ASSERT_EQ(std::sscanf(hms.c_str(), "%d:%d:%d", &h, &mi, &s), 3) << line;
      const TimeMs t = At(year, m, static_cast<unsigned>(day), h, mi, s);
      EXPECT_EQ(zone->OffsetAt(t), std::atoll(off + 7) * kSecond) << line;
      EXPECT_EQ(zone->IsDst(t), dst[6] == '1') << line;
      ++checked;
    }
    pclose(p);
  }
  EXPECT_GT(checked, 2000);
}

// ---- the engine ------------------------------------------------------------------------------

struct EngineFixture {
  core::Engine engine{core::EngineOptions{.zones = TestZones().Lookup()}};
  core::TenantId tenant = 0;
  core::QueueId queue = 0;
  core::HoursId hours = 0;

  explicit EngineFixture(const std::string& zone) {
    engine.SetTime(At(2026, 3, 1));
    core::Tenant t;
    t.slug = "acme";
    t.name = "Acme";
    t.settings.timezone = zone;
    tenant = *engine.CreateTenant(t);
    core::BusinessHours h;
    h.tenant = tenant;
    h.name = "weekdays";
    for (int d = 1; d <= 5; ++d) h.ranges.push_back({d, 9 * 60, 17 * 60});
    hours = *engine.CreateHours(h);
    core::Queue q;
    q.tenant = tenant;
    q.name = "support";
    q.hours = hours;
    queue = *engine.CreateQueue(q);
    engine.TakeOutbox();
  }
  bool OpenAt(TimeMs t) { return engine.IsOpen(*engine.FindQueue(tenant, queue), t); }
  void Arrive(TimeMs t) {
    engine.SetTime(t);
    core::Engine::NewInteraction n;
    n.tenant = tenant;
    n.queue = queue;
    ASSERT_TRUE(engine.CreateInteraction(std::move(n)).has_value());
  }
  std::int64_t EnteredAt(TimeMs t) {
    engine.SetTime(t);
    return engine.Stats(tenant, queue).entered;
  }
};

TEST(EngineTimeZone, NineToFiveOpensAtNineLocalOnBothSidesOfTheChanges) {
  EngineFixture f("America/New_York");
  // Friday 2026-03-06, EST (UTC-5): 09:00 local is 14:00 UTC.
  EXPECT_FALSE(f.OpenAt(At(2026, 3, 6, 13, 59, 59)));
  EXPECT_TRUE(f.OpenAt(At(2026, 3, 6, 14)));
  EXPECT_TRUE(f.OpenAt(At(2026, 3, 6, 21, 59, 59)));
  EXPECT_FALSE(f.OpenAt(At(2026, 3, 6, 22)));
  // Monday 2026-03-09, EDT (UTC-4): 09:00 local is 13:00 UTC.
  EXPECT_FALSE(f.OpenAt(At(2026, 3, 9, 12, 59, 59)));
  EXPECT_TRUE(f.OpenAt(At(2026, 3, 9, 13)));
  EXPECT_TRUE(f.OpenAt(At(2026, 3, 9, 20, 59, 59)));
  EXPECT_FALSE(f.OpenAt(At(2026, 3, 9, 21)));
  // Friday 2026-10-30 EDT, then Monday 2026-11-02 EST.
  EXPECT_TRUE(f.OpenAt(At(2026, 10, 30, 13)));
  EXPECT_FALSE(f.OpenAt(At(2026, 11, 2, 13)));
  EXPECT_TRUE(f.OpenAt(At(2026, 11, 2, 14)));
  // The weekend between stays closed in local time: Saturday 2026-03-07 14:00 UTC.
  EXPECT_FALSE(f.OpenAt(At(2026, 3, 7, 14)));
  // Queue statistics say the same.
  f.engine.SetTime(At(2026, 3, 9, 13));
  EXPECT_TRUE(f.engine.Stats(f.tenant, f.queue).open);
}

TEST(EngineTimeZone, HoursCanHaveTheirOwnZone) {
  EngineFixture f("America/New_York");
  core::BusinessHours h = *f.engine.FindHours(f.tenant, f.hours);
  h.timezone = "Europe/Berlin";
  ASSERT_TRUE(f.engine.UpdateHours(h).has_value());
  // Monday 2026-03-09 09:00 in Berlin (CET, UTC+1) is 08:00 UTC.
  EXPECT_FALSE(f.OpenAt(At(2026, 3, 9, 7, 59)));
  EXPECT_TRUE(f.OpenAt(At(2026, 3, 9, 8)));
  EXPECT_EQ(f.engine.ZoneOfHours(*f.engine.FindHours(f.tenant, f.hours))->name(), "Europe/Berlin");
  h.timezone = "Europe/Atlantis";
  auto st = f.engine.UpdateHours(h);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(st.error().message.find("unknown time zone 'Europe/Atlantis'"), std::string::npos);
}

TEST(EngineTimeZone, QueueDayFiguresStartAtLocalMidnight) {
  EngineFixture f("America/New_York");
  // Saturday 2026-03-07 23:30 EST is 04:30 UTC on the 8th.
  f.Arrive(At(2026, 3, 8, 4, 30));
  EXPECT_EQ(f.EnteredAt(At(2026, 3, 8, 4, 59, 59)), 1);
  EXPECT_EQ(f.EnteredAt(At(2026, 3, 8, 5)), 0) << "midnight EST";
  // Sunday 2026-03-08 is 23 hours long: the next midnight (EDT) is 04:00 UTC.
  f.Arrive(At(2026, 3, 9, 3, 59));
  EXPECT_EQ(f.EnteredAt(At(2026, 3, 9, 3, 59, 59)), 1);
  EXPECT_EQ(f.EnteredAt(At(2026, 3, 9, 4)), 0) << "midnight EDT";
  f.Arrive(At(2026, 3, 9, 4, 1));
  f.Arrive(At(2026, 3, 9, 23));  // 19:00 local: the same day
  EXPECT_EQ(f.EnteredAt(At(2026, 3, 9, 23)), 2);
}

TEST(EngineTimeZone, UnknownZonesAreRefusedAndFixedOffsetsStillAccepted) {
  EngineFixture f("UTC");
  core::Tenant t = *f.engine.FindTenant(f.tenant);
  t.settings.timezone = "Mars/Olympus_Mons";
  auto st = f.engine.UpdateTenant(t);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().code, ErrorCode::kBadRequest);
  EXPECT_NE(st.error().message.find("settings.timezone"), std::string::npos);
  EXPECT_TRUE(f.engine.TakeOutbox().empty()) << "nothing emitted";
  // The name is quoted cut to 64 bytes, never inside a character (the message goes into JSON).
  t.settings.timezone = std::string(63, 'a') + "\xc3\xa9/Zone";
  st = f.engine.UpdateTenant(t);
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("'" + std::string(63, 'a') + "'"), std::string::npos);
  t.settings.timezone = "-05:00";
  ASSERT_TRUE(f.engine.UpdateTenant(t).has_value());
  EXPECT_EQ(f.engine.ZoneOf(f.tenant)->name(), "-05:00");
  // Fixed -05:00 has no DST: Monday 2026-03-09 09:00 local is 14:00 UTC.
  EXPECT_FALSE(f.OpenAt(At(2026, 3, 9, 13)));
  EXPECT_TRUE(f.OpenAt(At(2026, 3, 9, 14)));
  t.settings.timezone = "Australia/Lord_Howe";
  ASSERT_TRUE(f.engine.UpdateTenant(t).has_value());
  EXPECT_EQ(f.engine.ZoneOf(f.tenant)->name(), "Australia/Lord_Howe");
}

TEST(EngineTimeZone, StoredNamesReplayWithTheirZoneAndUnknownOnesAsUtc) {
  EngineFixture f("Europe/Berlin");
  std::vector<core::Event> log;
  // Rebuild the tenant's events: a replay with the lookup sees Berlin, one without sees UTC
  // (the name is kept either way, so views show what was set).
  core::Engine source{core::EngineOptions{.zones = TestZones().Lookup()}};
  source.SetTime(At(2026, 3, 1));
  core::Tenant t;
  t.slug = "acme";
  t.name = "Acme";
  t.settings.timezone = "Europe/Berlin";
  ASSERT_TRUE(source.CreateTenant(t).has_value());
  log = source.TakeOutbox();
  core::Engine with{core::EngineOptions{.zones = TestZones().Lookup()}};
  core::Engine without;
  for (const core::Event& e : log) {
    ASSERT_TRUE(with.Replay(e).has_value());
    ASSERT_TRUE(without.Replay(e).has_value());
  }
  const core::TenantId id = log.front().tenant;
  EXPECT_EQ(with.ZoneOf(id)->name(), "Europe/Berlin");
  EXPECT_EQ(without.ZoneOf(id)->name(), "UTC");
  EXPECT_EQ(without.FindTenant(id)->settings.timezone, "Europe/Berlin");
}

TEST(EngineTimeZone, AgentsDayFiguresStartAtTheirTenantsMidnight) {
  EngineFixture f("America/New_York");
  core::User u;
  u.login = "ann";
  u.name = "Ann";
  const core::UserId ann = *f.engine.CreateUser(u);
  ASSERT_TRUE(f.engine.SetMember(f.tenant, ann, core::Membership{}).has_value());
  // Monday 2026-03-09 20:00 UTC (16:00 EDT): open; Ann takes a contact.
  f.engine.SetTime(At(2026, 3, 9, 20));
  ASSERT_TRUE(f.engine.SetPresence(ann, f.tenant, core::Presence::kAvailable, "").has_value());
  f.Arrive(At(2026, 3, 9, 20));
  const core::Interaction* ix = f.engine.Interactions(f.tenant, true).front();
  ASSERT_TRUE(f.engine.Accept(ann, ix->id).has_value());
  EXPECT_EQ(f.engine.AgentView(ann).contacts_today, 1);
  // 02:00 UTC is 22:00 EDT, still Monday there (a UTC day would have ended).
  f.engine.SetTime(At(2026, 3, 10, 2));
  EXPECT_EQ(f.engine.AgentView(ann).contacts_today, 1);
  f.engine.SetTime(At(2026, 3, 10, 4));  // midnight EDT
  EXPECT_EQ(f.engine.AgentView(ann).contacts_today, 0);
}

TEST(ContactHistoryTimeZone, IntervalsAreLocalWallClockAcrossTheChange) {
  core::ContactHistoryBuilder b(Zone("America/New_York"), 30);
  core::InteractionCreated c;
  c.queue = 7;
  c.id = 1;
  b.Add(At(2026, 3, 8, 6, 30), c);  // 01:30 EST: slot 3
  c.id = 2;
  b.Add(At(2026, 3, 8, 7, 30), c);  // 03:30 EDT, an hour later: slot 7
  c.id = 3;
  b.Add(At(2026, 3, 9, 3, 30), c);  // 23:30 EDT on the 8th: slot 47 of the same day
  auto h = b.Finish(At(2026, 3, 10, 12));
  const auto& q = h.at(7);
  const auto day = q.DayCells(core::DaysFromCivil(2026, 3, 8));
  EXPECT_EQ(day[3].offered, 1);
  EXPECT_EQ(day[7].offered, 1);
  EXPECT_EQ(day[47].offered, 1);
  EXPECT_EQ(day[4].offered + day[5].offered + day[6].offered, 0) << "02:00-03:00 never happened";
}

}  // namespace
}  // namespace homeline
