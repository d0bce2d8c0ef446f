// libFuzzer target: a TZif zone file (RFC 8536) as adapters/tz reads it from the zone database,
// and the POSIX TZ footer string alone.
// Properties: parsing never crashes; a zone that parses answers every lookup (offsets, next
// transitions, local times, day starts) across a wide range of times without crashing, with
// offsets within the ±26 hours RFC 8536 allows, and a day start never after the local day's
// own instants by more than the largest offset change.

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "adapters/tz/tzif.h"

using namespace homeline;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (size < 200) (void)tz::ParsePosixTz(bytes);
  auto zone = tz::ParseTzif(bytes, "fuzz");
  if (!zone) return 0;
  const core::TimeZone& z = **zone;
  for (TimeMs t = -4'000'000'000'000; t < 8'000'000'000'000; t += 97'000'000'000) {
    const DurationMs off = z.OffsetAt(t);
    if (off < -26 * kHour || off > 26 * kHour) std::abort();
    (void)z.IsDst(t);
    if (auto next = z.NextTransition(t); next && next->at <= t) std::abort();
    const std::int64_t day = z.LocalDay(t);
    const TimeMs start = z.DayStart(day);
    if (start > t + 52 * kHour || start < t - 80 * kHour) std::abort();
    (void)z.ToUtc(t);
  }
  return 0;
}
