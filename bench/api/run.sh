#!/usr/bin/env bash
# API benchmark with wrk on loopback against a Release build (fsync on):
#  - read:  GET  /api/v1/tenants/acme/stats/queues    (supervisor)
#  - write: PUT  /api/v1/tenants/acme/me/presence     (agent; durable before the reply)
# Usage: bench/api/run.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
conns=${2:-32}
bash scripts/deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOMELINE_TESTS=OFF -DHOMELINE_BENCH=OFF >/dev/null
cmake --build build/release --target homeline >/dev/null
data=$(mktemp -d)
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
build/release/src/exe/homeline serve --http 127.0.0.1:$port --data "$data" --log-level warn --sip off &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
token() { curl -sf -X POST http://127.0.0.1:$port/api/v1/auth/login -d "{\"login\":\"$1\",\"password\":\"demo\"}" | python3 -c 'import sys,json;print(json.load(sys.stdin)["token"])'; }
sam=$(token sam)
alice=$(token alice)
committed() { curl -sf http://127.0.0.1:$port/metrics | awk '/^homeline_store_committed_events_total/ {print $2}'; }
commits() { curl -sf http://127.0.0.1:$port/metrics | awk '/^homeline_store_commits_total/ {print $2}'; }

echo "== read: GET stats/queues, $conns connections, ${secs}s"
wrk -t1 -c"$conns" -d"${secs}s" --latency -H "Authorization: Bearer $sam" \
  "http://127.0.0.1:$port/api/v1/tenants/acme/stats/queues" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" || true

echo "== write: PUT me/presence (durable), $conns connections, ${secs}s"
e0=$(committed); c0=$(commits)
wrk -t1 -c"$conns" -d"${secs}s" --latency -s bench/api/presence.lua -H "Authorization: Bearer $alice" \
  "http://127.0.0.1:$port/api/v1/tenants/acme/me/presence" | grep -E "Requests/sec|50%|99%|Non-2xx|Socket errors" || true
e1=$(committed); c1=$(commits)
echo "events committed: $((e1 - e0)) in $((c1 - c0)) commits ($(( (e1 - e0) / secs )) events/s)"
