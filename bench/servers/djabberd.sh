# Private djabberd-actors (build/djabberd-actors) for bench/compare.sh.
# Sourced after common.sh. Config (from djabberd.toml.in: auth.static with
# user1..userN, disco, ping, version; log_level warn), data dir and log live
# in $DJABBERD_DIR. DJABBERD_METRICS=false turns the metrics off.

: "${DJABBERD_BIN:=$BENCH_ROOT/build/djabberd-actors}"

djabberd_version() { "$DJABBERD_BIN" --version 2>/dev/null | head -1 || echo "?"; }

# djabberd_prepare DIR PORT DOMAIN NUSERS PASSWORD
djabberd_prepare() {
  DJABBERD_DIR=$1 DJABBERD_PORT=$2
  local DIR=$1 PORT=$2 DOMAIN=$3 n=$4 pw=$5 i
  [ -x "$DJABBERD_BIN" ] || die "$DJABBERD_BIN is missing"
  mkdir -p "$DIR/data"
  for ((i = 1; i <= n; i++)); do
    printf '  user%d = "%s"\n' "$i" "$pw"
  done > "$DIR/users.toml"
  # XEP-0198 is on by default; compare.sh offers it only in its sm feature
  # (as Prosody and ejabberd load their SM modules only there)
  render "$BENCH_SERVERS/djabberd.toml.in" DIR PORT DOMAIN \
    | sed -e "/^@USERS@\$/{r $DIR/users.toml" -e 'd}' \
          -e 's|^starttls = "off".*$|&\nstream_management = false   # XEP-0198 only in the sm feature|' \
    > "$DIR/server.toml"
  # DJABBERD_METRICS=false: counting off (docs/metrics.md), to measure
  # what the metrics cost (bench/RESULTS.md, "Metrics on and off").
  if [ "${DJABBERD_METRICS:-true}" = false ]; then
    sed -i 's|^\[server\]$|&\nmetrics = false             # DJABBERD_METRICS=false|' "$DIR/server.toml"
  fi
  "$DJABBERD_BIN" --config "$DIR/server.toml" --check-config >"$DIR/check.log" 2>&1 \
    || { cat "$DIR/check.log" >&2; die "djabberd-actors --check-config failed"; }
  _djabberd_variants "$DIR"
  # server-tls.toml for the TLS memory phase: the same with STARTTLS
  # (optional; PLAIN is then offered only inside TLS) and the vhost's cert
  if [ -n "${TLS_CERT:-}" ]; then
    cp "$TLS_CERT" "$DIR/tls.crt" && cp "$TLS_KEY" "$DIR/tls.key" && chmod 600 "$DIR/tls.key"
    sed -e 's|^starttls = "off".*$|starttls = "optional"        # TLS phase: STARTTLS, then SASL PLAIN inside TLS|' \
        -e "s|^domain = \"$DOMAIN\"\$|&\ntls_cert = \"$DIR/tls.crt\"\ntls_key  = \"$DIR/tls.key\"|" \
        "$DIR/server.toml" > "$DIR/server-tls.toml"
    "$DJABBERD_BIN" --config "$DIR/server-tls.toml" --check-config >"$DIR/check-tls.log" 2>&1 \
      || { cat "$DIR/check-tls.log" >&2; die "djabberd-actors --check-config (TLS) failed"; }
  fi
}

# server-{sm,mam,muc}.toml for bench/compare.sh --features: the plain config
# (stream_management = false on the listener) plus one feature.
#   sm:  stream_management = true on the listener (XEP-0198 offered)
#   mam: the mam.sqlite plugin at its defaults (DATA/mam.sqlite)
#   muc: the $DJABBERD_MUC_PLUGIN plugin (default muc.sqlite) serving
#        conference.DOMAIN, plus the TOML lines in $DJABBERD_MUC_EXTRA;
#        left out (DJABBERD_HAS_MUC=0) when --check-config refuses it,
#        e.g. on a build without MUC
: "${DJABBERD_MUC_PLUGIN:=muc.sqlite}"
_djabberd_variants() {
  local DIR=$1 f=$1/server.toml
  sed -e 's|^stream_management = false.*$|stream_management = true     # FEATURE sm|' "$f" > "$DIR/server-sm.toml"
  # a new [[vhost.plugin]] after the users table starts the next plugin
  { cat "$f"; printf '  [[vhost.plugin]]             # FEATURE mam\n  type = "mam.sqlite"\n'; } > "$DIR/server-mam.toml"
  # MUC is a service domain of its own (docs/muc.md): conference.DOMAIN.
  local dom
  dom=$(sed -n 's/^domain = "\(.*\)"$/\1/p' "$f" | head -n 1)
  { cat "$f"; printf '\n[[vhost]]                      # FEATURE muc\ndomain = "conference.%s"\n  [[vhost.plugin]]\n  type = "%s"\n' "$dom" "$DJABBERD_MUC_PLUGIN"
    [ -z "${DJABBERD_MUC_EXTRA:-}" ] || printf '%s\n' "$DJABBERD_MUC_EXTRA"; } > "$DIR/server-muc.toml"
  local v
  for v in sm mam; do
    "$DJABBERD_BIN" --config "$DIR/server-$v.toml" --check-config >"$DIR/check-$v.log" 2>&1 \
      || { cat "$DIR/check-$v.log" >&2; die "djabberd-actors --check-config ($v) failed"; }
  done
  DJABBERD_HAS_MUC=1
  if ! "$DJABBERD_BIN" --config "$DIR/server-muc.toml" --check-config >"$DIR/check-muc.log" 2>&1; then
    DJABBERD_HAS_MUC=0
    log "djabberd-actors: no MUC with plugin $DJABBERD_MUC_PLUGIN: $(head -c 300 "$DIR/check-muc.log" | tr '\n' ' ')"
  fi
}

# djabberd_archive_rows: rows of the mam.sqlite archive (mam variant).
djabberd_archive_rows() {
  /usr/bin/python3 - "$DJABBERD_DIR/data/mam.sqlite" <<'PY'
import os, sqlite3, sys
if not os.path.exists(sys.argv[1]):
    print(0)  # nothing archived yet
    sys.exit(0)
try:
    db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'mam_messages'").fetchone():
        print(0)  # the table comes with the first archived message
        sys.exit(0)
    print(db.execute("SELECT COUNT(*) FROM mam_messages").fetchone()[0])
except Exception:
    print("?")
PY
}

djabberd_settings() {
  cat <<EOF
djabberd-actors $(djabberd_version | awk '{print $NF}'): $DJABBERD_DIR/server.toml — plugins disco, ping, version, auth.static (user1..userN);
  log_level = "warn"; listener starttls = "off" (plaintext c2s, SASL PLAIN); auth_fail_limit = 1000000 (throttle of
  failed logins out of the way; it has no other rate limits or shapers); TLS phase: server-tls.toml, the same with
  starttls = "optional" and tls_cert/tls_key (self-signed RSA 2048) in the vhost; stream_management = false;
  features: sm = stream_management = true; mam = mam.sqlite (defaults); muc = $DJABBERD_MUC_PLUGIN (conference.DOMAIN)
EOF
}

djabberd_start() {
  local DIR=$DJABBERD_DIR
  ( raise_nofile 20000
    exec "$DJABBERD_BIN" --config "$DIR/server$(config_suffix).toml" ) >"$DIR/server.log" 2>&1 &
  DJABBERD_PID=$!
  SERVER_PID=$DJABBERD_PID
  wait_port "$DJABBERD_PORT" 30 "$DJABBERD_PID" || { tail -20 "$DIR/server.log" >&2; return 1; }
}

djabberd_stop() {
  [ -n "${DJABBERD_PID:-}" ] || return 0
  stop_pid "$DJABBERD_PID" 20
  wait "$DJABBERD_PID" 2>/dev/null
  DJABBERD_PID=
  wait_port_closed "$DJABBERD_PORT" 10
}
