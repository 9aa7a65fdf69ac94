# Private djabberd-actors (build/djabberd-actors) for bench/compare.sh.
# Sourced after common.sh. Config (from djabberd.toml.in: auth.static with
# user1..userN, disco, ping, version; log_level warn), data dir and log live
# in $DJABBERD_DIR.

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
  render "$BENCH_SERVERS/djabberd.toml.in" DIR PORT DOMAIN \
    | sed -e "/^@USERS@\$/{r $DIR/users.toml" -e 'd}' > "$DIR/server.toml"
  "$DJABBERD_BIN" --config "$DIR/server.toml" --check-config >"$DIR/check.log" 2>&1 \
    || { cat "$DIR/check.log" >&2; die "djabberd-actors --check-config failed"; }
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

djabberd_settings() {
  cat <<EOF
djabberd-actors $(djabberd_version | awk '{print $NF}'): $DJABBERD_DIR/server.toml — plugins disco, ping, version, auth.static (user1..userN);
  log_level = "warn"; listener starttls = "off" (plaintext c2s, SASL PLAIN); auth_fail_limit = 1000000 (throttle of
  failed logins out of the way; it has no other rate limits or shapers); TLS phase: server-tls.toml, the same with
  starttls = "optional" and tls_cert/tls_key (self-signed RSA 2048) in the vhost
EOF
}

djabberd_start() {
  local DIR=$DJABBERD_DIR
  ( raise_nofile 20000
    exec "$DJABBERD_BIN" --config "$DIR/server$( [ "${USE_TLS:-0}" = 1 ] && echo -tls).toml" ) >"$DIR/server.log" 2>&1 &
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
