#include "server/config.h"

#include <cstdlib>

#include <toml++/toml.h>

namespace homeline::server {

std::string DefaultWebDir() {
#ifdef HOMELINE_DEFAULT_WEB_DIR
  return HOMELINE_DEFAULT_WEB_DIR;
#else
  return "web";
#endif
}

Status ParseHostPort(const std::string& text, std::string& host, std::uint16_t& port) {
  std::string h, p;
  if (!text.empty() && text[0] == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return Fail(ErrorCode::kBadRequest, "expected [IPv6]:PORT, got '" + text + "'");
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return Fail(ErrorCode::kBadRequest, "expected HOST:PORT, got '" + text + "'");
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
  }
  if (h.empty()) h = "127.0.0.1";
  char* end = nullptr;
  const long v = std::strtol(p.c_str(), &end, 10);
  if (p.empty() || *end != '\0' || v < 0 || v > 65535) return Fail(ErrorCode::kBadRequest, "bad port in '" + text + "'");
  host = h;
  port = static_cast<std::uint16_t>(v);
  return {};
}

Status ParseSip(const std::string& text, Config& config) {
  if (text == "off") {
    config.sip_enabled = false;
    return {};
  }
  if (auto st = ParseHostPort(text, config.sip_host, config.sip_port); !st) return st;
  config.sip_enabled = true;
  return {};
}

Result<Config> LoadConfig(const std::string& path) {
  Config c;
  if (!path.empty()) {
    toml::table t;
    try {
      t = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      return Fail(ErrorCode::kBadRequest, std::string("config ") + path + ": " + std::string(e.description()));
    }
    if (auto v = t["server"]["http"].value<std::string>()) {
      if (auto st = ParseHostPort(*v, c.http_host, c.http_port); !st) return std::unexpected(st.error());
    }
    c.data_dir = t["server"]["data"].value_or(c.data_dir);
    c.demo = t["server"]["demo"].value_or(c.demo);
    c.tls_cert = t["server"]["tls_cert"].value_or(c.tls_cert);
    c.tls_key = t["server"]["tls_key"].value_or(c.tls_key);
    c.http_threads = t["server"]["http_threads"].value_or(c.http_threads);
    c.body_limit = t["server"]["body_limit"].value_or(static_cast<std::int64_t>(c.body_limit));
    c.fsync = t["server"]["fsync"].value_or(c.fsync);
    c.store_max_queued = t["server"]["store_max_queued"].value_or(c.store_max_queued);
    c.heap_reserve_mb = t["server"]["heap_reserve"].value_or(c.heap_reserve_mb);
    c.web_dir = t["server"]["web"].value_or(c.web_dir);
    if (auto v = t["server"]["sip"].value<std::string>()) {
      if (auto st = ParseSip(*v, c); !st) return Fail(ErrorCode::kBadRequest, "server.sip: " + st.error().message);
    }
    c.session_ttl_s = t["auth"]["session_ttl"].value_or(c.session_ttl_s);
    const std::int64_t qualify = t["sip"]["qualify"].value_or(static_cast<std::int64_t>(c.sip_qualify_s));
    if (qualify < 0 || qualify > 3600) return Fail(ErrorCode::kBadRequest, "sip.qualify must be 0-3600 seconds");
    c.sip_qualify_s = static_cast<std::uint32_t>(qualify);
    const std::int64_t qualify_timeout =
        t["sip"]["qualify_timeout"].value_or(static_cast<std::int64_t>(c.sip_qualify_timeout_s));
    if (qualify_timeout < 1 || qualify_timeout > 60)
      return Fail(ErrorCode::kBadRequest, "sip.qualify_timeout must be 1-60 seconds");
    c.sip_qualify_timeout_s = static_cast<std::uint32_t>(qualify_timeout);
    c.sip_ipv6 = t["sip"]["ipv6"].value_or(c.sip_ipv6);
    c.log_level = t["log"]["level"].value_or(c.log_level);
    c.chat_visitor_burst = t["chat"]["visitor_burst"].value_or(c.chat_visitor_burst);
    c.chat_visitor_per_second = t["chat"]["visitor_rate"].value_or(c.chat_visitor_per_second);
    c.chat_address_burst = t["chat"]["address_burst"].value_or(c.chat_address_burst);
    c.chat_address_per_second = t["chat"]["address_rate"].value_or(c.chat_address_per_second);
    c.chat_visitor_timeout_s = t["chat"]["visitor_timeout"].value_or(c.chat_visitor_timeout_s);
  }
  if (const char* v = std::getenv("HOMELINE_HTTP")) {
    if (auto st = ParseHostPort(v, c.http_host, c.http_port); !st) return std::unexpected(st.error());
  }
  if (const char* v = std::getenv("HOMELINE_DATA")) c.data_dir = v;
  if (const char* v = std::getenv("HOMELINE_DEMO")) c.demo = std::string(v) != "0" && std::string(v) != "false";
  if (const char* v = std::getenv("HOMELINE_LOG_LEVEL")) c.log_level = v;
  if (const char* v = std::getenv("HOMELINE_WEB")) c.web_dir = v;
  if (const char* v = std::getenv("HOMELINE_SIP")) {
    if (auto st = ParseSip(v, c); !st) return Fail(ErrorCode::kBadRequest, "HOMELINE_SIP: " + st.error().message);
  }
  if (const char* v = std::getenv("HOMELINE_SIP6")) c.sip_ipv6 = v;
  if (!c.sip_ipv6.empty() && c.sip_ipv6.find(':') == std::string::npos)
    return Fail(ErrorCode::kBadRequest, "sip.ipv6 must be an IPv6 address, not '" + c.sip_ipv6 + "'");
  if (c.session_ttl_s < 1) return Fail(ErrorCode::kBadRequest, "auth.session_ttl must be at least 1 second");
  if (c.http_threads < 1 || c.http_threads > 64) return Fail(ErrorCode::kBadRequest, "http_threads must be 1-64");
  if (!(c.chat_visitor_burst >= 1 && c.chat_visitor_per_second > 0 && c.chat_address_burst >= 1 &&
        c.chat_address_per_second > 0))
    return Fail(ErrorCode::kBadRequest, "chat limits: bursts must be >= 1 and rates > 0");
  if (c.chat_visitor_timeout_s < 1 || c.chat_visitor_timeout_s > 86400)
    return Fail(ErrorCode::kBadRequest, "chat.visitor_timeout must be 1-86400 seconds");
  if (c.store_max_queued < 1 || c.store_max_queued > 10'000'000)
    return Fail(ErrorCode::kBadRequest, "server.store_max_queued must be 1-10000000 events");
  if (c.heap_reserve_mb < 0 || c.heap_reserve_mb > 1'048'576)
    return Fail(ErrorCode::kBadRequest, "server.heap_reserve must be 0-1048576 MiB");
  if (c.tls_cert.empty() != c.tls_key.empty()) return Fail(ErrorCode::kBadRequest, "tls_cert and tls_key go together");
  return c;
}

}  // namespace homeline::server
