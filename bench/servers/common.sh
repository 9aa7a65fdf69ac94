# Shared helpers for bench/compare.sh and the per-server scripts in this
# folder (sourced, not run). Loopback only; every wait is bounded.

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# True if something accepts connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# First port from $1 upwards (at most 50 tries) that nothing listens on.
free_port() {
  local p=$1
  while port_open "$p"; do
    p=$((p + 1))
    [ "$p" -lt $(($1 + 50)) ] || die "no free port near $1"
  done
  echo "$p"
}

# wait_port PORT SECONDS [PID]: until 127.0.0.1:PORT accepts. Fails early
# if PID (the server being waited for) has exited.
wait_port() {
  local port=$1 max=$2 pid=${3:-} end=$((SECONDS + $2))
  until port_open "$port"; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      log "process $pid exited before port $port opened"; return 1
    fi
    [ "$SECONDS" -lt "$end" ] || { log "port $port not open after ${max}s"; return 1; }
    sleep 0.2
  done
}

# wait_port_closed PORT SECONDS
wait_port_closed() {
  local end=$((SECONDS + $2))
  while port_open "$1"; do
    [ "$SECONDS" -lt "$end" ] || { log "port $1 still open after ${2}s"; return 1; }
    sleep 0.2
  done
}

# stop_pid PID SECONDS: SIGTERM, wait (bounded), then SIGKILL. Only the one
# process id given.
stop_pid() {
  local pid=$1 end=$((SECONDS + ${2:-20}))
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$end" ]; then
      log "pid $pid ignored SIGTERM for ${2:-20}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null; sleep 0.5; break
    fi
    sleep 0.2
  done
}

# Resident set size of PID in KiB (VmRSS from /proc/PID/status).
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# Mean of 3 VmRSS samples 1 s apart (garbage-collected heaps wobble).
rss_kib_settled() {
  local a b c
  a=$(rss_kib "$1"); sleep 1; b=$(rss_kib "$1"); sleep 1; c=$(rss_kib "$1")
  [ -n "$a" ] && [ -n "$b" ] && [ -n "$c" ] || return 1
  echo $(((a + b + c) / 3))
}

# utime + stime of PID (all threads) in clock ticks, from /proc/PID/stat.
# The comm field may contain spaces, so count from the closing parenthesis.
cpu_ticks() {
  local s; s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  # fields after comm: 3=state ... 14=utime 15=stime -> positions 12, 13 here
  set -- $s
  echo $((${12} + ${13}))
}

# Raise this shell's soft limit on open files to the hard limit (capped at
# $1, default 20000). Children inherit it.
raise_nofile() {
  local want=${1:-20000} hard; hard=$(ulimit -Hn)
  if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then want=$hard; fi
  ulimit -n "$want" 2>/dev/null || true
}

# The config file variant a server starts with: "-tls" when USE_TLS=1 (the
# TLS memory phase), "-VARIANT" when VARIANT is set (a feature of
# bench/compare.sh --features: sm, mam, muc), "" for the plain config.
config_suffix() {
  if [ "${USE_TLS:-0}" = 1 ]; then echo -tls
  elif [ -n "${VARIANT:-}" ]; then echo "-$VARIANT"
  fi
}

# Substitute @KEY@ placeholders in template $1 with the values of the shell
# variables named in the remaining arguments; output on stdout.
render() {
  local tmpl=$1; shift
  local args=() k v
  for k in "$@"; do
    v=${!k}
    v=${v//\\/\\\\}; v=${v//|/\\|}; v=${v//&/\\&}
    args+=(-e "s|@$k@|$v|g")
  done
  sed "${args[@]}" "$tmpl"
}
