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
bash scripts/deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOMELINE_TESTS=OFF -DHOMELINE_BENCH=ON >/dev/null
cmake --build build/release --target homeline bench_ws >/dev/null
# Server and client each hold one descriptor per connection.
ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < clients + 100 )); then
  echo "ulimit -n is $(ulimit -n): too low for $clients clients" >&2
  exit 1
fi
data=$(mktemp -d)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
printf '[server]\nhttp_threads = %d\n' "$threads" >"$data/bench.toml"
build/release/src/exe/homeline serve --config "$data/bench.toml" --http 127.0.0.1:$port --data "$data/db" --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
echo "== WebSocket fan-out: $clients clients, $updates updates, server http_threads $threads (load: $(cut -d' ' -f1-3 /proc/loadavg))"
build/release/bench/ws/bench_ws --port "$port" --clients "$clients" --updates "$updates"
