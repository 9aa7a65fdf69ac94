#!/bin/sh
# The sanitizer builds (docs/fuzzing.md):
#
#   tools/sanitize.sh address   build-asan/: ASan + UBSan, -O1; runs the
#                               unit tests, the fuzz corpus replays and the
#                               scenarios (the server of build-asan/), not
#                               the slow real-client e2e tests
#   tools/sanitize.sh thread    build-tsan/: ThreadSanitizer; runs the unit
#                               tests (CAF's actors) with
#                               tests/tsan.supp
#
# Every report stops the process that made it (halt_on_error); reports of
# the server processes the scenarios start go to build-*/sanitizer/, and any
# file there fails the stage. Extra arguments go to ctest (e.g. -R jid).
set -eu
cd "$(dirname "$0")/.."
kind=${1:-address}
[ $# -gt 0 ] && shift
launcher=""
if command -v ccache >/dev/null 2>&1; then
  launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
fi
case $kind in
  address) dir=build-asan; sanitize=address,undefined
           tests='-E ^e2e_' ;;
  thread)  dir=build-tsan; sanitize=thread
           tests='-E ^(e2e_|scenarios$|fuzz_corpus_)' ;;
  *) echo "usage: tools/sanitize.sh address|thread [ctest args]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DDJA_SANITIZE="$sanitize" \
  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" $launcher >/dev/null
cmake --build "$dir" -j"$(nproc)"
reports="$PWD/$dir/sanitizer"
rm -rf "$reports" && mkdir -p "$reports"
common="halt_on_error=1:print_stacktrace=1:log_path=$reports/report"
export ASAN_OPTIONS="$common:detect_leaks=1:abort_on_error=0"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="$common"
export TSAN_OPTIONS="$common:suppressions=$PWD/tests/tsan.supp:second_deadlock_stack=1"
ulimit -n 20000 2>/dev/null || true
status=0
# shellcheck disable=SC2086
ctest --test-dir "$dir" --output-on-failure --timeout 900 -j2 $tests "$@" \
  || status=1
if [ -n "$(ls -A "$reports")" ]; then
  echo "sanitizer reports:" >&2
  for f in "$reports"/*; do echo "== $f" >&2; cat "$f" >&2; done
  status=1
fi
exit $status
