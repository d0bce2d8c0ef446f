#!/usr/bin/env bash
# Installs the Debian 12 packages Homeline needs to build, run and test, if any are missing.
# Safe to run again: it does nothing when everything is there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost-dev libboost-system-dev libssl-dev
  nlohmann-json3-dev libsqlite3-dev libsodium-dev zlib1g-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev libmimalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  coinor-libcbc-dev
  libsndfile1-dev espeak-ng
  libre-dev
  sip-tester baresip-core sipvicious
  python3 python3-mpmath curl openssl sqlite3 wrk procps tzdata
  nodejs chromium
)
# The browser tests need npm. Debian's npm package only when no npm is on the PATH: machines with
# NodeSource's Node.js already have one, and Debian's npm conflicts with it.
if ! command -v npm >/dev/null 2>&1; then packages+=(npm); fi
# Fuzz targets need clang with libFuzzer; only when asked.
if [[ "${HOMELINE_FUZZ:-0}" == "1" ]]; then packages+=(clang-16 libclang-rt-16-dev); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
fi
