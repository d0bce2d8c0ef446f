#pragma once
// The system's zone database: compiled TZif files (RFC 8536) under /usr/share/zoneinfo
// (Debian's `tzdata`), read and parsed by our own code because g++ 12's libstdc++ has no
// std::chrono::tzdb. The result is a core::TimeZone, pure data the engine evaluates.
//
// Parsing: version 2 or later only (the 64-bit block; the version 1 block is skipped), no
// leap-second files ("right/" zones). Every count is checked against the bytes present, every
// index against its table; a bad file is an Error, never a crash (fuzz/fuzz_tzif.cc).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.h"
#include "core/time_zone.h"

namespace homeline::tz {

// Parses a TZif file's bytes into a zone called `name`.
[[nodiscard]] Result<std::shared_ptr<const core::TimeZone>> ParseTzif(std::string_view bytes,
                                                                      std::string name);

// Parses a POSIX TZ string as found in a TZif footer ("CET-1CEST,M3.5.0,M10.5.0/3",
// "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "EST5EDT,M3.2.0,M11.1.0", "<-03>3").
[[nodiscard]] Result<core::PosixTz> ParsePosixTz(std::string_view text);

// Whether `name` may name a zone file: 1..128 characters of letters, digits, '_', '-', '+'
// and '.', in components separated by '/', none empty or starting with '.'.
bool ValidZoneName(std::string_view name);

// Named zones from a directory of TZif files. Parsed zones are cached (a zone a tenant names is
// read once); unknown names are not, so installing tzdata later needs no restart.
// Threads: safe for concurrent use (one mutex around the cache).
class SystemZones {
 public:
  explicit SystemZones(std::string root = "/usr/share/zoneinfo");
  // The process's zones: $TZDIR when set (as glibc reads it), else /usr/share/zoneinfo.
  static SystemZones& Default();
  // Null for an invalid name, a missing or unreadable file, or one that does not parse.
  std::shared_ptr<const core::TimeZone> Find(std::string_view name);
  // Find as a core::ZoneLookup. The SystemZones must outlive it.
  core::ZoneLookup Lookup();
  const std::string& root() const { return root_; }

 private:
  std::string root_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const core::TimeZone>, std::less<>> cache_;
};

}  // namespace homeline::tz
