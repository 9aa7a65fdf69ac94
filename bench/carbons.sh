#!/usr/bin/env bash
# XEP-0280 message carbons: messages/s with carbons enabled on every session
# versus off, on djabberd-actors alone (same machine, loopback, plaintext).
#
#   bench/carbons.sh [--pairs N] [--duration S] [--repeat N]
#
# One server (bench/servers/djabberd.toml.in plus the carbons plugin), fresh
# for each run; dja-loadgen --mode pairs with N pairs (default 100), closed
# loop, 10 in flight per sender. Three runs, each measured for S seconds:
#   off      no client enables carbons (the plugin is loaded: the cost of
#            the eligibility check and of the <sent/> hand-off alone);
#   on       every client enables carbons, one device per user (nothing to
#            copy: the cost of being enabled);
#   on+2nd   as on, plus a second device of every user (an idle dja-loadgen
#            with another resource, carbons enabled), so that every message
#            makes a <sent/> copy and a <received/> copy: three stanzas
#            written per message.
# Prints one Markdown table of delivered msgs/s (best of --repeat runs).
set -uo pipefail

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_SERVERS=$BENCH_ROOT/bench/servers
. "$BENCH_SERVERS/common.sh"
. "$BENCH_SERVERS/djabberd.sh"

PAIRS=100 DURATION=10 REPEAT=1
while [ $# -gt 0 ]; do
  case $1 in
    --pairs) PAIRS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    *) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
  esac
done
LOADGEN=${LOADGEN:-$BENCH_ROOT/build/bench/dja-loadgen}
[ -x "$LOADGEN" ] || die "dja-loadgen missing: $LOADGEN (tools/build.sh)"
USERS=$((PAIRS * 2))
TMP=$(mktemp -d /tmp/dja-carbons-bench.XXXXXX)
IDLE_PID=''
cleanup() {
  [ -n "$IDLE_PID" ] && stop_pid "$IDLE_PID" 5
  djabberd_stop
  rm -rf "$TMP"
}
trap cleanup EXIT

PORT=$(free_port 28280)
djabberd_prepare "$TMP" "$PORT" localhost "$USERS" pw
printf '  [[vhost.plugin]]\n  type = "carbons"\n' >> "$TMP/server.toml"

# run_one KIND -> prints delivered msgs/s
run_one() {
  local kind=$1 flags=() rate
  djabberd_start || die "server did not start"
  if [ "$kind" = "on+2nd" ]; then
    "$LOADGEN" --users "$USERS" --mode idle --resource second --carbons \
      --hold $((DURATION + 30)) --port "$PORT" --timeout $((DURATION + 60)) \
      >"$TMP/idle.log" 2>&1 &
    IDLE_PID=$!
    # until the second devices are online (bounded)
    for _ in $(seq 1 300); do
      grep -q "^READY" "$TMP/idle.log" 2>/dev/null && break
      sleep 0.1
    done
  fi
  [ "$kind" != "off" ] && flags+=(--carbons)
  rate=$("$LOADGEN" --users "$USERS" --mode pairs --duration "$DURATION" \
           --port "$PORT" --timeout $((DURATION + 60)) "${flags[@]}" \
         | awk -F': *' '/^messages_per_sec/ {print $2}')
  if [ -n "$IDLE_PID" ]; then stop_pid "$IDLE_PID" 5; IDLE_PID=''; fi
  djabberd_stop
  echo "${rate:-?}"
}

declare -A best
for ((r = 1; r <= REPEAT; r++)); do
  for kind in off on on+2nd; do
    v=$(run_one "$kind")
    log "run $r $kind: $v msgs/s"
    cur=${best[$kind]:-0}
    awk -v a="$v" -v b="$cur" 'BEGIN {exit !(a + 0 > b + 0)}' && best[$kind]=$v
  done
done
echo "| carbons ($PAIRS pairs, ${DURATION} s, best of $REPEAT) | msgs/s delivered | vs off |"
echo "|---|---|---|"
for kind in off on on+2nd; do
  awk -v k="$kind" -v v="${best[$kind]}" -v o="${best[off]}" \
    'BEGIN {printf "| %s | %.0f | %.1f %% |\n", k, v, (o > 0 ? 100 * v / o : 0)}'
done
