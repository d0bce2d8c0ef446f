#pragma once
// /metrics in the Prometheus text format: one unlabelled metric, its TYPE line then its value.
// The server's parts that add their own metrics (app.cc, voice.cc) write them with this; the
// API's labelled per-queue metrics have their own writer (api.cc).

#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace homeline::server {

// type: "counter" or "gauge".
inline void AppendMetric(std::string& out, std::string_view name, std::string_view type, std::uint64_t value) {
  out += fmt::format("# TYPE {} {}\n{} {}\n", name, type, name, value);
}

}  // namespace homeline::server
