#pragma once
// Time zones as data: a zone's UTC offsets over time, and the local-day arithmetic the engine
// needs (business hours, "today" figures, the WFM's local days).
//
// A TimeZone is an immutable value built by an adapter (adapters/tz reads the system's TZif
// files, RFC 8536) or from a fixed offset; core never reads files. It holds the zone's
// transition table and, for times past the table, the POSIX TZ rule of the file's footer
// ("EST5EDT,M3.2.0,M11.1.0"), evaluated here (pure arithmetic).
//
// Threads: a TimeZone is immutable and safe to share between threads (shared_ptr<const>).
// Cost: OffsetAt is a binary search over the table (a few hundred entries at most), or a few
// date computations past it; LocalDay and DayStart call it a few times.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"

namespace homeline::core {

// POSIX TZ rule (the TZif footer): standard time, and optionally daylight time between two
// yearly rule dates. Offsets are seconds east of UTC (the POSIX text writes them west).
struct PosixTz {
  struct Date {
    enum Kind : std::uint8_t { kJulianNoLeap, kJulianZero, kMonthWeekDay } kind = kMonthWeekDay;
    int day = 0;          // Jn: 1..365 (Feb 29 never counted); n: 0..365
    int month = 1;        // Mm.w.d: 1..12
    int week = 1;         //   1..5 (5: the last such weekday of the month)
    int weekday = 0;      //   0 = Sunday .. 6
    std::int32_t time_s = 7200;  // local time of the change, -167..167 hours (RFC 8536)
  };
  std::string std_abbr;
  std::int32_t std_offset_s = 0;
  bool has_dst = false;
  std::string dst_abbr;
  std::int32_t dst_offset_s = 0;
  Date start;  // daylight time starts (local standard time)
  Date end;    // daylight time ends (local daylight time)
};

class TimeZone {
 public:
  struct Transition {
    TimeMs at = 0;                // UTC instant from which offset_s applies
    std::int32_t offset_s = 0;    // seconds east of UTC
    bool dst = false;
  };

  // `initial_offset_s` applies before the first transition (TZif: time type 0); `rule`, when
  // present, from the last transition on (with no transitions: always). Transitions must be
  // sorted by `at`.
  TimeZone(std::string name, std::int32_t initial_offset_s, std::vector<Transition> transitions,
           std::optional<PosixTz> rule);
  static std::shared_ptr<const TimeZone> Fixed(std::string name, DurationMs offset);
  static const std::shared_ptr<const TimeZone>& Utc();

  const std::string& name() const { return name_; }
  bool fixed() const { return transitions_.empty() && (!rule_ || !rule_->has_dst); }
  const std::vector<Transition>& table() const { return transitions_; }
  const std::optional<PosixTz>& rule() const { return rule_; }

  // Offset from UTC in force at the UTC instant t (local = t + offset).
  DurationMs OffsetAt(TimeMs t) const;
  bool IsDst(TimeMs t) const;
  // Local wall time at t, as milliseconds since 1970-01-01 00:00 local.
  TimeMs ToLocal(TimeMs t) const { return t + OffsetAt(t); }
  // The UTC instant of a local wall time: the first one when the clocks go back (a fold), the
  // moment the clocks jump past it when it does not exist (a gap: 02:30 on a spring-forward
  // night in New York is 03:00 EDT).
  TimeMs ToUtc(TimeMs local) const;
  // Days since 1970-01-01 of the local date at t.
  std::int64_t LocalDay(TimeMs t) const;
  // The first UTC instant of local day `day` (local midnight, see ToUtc). A local day lasts
  // DayStart(day + 1) - DayStart(day): 23 or 25 hours on a day the clocks change.
  TimeMs DayStart(std::int64_t day) const { return ToUtc(day * kDay); }
  // The first transition strictly after t (the table's, then the rule's); nullopt when the
  // offset never changes again.
  std::optional<Transition> NextTransition(TimeMs t) const;

 private:
  Transition RuleAt(TimeMs t) const;
  std::optional<Transition> RuleNext(TimeMs t) const;

  std::string name_;
  std::int32_t initial_offset_s_;
  std::vector<Transition> transitions_;
  std::optional<PosixTz> rule_;
};

// Days since 1970-01-01 of a civil date, and back (proleptic Gregorian).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d);
void CivilFromDays(std::int64_t days, std::int64_t* y, unsigned* m, unsigned* d);

// A fixed offset as a tenant's or hours' `timezone` may give it: "UTC", "GMT", "Z", "+02:00",
// "-05:30", "+0530", "+2", "UTC+2", "UTC-03:30" (at most ±18 hours). nullopt for anything else,
// IANA names included ("Europe/Berlin", "Etc/GMT+5").
std::optional<DurationMs> ParseFixedOffset(std::string_view text);

// Finds a named zone (an IANA name such as "America/New_York"); null when unknown. Injected by
// the owner of the engine (the server passes adapters/tz's system zones); may be empty.
using ZoneLookup = std::function<std::shared_ptr<const TimeZone>(std::string_view name)>;

// The zone a `timezone` setting names: a fixed offset, else what `lookup` finds; null when
// neither knows it.
std::shared_ptr<const TimeZone> ResolveZone(std::string_view name, const ZoneLookup& lookup);

}  // namespace homeline::core
