#!/usr/bin/env bash
# Compare djabberd-actors with Prosody and ejabberd (Debian 12 packages) on
# this machine: same load generator (dja-loadgen), same loads, same users,
# one server at a time, loopback only, plaintext c2s, SASL PLAIN.
#
#   sudo bench/compare.sh [--only djabberd|prosody|ejabberd]... [--quick] [--keep] [--repeat N]
#   sudo bench/compare.sh --features sm,mam|muc [--only ...] [--quick] [--keep]
#
# Measures phase by phase, each phase for every server in turn (a fresh
# server process each time; the other servers stopped):
#   1. messages/s delivered, 100 pairs (200 clients), as fast as possible with
#      10 in flight per sender; server CPU seconds (utime+stime) per 100,000
#      messages over that run; then p99 one-way latency at 2,000 msgs/s total;
#   2. logins/s for 2,000 logins, 100 in flight;
#   3. memory last: VmRSS of the server process at 0, 2,500 and 5,000 idle
#      authenticated connections (two dja-loadgen processes of 2,500 each);
#      KiB per connection = (RSS@5000 - RSS@2500) / 2500;
#   4. the same over TLS: STARTTLS then SASL PLAIN inside TLS (dja-loadgen
#      --tls), each server with a self-signed RSA 2048 certificate made by
#      tools/make-cert.sh and its TLS config (server-tls.toml,
#      prosody-tls.cfg.lua, ejabberd-tls.yml): "KiB per idle TLS connection".
# With --features (bench/compare_features.sh), instead: the same modules
# loaded on every server, each measured with and without them:
#   sm   XEP-0198 on every generator connection (dja-loadgen --sm; Prosody
#        mod_smacks, ejabberd mod_stream_mgmt, ours stream_management = true);
#   mam  every message archived for both users (Prosody mod_mam on SQLite,
#        default_archive_policy = true; ejabberd mod_mam default: always on
#        Mnesia; ours mam.sqlite); archive rows counted after the run;
#   muc  XEP-0045 rooms on conference.DOMAIN (Prosody's and ejabberd's
#        mod_muc, ours $DJABBERD_MUC_PLUGIN): fan-out in rooms of 10, 100
#        and 1,000 occupants, join rate, memory per occupant and per room.
# Prints the settings used for each server, versions, the machine, one
# Markdown table and a table of ratios (djabberd-actors vs the best of
# Prosody/ejabberd). Progress goes to stderr, the report to stdout.
#
# Needs root (Prosody runs as user prosody, ejabberdctl as user ejabberd).
# Installs prosody/ejabberd with apt-get if missing, without letting Debian
# start the system services (policy-rc.d), and stops/disables them if they
# run. Builds nothing itself except calling tools/build.sh when
# build/djabberd-actors or dja-loadgen is missing (and, if that still left no
# dja-loadgen, configuring bench/ on its own into build/bench-standalone).
#
# Options:
#   --only NAME   run only this server (djabberd, prosody, ejabberd); repeatable
#   --quick       smoke run: 500 logins, 1,000 idle, 5 s traffic runs
#   --no-tls      skip the TLS memory phase
#   --tls-only    run the TLS memory phase only
#   --features F  comma-separated from sm, mam, muc (see above): the feature
#                 phases instead of the plain ones
#   --keep        keep the temporary directory (configs, logs, raw results)
#   --repeat N    run the traffic and login phases N times per server
#                 (interleaved across servers, a fresh process each time)
#                 and report the best figure of each (default 1; useful on a
#                 machine that is not quiet: other work only makes figures worse)
# Environment: PROSODY_AUTH=plain|hashed (see bench/servers/prosody.sh),
#   LOADGEN=/path/to/dja-loadgen, COMPARE_DEADLINE=seconds (whole run),
#   QUIET_MAX=seconds to wait before each phase for a machine at most 10%
#   busy (10), BENCH_NICE=priority of servers and generator (-10).
set -uo pipefail

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_SERVERS=$BENCH_ROOT/bench/servers
. "$BENCH_SERVERS/common.sh"

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

ONLY=() FEATURES=() QUICK=0 KEEP=0 TLS_PHASE=1 USE_TLS=0 TLS_CERT="" TLS_KEY="" REPEAT=1 REPORTED=0 SERVERS=() BUSY=() LOADS=() LOAD_BEFORE=""
while [ $# -gt 0 ]; do
  case $1 in
    --only)
      [ $# -ge 2 ] || die "--only needs a server name"
      case $2 in
        djabberd|djabberd-actors|ours) ONLY+=(djabberd) ;;
        prosody|ejabberd) ONLY+=("$2") ;;
        *) die "--only: unknown server '$2' (djabberd, prosody, ejabberd)" ;;
      esac
      shift 2 ;;
    --quick) QUICK=1; shift ;;
    --features)
      [ $# -ge 2 ] || die "--features needs a list (sm,mam,muc)"
      IFS=, read -r -a FEATURES <<<"$2"
      for f in "${FEATURES[@]}"; do
        case $f in sm|mam|muc) ;; *) die "--features: unknown feature '$f' (sm, mam, muc)" ;; esac
      done
      shift 2 ;;
    --no-tls) TLS_PHASE=0; shift ;;
    --tls-only) TLS_PHASE=2; shift ;;
    --keep) KEEP=1; shift ;;
    --repeat)
      if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9]$ ]]; then die "--repeat needs a count from 1 to 9"; fi
      REPEAT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done
[ ${#ONLY[@]} -gt 0 ] || ONLY=(prosody ejabberd djabberd)
want() { local s; for s in "${ONLY[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
[ "$(id -u)" = 0 ] || die "run as root (Prosody and ejabberd are started as their own users)"

# ---- sizes -------------------------------------------------------------------
DOMAIN=localhost PASSWORD=pw
if [ "$QUICK" = 1 ]; then
  LOGIN_N=500 IDLE_HALF=500 TP_DUR=5 LAT_DUR=5 WARMUP=1
else
  LOGIN_N=2000 IDLE_HALF=2500 TP_DUR=10 LAT_DUR=10 WARMUP=2
fi
LOGIN_C=100 PAIRS_N=200 INFLIGHT=10 LAT_RATE=2000
NUSERS=$((2 * IDLE_HALF))
[ "$NUSERS" -ge "$LOGIN_N" ] || NUSERS=$LOGIN_N
[ "$NUSERS" -ge "$PAIRS_N" ] || NUSERS=$PAIRS_N
. "$BENCH_ROOT/bench/compare_features.sh"   # feature phases (--features)
[ ${#FEATURES[@]} -gt 0 ] && : "${COMPARE_DEADLINE:=3600}"
[ "$QUICK" = 1 ] && : "${COMPARE_DEADLINE:=900}"
: "${COMPARE_DEADLINE:=1800}"

# ---- state and cleanup ---------------------------------------------------------
TMP='' POLICY_RC_CREATED=0 LOADGEN_PIDS=() EPMD_BEFORE=''
PROSODY_PID='' EJABBERD_PID='' DJABBERD_PID='' WATCHDOG_PID=''
declare -A R=()   # results: R[server.key]

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$REPORTED" = 0 ] && [ "${#R[@]}" -gt 0 ] && declare -F report >/dev/null; then
    log "run cut short: printing what was measured"
    echo; echo "**Partial results: the run was cut short.**"
    if [ ${#FEATURES[@]} -gt 0 ]; then report_features; else report; fi
  fi
  local p n
  for p in "${LOADGEN_PIDS[@]}"; do stop_pid "$p" 5; done
  [ -n "$PROSODY_PID" ] && { log "stopping prosody"; prosody_stop; }
  [ -n "$EJABBERD_PID" ] && { log "stopping ejabberd"; ejabberd_stop; }
  [ -n "$DJABBERD_PID" ] && { log "stopping djabberd-actors"; djabberd_stop; }
  # ejabberd runs with ERL_DIST_PORT, so no epmd is started for it. Should
  # one have appeared anyway with our node registered, stop that one only.
  for p in $(pgrep -x epmd 2>/dev/null); do
    case " $EPMD_BEFORE " in *" $p "*) continue ;; esac
    n=${EJABBERD_NODE:-djabench@localhost}
    if ERL_EPMD_ADDRESS=127.0.0.1 timeout 5 epmd -names 2>/dev/null | grep -q "name ${n%@*} "; then
      log "stopping epmd $p (our node was registered there)"; kill "$p" 2>/dev/null
    fi
  done
  [ "$POLICY_RC_CREATED" = 1 ] && rm -f /usr/sbin/policy-rc.d
  if [ -n "$WATCHDOG_PID" ]; then kill "$WATCHDOG_PID" 2>/dev/null; fi
  if [ -n "$TMP" ] && [ -d "$TMP" ]; then
    if [ "$KEEP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# Whole-run deadline: TERM ourselves; the trap stops everything.
( trap 'kill "$sp" 2>/dev/null; exit 0' TERM
  sleep "$COMPARE_DEADLINE" & sp=$!; wait "$sp"
  log "deadline of ${COMPARE_DEADLINE}s reached"; kill -TERM $$ ) &
WATCHDOG_PID=$!
EPMD_BEFORE=$(pgrep -x epmd 2>/dev/null | tr '\n' ' ')

# Run the servers and the generator at a raised priority (inherited by every
# child, also through su and setpriv): on a quiet machine this changes
# nothing, on a shared one it keeps other work from dominating the figures.
: "${BENCH_NICE:=-10}"
renice -n "$BENCH_NICE" -p $$ >/dev/null 2>&1 || log "renice $BENCH_NICE failed (continuing)"

raise_nofile 20000
NOFILE=$(ulimit -n)
[ "$NOFILE" -gt $((IDLE_HALF + 100)) ] || die "ulimit -n is $NOFILE: too low for $IDLE_HALF connections"

. "$BENCH_SERVERS/prosody.sh"
. "$BENCH_SERVERS/ejabberd.sh"
. "$BENCH_SERVERS/djabberd.sh"

# ---- binaries --------------------------------------------------------------------
find_loadgen() {
  local c
  for c in "${LOADGEN:-}" "$BENCH_ROOT/build/bench/dja-loadgen" \
           "$BENCH_ROOT/build/bench/loadgen/dja-loadgen" "$BENCH_ROOT/build/dja-loadgen"; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  c=$(find "$BENCH_ROOT/build" -name dja-loadgen -type f -perm -u+x 2>/dev/null | head -1)
  [ -n "$c" ] && echo "$c"
}
LOADGEN_BIN=$(find_loadgen)
if [ ! -x "$DJABBERD_BIN" ] || [ -z "$LOADGEN_BIN" ]; then
  log "building (tools/build.sh): djabberd-actors or dja-loadgen is missing"
  timeout 1200 "$BENCH_ROOT/tools/build.sh" >&2 || die "tools/build.sh failed"
  LOADGEN_BIN=$(find_loadgen)
  if [ -z "$LOADGEN_BIN" ] && [ -f "$BENCH_ROOT/bench/CMakeLists.txt" ]; then
    # the top-level CMakeLists.txt does not add bench/: build it on its own
    log "dja-loadgen not built by tools/build.sh: building bench/ into build/bench-standalone"
    { cmake -S "$BENCH_ROOT/bench" -B "$BENCH_ROOT/build/bench-standalone" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        && timeout 600 cmake --build "$BENCH_ROOT/build/bench-standalone" -j"$(nproc)"; } >&2 \
      || die "building bench/ failed"
    LOADGEN_BIN=$(find_loadgen)
  fi
fi
[ -x "$DJABBERD_BIN" ] || die "no $DJABBERD_BIN after tools/build.sh"
DJABBERD_BUILT=$DJABBERD_BIN
[ -n "$LOADGEN_BIN" ] || die "no dja-loadgen under $BENCH_ROOT/build after tools/build.sh"
log "load generator: $LOADGEN_BIN"
LOADGEN_SRC=$LOADGEN_BIN

# ---- Debian packages, without their system services ------------------------------
stop_system_service() {
  local svc=$1
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    if systemctl is-active --quiet "$svc" 2>/dev/null; then
      log "stopping the system $svc service"; timeout 60 systemctl stop "$svc"
    fi
    timeout 30 systemctl disable --quiet "$svc" 2>/dev/null || true
  elif [ -x "/etc/init.d/$svc" ]; then
    if timeout 30 service "$svc" status >/dev/null 2>&1; then
      log "stopping the system $svc service"; timeout 60 service "$svc" stop >/dev/null 2>&1
    fi
    if command -v update-rc.d >/dev/null; then update-rc.d "$svc" disable >/dev/null 2>&1; fi
  fi
  # a system prosody that the init script did not stop (its own pid file)
  if [ "$svc" = prosody ] && [ -s /run/prosody/prosody.pid ]; then
    stop_pid "$(cat /run/prosody/prosody.pid)" 20
  fi
}

install_packages() {
  local need=()
  want prosody && ! command -v prosody >/dev/null && need+=(prosody)
  want ejabberd && ! command -v ejabberdctl >/dev/null && need+=(ejabberd)
  if [ ${#need[@]} -gt 0 ]; then
    if [ ! -e /usr/sbin/policy-rc.d ]; then   # keep Debian from starting the services
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      POLICY_RC_CREATED=1
    fi
    log "apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get update -qq >&2 || log "apt-get update failed (continuing)"
    timeout 600 apt-get install -y -qq "${need[@]}" >&2 || die "apt-get install ${need[*]} failed"
    if [ "$POLICY_RC_CREATED" = 1 ]; then rm -f /usr/sbin/policy-rc.d; POLICY_RC_CREATED=0; fi
  fi
  want prosody && stop_system_service prosody
  want ejabberd && stop_system_service ejabberd
  return 0
}
install_packages
features_install

# ---- temp dir, ports ----------------------------------------------------------------
TMP=$(mktemp -d /tmp/dja-compare.XXXXXX)
chmod 755 "$TMP"        # the prosody and ejabberd users must reach their dirs
# run a copy of the binaries: a rebuild during the run must not swap them
cp "$DJABBERD_BUILT" "$TMP/djabberd-actors" && DJABBERD_BIN=$TMP/djabberd-actors
cp "$LOADGEN_BIN" "$TMP/dja-loadgen" && LOADGEN_BIN=$TMP/dja-loadgen
PORT_prosody=$(free_port 25222)
PORT_ejabberd=$(free_port 26222)
PORT_djabberd=$(free_port 27222)
EJ_DIST_PORT=$(free_port 26999)
if [ "$TLS_PHASE" != 0 ]; then   # one self-signed certificate; each server gets a copy
  if timeout 60 "$BENCH_ROOT/tools/make-cert.sh" "$DOMAIN" "$TMP/tls/cert.pem" "$TMP/tls/key.pem" >&2; then
    TLS_CERT=$TMP/tls/cert.pem TLS_KEY=$TMP/tls/key.pem
  else
    [ "$TLS_PHASE" = 2 ] && die "tools/make-cert.sh failed"
    log "tools/make-cert.sh failed: no TLS memory phase"; TLS_PHASE=0
  fi
fi
CLK_TCK=$(getconf CLK_TCK)

# ---- the load generator --------------------------------------------------------------
# json_num FILE KEY: a number from dja-loadgen's one-line JSON object.
json_num() {
  grep -o "\"$2\"[[:space:]]*:[[:space:]]*[-0-9.eE+]*" "$1" 2>/dev/null | head -1 \
    | sed 's/.*:[[:space:]]*//'
}

# lg SECONDS OUTFILE ARGS...: run dja-loadgen (bounded), JSON to OUTFILE.
lg() {
  local t=$1 out=$2; shift 2
  timeout -k 5 "$t" "$LOADGEN_BIN" --host 127.0.0.1 --port "$PORT" --domain "$DOMAIN" \
    --user-pattern 'user%d' --password "$PASSWORD" --json "$@" >"$out" 2>"$out.err"
  local rc=$?
  [ "$rc" = 0 ] || log "dja-loadgen exited $rc: $(tail -3 "$out.err" | tr '\n' ' ')"
  return $rc
}

# 1-minute load average before each phase, to report how quiet the machine was
LOADS=()
note_load() { LOADS+=("$(cut -d' ' -f1 /proc/loadavg)"); }

# start_server NAME: a fresh server process; sets SERVER_PID.
start_server() {
  SERVER_PID=
  note_load
  "${1}_start" || { log "$1 did not start"; "${1}_stop"; return 1; }
  sleep 1
}

# ---- phases ---------------------------------------------------------------------------
# phase_traffic SERVER: with KX (key suffix, e.g. _sm), VARIANT (the
# server's config variant) and LG_EXTRA (dja-loadgen options) set by a
# feature phase, the throughput run only, under suffixed keys.
phase_traffic() {
  local s=$1 d=$TMP/$1 c0 c1 msgs k x=${KX:-} f
  f=$d/throughput$x-$REP.json
  for k in msgs p99 cpu tp_errors lat_errors; do unset "R[$s.$k$x]"; done
  start_server "$s" || return 1
  [ -z "$x" ] || feature_before "$s"
  log "$s: throughput${VARIANT:+ ($VARIANT)}, $PAIRS_N clients in pairs, rate 0, $INFLIGHT in flight, ${TP_DUR}s"
  local mb0 mt0 mb1 mt1 gen
  read -r mb0 mt0 < <(machine_ticks)
  c0=$(cpu_ticks "$SERVER_PID")
  # shellcheck disable=SC2086 # LG_EXTRA: words
  lg $((TP_DUR + WARMUP + 120)) "$f" --mode pairs --first 1 --users "$PAIRS_N" \
    --rate 0 --inflight "$INFLIGHT" --duration "$TP_DUR" --warmup "$WARMUP" \
    --timeout $((TP_DUR + WARMUP + 90)) ${LG_EXTRA:-}
  c1=$(cpu_ticks "$SERVER_PID")
  read -r mb1 mt1 < <(machine_ticks)
  gen=$(json_num "$f" cpu_s)
  # share of the machine used by neither the server nor the generator
  R[$s.other$x]=$(awk -v b=$((mb1 - mb0)) -v t=$((mt1 - mt0)) -v sv=$((${c1:-0} - ${c0:-0})) \
                  -v g="${gen:-0}" -v hz="$CLK_TCK" \
                  'BEGIN { o = t > 0 ? 100 * (b - sv - g * hz) / t : 0; printf "%.0f", o < 0 ? 0 : o }')
  R[$s.msgs$x]=$(json_num "$f" messages_per_sec)
  R[$s.tp_p99$x]=$(json_num "$f" latency_ms_p99)
  R[$s.tp_errors$x]=$(json_num "$f" errors)
  R[$s.tp_lost$x]=$(json_num "$f" messages_lost)
  R[$s.lg_cpu$x]=$(json_num "$f" cpu_pct_measured)
  # messages behind the CPU figure: everything the run delivered, warm-up
  # included, if the generator reports it; else the measured rate x window.
  msgs=$(json_num "$f" messages_received)
  [ -n "$msgs" ] || msgs=$(awk -v r="${R[$s.msgs$x]:-0}" -v t="$TP_DUR" -v w="$WARMUP" \
                              'BEGIN { printf "%.0f", r * (t + w) }')
  R[$s.tp_msgs$x]=$msgs
  if [ -n "$c0" ] && [ -n "$c1" ] && [ "${msgs:-0}" != 0 ]; then
    R[$s.cpu$x]=$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" -v m="$msgs" \
                  'BEGIN { printf "%.2f", d / hz / m * 100000 }')
    R[$s.cpu_s$x]=$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", d / hz }')
  fi
  if [ -n "$x" ]; then   # a feature phase: its check, no latency run
    feature_after "$s" "$f"
    "${s}_stop"
    return 0
  fi
  sleep 1
  log "$s: latency at $LAT_RATE msgs/s in total, ${LAT_DUR}s"
  lg $((LAT_DUR + WARMUP + 120)) "$d/latency-$REP.json" --mode pairs --first 1 --users "$PAIRS_N" \
    --rate "$LAT_RATE" --inflight "$INFLIGHT" --duration "$LAT_DUR" --warmup "$WARMUP" \
    --timeout $((LAT_DUR + WARMUP + 90))
  R[$s.p99]=$(json_num "$d/latency-$REP.json" latency_ms_p99)
  R[$s.p50]=$(json_num "$d/latency-$REP.json" latency_ms_p50)
  R[$s.lat_rate]=$(json_num "$d/latency-$REP.json" messages_per_sec)
  R[$s.lat_errors]=$(json_num "$d/latency-$REP.json" errors)
  "${s}_stop"
}

phase_logins() {
  local s=$1 d=$TMP/$1
  unset "R[$s.logins]" "R[$s.login_errors]" "R[$s.login_failed]"
  start_server "$s" || return 1
  log "$s: $LOGIN_N logins, $LOGIN_C in flight"
  lg 300 "$d/logins-$REP.json" --mode login --first 1 --users "$LOGIN_N" \
    --concurrency "$LOGIN_C" --timeout 240
  R[$s.logins]=$(json_num "$d/logins-$REP.json" logins_per_sec)
  R[$s.login_errors]=$(json_num "$d/logins-$REP.json" errors)
  R[$s.login_failed]=$(json_num "$d/logins-$REP.json" logins_failed)
  "${s}_stop"
}

# wait_line FILE REGEX PID SECONDS: until a line of FILE matches (a
# generator's READY/LOGGED on stderr); fails when PID ends first or in time.
wait_line() {
  local end=$((SECONDS + $4))
  until grep -q "$2" "$1" 2>/dev/null; do
    if ! kill -0 "$3" 2>/dev/null; then
      log "dja-loadgen ended before '$2': $(tail -3 "$1" | tr '\n' ' ')"; return 1
    fi
    [ "$SECONDS" -lt "$end" ] || { log "no '$2' from dja-loadgen in $4 s"; return 1; }
    sleep 0.2
  done
}

# idle_batch FIRST N OUT: start an idle dja-loadgen in the background and wait
# (-k 60: a SIGTERM to timeout(1) is passed on and starts its kill timer;
# the generator's clean close may take a few seconds, then it reports)
# (bounded) for its READY line. Sets IDLE_PID. Fails unless all N logged in.
idle_batch() {
  local first=$1 n=$2 out=$3
  timeout -k 60 900 "$LOADGEN_BIN" --host 127.0.0.1 --port "$PORT" --domain "$DOMAIN" \
    --user-pattern 'user%d' --password "$PASSWORD" --json --mode idle --first "$first" \
    --users "$n" --concurrency "$LOGIN_C" --hold 600 --timeout 800 \
    $( [ "$USE_TLS" = 1 ] && echo --tls ) ${LG_EXTRA:-} >"$out" 2>"$out.err" &
  IDLE_PID=$!
  LOADGEN_PIDS+=("$IDLE_PID")
  wait_line "$out.err" '^READY' "$IDLE_PID" 240 || return 1
  log "$(grep -m1 '^READY' "$out.err")"
  local ready; ready=$(grep -m1 '^READY' "$out.err" | awk '{print $2}')
  [ "${ready:-0}" = "$n" ] || { log "WARNING: only ${ready:-0} of $n idle clients logged in: no per-connection figure"; return 2; }
}

# seconds to let a server settle after the last idle login before sampling
# its RSS (djabberd-actors drops the parser of a stream silent for 2 s;
# Erlang and Lua collect garbage); then 3 samples 1 s apart are averaged
SETTLE=6

# phase_memory SERVER: keys rss0 rss1 rss2 kib, with the suffix _tls when
# USE_TLS=1 (the server's TLS config, dja-loadgen --tls).
phase_memory() {
  local s=$1 d=$TMP/$1 p x=${KX:-}
  [ "$USE_TLS" = 1 ] && x=_tls
  start_server "$s" || return 1
  sleep 2
  R[$s.rss0$x]=$(rss_kib_settled "$SERVER_PID")
  log "$s: RSS at 0 connections${x:+ (${x#_})}: ${R[$s.rss0$x]} KiB; logging in $IDLE_HALF idle clients"
  if idle_batch 1 "$IDLE_HALF" "$d/idle-a$x.json"; then
    sleep "$SETTLE"
    R[$s.rss1$x]=$(rss_kib_settled "$SERVER_PID")
    log "$s: RSS at $IDLE_HALF: ${R[$s.rss1$x]} KiB; $IDLE_HALF more"
    if idle_batch $((IDLE_HALF + 1)) "$IDLE_HALF" "$d/idle-b$x.json"; then
      sleep "$SETTLE"
      R[$s.rss2$x]=$(rss_kib_settled "$SERVER_PID")
      log "$s: RSS at $((2 * IDLE_HALF)): ${R[$s.rss2$x]} KiB"
      if [ -n "${R[$s.rss1$x]}" ] && [ -n "${R[$s.rss2$x]}" ]; then
        R[$s.kib$x]=$(awk -v a="${R[$s.rss1$x]}" -v b="${R[$s.rss2$x]}" -v n="$IDLE_HALF" \
                      'BEGIN { printf "%.1f", (b - a) / n }')
      fi
    fi
  fi
  for p in "${LOADGEN_PIDS[@]}"; do stop_pid "$p" 60; wait "$p" 2>/dev/null; done
  LOADGEN_PIDS=()
  [ -z "${KX:-}" ] || feature_idle_check "$s" "$d/idle-a$x.json" "$d/idle-b$x.json"
  "${s}_stop"
}

# the same over STARTTLS, against the server's TLS config
phase_memory_tls() {
  local rc
  USE_TLS=1
  phase_memory "$1"; rc=$?
  USE_TLS=0
  return $rc
}

prepare_server() {
  local s=$1 PORT
  PORT=$(port_of "$s")
  mkdir -p "$TMP/$s"
  log "preparing $s (127.0.0.1:$PORT, $NUSERS users)"
  case $s in
    prosody) prosody_prepare "$TMP/$s" "$PORT" "$DOMAIN" "$NUSERS" "$PASSWORD" ;;
    ejabberd) ejabberd_prepare "$TMP/$s" "$PORT" "$DOMAIN" "$NUSERS" "$PASSWORD" "$EJ_DIST_PORT" ;;
    djabberd) djabberd_prepare "$TMP/$s" "$PORT" "$DOMAIN" "$NUSERS" "$PASSWORD" ;;
  esac
  R[$s.settings]=$("${s}_settings")
  R[$s.version]=$("${s}_version")
}
port_of() { local v="PORT_$1"; echo "${!v}"; }

# machine CPU ticks (busy total) from /proc/stat's first line
machine_ticks() { awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9; exit }' /proc/stat; }

# Wait (at most QUIET_MAX s) until the machine is at most 10% busy over one
# second, so a phase does not start while something else runs. Records the
# busy share seen when the phase starts.
: "${QUIET_MAX:=10}"
wait_quiet() {
  local end=$((SECONDS + QUIET_MAX)) b0 t0 b1 t1 busy
  while :; do
    read -r b0 t0 < <(machine_ticks); sleep 1; read -r b1 t1 < <(machine_ticks)
    busy=$(( t1 > t0 ? 100 * (b1 - b0) / (t1 - t0) : 0 ))
    [ "$busy" -le 10 ] && break
    if [ "$SECONDS" -ge "$end" ]; then
      log "machine still ${busy}% busy after waiting ${QUIET_MAX}s: measuring anyway"; break
    fi
  done
  BUSY+=("$busy")
}

# record SERVER KEY high|low: add this repetition's R[SERVER.KEY] to the
# list of values and keep the best one (other work on the machine only ever
# makes a figure worse).
record() {
  local s=$1 k=$2 dir=$3 x b
  x=${R[$s.$k]:-}
  [ -n "$x" ] || return 0
  R[$s.$k.all]="${R[$s.$k.all]:+${R[$s.$k.all]}, }$x"
  b=${R[$s.$k.best]:-}
  if [ -z "$b" ] || awk -v a="$x" -v b="$b" -v d="$dir" 'BEGIN { exit !((d == "high") ? a > b : a < b) }'; then
    R[$s.$k.best]=$x
  fi
}

# run_phase PHASE SERVER: one phase against a fresh process of one server.
run_phase() {
  local ph=$1 s=$2 PORT x
  PORT=$(port_of "$s")
  wait_quiet
  "phase_$ph" "$s" || log "$s: $ph phase failed"
  case $ph in
    traffic) record "$s" msgs high; record "$s" p99 low; record "$s" cpu low
             record "$s" tp_errors low; record "$s" lat_errors low ;;
    logins) record "$s" logins high; record "$s" login_errors low ;;
    traffic_*) x=_${ph#traffic_}
               record "$s" "msgs$x" high; record "$s" "cpu$x" low; record "$s" "tp_errors$x" low ;;
  esac
}

# the table shows the best repetition of each figure
finalize_results() {
  local s k
  for s in "${SERVERS[@]}"; do
    for k in msgs p99 cpu tp_errors lat_errors logins login_errors $(feature_keys); do
      if [ -n "${R[$s.$k.best]:-}" ]; then R[$s.$k]=${R[$s.$k.best]}; else unset "R[$s.$k]"; fi
    done
  done
}

# ---- report ---------------------------------------------------------------------------
v() { local x=${R[$1]:-}; [ -n "$x" ] && echo "$x" || echo "—"; }
fmt() {  # fmt VALUE DECIMALS: thousands not grouped, "—" kept
  [ "$1" = "—" ] && { echo "—"; return; }
  awk -v x="$1" -v d="$2" 'BEGIN { printf "%.*f", d, x }'
}
row() {
  local s=$1 name=$2
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" \
    "$(fmt "$(v "$s.logins")" 0)" "$(fmt "$(v "$s.kib")" 1)" "$(fmt "$(v "$s.kib_tls")" 1)" "$(fmt "$(v "$s.msgs")" 0)" \
    "$(fmt "$(v "$s.p99")" 2)" "$(fmt "$(v "$s.cpu")" 2)"
}
# ratio KEY better(high|low): ours vs the best of prosody/ejabberd
ratio() {
  local k=$1 dir=$2 ours best='' bs='' x s
  ours=${R[djabberd.$k]:-}
  for s in prosody ejabberd; do
    x=${R[$s.$k]:-}; [ -n "$x" ] || continue
    if [ -z "${best:-}" ]; then best=$x; bs=$s
    elif awk -v a="$x" -v b="$best" -v d="$dir" 'BEGIN { exit !((d == "high") ? a > b : a < b) }'; then
      best=$x; bs=$s
    fi
  done
  if [ -z "$ours" ] || [ -z "${best:-}" ] || awk -v b="$best" 'BEGIN { exit !(b == 0) }'; then
    echo "—"; return
  fi
  awk -v a="$ours" -v b="$best" -v s="$bs" 'BEGIN { printf "%.2f (best: %s)", a / b, s }'
}

per_conn_from0() {  # per_conn_from0 SERVER [_tls]
  local a=${R[$1.rss0${2:-}]:-} b=${R[$1.rss2${2:-}]:-}
  if [ -n "$a" ] && [ -n "$b" ]; then
    awk -v a="$a" -v b="$b" -v n=$((2 * IDLE_HALF)) 'BEGIN { printf "%.1f", (b - a) / n }'
  else echo "—"; fi
}

report() {
  finalize_results
  echo
  echo "## djabberd-actors vs Prosody and ejabberd ($( [ "$QUICK" = 1 ] && echo "quick run" || echo "full run" ), $(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r); load average before the run: $LOAD_BEFORE, machine busy when phases started (after waiting up to ${QUIET_MAX} s for ≤ 10%): $(printf '%s\n' "${BUSY[@]:-?}" | sort -g | tail -1)% at most; highest 1-minute load average at a phase start: $(printf '%s\n' "${LOADS[@]:-?}" | sort -g | tail -1). The load generator and the server share the CPUs."
  echo "Load generator: $LOADGEN_SRC (same for every server); loopback, plaintext c2s, SASL PLAIN (TLS column: STARTTLS, then SASL PLAIN inside TLS, self-signed RSA 2048 certificate, TLS 1.3 as negotiated); servers and generator at nice $(nice)."
  echo
  echo "Versions:"
  want prosody && echo "- Prosody $(v prosody.version)"
  want ejabberd && echo "- ejabberd $(v ejabberd.version) (Erlang/OTP $(dpkg-query -W -f='${Version}' erlang-base 2>/dev/null))"
  want djabberd && echo "- $(v djabberd.version) ($DJABBERD_BUILT, $(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null || echo "no git"))"
  echo
  echo "Settings:"
  for s in prosody ejabberd djabberd; do
    want "$s" && [ -n "${R[$s.settings]:-}" ] && printf '%s\n' "${R[$s.settings]}" | sed '1s/^/- /; 2,$s/^/ /'
  done
  echo
  echo "Loads: $LOGIN_N logins with $LOGIN_C in flight; idle: $IDLE_HALF then $((2 * IDLE_HALF)) authenticated connections (two generator processes), KiB per connection = (RSS@$((2 * IDLE_HALF)) − RSS@$IDLE_HALF) / $IDLE_HALF; $PAIRS_N clients in $((PAIRS_N / 2)) pairs: ${TP_DUR} s as fast as possible ($INFLIGHT in flight per sender; CPU = server utime+stime over that run, warm-up included, per 100,000 messages), then ${LAT_DUR} s at $LAT_RATE msgs/s in total for the p99 one-way latency. A fresh server process for each phase$( [ "$REPEAT" -gt 1 ] && echo "; traffic and login phases run $REPEAT times, interleaved across servers, the table shows the best of each figure")."
  echo
  echo "| server | logins/s | KiB per idle connection (marginal) | KiB per idle TLS conn (marginal) | msgs/s | p99 ms @${LAT_RATE}/s | CPU s per 100k msgs |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  want prosody && row prosody Prosody
  want ejabberd && row ejabberd ejabberd
  want djabberd && row djabberd djabberd-actors
  echo "| DJabberd (reference) | — | 12.5 ¹ | — | — | — | — |"
  echo
  echo "¹ DJabberd's doc/memory-usage.txt: 12,844 bytes per ClientIn connection object with its libxml parser (Perl, objects only, not measured here)."
  echo
  if want djabberd && { want prosody || want ejabberd; }; then
    echo "| djabberd-actors vs best of Prosody/ejabberd | ratio |"
    echo "|---|---:|"
    echo "| memory per idle connection: ours / best (lower is better) | $(ratio kib low) |"
    echo "| memory per idle TLS connection: ours / best (lower is better) | $(ratio kib_tls low) |"
    echo "| logins/s: ours / best (higher is better) | $(ratio logins high) |"
    echo "| msgs/s: ours / best (higher is better) | $(ratio msgs high) |"
    echo "| p99 latency @${LAT_RATE}/s: ours / best (lower is better) | $(ratio p99 low) |"
    echo "| CPU per message: ours / best (lower is better) | $(ratio cpu low) |"
    echo
  fi
  echo "Raw figures:"
  for s in prosody ejabberd djabberd; do
    want "$s" || continue
    echo "- $s: RSS $(v "$s.rss0") / $(v "$s.rss1") / $(v "$s.rss2") KiB at 0 / $IDLE_HALF / $((2 * IDLE_HALF)) idle (from 0: $(per_conn_from0 "$s") KiB per connection);" \
         "TLS: RSS $(v "$s.rss0_tls") / $(v "$s.rss1_tls") / $(v "$s.rss2_tls") KiB (from 0: $(per_conn_from0 "$s" _tls) KiB per connection);" \
         "$( [ "$REPEAT" -gt 1 ] && echo "last repetition: ")throughput run: p99 $(v "$s.tp_p99") ms, $(v "$s.tp_msgs") msgs, $(v "$s.cpu_s") server CPU s, generator $(v "$s.lg_cpu")% of a core, other processes $(v "$s.other")% of the machine, lost $(v "$s.tp_lost"), errors $(v "$s.tp_errors");" \
         "latency run: $(v "$s.lat_rate") msgs/s, p50 $(v "$s.p50") ms, errors $(v "$s.lat_errors");" \
         "logins: failed $(v "$s.login_failed"), errors $(v "$s.login_errors")"
    if [ "$REPEAT" -gt 1 ]; then
      echo "  - $s, every repetition: msgs/s $(v "$s.msgs.all"); p99 ms $(v "$s.p99.all"); CPU s/100k $(v "$s.cpu.all"); logins/s $(v "$s.logins.all")"
    fi
  done
}

log "sizes: $LOGIN_N logins ($LOGIN_C in flight); idle $IDLE_HALF + $IDLE_HALF; $PAIRS_N clients in pairs, ${TP_DUR}s at rate 0 ($INFLIGHT in flight), ${LAT_DUR}s at $LAT_RATE/s; $NUSERS users"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY=()
SERVERS=()
for s in prosody ejabberd djabberd; do want "$s" && SERVERS+=("$s"); done
for s in "${SERVERS[@]}"; do prepare_server "$s"; done
# Phase by phase, the servers one after the other (a drift in background
# load then touches every server alike); memory last, because Prosody keeps
# closed sessions for c2s_timeout (each phase has a fresh process anyway).
PHASES=(traffic logins memory)
[ "$TLS_PHASE" = 1 ] && PHASES+=(memory_tls)
[ "$TLS_PHASE" = 2 ] && PHASES=(memory_tls)
[ ${#FEATURES[@]} -gt 0 ] && read -r -a PHASES <<<"$(feature_phases)"
for ph in "${PHASES[@]}"; do
  reps=$REPEAT; case $ph in memory*|muc*) reps=1 ;; esac
  for ((REP = 1; REP <= reps; REP++)); do
    for s in "${SERVERS[@]}"; do
      log "=== $ph: $s$( [ "$reps" -gt 1 ] && echo " (repetition $REP of $reps)") ==="
      run_phase "$ph" "$s"
    done
  done
done
if [ ${#FEATURES[@]} -gt 0 ]; then report_features; else report; fi
REPORTED=1
