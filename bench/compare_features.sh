# Feature phases of bench/compare.sh --features sm,mam,muc (sourced by
# compare.sh once its sizes are set; uses its R[], lg, start_server,
# phase_traffic, phase_memory, wait_line, json_num, v, fmt).
#
# sm, mam: the plain traffic and memory phases, then the same with the
#   feature's config variant of every server (bench/servers/*.sh:
#   VARIANT=sm|mam) under the key suffix _sm / _mam; sm also runs
#   dja-loadgen --sm. Checks that make a figure mean something: with sm
#   every generator connection got <enabled/> and the server answered the
#   <r/> sent before each close with <a/>; with mam the archive's rows grew
#   during the run by about two per delivered message (both users' archives).
# muc: a fresh server with its muc variant per size N in MUC_SIZES: N
#   occupants join one room (joins/s), MUC_SENDERS of them send groupchat
#   messages for MUC_DUR s with MUC_INFLIGHT in flight each (closed loop on
#   the sender's own copy); deliveries/s = copies received by all occupants
#   in the window; every occupant must receive every message (counted by
#   dja-loadgen --mode muc; a miss is an error). Memory: MUC_MEM clients
#   log in, RSS; they join rooms of MUC_ROOM_SIZE, RSS again: KiB per
#   occupant; then (fresh server) MUC_MEM rooms of one occupant each:
#   KiB per room with its one occupant (not minus an occupant's cost from
#   the first run: in Prosody and ejabberd that cost grows with the room,
#   the difference came out negative).

[ ${#FEATURES[@]} -gt 0 ] && TLS_PHASE=0

feature_on() { local f; for f in "${FEATURES[@]}"; do [ "$f" = "$1" ] && return 0; done; return 1; }

MUC_SIZES="10 100 1000" MUC_SENDERS=10 MUC_INFLIGHT=10 MUC_ROOM_SIZE=200
# joins in flight and the time one may take: a join into a room of 1,000
# costs the server about 2,000 presence stanzas
MUC_JOIN_ARGS="--join-concurrency 10 --join-timeout 300"
# after the window, wait this long for the copies still due (a server that
# fell behind delivers them late; a copy that never comes is a miss)
MUC_DRAIN=60
if [ "$QUICK" = 1 ]; then MUC_DUR=5 MUC_MEM=1000; else MUC_DUR=10 MUC_MEM=2000; fi
if feature_on muc; then
  for n in $MUC_SIZES $MUC_MEM; do [ "$NUSERS" -ge "$n" ] || NUSERS=$n; done
  for n in $MUC_SIZES; do eval "phase_muc_$n() { phase_muc \"\$1\" $n; }"; done
fi

# Prosody's SQL storage needs the Lua DBI driver (Debian lua-dbi-sqlite3).
features_install() {
  if feature_on mam && want prosody && ! dpkg -s lua-dbi-sqlite3 >/dev/null 2>&1; then
    log "apt-get install lua-dbi-sqlite3 (Prosody's SQLite archive)"
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq lua-dbi-sqlite3 >&2 \
      || die "apt-get install lua-dbi-sqlite3 failed"
  fi
}

feature_phases() {
  local p=() n
  if feature_on sm || feature_on mam; then
    p+=(traffic)
    feature_on sm && p+=(traffic_sm)
    feature_on mam && p+=(traffic_mam)
  fi
  if feature_on muc; then
    for n in $MUC_SIZES; do p+=("muc_$n"); done
    p+=(muc_memory)
  fi
  if feature_on sm || feature_on mam; then   # memory last (see compare.sh)
    p+=(memory)
    feature_on sm && p+=(memory_sm)
    feature_on mam && p+=(memory_mam)
  fi
  echo "${p[*]}"
}

# keys whose best repetition compare.sh keeps
feature_keys() { echo msgs_sm cpu_sm tp_errors_sm msgs_mam cpu_mam tp_errors_mam; }

phase_traffic_sm() { KX=_sm VARIANT=sm LG_EXTRA=--sm phase_traffic "$1"; }
# a server still writing its archive may take a while to close 200 streams
phase_traffic_mam() { KX=_mam VARIANT=mam LG_EXTRA="--close-timeout 30" phase_traffic "$1"; }
phase_memory_sm() { KX=_sm VARIANT=sm LG_EXTRA=--sm phase_memory "$1"; }
phase_memory_mam() { KX=_mam VARIANT=mam LG_EXTRA= phase_memory "$1"; }

# before a feature's throughput run (server up): the archive's row count
feature_before() {
  [ "$VARIANT" = mam ] && R[$1.rows0$KX]=$("${1}_archive_rows")
  return 0
}

# feature_after SERVER JSON: what shows the feature worked in that run
feature_after() {
  local s=$1 f=$2 x=$KX en acks r0 r1 got sent
  case $VARIANT in
    sm)
      en=$(json_num "$f" sm_enabled) acks=$(json_num "$f" sm_acks_received)
      R[$s.check$x]="SM enabled on ${en:-?} of $PAIRS_N connections, ${acks:-?} <a/> received, $(json_num "$f" sm_requests_answered) server <r/> answered"
      [ "${en:-0}" = "$PAIRS_N" ] && [ "${acks:-0}" -gt 0 ] || R[$s.check$x]="FAILED: ${R[$s.check$x]}" ;;
    mam)
      # archive writes may be batched or queued: wait (at most 60 s) until
      # the row count holds still for a second
      local i prev='' r1=''
      for ((i = 0; i < 60; i++)); do
        sleep 1; prev=$r1; r1=$("${s}_archive_rows")
        [ "$i" -ge 2 ] && [ "$r1" = "$prev" ] && break
      done
      r0=${R[$s.rows0$x]:-?} got=$(json_num "$f" messages_received)
      sent=$(json_num "$f" messages_sent)
      if [[ $r0 =~ ^[0-9]+$ && $r1 =~ ^[0-9]+$ && ${sent:-0} -gt 0 ]]; then
        # both users' archives: 2 rows per message (ours may share one)
        R[$s.check$x]=$(awk -v a="$r0" -v b="$r1" -v m="$got" -v n="${sent:-0}" \
          'BEGIN { printf "%d archive rows written for %d messages sent, %d delivered (%.2f per message sent)", b - a, n, m, (n > 0 ? (b - a) / n : 0) }')
        # every message sent archived at least once (a slow archive may
        # hold deliveries back: delivered can be far below sent)
        awk -v a="$r0" -v b="$r1" -v n="$sent" 'BEGIN { exit !((b - a) >= n) }' \
          || R[$s.check$x]="FAILED: ${R[$s.check$x]}"
      else
        R[$s.check$x]="FAILED: archive rows not readable (before ${r0}, after ${r1})"
      fi ;;
  esac
  log "$s: ${R[$s.check$x]}"
}

# feature_idle_check SERVER JSON...: SM enabled on every idle connection
feature_idle_check() {
  local s=$1 en=0 f e; shift
  [ "$VARIANT" = sm ] || return 0
  for f in "$@"; do e=$(json_num "$f" sm_enabled); en=$((en + ${e:-0})); done
  R[$s.check_idle$KX]="SM enabled on $en of $((2 * IDLE_HALF)) idle connections"
  [ "$en" = $((2 * IDLE_HALF)) ] || R[$s.check_idle$KX]="FAILED: ${R[$s.check_idle$KX]}"
}

muc_skip() {
  [ "$1" = djabberd ] && [ "${DJABBERD_HAS_MUC:-0}" != 1 ] || return 1
  log "djabberd-actors: no MUC service in this build (plugin $DJABBERD_MUC_PLUGIN): skipped"
}

# phase_muc SERVER N: N occupants in one room, fan-out and joins
phase_muc() {
  local s=$1 n=$2 d=$TMP/$1 f k c0 c1 m senders=$MUC_SENDERS
  muc_skip "$s" && return 0
  [ "$n" -ge "$senders" ] || senders=$n
  f=$d/muc-$n.json
  VARIANT=muc start_server "$s" || return 1
  log "$s: MUC, $n occupants in one room, $senders senders, $MUC_INFLIGHT in flight, ${MUC_DUR}s"
  c0=$(cpu_ticks "$SERVER_PID")
  lg $((MUC_DUR + MUC_DRAIN + 420)) "$f" --mode muc --first 1 --users "$n" --rooms 1 \
    --senders "$senders" --inflight "$MUC_INFLIGHT" --duration "$MUC_DUR" \
    --warmup "$WARMUP" --drain "$MUC_DRAIN" --timeout $((MUC_DUR + MUC_DRAIN + 400)) $MUC_JOIN_ARGS
  c1=$(cpu_ticks "$SERVER_PID")
  for k in deliveries_per_sec messages_per_sec joins_per_sec deliveries_missing \
           deliveries_extra errors occupants_joined latency_ms_p99 deliveries_received; do
    R[$s.muc_${k}_$n]=$(json_num "$f" "$k")
  done
  m=${R[$s.muc_deliveries_received_$n]:-0}
  if [ -n "$c0" ] && [ -n "$c1" ] && [ "${m:-0}" != 0 ]; then
    R[$s.muc_cpu_$n]=$(awk -v d=$((c1 - c0)) -v hz="$CLK_TCK" -v m="$m" \
                         'BEGIN { printf "%.2f", d / hz / m * 100000 }')
  fi
  "${s}_stop"
}

# muc_rss_growth SERVER ROOMS OUT: MUC_MEM clients log in, then join ROOMS
# rooms; prints the RSS growth in KiB from logged in to joined.
muc_rss_growth() {
  local s=$1 rooms=$2 out=$3 a b pid joined p
  timeout -k 60 900 "$LOADGEN_BIN" --host 127.0.0.1 --port "$PORT" --domain "$DOMAIN" \
    --user-pattern 'user%d' --password "$PASSWORD" --json --mode muc --first 1 \
    --users "$MUC_MEM" --rooms "$rooms" --senders 0 --concurrency "$LOGIN_C" \
    --join-delay $((SETTLE + 10)) --hold 600 --timeout 800 $MUC_JOIN_ARGS >"$out" 2>"$out.err" &
  pid=$!
  LOADGEN_PIDS+=("$pid")
  if wait_line "$out.err" '^LOGGED' "$pid" 240; then
    sleep "$SETTLE"; a=$(rss_kib_settled "$SERVER_PID")
    if wait_line "$out.err" '^READY' "$pid" 600; then
      joined=$(grep -m1 '^READY' "$out.err" | awk '{print $2}')
      sleep "$SETTLE"; b=$(rss_kib_settled "$SERVER_PID")
    fi
  fi
  for p in "${LOADGEN_PIDS[@]}"; do stop_pid "$p" 60; wait "$p" 2>/dev/null; done
  LOADGEN_PIDS=()
  log "$s: $rooms rooms: RSS ${a:-?} KiB logged in, ${b:-?} KiB with ${joined:-?} of $MUC_MEM joined"
  [ -n "$a" ] && [ -n "$b" ] && [ "${joined:-0}" = "$MUC_MEM" ] || return 1
  echo $((b - a))
}

phase_muc_memory() {
  local s=$1 d=$TMP/$1 g
  muc_skip "$s" && return 0
  VARIANT=muc start_server "$s" || return 1
  g=$(muc_rss_growth "$s" $((MUC_MEM / MUC_ROOM_SIZE)) "$d/muc-mem-occ.json") \
    && R[$s.muc_kib_occ]=$(awk -v g="$g" -v n="$MUC_MEM" 'BEGIN { printf "%.2f", g / n }')
  "${s}_stop"
  VARIANT=muc start_server "$s" || return 1
  g=$(muc_rss_growth "$s" "$MUC_MEM" "$d/muc-mem-room.json") \
    && R[$s.muc_kib_room]=$(awk -v g="$g" -v n="$MUC_MEM" 'BEGIN { printf "%.2f", g / n }')
  "${s}_stop"
}

# ---- report ---------------------------------------------------------------------
# pct A B: A as a percentage of B
pct() { [ "$1" != "—" ] && [ "$2" != "—" ] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f %%", 100 * a / b; else print "—" }' || echo "—"; }

report_features() {
  local s name n
  finalize_results
  echo
  echo "## Same modules on every server: $(IFS=,; echo "${FEATURES[*]}") ($( [ "$QUICK" = 1 ] && echo "quick run" || echo "full run" ), $(date -u +%Y-%m-%dT%H:%MZ))"
  echo
  echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'); load average before the run: $LOAD_BEFORE; highest 1-minute load average at a phase start: $(printf '%s\n' "${LOADS[@]:-?}" | sort -g | tail -1). Versions: Prosody $(v prosody.version), ejabberd $(v ejabberd.version), $(v djabberd.version) ($(git -C "$BENCH_ROOT" describe --always --dirty 2>/dev/null))."
  echo
  echo "Settings:"
  for s in "${SERVERS[@]}"; do
    [ -n "${R[$s.settings]:-}" ] && printf '%s\n' "${R[$s.settings]}" | sed '1s/^/- /; 2,$s/^/ /'
  done
  if feature_on sm || feature_on mam; then
    echo
    echo "$PAIRS_N clients in pairs, ${TP_DUR} s closed loop ($INFLIGHT in flight per sender), a fresh server per run$( [ "$REPEAT" -gt 1 ] && echo ", best of $REPEAT"); idle memory: (RSS@$((2 * IDLE_HALF)) − RSS@$IDLE_HALF) / $IDLE_HALF. SM: every generator connection enables XEP-0198 with resumption and answers the server's <r/>. MAM: every chat message archived for both users."
    echo
    echo "| server | msgs/s plain | with SM | SM kept | with MAM | MAM kept | CPU s/100k plain / SM / MAM | KiB/idle conn plain | with SM | with MAM |"
    echo "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|"
    for s in "${SERVERS[@]}"; do
      case $s in prosody) name=Prosody ;; ejabberd) name=ejabberd ;; *) name=djabberd-actors ;; esac
      printf '| %s | %s | %s | %s | %s | %s | %s / %s / %s | %s | %s | %s |\n' "$name" \
        "$(fmt "$(v "$s.msgs")" 0)" "$(fmt "$(v "$s.msgs_sm")" 0)" "$(pct "$(v "$s.msgs_sm")" "$(v "$s.msgs")")" \
        "$(fmt "$(v "$s.msgs_mam")" 0)" "$(pct "$(v "$s.msgs_mam")" "$(v "$s.msgs")")" \
        "$(v "$s.cpu")" "$(v "$s.cpu_sm")" "$(v "$s.cpu_mam")" \
        "$(fmt "$(v "$s.kib")" 1)" "$(fmt "$(v "$s.kib_sm")" 1)" "$(fmt "$(v "$s.kib_mam")" 1)"
    done
    echo
    echo "Checks (a figure without its check is meaningless):"
    for s in "${SERVERS[@]}"; do
      echo "- $s: SM run: $(v "$s.check_sm"); SM idle: $(v "$s.check_idle_sm"); MAM run: $(v "$s.check_mam"); errors plain/SM/MAM $(v "$s.tp_errors")/$(v "$s.tp_errors_sm")/$(v "$s.tp_errors_mam"), lost $(v "$s.tp_lost")/$(v "$s.tp_lost_sm")/$(v "$s.tp_lost_mam")"
    done
  fi
  if feature_on muc; then
    echo
    echo "MUC: N occupants join one room (no history), $MUC_SENDERS of them (all if fewer) send groupchat messages for ${MUC_DUR} s, $MUC_INFLIGHT in flight each (a message is acknowledged by its sender's own copy); deliveries/s = copies received by all occupants; every occupant must get every message. Memory: $MUC_MEM logged-in clients join rooms of $MUC_ROOM_SIZE (KiB per occupant = RSS growth / $MUC_MEM), then on a fresh server $MUC_MEM rooms of one occupant (KiB per room with its occupant = growth / $MUC_MEM)."
    echo
    printf '| server |'; for n in $MUC_SIZES; do printf ' deliveries/s @%s |' "$n"; done
    for n in $MUC_SIZES; do printf ' joins/s @%s |' "$n"; done
    echo ' KiB per occupant (rooms of '"$MUC_ROOM_SIZE"') | KiB per room of one occupant |'
    printf '|---|'; for n in $MUC_SIZES $MUC_SIZES; do printf -- '---:|'; done; echo '---:|---:|'
    for s in "${SERVERS[@]}"; do
      case $s in prosody) name=Prosody ;; ejabberd) name=ejabberd ;; *) name=djabberd-actors ;; esac
      printf '| %s |' "$name"
      for n in $MUC_SIZES; do printf ' %s |' "$(fmt "$(v "$s.muc_deliveries_per_sec_$n")" 0)"; done
      for n in $MUC_SIZES; do printf ' %s |' "$(fmt "$(v "$s.muc_joins_per_sec_$n")" 0)"; done
      printf ' %s | %s |\n' "$(v "$s.muc_kib_occ")" "$(v "$s.muc_kib_room")"
    done
    echo
    echo "Checks and raw figures:"
    for s in "${SERVERS[@]}"; do
      printf -- '- %s:' "$s"
      for n in $MUC_SIZES; do
        printf ' @%s: joined %s, missing %s, extra %s, errors %s, msgs/s %s, p99 %s ms, CPU s/100k deliveries (joins included) %s;' "$n" \
          "$(v "$s.muc_occupants_joined_$n")" "$(v "$s.muc_deliveries_missing_$n")" "$(v "$s.muc_deliveries_extra_$n")" \
          "$(v "$s.muc_errors_$n")" "$(v "$s.muc_messages_per_sec_$n")" "$(v "$s.muc_latency_ms_p99_$n")" "$(v "$s.muc_cpu_$n")"
      done
      echo
    done
  fi
}
