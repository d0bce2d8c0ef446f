#pragma once
// Server configuration: a TOML file, then environment variables, then command-line flags,
// each overriding the one before.
//
//   [server]
//   http = "127.0.0.1:8080"   # HOMELINE_HTTP
//   data = "var"              # HOMELINE_DATA: directory of the SQLite database
//   demo = true               # HOMELINE_DEMO=0 turns the demo tenants off
//   tls_cert = ""             # PEM; with tls_key, the server speaks HTTPS/WSS only
//   tls_key = ""
//   http_threads = 1
//   body_limit = 1048576      # bytes
//   fsync = true              # off only for throwaway benchmarks
//   store_max_queued = 100000 # events waiting for the disk at which writes get 503
//   web = "web"               # HOMELINE_WEB: directory of the browser pages (default: the
//                             # source tree's web/, compiled in)
//   sip = "127.0.0.1:5060"    # HOMELINE_SIP: SIP over UDP and TCP on HOST:PORT; "off" disables
//   heap_reserve = 0          # MiB of heap faulted in at start on huge pages (common/heap.h);
//                             # 0: none. For large centers (bench/routing runs with 1024).
//   [sip]
//   qualify = 30              # seconds between OPTIONS to each registered phone; 0: none
//   qualify_timeout = 8       # seconds a phone has to answer one before it is unregistered
//   ipv6 = "::1"              # HOMELINE_SIP6: SIP also on this IPv6 address (same port), and
//                             # IPv6 media for callers and phones that use it; "" none
//   [auth]
//   session_ttl = 43200       # seconds a login token lasts
//   [chat]                    # web chat limits (see docs/api.md)
//   visitor_burst = 20        # messages a visitor may send at once...
//   visitor_rate = 2.0        # ...then this many per second
//   address_burst = 30        # new chats and left messages per client address at once...
//   address_rate = 0.2        # ...then this many per second
//   visitor_timeout = 60      # seconds a waiting visitor may be gone before the chat is abandoned
//   [log]
//   level = "info"            # HOMELINE_LOG_LEVEL

#include <cstdint>
#include <string>

#include "common/result.h"

namespace homeline::server {

// The source tree's web/ as compiled in, so a build serves its pages without a flag.
std::string DefaultWebDir();

struct Config {
  std::string http_host = "127.0.0.1";
  std::uint16_t http_port = 8080;
  std::string data_dir = "var";
  bool demo = true;
  std::string tls_cert;
  std::string tls_key;
  int http_threads = 1;
  std::size_t body_limit = 1 << 20;
  bool fsync = true;
  std::int64_t store_max_queued = 100000;  // store::SqliteOptions::max_queued_events
  std::int64_t heap_reserve_mb = 0;        // homeline::ReserveHeap at start; 0: none
  std::int64_t session_ttl_s = 12 * 3600;
  std::string log_level = "info";
  std::string web_dir = DefaultWebDir();
  double chat_visitor_burst = 20;
  double chat_visitor_per_second = 2;
  double chat_address_burst = 30;
  double chat_address_per_second = 0.2;
  std::int64_t chat_visitor_timeout_s = 60;
  bool sip_enabled = true;
  std::string sip_host = "127.0.0.1";
  std::uint16_t sip_port = 5060;
  std::uint32_t sip_qualify_s = 30;  // OPTIONS to registered phones; 0: never
  std::uint32_t sip_qualify_timeout_s = 8;  // unanswered this long: the phone is unregistered
  // An IPv6 address SIP also listens on (same port, UDP and TCP), where the RTP legs of IPv6
  // callers and phones bind; "" : none (a --sip on an IPv6 address serves IPv6 alone).
  std::string sip_ipv6;
};

// Parses "HOST:PORT", "[::1]:PORT" or ":PORT".
[[nodiscard]] Status ParseHostPort(const std::string& text, std::string& host, std::uint16_t& port);

// Parses the SIP listen setting: "off", or HOST:PORT as ParseHostPort.
[[nodiscard]] Status ParseSip(const std::string& text, Config& config);

// Reads the TOML file (if path is not empty) over the defaults, then the environment.
[[nodiscard]] Result<Config> LoadConfig(const std::string& path);

}  // namespace homeline::server
