#!/usr/bin/env bash
# What XEP-0313 archiving costs in throughput: the messages/s of
# bench/compare.sh's traffic phase (dja-loadgen, 100 pairs, chat messages
# with a body, 10 in flight per sender) against djabberd-actors without an
# archive and with `mam.sqlite` (every message archived for both users,
# stanza-id stamped, batched writes), a fresh server and data dir each,
# alternating, best of --repeat runs each.
#
#   bench/mam_cost.sh [--duration S] [--repeat N] [--plugin mam.sqlite]
#
# Environment: DJABBERD_BIN (default build/djabberd-actors), LOADGEN
# (default: build/bench/dja-loadgen). Prints one Markdown table.
set -uo pipefail

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_SERVERS=$BENCH_ROOT/bench/servers
. "$BENCH_SERVERS/common.sh"

DUR=10 REPEAT=2 PLUGIN=mam.sqlite
while [ $# -gt 0 ]; do
  case $1 in
    --duration) DUR=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --plugin) PLUGIN=$2; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done
BIN=${DJABBERD_BIN:-$BENCH_ROOT/build/djabberd-actors}
LG=${LOADGEN:-$BENCH_ROOT/build/bench/dja-loadgen}
[ -x "$BIN" ] || die "$BIN is missing"
[ -x "$LG" ] || die "$LG is missing"
TMP=$(mktemp -d /tmp/mam_cost.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
DOMAIN=localhost PASSWORD=pw N=200

# run NAME EXTRA: one server, one traffic run; prints msgs/s
run() {
  local name=$1 extra=$2 DIR=$TMP/$1 PORT pid i
  rm -rf "$DIR" && mkdir -p "$DIR/data"
  PORT=$(free_port 25300)
  for ((i = 1; i <= N; i++)); do printf '  user%d = "%s"\n' "$i" "$PASSWORD"; done > "$DIR/users.toml"
  { render "$BENCH_SERVERS/djabberd.toml.in" DIR PORT DOMAIN \
      | sed -e "/^@USERS@\$/{r $DIR/users.toml" -e 'd}'
    # a new [[vhost.plugin]] after the users table starts the next plugin
    [ -z "$extra" ] || printf '  [[vhost.plugin]]\n  type = "%s"\n' "$extra"
  } > "$DIR/server.toml"
  "$BIN" --config "$DIR/server.toml" --check-config >/dev/null 2>&1 || die "bad config $DIR/server.toml"
  ( raise_nofile 20000; exec "$BIN" --config "$DIR/server.toml" ) >"$DIR/server.log" 2>&1 &
  pid=$!
  wait_port "$PORT" 30 "$pid" || die "server did not start"
  timeout -k 5 $((DUR + 120)) "$LG" --host 127.0.0.1 --port "$PORT" --domain "$DOMAIN" \
    --user-pattern 'user%d' --password "$PASSWORD" --json --mode pairs --first 1 --users "$N" \
    --rate 0 --inflight 10 --duration "$DUR" --warmup 2 --timeout $((DUR + 90)) >"$DIR/out.json" 2>"$DIR/err"
  stop_pid "$pid" 10 >/dev/null 2>&1
  grep -o '"messages_per_sec"[[:space:]]*:[[:space:]]*[0-9.]*' "$DIR/out.json" | sed 's/.*: *//'
}

best_off=0 best_on=0
for ((r = 1; r <= REPEAT; r++)); do
  off=$(run off "")
  on=$(run on "$PLUGIN")
  log "run $r: without archive ${off:-?} msgs/s, with $PLUGIN ${on:-?} msgs/s"
  best_off=$(awk -v a="$best_off" -v b="${off:-0}" 'BEGIN{print (b > a) ? b : a}')
  best_on=$(awk -v a="$best_on" -v b="${on:-0}" 'BEGIN{print (b > a) ? b : a}')
done
echo "| archive | msgs/s (best of $REPEAT, ${DUR}s, 100 pairs) | vs none |"
echo "|---|---|---|"
echo "| none | $best_off | 100 % |"
echo "| $PLUGIN | $best_on | $(awk -v a="$best_off" -v b="$best_on" 'BEGIN{printf "%.0f %%", (a > 0 ? 100 * b / a : 0)}') |"
