#!/usr/bin/env bash
# RTP relay benchmark: N bridged calls, 20 ms G.711 both ways over loopback, through Homeline's
# MediaEngine and through rtpengine (Debian rtpengine-daemon, userspace forwarding: --table=-1),
# alternating so that both see the same machine load; prints each round and the medians.
# Usage: bench/media/run.sh [calls] [seconds] [rounds]
# MEDIA_BENCH_RT=1: run rtpengine and bench_media (relay and generator) under SCHED_FIFO
# (chrt -f 5, needs root), so that on a shared machine both relays wake on time as on a quiet
# one; the rounds still alternate. Without it, the default scheduling.
set -euo pipefail
cd "$(dirname "$0")/../.."
calls=${1:-1000}
seconds=${2:-10}
rounds=${3:-3}
source bench/common/run_lib.sh
bench_build --target bench_media
if ! command -v rtpengine >/dev/null 2>&1; then
  # Only this bench needs it: installed here, not in scripts/deps.sh.
  SUDO=""; if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends rtpengine-daemon >/dev/null
fi
ulimit -n "$(ulimit -Hn)"
rt=""
if [[ -n ${MEDIA_BENCH_RT:-} ]]; then rt="chrt -f 5"; fi
ng_port=$(python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
work=$(mktemp -d)
# One worker thread, like the MediaEngine's one media thread; no kernel forwarding table.
$rt rtpengine --table=-1 --interface=127.0.0.1 --listen-ng=127.0.0.1:$ng_port \
  --port-min=30000 --port-max=60000 --delete-delay=0 --num-threads=1 --foreground --log-stderr --log-level=3 \
  --pidfile="$work/rtpengine.pid" 2>"$work/rtpengine.log" &
rtp_pid=$!
trap 'kill $rtp_pid 2>/dev/null; wait $rtp_pid 2>/dev/null; rm -rf "$work"' EXIT
sleep 1
bench=build/release/bench/media/bench_media
echo "== RTP relay: $calls calls, ${seconds}s per run, $rounds rounds (load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores${rt:+, $rt})"
for r in $(seq "$rounds"); do
  $rt $bench --target homeline --calls "$calls" --seconds "$seconds" | tee -a "$work/homeline.txt"
  $rt $bench --target rtpengine --pid "$rtp_pid" --ng 127.0.0.1:$ng_port --calls "$calls" --seconds "$seconds" | tee -a "$work/rtpengine.txt"
  sleep 2  # rtpengine deletes the calls
done
median() { grep -o "$2=[0-9.]*" "$1" | cut -d= -f2 | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
h=$(median "$work/homeline.txt" calls_per_core)
e=$(median "$work/rtpengine.txt" calls_per_core)
echo "== medians: homeline calls_per_core=$h loss=$(median "$work/homeline.txt" loss)%" \
     "cpu_per_100_calls=$(median "$work/homeline.txt" cpu_per_100_calls)%;" \
     "rtpengine calls_per_core=$e loss=$(median "$work/rtpengine.txt" loss)%" \
     "cpu_per_100_calls=$(median "$work/rtpengine.txt" cpu_per_100_calls)%;" \
     "ratio=$(awk -v h="$h" -v e="$e" 'BEGIN {printf "%.2f", h / e}')"
