#!/usr/bin/env bash
# WebSocket fan-out benchmark on loopback against a Release build (fsync on): N desktops
# subscribed to tenant acme receive every queue-statistics update; prints delivery latency
# percentiles (bench/ws/ws_bench.cc says what is measured).
# Usage: bench/ws/run.sh [clients] [updates] [server http_threads]
set -euo pipefail
cd "$(dirname "$0")/../.."
clients=${1:-2000}
updates=${2:-50}
threads=${3:-1}
source bench/common/run_lib.sh
bench_build --target homeline bench_ws
# Server and client each hold one descriptor per connection.
ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < clients + 100 )); then
  echo "ulimit -n is $(ulimit -n): too low for $clients clients" >&2
  exit 1
fi
bench_serve "$(printf '[server]\nhttp_threads = %d\n' "$threads")"
echo "== WebSocket fan-out: $clients clients, $updates updates, server http_threads $threads (load: $(cut -d' ' -f1-3 /proc/loadavg))"
build/release/bench/ws/bench_ws --port "$port" --clients "$clients" --updates "$updates"
