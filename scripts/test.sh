#!/usr/bin/env bash
# Installs what is missing, builds synoverlay with its tests, and runs the whole suite
# (unit tests, golden corpus, integration tests against real git repositories and real
# kubectl kustomize). Then, unless SYNOVERLAY_QUICK=1, each fuzz target for 30 seconds with a
# fixed seed (fuzz/run.sh) and the whole suite again under ASan and UBSan
# (scripts/sanitize.sh). Ends with a CTest-style summary line over everything that ran.
# For quick local runs only, SYNOVERLAY_FUZZ=0 leaves the fuzz targets out (about four
# minutes less from a fresh checkout); CI never sets it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SYNOVERLAY_BUILD_DIR:-$root/build}

"$root/scripts/setup-debian.sh"
cmake -S "$root" -B "$build" -DSYNOVERLAY_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
if [ "${SYNOVERLAY_QUICK:-0}" = 1 ]; then
  exec ctest --output-on-failure -j"$(nproc)" "$@"
fi

# Then the same suite under ASan and UBSan, and each fuzz target for 30 seconds. The last
# line is one CTest-style summary over all three (each fuzz target counts as one test).
logs="$build/test-logs"
mkdir -p "$logs"
ctest --output-on-failure -j"$(nproc)" "$@" 2>&1 | tee "$logs/main.log" || true
# SYNOVERLAY_FUZZ_SEED (default 1) fixes libFuzzer's random choices, so that CI runs alike;
# 0 lets each run explore anew.
fuzz=${SYNOVERLAY_FUZZ:-1}
if [ "$fuzz" = 0 ]; then
  echo "test.sh: SYNOVERLAY_FUZZ=0: the fuzz targets are left out" | tee "$logs/fuzz.log"
else
  SYNOVERLAY_FUZZ_SEED=${SYNOVERLAY_FUZZ_SEED:-1} SYNOVERLAY_FUZZ_BUILD="$build-fuzz" \
    "$root/fuzz/run.sh" 30 2>&1 | tee "$logs/fuzz.log" || true
fi
SYNOVERLAY_SANITIZE_BUILD="$build-sanitize" "$root/scripts/sanitize.sh" "$@" 2>&1 |
  tee "$logs/sanitize.log" || true

# ctest_counts LOG: "FAILED TOTAL" from CTest's summary line, or "1 1" when there is none.
ctest_counts() {
  sed -n 's/^[0-9]*% tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\1 \2/p' \
    "$1" | tail -n 1 | grep . || echo "1 1"
}
read -r main_failed main_total < <(ctest_counts "$logs/main.log")
read -r sanitize_failed sanitize_total < <(ctest_counts "$logs/sanitize.log")
fuzz_total=0
fuzz_failed=0
if [ "$fuzz" != 0 ]; then
  fuzz_total=$(grep -c '^fuzz: running ' "$logs/fuzz.log" || true)
  fuzz_failed=$(grep -c '^fuzz: .* FAILED' "$logs/fuzz.log" || true)
  grep -q '^fuzz: .* targets passed$' "$logs/fuzz.log" || [ "$fuzz_failed" -gt 0 ] ||
    { fuzz_failed=1 && fuzz_total=$((fuzz_total > 0 ? fuzz_total : 1)); }
fi
failed=$((main_failed + sanitize_failed + fuzz_failed))
total=$((main_total + sanitize_total + fuzz_total))
suites="main suite $((main_total - main_failed))/$main_total, sanitizer suite"
suites+=" $((sanitize_total - sanitize_failed))/$sanitize_total"
if [ "$fuzz" != 0 ]; then
  echo "test.sh: $suites, fuzz targets $((fuzz_total - fuzz_failed))/$fuzz_total passed" \
    "(logs in $logs)"
else
  echo "test.sh: $suites passed; fuzz targets left out by SYNOVERLAY_FUZZ=0 (logs in $logs)"
fi
percent=$(((total - failed) * 100 / (total > 0 ? total : 1)))
echo "$percent% tests passed, $failed tests failed out of $total"
[ "$failed" -eq 0 ]
