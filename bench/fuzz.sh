#!/usr/bin/env bash
# Runs the libFuzzer harnesses of tests/fuzz/ (docs/fuzzing.md).
#
#   bench/fuzz.sh [N] [TARGET...]
#
# Configures build-fuzz/ with clang (-DDJA_FUZZ=ON: libFuzzer, ASan, UBSan),
# builds the fuzz_* harnesses, and runs each TARGET (default: all) for N
# executions (-runs=N, default 10,000,000), starting from the seed corpus in
# tests/fuzz/corpus/<target>/ and keeping what it finds in
# build-fuzz/corpus/<target>/. FUZZ_SECONDS=S caps each target's time
# instead (-max_total_time), FUZZ_JOBS=J runs J targets at once.
# Prints per target: executions, exec/s, crashes (the inputs are in
# build-fuzz/crashes/<target>/; add each as a corpus file named crash-* once
# fixed, so ctest replays it). Exits 1 when anything crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10000000}
[ $# -gt 0 ] && shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/*_fuzz.cpp; do
    t=$(basename "$f" _fuzz.cpp)
    targets+=("$t")
  done
fi
command -v clang++ >/dev/null 2>&1 || {
  echo "bench/fuzz.sh needs clang: tools/setup.sh --fuzz" >&2; exit 2; }
launcher=""
command -v ccache >/dev/null 2>&1 && launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DCMAKE_CXX_COMPILER=clang++ -DDJA_FUZZ=ON $launcher >/dev/null
cmake --build build-fuzz -j"$(nproc)" \
  --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null

limit=(-runs="$runs")
[ -n "${FUZZ_SECONDS:-}" ] && limit+=(-max_total_time="$FUZZ_SECONDS")

run_one() {
  local t=$1 dir=build-fuzz
  mkdir -p "$dir/corpus/$t" "$dir/crashes/$t" "$dir/logs"
  rm -rf "$dir/crashes/$t" && mkdir -p "$dir/crashes/$t"
  local dict=()
  case $t in
    stream_parser|stored_xml|cluster_wire|dialback)
      dict=(-dict=tests/fuzz/xml.dict) ;;
    config) dict=(-dict=tests/fuzz/toml.dict) ;;
  esac
  local start=$SECONDS
  "$dir/tests/fuzz/fuzz_$t" "${limit[@]}" "${dict[@]}" -max_len=4096 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/crashes/$t/" "$dir/corpus/$t" \
    "tests/fuzz/corpus/$t" >"$dir/logs/$t.log" 2>&1 || true
  local execs rate crashes
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/logs/$t.log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/logs/$t.log")
  crashes=$(find "$dir/crashes/$t" -type f | wc -l)
  printf '%-16s executions %12s  exec/s %8s  seconds %6d  crashes %d\n' \
    "$t" "${execs:-?}" "${rate:-?}" $((SECONDS - start)) "$crashes"
}

printf 'fuzzing %s for %s executions each\n' "${targets[*]}" "$runs"
jobs_max=${FUZZ_JOBS:-1}
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
  run_one "$t" &
done
wait
total=$(find build-fuzz/crashes -type f | wc -l)
[ "$total" -eq 0 ] || { echo "$total crashing inputs under build-fuzz/crashes/"; exit 1; }
