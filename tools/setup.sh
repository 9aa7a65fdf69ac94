#!/bin/sh
# Installs the Debian 12 packages djabberd-actors needs to build, run and test.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  g++ cmake make pkg-config \
  libcaf-dev libssl-dev libxml2-dev libtomlplusplus-dev libspdlog-dev \
  libsqlite3-dev libidn-dev \
  python3 python3-slixmpp >/dev/null
