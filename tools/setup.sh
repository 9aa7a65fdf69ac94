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
  libsqlite3-dev libidn-dev \
  python3 python3-slixmpp >/dev/null
# Federation interop test (tests/e2e/test_s2s_prosody.py) starts its own
# Prosody with a private config; the system service is not wanted.
apt-get install -y -qq --no-install-recommends prosody >/dev/null
if command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now prosody >/dev/null 2>&1 || true
fi
./tools/make-cert.sh localhost config/tls/localhost.crt config/tls/localhost.key
