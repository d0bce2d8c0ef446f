#!/usr/bin/env bash
# Offer latency: an agent becomes available -> the INVITE for its phone leaves (issue 3: p99
# <= 5 ms). Engine, VoiceService, SIP stack, calls and media in one process (see
# offer_latency.cc for what is and is not included); the bench plays the trunk and the phone.
# Usage: bench/voice/run.sh [calls] [rounds]
set -euo pipefail
cd "$(dirname "$0")/../.."
calls=${1:-5000}
rounds=${2:-3}
source bench/common/run_lib.sh
bench_build --target bench_voice_offer -j2
echo "== offer latency: $calls calls per round, $rounds rounds (load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
for r in $(seq "$rounds"); do
  build/release/bench/voice/bench_voice_offer --calls "$calls"
done
