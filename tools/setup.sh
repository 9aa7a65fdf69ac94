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
  libsqlite3-dev libpq-dev libidn-dev \
  python3 python3-slixmpp \
  postgresql >/dev/null  # a private server for tests/e2e/test_pgsql_*.py
./tools/make-cert.sh localhost config/tls/localhost.crt config/tls/localhost.key
