#!/usr/bin/env bash
# ACD call-setup rate (issue 3: >= 1,000 calls/s with zero failed calls), RFC 7502 style, and
# Kamailio proxying the same SIPp flow in the same run, for the ratio. See docs/benchmarks.md.
#
# The flow: SIPp uac (the trunk: INVITE sip:+15550100, 200, ACK, hold, BYE) -> system under
# test -> SIPp uas (every agent's phone: 180, 200, ACK, BYE). Homeline is bench_voice_setup (the
# server's engine + VoiceService + SIP stack + registrar + calls + media in one process; N
# agents whose phones register with digest first (register_agents.xml), queue wrap-up 1 ms so
# agents are available again after each call); Kamailio is kamailio.cfg
# (record_route, usrloc registrar, t_relay; the agent's phone registered first).
#
# Trials: fixed duration at one rate; a trial fails on any failed call at either SIPp (SIPp
# fails a call on an unexpected message or a timeout) or, for Homeline, when the server did not
# bridge every call (refused, abandoned, agent leg failed). The rate doubles from START until a
# trial fails (or MAX passes), then a binary search between the last pass and the first fail
# down to STEP calls/s. CPU per call = the server processes' CPU time (user+sys, all threads or
# processes) during the trial / calls.
#
# Between trials the script waits GAP seconds (default 33): libre keeps a call's transactions
# (and their timers) up to 32 s after the call (RFC 3261 timer J), so each trial starts without
# the previous one's.
#
# Usage: bench/voice/setup_rate.sh [duration_s=10] [hold_ms=500] [start=100] [max=2000] [step=25] [agents=4000] [gap_s=33]
# Environment: SYSTEMS="homeline kamailio" (the default; one of them to run only that one);
# HOMELINE_LIBRE_TIMERS=list runs Homeline with libre's own sorted-list timers instead of ours
# (src/adapters/sip/re_timers.h), for the before/after comparison with one binary;
# PERF_OUT=file records the Homeline server with `perf record -g` during its trials.
set -uo pipefail
cd "$(dirname "$0")/../.."
SYSTEMS=${SYSTEMS:-homeline kamailio}
DUR=${1:-10}; HOLD=${2:-500}; START=${3:-100}; MAX=${4:-2000}; STEP=${5:-25}; AGENTS=${6:-4000}; GAP=${7:-33}
HL_PORT=5160; KAM_PORT=5170; PHONE_PORT=5180; UAC_PORT=5190
W=$(mktemp -d /tmp/setup_rate.XXXXXX)
source bench/common/run_lib.sh
bench_build --target bench_voice_setup -j2 >/dev/null
BIN=build/release/bench/voice/bench_voice_setup
if ! command -v sipp >/dev/null 2>&1 || ! command -v kamailio >/dev/null 2>&1; then
  # Only this bench needs Kamailio: installed here, not in scripts/deps.sh.
  SUDO=""; if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends sip-tester kamailio bc >/dev/null
fi
ulimit -n "$(ulimit -Hn)"

SERVER_PID=; UAS_PID=; KAM_PIDFILE=$W/kam.pid
cleanup() {
  # the agents' SIPp is started inside $(search ...): its pid is in a file
  [ -f "$W/uas.pid" ] && kill "$(cat "$W/uas.pid")" 2>/dev/null
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
  [ -f "$KAM_PIDFILE" ] && kill "$(cat "$KAM_PIDFILE")" 2>/dev/null
  wait 2>/dev/null
}
trap cleanup EXIT

stat_of() { tr ' ' '\n' < "$W/stats.txt" | sed -n "s/^$1=//p"; }
kam_cpu() {  # CPU seconds of every kamailio process of this run
  local t=0 p
  for p in $(pgrep -f "kamailio -f bench/voice/kamailio.cfg"); do
    t=$((t + $(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0)))
  done
  echo "scale=3; $t/100" | bc
}
count() {  # cumulative count of SIPp's final screen line $1 in file $2
  grep -E "^ *$1" "$2" | tail -1 | awk -F'|' '{gsub(/ /,"",$3); print $3+0}'
}
start_uas() {  # the agents' phones for n calls (a fresh SIPp per trial: exact final counts)
  sipp -sn uas -i 127.0.0.1 -p $PHONE_PORT -m "$1" -nostdin > "$W/uas.out" 2>&1 &
  UAS_PID=$!
  echo "$UAS_PID" > "$W/uas.pid"
  sleep 0.5
}

# trial SYSTEM RATE: prints one line, returns 0 on pass.
trial() {
  local sys=$1 rate=$2 port n=$(($2 * DUR)) cpu0 cpu1 b0 b1 bad0 bad1 uf us rc succ fail ok=1 why=""
  if [ "$sys" = homeline ]; then
    port=$HL_PORT; cpu0=$(stat_of cpu_s); b0=$(stat_of bridged)
    bad0=$(( $(stat_of refused) + $(stat_of abandoned) + $(stat_of agent_failed) ))
  else
    port=$KAM_PORT; cpu0=$(kam_cpu)
  fi
  start_uas "$n"
  timeout $((DUR + 60)) sipp 127.0.0.1:$port -sn uac -s +15550100 -i 127.0.0.1 -p $UAC_PORT \
    -r "$rate" -m "$n" -d "$HOLD" -recv_timeout 5000 -nostdin > "$W/uac.out" 2>&1
  rc=$?
  # libre timers running as the last calls end: the transactions kept up to 32 s after each
  # call, about 4 per call of the last 32 s (Homeline only)
  local timers=""; [ "$sys" = homeline ] && timers=" libre_timers=$(stat_of timers)"
  succ=$(count 'Successful call' "$W/uac.out"); fail=$(count 'Failed call' "$W/uac.out")
  # the agents' SIPp ends after its n calls (or is stopped 10 s after the customers' one)
  for _ in $(seq 50); do kill -0 "$UAS_PID" 2>/dev/null || break; sleep 0.2; done
  kill -INT "$UAS_PID" 2>/dev/null; wait "$UAS_PID" 2>/dev/null; UAS_PID=; rm -f "$W/uas.pid"
  us=$(count 'Successful call' "$W/uas.out"); uf=$(count 'Failed call' "$W/uas.out")
  # the server's counters are written every 200 ms
  for _ in $(seq 50); do [ "$sys" = kamailio ] || [ "$(stat_of live)" = 0 ] && break; sleep 0.2; done
  sleep 0.5
  if [ "$sys" = homeline ]; then
    cpu1=$(stat_of cpu_s); b1=$(stat_of bridged)
    bad1=$(( $(stat_of refused) + $(stat_of abandoned) + $(stat_of agent_failed) ))
    [ $((b1 - b0)) -ne "$n" ] && { ok=0; why+=" bridged=$((b1 - b0))"; }
    [ $((bad1 - bad0)) -ne 0 ] && { ok=0; why+=" refused/abandoned/agent_failed=$((bad1 - bad0))"; }
  else
    cpu1=$(kam_cpu)
  fi
  [ "$rc" -ne 0 ] && { ok=0; why+=" sipp_rc=$rc"; }
  [ "${succ:-0}" -ne "$n" ] && { ok=0; why+=" uac_ok=$succ"; }
  [ "${fail:-0}" -ne 0 ] && { ok=0; why+=" uac_failed=$fail"; }
  [ "${uf:-0}" -ne 0 ] && { ok=0; why+=" uas_failed=$uf"; }
  [ "${us:-0}" -ne "$n" ] && { ok=0; why+=" uas_ok=$us"; }
  local cpu_ms; cpu_ms=$(echo "scale=3; ($cpu1 - $cpu0) * 1000 / $n" | bc)
  printf '%-8s rate=%-5s calls=%-6s %s cpu_ms_per_call=%s load=%s%s%s\n' "$sys" "$rate" "$n" \
    "$([ $ok = 1 ] && echo PASS || echo FAIL)" "$cpu_ms" "$(cut -d' ' -f1 /proc/loadavg)" "$timers" "$why"
  echo "$sys $rate $ok $cpu_ms" >> "$W/trials.txt"
  sleep "$GAP"
  [ $ok = 1 ]
}

# search SYSTEM: the highest passing rate (stepping, then binary search); prints it.
search() {
  local sys=$1 lo=0 hi=0 r=$START
  while :; do
    if trial "$sys" "$r" >&2; then lo=$r; [ "$r" -ge "$MAX" ] && break; r=$((r * 2)); [ "$r" -gt "$MAX" ] && r=$MAX
    else hi=$r; break; fi
  done
  while [ "$hi" -gt 0 ] && [ $((hi - lo)) -gt "$STEP" ]; do
    r=$(( (lo + hi) / 2 ))
    if trial "$sys" "$r" >&2; then lo=$r; else hi=$r; fi
  done
  echo "$lo"
}

echo "== call-setup rate: trials of ${DUR} s, hold ${HOLD} ms, start ${START}/s, max ${MAX}/s, step ${STEP}/s, $AGENTS agents, ${GAP} s between trials (load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"

HL=0; KAM=0
if [[ " $SYSTEMS " == *" homeline "* ]]; then
echo "== homeline: libre timers on $([ "${HOMELINE_LIBRE_TIMERS:-}" = list ] && echo "libre's sorted list (HOMELINE_LIBRE_TIMERS=list)" || echo "our heap")"
# ---- Homeline
"$BIN" --port $HL_PORT --agents "$AGENTS" --stats "$W/stats.txt" > "$W/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do [ -f "$W/stats.txt" ] && break; sleep 0.2; done
# every agent's phone registers with digest from the agents' SIPp's port
{ echo SEQUENTIAL; for i in $(seq 0 $((AGENTS - 1))); do echo "agent$i;[authentication username=agent$i password=demo]"; done; } > "$W/agents.csv"
timeout 120 sipp 127.0.0.1:$HL_PORT -sf bench/voice/register_agents.xml -inf "$W/agents.csv" -r 200 -m "$AGENTS" \
  -i 127.0.0.1 -p $PHONE_PORT -nostdin > "$W/register.out" 2>&1 || { echo "homeline: REGISTER failed"; tail -20 "$W/register.out"; exit 1; }
for _ in $(seq 50); do [ "$(stat_of phones)" = "$AGENTS" ] && break; sleep 0.2; done
echo "== homeline: $(stat_of phones) of $AGENTS agents' phones registered with digest"
PERF_PID=
if [ -n "${PERF_OUT:-}" ]; then perf record -g -o "$PERF_OUT" -p "$SERVER_PID" > "$W/perf.log" 2>&1 & PERF_PID=$!; sleep 1; fi
HL=$(search homeline)
[ -n "$PERF_PID" ] && { kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null; }
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=
fi

if [[ " $SYSTEMS " == *" kamailio "* ]]; then
# ---- Kamailio
kamailio -f bench/voice/kamailio.cfg -P "$KAM_PIDFILE" -w "$W" -m 256 -M 16 > "$W/kam.log" 2>&1
sleep 1
timeout 10 sipp 127.0.0.1:$KAM_PORT -sf bench/voice/kam_register.xml -s agent1 -m 1 -i 127.0.0.1 -p $PHONE_PORT -nostdin > "$W/kreg.out" 2>&1 \
  || { echo "kamailio: REGISTER failed"; cat "$W/kam.log"; exit 1; }
KAM=$(search kamailio)
fi

cpu_at() { awk -v s="$1" -v r="$2" '$1==s && $2==r && $3==1 {v=$4} END{print v}' "$W/trials.txt"; }
[[ " $SYSTEMS " == *" homeline "* ]] && echo "== homeline: $HL calls/s with zero failed calls (target >= 1000); CPU $(cpu_at homeline "$HL") ms per call at that rate"
[[ " $SYSTEMS " == *" kamailio "* ]] && echo "== kamailio: $KAM calls/s with zero failed calls; CPU $(cpu_at kamailio "$KAM") ms per call at that rate"
[ "$KAM" -gt 0 ] && [ "$HL" -gt 0 ] && echo "== ratio homeline/kamailio: $(echo "scale=2; $HL / $KAM" | bc)x (rate)"
echo "(work files: $W)"
