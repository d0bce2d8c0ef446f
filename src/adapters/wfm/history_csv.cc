#include "adapters/wfm/history_csv.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>
#include <numeric>
#include <optional>
#include <string_view>

namespace homeline::wfmio {

namespace wfm = core::wfm;

namespace {

// Whole-line reader over gzip or plain text (gzread passes plain files through).
class LineReader {
 public:
  static Result<std::unique_ptr<LineReader>> Open(const std::string& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr) return Fail(ErrorCode::kBadRequest, path + ": cannot open");
    gzbuffer(f, 1 << 16);
    return std::unique_ptr<LineReader>(new LineReader(f));
  }
  ~LineReader() { gzclose(f_); }

  // False at the end of the file (or on a read error, reported by Failed()).
  bool Next(std::string& line) {
    line.clear();
    char buf[4096];
    while (gzgets(f_, buf, sizeof buf) != nullptr) {
      line += buf;
      if (!line.empty() && line.back() == '\n') break;
      if (line.size() > kMaxLine) return false;
    }
    if (line.empty()) return false;
    ++number_;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    return true;
  }
  bool Failed() const {
    int err = 0;
    gzerror(f_, &err);
    return err != Z_OK && err != Z_STREAM_END;
  }
  int number() const { return number_; }

 private:
  static constexpr std::size_t kMaxLine = 1 << 20;
  explicit LineReader(gzFile f) : f_(f) {}
  gzFile f_;
  int number_ = 0;
};

std::vector<std::string_view> SplitCsv(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (true) {
    const std::size_t j = line.find(',', i);
    std::string_view f = line.substr(i, j == std::string_view::npos ? line.npos : j - i);
    while (!f.empty() && f.front() == ' ') f.remove_prefix(1);
    while (!f.empty() && f.back() == ' ') f.remove_suffix(1);
    if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
    out.push_back(f);
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return out;
}

int Column(const std::vector<std::string_view>& header, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names)
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == n) return static_cast<int>(i);
  return -1;
}

std::optional<double> Number(std::string_view s) {
  if (s.empty()) return 0.0;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) || v < 0)
    return std::nullopt;
  return v;
}

// "YYYY-MM-DDTHH:MM[:SS]" or with a space: local day and minute of the day.
bool ParseStart(std::string_view s, wfm::Day& day, int& minute) {
  if (s.size() < 16 || (s[10] != 'T' && s[10] != ' ') || s[13] != ':') return false;
  auto d = wfm::ParseDate(s.substr(0, 10));
  if (!d) return false;
  auto two = [&](std::size_t at) {
    const char a = s[at], b = s[at + 1];
    return (a < '0' || a > '9' || b < '0' || b > '9') ? -1 : (a - '0') * 10 + (b - '0');
  };
  const int h = two(11), m = two(14);
  if (h < 0 || h > 23 || m < 0 || m > 59) return false;
  day = *d;
  minute = h * 60 + m;
  return true;
}

std::unexpected<Error> Bad(const std::string& path, int line, const std::string& what) {
  return Fail(ErrorCode::kBadRequest, path + ":" + std::to_string(line) + ": " + what);
}

}  // namespace

Result<wfm::History> ReadHistoryCsv(const std::string& path, int interval_min) {
  if (interval_min < 5 || interval_min > 60 || 1440 % interval_min != 0 || interval_min % 5 != 0)
    return Fail(ErrorCode::kBadRequest, "interval must be 5, 10, 15, 20, 30 or 60 minutes");
  auto reader = LineReader::Open(path);
  if (!reader) return std::unexpected(reader.error());
  LineReader& in = **reader;
  std::string line;
  if (!in.Next(line)) return Fail(ErrorCode::kBadRequest, path + ": empty file");
  const std::string header_line = line;
  const auto header = SplitCsv(header_line);
  const int c_start = Column(header, {"interval_start"});
  const int c_offered = Column(header, {"offered", "contacts", "volume"});
  const int c_handled = Column(header, {"handled", "answered"});
  const int c_handle = Column(header, {"handle_s_sum", "handle_s"});
  if (c_start < 0 || c_offered < 0)
    return Bad(path, 1, "the header needs interval_start and offered columns");
  if ((c_handled < 0) != (c_handle < 0))
    return Bad(path, 1, "handled (or answered) and handle_s_sum go together");
  const std::size_t need = static_cast<std::size_t>(
      std::max({c_start, c_offered, c_handled, c_handle}) + 1);

  wfm::History h;
  h.interval_min = interval_min;
  int granularity = 1440;  // gcd of the rows' minutes of the day: the file's own interval
  while (in.Next(line)) {
    if (line.empty()) continue;
    const auto f = SplitCsv(line);
    if (f.size() < need) return Bad(path, in.number(), "too few fields");
    wfm::Day day = 0;
    int minute = 0;
    if (!ParseStart(f[c_start], day, minute))
      return Bad(path, in.number(), "interval_start must be YYYY-MM-DDTHH:MM");
    granularity = std::gcd(granularity, minute);
    auto offered = Number(f[c_offered]);
    if (!offered) return Bad(path, in.number(), "offered must be a number ≥ 0");
    wfm::IntervalTotals& c = h.MutableDay(day)[minute / interval_min];
    c.offered += *offered;
    if (c_handled >= 0) {
      auto handled = Number(f[c_handled]);
      auto handle = Number(f[c_handle]);
      if (!handled || !handle)
        return Bad(path, in.number(), "handled and handle_s_sum must be numbers ≥ 0");
      c.handled += *handled;
      c.handle_s += *handle;
    }
    if (h.known.size() > 20 * 366)
      return Bad(path, in.number(), "more than 20 years of history");
  }
  if (in.Failed()) return Fail(ErrorCode::kBadRequest, path + ": read error (truncated gzip?)");
  if (h.known.empty()) return Fail(ErrorCode::kBadRequest, path + ": no rows");
  if (interval_min % granularity != 0)
    return Fail(ErrorCode::kBadRequest,
                path + ": the rows are " + std::to_string(granularity) +
                    " minutes apart; forecast at a multiple of that");
  return h;
}

Result<std::vector<wfm::CalendarEvent>> ReadCalendarCsv(const std::string& path) {
  auto reader = LineReader::Open(path);
  if (!reader) return std::unexpected(reader.error());
  LineReader& in = **reader;
  std::string line;
  std::vector<wfm::CalendarEvent> out;
  if (!in.Next(line)) return out;
  const std::string header_line = line;
  const auto header = SplitCsv(header_line);
  const int c_name = Column(header, {"name"}), c_first = Column(header, {"first_day"}),
            c_last = Column(header, {"last_day"}), c_mult = Column(header, {"multiplier"});
  if (c_name < 0 || c_first < 0 || c_last < 0 || c_mult < 0)
    return Bad(path, 1, "the header must be name,first_day,last_day,multiplier");
  const std::size_t need =
      static_cast<std::size_t>(std::max({c_name, c_first, c_last, c_mult}) + 1);
  while (in.Next(line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto f = SplitCsv(line);
    if (f.size() < need) return Bad(path, in.number(), "too few fields");
    wfm::CalendarEvent e;
    e.id = out.size() + 1;
    e.name = std::string(f[c_name]);
    auto first = wfm::ParseDate(f[c_first]);
    auto last = wfm::ParseDate(f[c_last]);
    auto mult = Number(f[c_mult]);
    if (!first || !last) return Bad(path, in.number(), "dates must be YYYY-MM-DD");
    if (!mult) return Bad(path, in.number(), "multiplier must be a number");
    e.first_day = *first;
    e.last_day = *last;
    e.multiplier = *mult;
    if (auto st = wfm::Validate(e); !st) return Bad(path, in.number(), st.error().message);
    out.push_back(std::move(e));
  }
  if (in.Failed()) return Fail(ErrorCode::kBadRequest, path + ": read error");
  return out;
}

std::string HistoryCsv(const wfm::History& h) {
  std::string out = "interval_start,offered,handled,handle_s_sum\n";
  char buf[128];
  for (wfm::Day d = h.first_day; d < h.EndDay(); ++d) {
    if (!h.Known(d)) continue;
    const std::string date = wfm::FormatDate(d);
    auto cells = h.DayCells(d);
    for (int i = 0; i < h.SlotsPerDay(); ++i) {
      const int m = i * h.interval_min;
      std::snprintf(buf, sizeof buf, "%sT%02d:%02d,%g,%g,%g\n", date.c_str(), m / 60, m % 60,
                    cells[i].offered, cells[i].handled, cells[i].handle_s);
      out += buf;
    }
  }
  return out;
}

}  // namespace homeline::wfmio
