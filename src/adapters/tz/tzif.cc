#include "adapters/tz/tzif.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <vector>

namespace homeline::tz {

namespace {

auto Bad(std::string what) { return Fail(ErrorCode::kBadRequest, "TZif: " + std::move(what)); }

std::uint32_t U32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
std::int64_t I64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return static_cast<std::int64_t>(v);
}

struct Header {
  char version = 0;
  std::uint64_t isut = 0, isstd = 0, leap = 0, time = 0, type = 0, chars = 0;
};
constexpr std::size_t kHeaderSize = 44;

Result<Header> ReadHeader(std::string_view b, std::size_t at) {
  if (b.size() < at + kHeaderSize) return Bad("truncated header");
  const auto* p = reinterpret_cast<const unsigned char*>(b.data() + at);
  if (b.substr(at, 4) != "TZif") return Bad("not a TZif file (magic)");
  Header h;
  h.version = static_cast<char>(p[4]);
  h.isut = U32(p + 20);
  h.isstd = U32(p + 24);
  h.leap = U32(p + 28);
  h.time = U32(p + 32);
  h.type = U32(p + 36);
  h.chars = U32(p + 40);
  return h;
}

// Seconds to milliseconds without overflow: the "big bang" entries (-2^59 s) are far outside
// any time the engine sees; clamp to about ±3 million years.
TimeMs ToMs(std::int64_t s) {
  constexpr std::int64_t kLimit = 100'000'000'000'000;
  return std::clamp(s, -kLimit, kLimit) * kSecond;
}

// ---- POSIX TZ strings ----------------------------------------------------------------------

struct PosixReader {
  std::string_view s;
  std::size_t i = 0;
  bool End() const { return i >= s.size(); }
  char Peek() const { return End() ? '\0' : s[i]; }

  bool Abbr(std::string* out) {
    if (Peek() == '<') {
      const std::size_t close = s.find('>', i + 1);
      if (close == std::string_view::npos) return false;
      *out = std::string(s.substr(i + 1, close - i - 1));
      for (char c : *out)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-') return false;
      i = close + 1;
      return out->size() >= 3;
    }
    const std::size_t start = i;
    while (!End() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    *out = std::string(s.substr(start, i - start));
    return out->size() >= 3;
  }
  bool Number(int max, int* out) {
    std::size_t n = 0;
    *out = 0;
    while (!End() && std::isdigit(static_cast<unsigned char>(s[i])) && n < 4) {
      *out = *out * 10 + (s[i++] - '0');
      ++n;
    }
    return n > 0 && *out <= max;
  }
  // [+-]hh[:mm[:ss]] in seconds (sign included).
  bool Time(int max_hours, std::int32_t* out) {
    int sign = 1;
    if (Peek() == '+' || Peek() == '-') sign = s[i++] == '-' ? -1 : 1;
    int h = 0, m = 0, sec = 0;
    if (!Number(max_hours, &h)) return false;
    if (Peek() == ':') {
      ++i;
      if (!Number(59, &m)) return false;
      if (Peek() == ':') {
        ++i;
        if (!Number(59, &sec)) return false;
      }
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }
  bool Date(core::PosixTz::Date* d) {
    if (Peek() == 'M') {
      ++i;
      d->kind = core::PosixTz::Date::kMonthWeekDay;
      if (!Number(12, &d->month) || d->month < 1 || Peek() != '.') return false;
      ++i;
      if (!Number(5, &d->week) || d->week < 1 || Peek() != '.') return false;
      ++i;
      if (!Number(6, &d->weekday)) return false;
    } else if (Peek() == 'J') {
      ++i;
      d->kind = core::PosixTz::Date::kJulianNoLeap;
      if (!Number(365, &d->day) || d->day < 1) return false;
    } else {
      d->kind = core::PosixTz::Date::kJulianZero;
      if (!Number(365, &d->day)) return false;
    }
    d->time_s = 7200;
    if (Peek() == '/') {
      ++i;
      if (!Time(167, &d->time_s)) return false;  // RFC 8536's extension: -167..167 hours
    }
    return true;
  }
};

}  // namespace

Result<core::PosixTz> ParsePosixTz(std::string_view text) {
  PosixReader r{text};
  core::PosixTz tz;
  auto bad = [&](const char* what) {
    return Bad(std::string("footer TZ string '") + std::string(text.substr(0, 64)) + "': " + what);
  };
  if (!r.Abbr(&tz.std_abbr)) return bad("bad standard time name");
  std::int32_t west = 0;
  if (!r.Time(24, &west)) return bad("bad standard offset");
  tz.std_offset_s = -west;
  if (r.End()) return tz;
  tz.has_dst = true;
  if (!r.Abbr(&tz.dst_abbr)) return bad("bad daylight time name");
  tz.dst_offset_s = tz.std_offset_s + 3600;
  if (!r.End() && r.Peek() != ',') {
    if (!r.Time(24, &west)) return bad("bad daylight offset");
    tz.dst_offset_s = -west;
  }
  if (r.End()) {
    // No rule: POSIX leaves it to the implementation; glibc uses the US rule.
    tz.start = {.kind = core::PosixTz::Date::kMonthWeekDay, .month = 3, .week = 2, .weekday = 0};
    tz.end = {.kind = core::PosixTz::Date::kMonthWeekDay, .month = 11, .week = 1, .weekday = 0};
    return tz;
  }
  if (r.Peek() != ',') return bad("expected ',' before the rule");
  ++r.i;
  if (!r.Date(&tz.start)) return bad("bad start date");
  if (r.Peek() != ',') return bad("expected ',' between the dates");
  ++r.i;
  if (!r.Date(&tz.end)) return bad("bad end date");
  if (!r.End()) return bad("trailing characters");
  return tz;
}

Result<std::shared_ptr<const core::TimeZone>> ParseTzif(std::string_view b, std::string name) {
  auto h1 = ReadHeader(b, 0);
  if (!h1) return std::unexpected(h1.error());
  if (h1->version < '2') return Bad("version 1 files (no 64-bit data) are not supported");
  // The version 1 block, skipped: 32-bit times and their data.
  const std::uint64_t v1 = h1->time * 5 + h1->type * 6 + h1->chars + h1->leap * 8 + h1->isstd + h1->isut;
  if (v1 > b.size()) return Bad("truncated version 1 block");
  auto h = ReadHeader(b, kHeaderSize + v1);
  if (!h) return std::unexpected(h.error());
  if (h->leap != 0) return Bad("leap-second files are not supported");
  if (h->type == 0) return Bad("no local time types");
  if (h->chars == 0) return Bad("no abbreviation characters");
  if ((h->isstd != 0 && h->isstd != h->type) || (h->isut != 0 && h->isut != h->type))
    return Bad("indicator counts do not match the type count");
  const std::size_t start = kHeaderSize + v1 + kHeaderSize;
  const std::uint64_t size = h->time * 9 + h->type * 6 + h->chars + h->leap * 12 + h->isstd + h->isut;
  if (size > b.size() - start) return Bad("truncated data block");
  const auto* p = reinterpret_cast<const unsigned char*>(b.data() + start);
  const unsigned char* times = p;
  const unsigned char* idx = times + h->time * 8;
  const unsigned char* types = idx + h->time;

  struct Type {
    std::int32_t offset;
    bool dst;
  };
  std::vector<Type> tt;
  tt.reserve(h->type);
  for (std::uint64_t k = 0; k < h->type; ++k) {
    const unsigned char* e = types + k * 6;
    const auto off = static_cast<std::int32_t>(U32(e));
    if (off < -89999 || off > 93599) return Bad("UT offset out of range");
    if (e[4] > 1) return Bad("isdst must be 0 or 1");
    if (e[5] >= h->chars) return Bad("abbreviation index out of range");
    tt.push_back({off, e[4] == 1});
  }
  std::vector<core::TimeZone::Transition> transitions;
  transitions.reserve(h->time);
  std::int64_t last = std::numeric_limits<std::int64_t>::min();
  for (std::uint64_t k = 0; k < h->time; ++k) {
    const std::int64_t at = I64(times + k * 8);
    if (k > 0 && at <= last) return Bad("transition times not ascending");
    last = at;
    if (idx[k] >= h->type) return Bad("transition type index out of range");
    const TimeMs ms = ToMs(at);
    if (!transitions.empty() && transitions.back().at == ms) transitions.pop_back();  // clamped
    transitions.push_back({ms, tt[idx[k]].offset, tt[idx[k]].dst});
  }

  std::optional<core::PosixTz> rule;
  std::string_view rest = b.substr(start + size);
  if (!rest.empty()) {
    if (rest[0] != '\n') return Bad("footer must start with a newline");
    const std::size_t nl = rest.find('\n', 1);
    if (nl == std::string_view::npos) return Bad("footer must end with a newline");
    const std::string_view text = rest.substr(1, nl - 1);
    if (!text.empty()) {
      auto r = ParsePosixTz(text);
      if (!r) return std::unexpected(r.error());
      rule = std::move(*r);
    }
  }
  return std::make_shared<const core::TimeZone>(std::move(name), tt[0].offset,
                                                std::move(transitions), std::move(rule));
}

bool ValidZoneName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  std::size_t component = 0;  // length of the current component
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '/') {
      if (component == 0) return false;
      component = 0;
      continue;
    }
    if (component == 0 && c == '.') return false;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '+' && c != '.')
      return false;
    ++component;
  }
  return component > 0;
}

SystemZones::SystemZones(std::string root) : root_(std::move(root)) {}

SystemZones& SystemZones::Default() {
  static SystemZones zones([] {
    const char* dir = std::getenv("TZDIR");
    return std::string(dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo");
  }());
  return zones;
}

std::shared_ptr<const core::TimeZone> SystemZones::Find(std::string_view name) {
  if (!ValidZoneName(name)) return nullptr;
  {
    std::lock_guard lk(mu_);
    if (auto it = cache_.find(name); it != cache_.end()) return it->second;
  }
  const std::filesystem::path path = std::filesystem::path(root_) / std::string(name);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return nullptr;
  const auto bytes = std::filesystem::file_size(path, ec);
  if (ec || bytes > (1 << 20)) return nullptr;  // real zone files are a few kilobytes
  std::ifstream f(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (!f.good() && !f.eof()) return nullptr;
  auto zone = ParseTzif(data, std::string(name));
  if (!zone) return nullptr;
  std::lock_guard lk(mu_);
  return cache_.emplace(std::string(name), std::move(*zone)).first->second;
}

core::ZoneLookup SystemZones::Lookup() {
  return [this](std::string_view name) { return Find(name); };
}

}  // namespace homeline::tz
