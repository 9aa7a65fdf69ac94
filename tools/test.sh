#!/bin/sh
# Installs the dependencies, builds, and runs every test (unit tests,
# scenarios, real-client tests) under ctest.
set -eu
cd "$(dirname "$0")/.."
./tools/setup.sh --test
./tools/build.sh
ulimit -n 20000 2>/dev/null || true
ctest --test-dir build --output-on-failure --timeout 900 -j2
