#pragma once
// Time is a value passed in, never read by core: TimeMs is milliseconds since the Unix epoch
// (UTC). The server feeds the real clock; tests and the simulator feed a simulated one.

#include <cstdint>

namespace homeline {

using TimeMs = std::int64_t;
using DurationMs = std::int64_t;

constexpr DurationMs kSecond = 1000;
constexpr DurationMs kMinute = 60 * kSecond;
constexpr DurationMs kHour = 60 * kMinute;
constexpr DurationMs kDay = 24 * kHour;

}  // namespace homeline
