#!/usr/bin/env bash
# What XEP-0313 archiving costs in throughput: the messages/s of
# bench/compare.sh's traffic phase (dja-loadgen, 100 pairs, chat messages
# with a body, 10 in flight per sender) against djabberd-actors without an
# archive and with `mam.sqlite` (every message archived for both users,
# stanza-id stamped, batched writes), a fresh server and data dir each,
# alternating, best of --repeat runs each. Also the server's CPU time
# (utime + stime, all threads, warm-up included) per 100,000 messages
# sent, which a machine shared with other work disturbs less than the
# rate: the median of the runs. The stop after each run is timed: the
# archive writes what it still has queued before the process ends.
#
# After each archiving run the rows in the archive are counted against
# two per message sent (both users archive it): a message the archive
# missed (max_backlog) shows there, not as throughput.
#
#   bench/mam_cost.sh [--duration S] [--repeat N] [--plugin mam.sqlite]
#   bench/mam_cost.sh --sm ...   # the cost of XEP-0198 instead: the "on"
#                                # runs are dja-loadgen --sm, no archive
#
# Environment: DJABBERD_BIN (default build/djabberd-actors), LOADGEN
# (default: build/bench/dja-loadgen), PERF_DIR (set: `perf record -g -e
# cpu-clock` of the server from its traffic to its exit, into
# PERF_DIR/perf.off.N.data and perf.on.N.data). Prints one Markdown
# table.
set -uo pipefail

BENCH_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_SERVERS=$BENCH_ROOT/bench/servers
. "$BENCH_SERVERS/common.sh"

DUR=10 REPEAT=2 PLUGIN=mam.sqlite SM=0
while [ $# -gt 0 ]; do
  case $1 in
    --duration) DUR=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --plugin) PLUGIN=$2; shift 2 ;;
    --sm) SM=1; shift ;;
    *) die "unknown option $1" ;;
  esac
done
BIN=${DJABBERD_BIN:-$BENCH_ROOT/build/djabberd-actors}
LG=${LOADGEN:-$BENCH_ROOT/build/bench/dja-loadgen}
[ -x "$BIN" ] || die "$BIN is missing"
[ -x "$LG" ] || die "$LG is missing"
TMP=$(mktemp -d /tmp/mam_cost.XXXXXX)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT
DOMAIN=localhost PASSWORD=pw N=200

# run NAME EXTRA [LOADGEN-OPTION]: one server, one traffic run; prints
# "msgs/s CPU-s/100k stop-s archived-rows/expected"
run() {
  local name=$1 extra=$2 lgx=${3:-} DIR=$TMP/$1 PORT pid i ticks sent t0 perf=''
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
  if [ -n "${PERF_DIR:-}" ]; then
    perf record -q -g -e cpu-clock -p "$pid" -o "$PERF_DIR/perf.$name.$r.data" >/dev/null 2>&1 &
    perf=$!
  fi
  # shellcheck disable=SC2086
  timeout -k 5 $((DUR + 120)) "$LG" --host 127.0.0.1 --port "$PORT" --domain "$DOMAIN" \
    --user-pattern 'user%d' --password "$PASSWORD" --json --mode pairs --first 1 --users "$N" \
    --rate 0 --inflight 10 --duration "$DUR" --warmup 2 --timeout $((DUR + 90)) $lgx >"$DIR/out.json" 2>"$DIR/err"
  ticks=$(cpu_ticks "$pid")
  t0=$(date +%s.%N)
  stop_pid "$pid" 30 >/dev/null 2>&1
  # The profile covers the stop too (the archive writes its backlog).
  if [ -n "$perf" ]; then kill -INT "$perf" 2>/dev/null; wait "$perf" 2>/dev/null; fi
  sent=$(grep -o '"messages_sent"[[:space:]]*:[[:space:]]*[0-9]*' "$DIR/out.json" | sed 's/.*: *//')
  echo "$(grep -o '"messages_per_sec"[[:space:]]*:[[:space:]]*[0-9.]*' "$DIR/out.json" | sed 's/.*: *//')" \
    "$(awk -v t="${ticks:-0}" -v n="${sent:-0}" 'BEGIN{printf "%.2f", (n > 0 ? t / 100 / n * 100000 : 0)}')" \
    "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}')" \
    "$(archived "$DIR/data/mam.sqlite" "$((2 * ${sent:-0}))")"
}

# archived FILE EXPECTED: "rows/EXPECTED" of an archive database ("-"
# without one)
archived() {
  [ -f "$1" ] || { echo -; return; }
  echo "$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM mam_messages").fetchone()[0])' "$1" 2>/dev/null || echo '?')/$2"
}

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

best_off=0 best_on=0 cpus_off='' cpus_on='' all_rows=''
if [ "$SM" = 1 ]; then ON=(on "" --sm) FEATURE="XEP-0198 (dja-loadgen --sm)"; else ON=(on "$PLUGIN") FEATURE=$PLUGIN; fi
for ((r = 1; r <= REPEAT; r++)); do
  read -r off coff _ <<<"$(run off "")"
  read -r on con stop rows <<<"$(run "${ON[@]}")"
  log "run $r: without ${off:-?} msgs/s (${coff:-?} CPU s/100k msgs), with $FEATURE ${on:-?} msgs/s (${con:-?} CPU s/100k msgs; stop ${stop:-?} s; archived rows/expected ${rows:-?})"
  cpus_off+="${coff:-0}"$'\n' cpus_on+="${con:-0}"$'\n' all_rows+="${all_rows:+, }${rows:-?}"
  best_off=$(awk -v a="$best_off" -v b="${off:-0}" 'BEGIN{print (b > a) ? b : a}')
  best_on=$(awk -v a="$best_on" -v b="${on:-0}" 'BEGIN{print (b > a) ? b : a}')
done
m_off=$(printf '%s' "$cpus_off" | median) m_on=$(printf '%s' "$cpus_on" | median)
echo "| feature | msgs/s (best of $REPEAT, ${DUR}s, 100 pairs) | vs none | CPU s / 100k msgs (median) | vs none | archived rows / expected (each run) |"
echo "|---|---|---|---|---|---|"
echo "| none | $best_off | 100 % | $m_off | 100 % | |"
echo "| $FEATURE | $best_on | $(awk -v a="$best_off" -v b="$best_on" 'BEGIN{printf "%.0f %%", (a > 0 ? 100 * b / a : 0)}') | $m_on | $(awk -v a="$m_off" -v b="$m_on" 'BEGIN{printf "%.0f %%", (a > 0 ? 100 * b / a : 0)}') | $all_rows |"
