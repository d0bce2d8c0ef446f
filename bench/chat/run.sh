#!/usr/bin/env bash
# Web chat benchmark on loopback against a Release build (fsync on): N conversations, each a
# visitor WebSocket and an agent desktop's (50 chats per agent socket), both sides sending at a
# fixed rate; prints messages/s delivered and latency percentiles (bench/chat/chat_bench.cc says
# what is measured). The chat rate limits are raised for the bench (one address starts every
# chat; the per-visitor limit would cap --rate at 2).
# Usage: bench/chat/run.sh [chats] [rate per conversation and side] [seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
chats=${1:-1000}
rate=${2:-1}
seconds=${3:-20}
source bench/common/run_lib.sh
bench_build -j2 --target homeline bench_chat
ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < chats * 2 + 200 )); then
  echo "ulimit -n is $(ulimit -n): too low for $chats chats" >&2
  exit 1
fi
bench_serve "$(printf '[chat]\nvisitor_burst = 1000\nvisitor_rate = 1000.0\naddress_burst = 1000000\naddress_rate = 1000.0\n')"
echo "== web chat: $chats conversations, $rate messages/s per conversation and side, $seconds s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
build/release/bench/chat/bench_chat --port "$port" --chats "$chats" --rate "$rate" --seconds "$seconds"
