#!/bin/sh
# Installs the dependencies, builds, and runs every test (unit tests,
# scenarios, real-client tests) under ctest; then the sanitizer stage
# (tools/sanitize.sh: AddressSanitizer + UndefinedBehaviorSanitizer build of
# the unit tests, fuzz corpora and scenarios) with SANITIZE=1 (docs/fuzzing.md).
set -eu
cd "$(dirname "$0")/.."
./tools/setup.sh --test
./tools/build.sh
ulimit -n 20000 2>/dev/null || true
ctest --test-dir build --output-on-failure --timeout 900 -j2
if [ "${SANITIZE:-0}" = 1 ]; then
  ./tools/sanitize.sh address
fi
