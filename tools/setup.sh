#!/bin/sh
# Installs the Debian 12 packages djabberd-actors needs to build, run and
# test, and makes the self-signed certificate of the default configuration
# when none exists.
set -eu
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  g++ cmake make pkg-config openssl ca-certificates \
  libcaf-dev libssl-dev libxml2-dev libtomlplusplus-dev libspdlog-dev \
  libsqlite3-dev libpq-dev libidn-dev nlohmann-json3-dev \
  libcrypt-dev libargon2-dev libmariadb-dev libcurl4-openssl-dev \
  libldap-dev libsystemd-dev libhttp-parser-dev libwslay-dev \
  python3 python3-slixmpp >/dev/null
if [ "${1:-}" = "--test" ]; then
  # Test-only peers, started privately by the tests themselves: PostgreSQL
  # (tests/e2e/test_pgsql_*.py), MariaDB (tests/e2e/test_sql_*.py) and
  # Prosody (tests/e2e/test_s2s_prosody.py).
  # Their system services are not wanted (they would take ports 5222/5269,
  # 5432 and 3306), so service start-up is refused while they are installed.
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt-get install -y -qq --no-install-recommends postgresql mariadb-server \
    prosody >/dev/null
  # Prosody's SQLite storage (bench/compare.sh --features mam: mod_mam
  # archives through mod_storage_sql).
  apt-get install -y -qq --no-install-recommends lua-dbi-sqlite3 >/dev/null
  # OpenLDAP's slapd and ldap-utils (tests/e2e/test_ldap_directory.py
  # runs its own slapd; the system one is stopped below).
  apt-get install -y -qq --no-install-recommends slapd ldap-utils >/dev/null
  # The real client libraries of tests/e2e/test_plus_*.py (SCRAM -PLUS
  # interop): gloox and libstrophe (compiled by the tests), aioxmpp,
  # nbxmpp; xmpp.js from npm into tests/e2e/xmppjs/ (pinned by its
  # package-lock.json), when node and npm are there.
  # The Debian package test (tests/e2e/test_package.py): dpkg-shlibdeps
  # for cpack's Depends, systemd-analyze to verify the unit.
  apt-get install -y -qq --no-install-recommends dpkg-dev systemd \
    >/dev/null
  apt-get install -y -qq --no-install-recommends gcc libgloox-dev \
    libstrophe-dev python3-aioxmpp python3-nbxmpp >/dev/null
  # The browser test (tests/e2e/test_websocket_browser.py): headless
  # Chromium runs xmpp.js over WebSocket (RFC 7395).
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
  # The Prometheus text parser of tests/e2e/test_metrics_slixmpp.py
  # (prometheus_client.parser reads what GET /metrics serves).
  apt-get install -y -qq --no-install-recommends python3-prometheus-client \
    >/dev/null
  if command -v npm >/dev/null 2>&1; then
    npm ci --prefix tests/e2e/xmppjs --no-audit --no-fund >/dev/null \
      || echo "setup: npm ci failed; the xmpp.js test will be skipped" >&2
    # xmpp.js's XEP-0114 component (tests/e2e/test_component_xmppjs.py).
    npm ci --prefix tests/e2e/xmppjs-component --no-audit --no-fund \
      >/dev/null || echo "setup: npm ci failed (xmpp.js component)" >&2
  fi
  [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now prosody postgresql mariadb slapd \
      >/dev/null 2>&1 || true
  fi
fi
if [ "${1:-}" = "--fuzz" ]; then
  # bench/fuzz.sh: clang with libFuzzer and the sanitizer runtimes.
  apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev \
    >/dev/null
fi
./tools/make-cert.sh localhost config/tls/localhost.crt config/tls/localhost.key
