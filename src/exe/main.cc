// homeline: the command-line entry point. `homeline serve` runs the server; `homeline migrate`
// brings a database to the current schema; `homeline staffing` is the planners' Erlang
// calculator; `homeline forecast` forecasts a queue from a CSV of history; `homeline sim` runs
// a scenario through the routing engine on a simulated clock; `homeline schedule` solves a
// weekly shift schedule; `homeline --help` lists the rest.

#include <sys/resource.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "adapters/api/staffing_view.h"
#include "adapters/store/event_store.h"
#include "common/heap.h"
#include "core/wfm/staffing.h"
#include "exe/forecast_cli.h"
#include "exe/schedule_cli.h"
#include "server/app.h"
#include "server/config.h"
#include "sim/report.h"
#include "sim/scenario_toml.h"
#include "sim/summary.h"

namespace {

// Every WebSocket desktop holds a descriptor, and the usual soft limit (1024, systemd's
// default too) would stop accepts at about a thousand of them: take what the hard limit allows.
void RaiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  const rlim_t was = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
    spdlog::debug("open files limit raised from {} to {}", was, rl.rlim_cur);
}

int Serve(const std::string& config_path, const std::string& http, const std::string& data,
          bool no_demo, const std::string& tls_cert, const std::string& tls_key,
          const std::string& log_level, const std::string& web, const std::string& sip,
          std::int64_t heap_reserve_mb) {
  auto loaded = homeline::server::LoadConfig(config_path);
  if (!loaded) {
    std::fprintf(stderr, "homeline: %s\n", loaded.error().message.c_str());
    return 2;
  }
  homeline::server::Config config = *loaded;
  if (!http.empty()) {
    if (auto st = homeline::server::ParseHostPort(http, config.http_host, config.http_port); !st) {
      std::fprintf(stderr, "homeline: --http: %s\n", st.error().message.c_str());
      return 2;
    }
  }
  if (!data.empty()) config.data_dir = data;
  if (no_demo) config.demo = false;
  if (!tls_cert.empty()) config.tls_cert = tls_cert;
  if (!tls_key.empty()) config.tls_key = tls_key;
  if (!log_level.empty()) config.log_level = log_level;
  if (!web.empty()) config.web_dir = web;
  if (!sip.empty()) {
    if (auto st = homeline::server::ParseSip(sip, config); !st) {
      std::fprintf(stderr, "homeline: --sip: %s\n", st.error().message.c_str());
      return 2;
    }
  }
  if (config.tls_cert.empty() != config.tls_key.empty()) {
    std::fprintf(stderr, "homeline: --tls-cert and --tls-key go together\n");
    return 2;
  }
  if (heap_reserve_mb >= 0) config.heap_reserve_mb = heap_reserve_mb;
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  // Before the engine allocates: its records then come from the reserve.
  if (config.heap_reserve_mb > 0) {
    const homeline::HeapReserve heap =
        homeline::ReserveHeap(static_cast<std::size_t>(config.heap_reserve_mb) << 20);
    spdlog::info("{}", homeline::Describe(heap));
  }

  // Signals are taken by one thread with sigwait, so no handler runs inside the engine's locks.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  RaiseFileLimit();
  homeline::server::App app(config);
  std::thread signals([&app, set]() {
    int sig = 0;
    sigwait(&set, &sig);
    if (sig != SIGUSR2) spdlog::info("signal {}: shutting down", sig);
    app.Stop();
  });
  auto st = app.Run();
  pthread_kill(signals.native_handle(), SIGTERM);
  signals.join();
  if (!st) {
    spdlog::error("{}", st.error().message);
    return 1;
  }
  return 0;
}

// Prints the required agents for one interval; 2 on bad input (as the API's 400).
int Staffing(const homeline::core::wfm::StaffingInput& in, bool as_json) {
  namespace wfm = homeline::core::wfm;
  auto r = wfm::SolveStaffing(in);
  if (!r) {
    std::fprintf(stderr, "homeline staffing: %s\n", r.error().message.c_str());
    return 2;
  }
  if (as_json) {
    std::printf("%s\n", homeline::api::StaffingJson(in, *r).dump(2).c_str());
    return 0;
  }
  const wfm::QueueMetrics& m = r->metrics;
  std::printf("%s: %.2f Erlangs offered (%g contacts in %g s, AHT %g s)\n",
              r->model == wfm::Model::kErlangA ? "Erlang A" : "Erlang C", r->erlangs, in.contacts,
              in.interval_s, in.aht_s);
  std::printf("  required agents         %d", r->agents);
  if (in.concurrency > 1) std::printf("  (%d contacts at once: %d slots)", in.concurrency, r->servers);
  std::printf("\n  scheduled agents        %d  (%g%% shrinkage)\n", r->scheduled_agents,
              in.shrinkage * 100);
  std::printf("  service level           %.1f%% answered within %g s", m.service_level * 100,
              in.answer_within_s);
  if (in.target_sl > 0) std::printf("  (target %g%%)", in.target_sl * 100);
  std::printf("\n  probability of waiting  %.1f%%\n", m.p_wait * 100);
  std::printf("  ASA                     %.1f s", m.asa_s);
  if (in.target_asa_s > 0) std::printf("  (target %g s)", in.target_asa_s);
  std::printf("\n  occupancy               %.1f%%\n", m.occupancy * 100);
  if (r->model == wfm::Model::kErlangA)
    std::printf("  abandon rate            %.1f%%  (mean patience %g s)\n", m.p_abandon * 100,
                in.patience_s);
  return 0;
}

// Runs a scenario file's replications and prints the report; 2 on a bad file or option.
int Simulate(const std::string& path, int replications, std::optional<std::uint64_t> seed,
             bool as_json, bool as_csv) {
  namespace sim = homeline::sim;
  auto scenario = sim::LoadScenario(path);
  if (!scenario) {
    std::fprintf(stderr, "homeline sim: %s\n", scenario.error().message.c_str());
    return 2;
  }
  if (seed) scenario->seed = *seed;
  auto summary = sim::Replicate(*scenario, replications);
  if (!summary) {
    std::fprintf(stderr, "homeline sim: %s\n", summary.error().message.c_str());
    return summary.error().code == homeline::ErrorCode::kBadRequest ? 2 : 1;
  }
  if (as_json) {
    std::printf("%s\n", sim::JsonReport(*scenario, *summary).dump(2).c_str());
  } else if (as_csv) {
    std::fputs(sim::CsvReport(*scenario, *summary).c_str(), stdout);
  } else {
    std::fputs(sim::TextReport(*scenario, *summary).c_str(), stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Homeline: a virtual contact center server"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", "homeline 0.1.0");
  // The top-level help lists every subcommand's options: most readers want serve's flags.
  cli.set_help_flag();
  cli.set_help_all_flag("-h,--help", "Print this help message (with every subcommand's options) and exit");

  // Serve() treats an empty value as "not given": an explicit empty one must not silently
  // fall back to the default (e.g. --http "" listening on 8080, --tls-cert "" serving plain HTTP).
  const CLI::Validator non_empty(
      [](std::string& v) { return v.empty() ? std::string("must not be empty") : std::string(); },
      "", "NONEMPTY");
  const CLI::Validator host_port(
      [](std::string& v) {
        std::string host;
        std::uint16_t port = 0;
        auto st = homeline::server::ParseHostPort(v, host, port);
        return st ? std::string() : st.error().message;
      },
      "", "HOSTPORT");

  const CLI::Validator sip_listen(
      [](std::string& v) {
        homeline::server::Config c;
        auto st = homeline::server::ParseSip(v, c);
        return st ? std::string() : st.error().message;
      },
      "", "HOSTPORT|off");

  std::string config_path, http, data, tls_cert, tls_key, log_level, web, sip;
  bool no_demo = false;
  std::int64_t heap_reserve_mb = -1;
  CLI::App* serve = cli.add_subcommand("serve", "Run the server (HTTP API, WebSocket, routing engine)");
  serve->add_option("--config", config_path, "TOML config file (see docs/configuration.md)")->check(CLI::ExistingFile);
  serve->add_option("--http", http, "Listen on HOST:PORT (default 127.0.0.1:8080; [::1]:PORT for IPv6)")->check(host_port);
  serve->add_option("--data", data, "Directory of the SQLite database (default var/)")->check(non_empty);
  serve->add_flag("--no-demo", no_demo, "Do not create the demo tenants on an empty database");
  serve->add_option("--tls-cert", tls_cert, "PEM certificate: serve HTTPS and WSS only")->check(non_empty);
  serve->add_option("--tls-key", tls_key, "PEM private key for --tls-cert")->check(non_empty);
  serve->add_option("--log-level", log_level, "trace, debug, info, warn, error");
  serve->add_option("--web", web, "Directory of the browser pages (default: the source tree's web/)")->check(CLI::ExistingDirectory);
  serve->add_option("--heap-reserve", heap_reserve_mb,
                    "MiB of heap faulted in at start on huge pages, for large centers (default 0: none)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1'048'576}));
  serve->add_option("--sip", sip, "SIP (UDP and TCP) on HOST:PORT (default 127.0.0.1:5060), or off")->check(sip_listen);

  std::string migrate_data = "var";
  CLI::App* migrate = cli.add_subcommand("migrate", "Create or upgrade the database schema, then exit");
  migrate->add_option("--data", migrate_data, "Directory of the SQLite database (default var/)")->check(non_empty);

  homeline::core::wfm::StaffingInput staffing_in;
  bool staffing_json = false;
  CLI::App* staffing = cli.add_subcommand(
      "staffing", "Required agents for one interval by Erlang C (Erlang A with --patience), then exit");
  staffing->add_option("--calls", staffing_in.contacts, "Contacts offered in the interval")->required();
  staffing->add_option("--interval", staffing_in.interval_s, "Interval length, seconds (e.g. 1800)")->required();
  staffing->add_option("--aht", staffing_in.aht_s, "Average handle time, seconds")->required();
  staffing->add_option("--target-sl", staffing_in.target_sl, "Service level target, e.g. 0.8 (with --answer-within)");
  staffing->add_option("--answer-within", staffing_in.answer_within_s, "The service level's threshold, seconds (e.g. 20)");
  staffing->add_option("--target-asa", staffing_in.target_asa_s, "Average speed of answer target, seconds");
  staffing->add_option("--patience", staffing_in.patience_s, "Mean patience before abandoning, seconds: Erlang A");
  staffing->add_option("--shrinkage", staffing_in.shrinkage, "Share of paid time off the phones, e.g. 0.3");
  staffing->add_option("--max-occupancy", staffing_in.max_occupancy, "Maximum occupancy, e.g. 0.85");
  staffing->add_option("--concurrency", staffing_in.concurrency, "Contacts an agent handles at once (chat)");
  staffing->add_flag("--json", staffing_json, "Print JSON (the API's shape)");

  // ---- forecast (docs/wfm.md) ----
  homeline::cli::ForecastArgs fc;
  CLI::App* forecast = cli.add_subcommand(
      "forecast", "Forecast contacts and AHT per interval from a CSV of history (or backtest it), then exit");
  forecast->add_option("--csv", fc.csv, "History CSV (interval_start,offered[,handled,handle_s_sum]; .gz too)")->check(CLI::ExistingFile);
  forecast->add_option("--data", fc.data, "Or a server's data directory (its database), with --tenant and --queue")->check(non_empty);
  forecast->add_option("--tenant", fc.tenant, "With --data: tenant slug or id");
  forecast->add_option("--queue", fc.queue, "With --data: queue name or id");
  forecast->add_option("--calendar", fc.calendar, "Calendar CSV: name,first_day,last_day,multiplier")->check(CLI::ExistingFile);
  forecast->add_option("--interval", fc.interval_min, "Interval length, minutes (15 or 30; 5..60)");
  forecast->add_option("--weeks", fc.weeks, "Weeks to forecast (1..26)");
  forecast->add_option("--from", fc.from, "First forecast day YYYY-MM-DD (default: the day after the history)");
  forecast->add_option("--format", fc.format, "text (a line a day), csv or json (every interval)");
  forecast->add_option("--backtest", fc.backtest, "Hold out and score: DATE[:WEEKS][,...] weekly origins; prints WAPE against seasonal naive");
  forecast->add_option("--horizon-weeks", fc.horizon_weeks, "With --backtest: weeks forecast from each origin");


  // ---- sim (docs/wfm.md, "Simulator") ----
  std::string sim_path;
  int sim_replications = 1;
  std::uint64_t sim_seed = 0;
  bool sim_json = false, sim_csv = false;
  CLI::App* simulate = cli.add_subcommand(
      "sim", "Simulate a scenario (arrivals, agents, shifts) through the routing engine, then exit");
  simulate->add_option("scenario", sim_path, "Scenario file (TOML; see docs/wfm.md, Simulator)")->required()->check(CLI::ExistingFile);
  simulate->add_option("--replications", sim_replications, "Independent runs; figures get 95% confidence intervals")->check(CLI::Range(1, 1000));
  simulate->add_option("--seed", sim_seed, "Overrides the scenario's seed");
  auto* sim_json_flag = simulate->add_flag("--json", sim_json, "Print JSON");
  simulate->add_flag("--csv", sim_csv, "Print CSV, one row per queue and interval")->excludes(sim_json_flag);

  // ---- schedule (docs/wfm.md) ----
  homeline::cli::ScheduleArgs sc;
  CLI::App* schedule = cli.add_subcommand(
      "schedule", "Solve a weekly shift schedule (integer program, CBC) from a problem JSON, then exit");
  schedule->add_option("problem", sc.problem, "Problem JSON: requirement, shift templates, agents (docs/wfm.md)")->required()->check(CLI::ExistingFile);
  schedule->add_option("--time-limit", sc.time_limit_s, "Seconds the solver may take; the best schedule so far is kept (default 60)")->check(CLI::Range(0.1, 3600.0));
  schedule->add_flag("--json", sc.json, "Print the whole result as JSON (the API's shape)");
  schedule->add_flag("--csv", sc.csv, "Print every shift as CSV");
  schedule->add_flag("--coverage-csv", sc.coverage_csv, "Print required, scheduled, under and over per interval as CSV");
  schedule->add_option("--ics", sc.ics_agent, "Print this agent's shifts as iCalendar (.ics)");

  CLI11_PARSE(cli, argc, argv);

  if (schedule->parsed()) return homeline::cli::Schedule(sc);

  if (forecast->parsed()) return homeline::cli::Forecast(fc);

  if (simulate->parsed()) {
    std::optional<std::uint64_t> seed;
    if (simulate->count("--seed") > 0) seed = sim_seed;
    return Simulate(sim_path, sim_replications, seed, sim_json, sim_csv);
  }

  if (staffing->parsed()) {
    if (staffing_in.target_sl > 0 && staffing->count("--answer-within") == 0) {
      std::fprintf(stderr, "homeline staffing: --target-sl needs --answer-within\n");
      return 2;
    }
    if (staffing->count("--patience") > 0 && staffing_in.patience_s <= 0) {
      std::fprintf(stderr, "homeline staffing: --patience must be > 0 seconds\n");
      return 2;
    }
    return Staffing(staffing_in, staffing_json);
  }

  if (serve->parsed()) return Serve(config_path, http, data, no_demo, tls_cert, tls_key, log_level, web, sip, heap_reserve_mb);
  if (migrate->parsed()) {
    std::error_code ec;
    std::filesystem::create_directories(migrate_data, ec);
    auto v = homeline::store::MigrateSqlite((std::filesystem::path(migrate_data) / "homeline.db").string());
    if (!v) {
      std::fprintf(stderr, "homeline migrate: %s\n", v.error().message.c_str());
      return 1;
    }
    std::printf("schema version %d\n", *v);
    return 0;
  }
  return 0;
}
