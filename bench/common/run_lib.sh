# Sourced by bench/ws/run.sh and bench/chat/run.sh (from the repository root): builds a Release
# server and the bench, then starts the server on a free loopback port.

# bench_build <cmake --build arguments...>: the dependencies, a Release configure, the build.
bench_build() {
  bash scripts/deps.sh
  cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOMELINE_TESTS=OFF -DHOMELINE_BENCH=ON >/dev/null
  cmake --build build/release "$@" >/dev/null
}

# bench_serve <bench.toml text>: sets data and port, starts the server with that configuration
# (pid; killed and its data removed on exit) and waits until it answers /healthz.
bench_serve() {
  data=$(mktemp -d)
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  printf '%s' "$1" >"$data/bench.toml"
  build/release/src/exe/homeline serve --config "$data/bench.toml" --http 127.0.0.1:$port --data "$data/db" --log-level warn --sip off &
  pid=$!
  trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
  for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
}
