#!/usr/bin/env bash
# Quick start: installs what is missing, builds Homeline (Release), and runs
#   homeline serve   on http://127.0.0.1:8080 with var/homeline.db and the demo tenants.
# Extra arguments go to `homeline serve` (e.g. --http 127.0.0.1:9090 --no-demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOMELINE_TESTS=OFF -DHOMELINE_BENCH=OFF >/dev/null
cmake --build build/release --target homeline
exec build/release/src/exe/homeline serve "$@"
