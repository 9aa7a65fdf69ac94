# Private Prosody (Debian package `prosody`, 0.12) for bench/compare.sh.
# Sourced after common.sh. Everything lives in $PROSODY_DIR; the system
# service and /etc/prosody are not used.
#
# Accounts are written straight into the data dir in Prosody's "internal"
# storage format (util.datamanager: one Lua file per user,
#   DATA/<host>/accounts/<user>.dat  containing  return { ... };
# host and user names are %-encoded, which "localhost" and "userN" don't need):
#   PROSODY_AUTH=plain  (default) authentication = "internal_plain",
#                       file: return { ["password"] = "pw"; };
#                       The same work per login as ejabberd's default
#                       (auth_password_format: plain) and auth.static here.
#   PROSODY_AUTH=hashed authentication = "internal_hashed" (Debian's default):
#                       SCRAM-SHA-1 keys, 10,000 PBKDF2 iterations (Prosody
#                       0.12's default), one salt shared by all users; every
#                       SASL PLAIN login then runs PBKDF2, which dominates
#                       Prosody's logins/s.
# prosodyctl register would do the same at about one process per user.
#
# Prosody refuses to run as root properly, so it runs as user prosody
# (setpriv execs in place: the pid we get is the Lua process itself).

: "${PROSODY_AUTH:=plain}"

prosody_version() { cat /usr/lib/prosody/prosody.version 2>/dev/null || echo "?"; }

# prosody_prepare DIR PORT DOMAIN NUSERS PASSWORD
prosody_prepare() {
  PROSODY_DIR=$1 PROSODY_PORT=$2
  local DIR=$1 PORT=$2 DOMAIN=$3 n=$4 pw=$5 AUTH
  command -v prosody >/dev/null || die "prosody is not installed"
  case $PROSODY_AUTH in
    plain) AUTH=internal_plain ;;
    hashed) AUTH=internal_hashed ;;
    *) die "PROSODY_AUTH must be plain or hashed" ;;
  esac
  mkdir -p "$DIR/data" "$DIR/certs"   # certs: only so certmanager has a dir to index
  render "$BENCH_SERVERS/prosody.cfg.lua.in" DIR PORT DOMAIN AUTH > "$DIR/prosody.cfg.lua"

  local host_enc=${DOMAIN//./%2e} acc
  host_enc=${host_enc//-/%2d}
  acc="$DIR/data/$host_enc/accounts"
  mkdir -p "$acc"
  local entry
  if [ "$PROSODY_AUTH" = plain ]; then
    entry=$(printf 'return {\n\t["password"] = "%s";\n};\n' "$pw")
  else
    entry=$(/usr/bin/python3 - "$pw" <<'PY'
import hashlib, hmac, sys, uuid
pw, salt, it = sys.argv[1].encode(), str(uuid.uuid4()), 10000
salted = hashlib.pbkdf2_hmac("sha1", pw, salt.encode(), it)
client_key = hmac.new(salted, b"Client Key", hashlib.sha1).digest()
stored = hashlib.sha1(client_key).hexdigest()
server = hmac.new(salted, b"Server Key", hashlib.sha1).hexdigest()
print('return {\n\t["iteration_count"] = %d;\n\t["salt"] = "%s";\n'
      '\t["server_key"] = "%s";\n\t["stored_key"] = "%s";\n};' % (it, salt, server, stored))
PY
)
  fi
  local i
  for ((i = 1; i <= n; i++)); do
    printf '%s\n' "$entry" > "$acc/user$i.dat"
  done
  # prosody-tls.cfg.lua for the TLS memory phase: mod_tls, STARTTLS required,
  # PLAIN only inside TLS, the certificate in DIR/certs (owned by prosody)
  if [ -n "${TLS_CERT:-}" ]; then
    cp "$TLS_CERT" "$DIR/certs/$DOMAIN.crt" && cp "$TLS_KEY" "$DIR/certs/$DOMAIN.key"
    chmod 600 "$DIR/certs/$DOMAIN.key"
    sed -e 's|^c2s_require_encryption = false.*$|c2s_require_encryption = true               -- TLS phase: STARTTLS first|' \
        -e 's|^allow_unencrypted_plain_auth = true.*$|allow_unencrypted_plain_auth = false        -- TLS phase: PLAIN inside TLS only|' \
        -e 's|^modules_enabled = { "roster"; "saslauth";|& "tls";|' \
        -e "s|^VirtualHost \"$DOMAIN\"\$|ssl = { certificate = \"$DIR/certs/$DOMAIN.crt\"; key = \"$DIR/certs/$DOMAIN.key\"; }\n&|" \
        "$DIR/prosody.cfg.lua" > "$DIR/prosody-tls.cfg.lua"
  fi
  _prosody_variants "$DIR" "$DOMAIN"
  chmod 755 "$DIR"
  chown -R prosody:prosody "$DIR"
  timeout 30 prosodyctl --config "$DIR/prosody.cfg.lua" check config >"$DIR/check.log" 2>&1 \
    || { cat "$DIR/check.log" >&2; die "prosodyctl check config failed"; }
}

# prosody-{sm,mam,muc}.cfg.lua for bench/compare.sh --features: the plain
# config plus one feature, with the settings a deployment would use.
#   sm:  mod_smacks at its defaults (acks requested by the server)
#   mam: mod_mam, default_archive_policy = true (every chat message archived
#        for both users), archive_expires_after = "1w", archives in SQLite
#        (mod_storage_sql, lua-dbi-sqlite3: DATA/prosody.sqlite); the
#        accounts stay in the internal files
#   muc: Component "conference.DOMAIN" "muc" at its defaults, with the
#        live-room cache above the benchmark's room count
_prosody_variants() {
  local DIR=$1 DOMAIN=$2 f=$1/prosody.cfg.lua
  sed -e 's|^modules_enabled = { "roster";|& "smacks";|' "$f" > "$DIR/prosody-sm.cfg.lua"
  sed -e 's|^modules_enabled = { "roster";|& "mam";|' \
      -e 's|^storage = "internal"$|storage = { archive = "sql" }               -- FEATURE mam: archives in SQLite, accounts stay internal\
sql = { driver = "SQLite3"; database = "prosody.sqlite" }\
archive_expires_after = "1w"\
default_archive_policy = true               -- FEATURE mam: archive every chat message|' \
      "$f" > "$DIR/prosody-mam.cfg.lua"
  { cat "$f"
    printf '\nComponent "conference.%s" "muc"           -- FEATURE muc\n' "$DOMAIN"
    printf '  muc_room_cache_size = 100000           -- FEATURE muc: default 100 live rooms\n'
  } > "$DIR/prosody-muc.cfg.lua"
}

# prosody_archive_rows: rows in the SQLite archive of the mam variant.
prosody_archive_rows() {
  /usr/bin/python3 - "$PROSODY_DIR/data/prosody.sqlite" <<'PY'
import os, sqlite3, sys
if not os.path.exists(sys.argv[1]):
    print(0)  # nothing archived yet
    sys.exit(0)
try:
    db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'prosodyarchive'").fetchone():
        print(0)  # the table comes with the first archived message
        sys.exit(0)
    print(db.execute("SELECT COUNT(*) FROM prosodyarchive WHERE store = 'archive'").fetchone()[0])
except Exception as e:
    print("?")
PY
}

prosody_settings() {
  cat <<EOF
Prosody $(prosody_version): $PROSODY_DIR/prosody.cfg.lua — authentication = internal_$PROSODY_AUTH (accounts written as util.datamanager files);
  limits = {} and mod_limits not loaded; network_settings.tcp_backlog = 1024; c2s_timeout = 300 (default);
  c2s_require_encryption = false, allow_unencrypted_plain_auth = true; log: warn to file;
  TLS phase: prosody-tls.cfg.lua, the same with mod_tls and ssl = { certificate, key } (self-signed RSA 2048),
  c2s_require_encryption = true, allow_unencrypted_plain_auth = false;
  modules: roster saslauth disco ping version (+ autoloaded presence message iq c2s posix); s2s, offline disabled; run as user prosody;
  features: sm = mod_smacks (defaults); mam = mod_mam, default_archive_policy = true, archive_expires_after = "1w",
  storage = { archive = "sql" } on SQLite; muc = Component "conference.DOMAIN" "muc" (defaults, muc_room_cache_size = 100000)
EOF
}

prosody_start() {
  local DIR=$PROSODY_DIR
  [ "$(id -u)" = 0 ] || die "run as root (Prosody must be started as user prosody)"
  ( raise_nofile 20000
    exec setpriv --reuid=prosody --regid=prosody --init-groups -- \
      prosody --config "$DIR/prosody$(config_suffix).cfg.lua" -F ) >"$DIR/stdout.log" 2>&1 &
  PROSODY_PID=$!
  SERVER_PID=$PROSODY_PID
  wait_port "$PROSODY_PORT" 60 "$PROSODY_PID" \
    || { tail -20 "$DIR/stdout.log" "$DIR/prosody.log" >&2; return 1; }
}

prosody_stop() {
  [ -n "${PROSODY_PID:-}" ] || return 0
  stop_pid "$PROSODY_PID" 20
  wait "$PROSODY_PID" 2>/dev/null
  PROSODY_PID=
  wait_port_closed "$PROSODY_PORT" 10
}
