#!/usr/bin/env bash
# Memory per idle connection with and without XEP-0198 stream management,
# measured as bench/compare.sh measures it: the server's RSS (3 samples
# averaged, after the streams settled) at N and at 2N idle authenticated
# connections (two dja-loadgen --mode idle processes), KiB per connection
# = (RSS@2N - RSS@N) / N; with `--sm` every client enables stream
# management with resumption after bind. A fresh server for each run,
# without SM and with SM alternating.
#
#   bench/sm_memory.sh [--idle N] [--repeat R]
#
# Environment: DJABBERD_BIN (default build/djabberd-actors), LOADGEN
# (default: build/bench/dja-loadgen). Prints one Markdown table.
set -uo pipefail

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_SERVERS=$BENCH_ROOT/bench/servers
. "$BENCH_SERVERS/common.sh"

HALF=1000 REPEAT=2 SETTLE=6
while [ $# -gt 0 ]; do
  case $1 in
    --idle) HALF=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done
BIN=${DJABBERD_BIN:-$BENCH_ROOT/build/djabberd-actors}
LG=${LOADGEN:-$BENCH_ROOT/build/bench/dja-loadgen}
[ -x "$BIN" ] || die "$BIN is missing"
[ -x "$LG" ] || die "$LG is missing"
TMP=$(mktemp -d /tmp/sm_memory.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do stop_pid "$p" 5; done
  rm -rf "$TMP"
}
trap cleanup EXIT
DOMAIN=localhost PASSWORD=pw N=$((2 * HALF))

# idle FIRST SM OUT: N/2 idle clients in the background until READY
idle() {
  local first=$1 sm=$2 out=$3 end=$((SECONDS + 240)) pid
  timeout -k 5 600 "$LG" --host 127.0.0.1 --port "$PORT" --domain "$DOMAIN" \
    --user-pattern 'user%d' --password "$PASSWORD" --json --mode idle \
    --first "$first" --users "$HALF" --concurrency 50 --hold 300 \
    --timeout 400 $sm >"$out" 2>"$out.err" &
  pid=$!
  PIDS+=("$pid")
  until grep -q '^READY' "$out.err" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { log "idle clients ended: $(tail -2 "$out.err")"; return 1; }
    [ "$SECONDS" -lt "$end" ] || { log "no READY in 240 s"; return 1; }
    sleep 0.2
  done
  [ "$(grep -m1 '^READY' "$out.err" | awk '{print $2}')" = "$HALF" ] \
    || { log "not all $HALF clients logged in"; return 1; }
}

# run NAME SM: prints KiB per connection
run() {
  local name=$1 sm=$2 DIR=$TMP/$1 pid r1 r2 p
  rm -rf "$DIR" && mkdir -p "$DIR/data"
  PORT=$(free_port 25400)
  for ((i = 1; i <= N; i++)); do printf '  user%d = "%s"\n' "$i" "$PASSWORD"; done > "$DIR/users.toml"
  render "$BENCH_SERVERS/djabberd.toml.in" DIR PORT DOMAIN \
    | sed -e "/^@USERS@\$/{r $DIR/users.toml" -e 'd}' > "$DIR/server.toml"
  ( raise_nofile 20000; exec "$BIN" --config "$DIR/server.toml" ) >"$DIR/server.log" 2>&1 &
  pid=$!
  wait_port "$PORT" 30 "$pid" || die "server did not start"
  if idle 1 "$sm" "$DIR/a.json"; then
    sleep "$SETTLE"
    r1=$(rss_kib_settled "$pid")
    if idle $((HALF + 1)) "$sm" "$DIR/b.json"; then
      sleep "$SETTLE"
      r2=$(rss_kib_settled "$pid")
    fi
  fi
  for p in "${PIDS[@]}"; do stop_pid "$p" 5; done
  PIDS=()
  stop_pid "$pid" 10 >/dev/null 2>&1
  [ -n "${r1:-}" ] && [ -n "${r2:-}" ] || return 1
  log "$name: RSS $r1 KiB at $HALF, $r2 KiB at $N idle connections"
  awk -v a="$r1" -v b="$r2" -v n="$HALF" 'BEGIN { printf "%.1f", (b - a) / n }'
}

echo "| run | KiB per idle connection without SM | with SM (enabled, resumable) |"
echo "|---|---|---|"
for ((r = 1; r <= REPEAT; r++)); do
  off=$(run off "")
  on=$(run on --sm)
  echo "| $r | ${off:-?} | ${on:-?} |"
done
