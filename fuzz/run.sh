#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in a build folder of their own and runs each for
# SECONDS (default 30) with ASan, UBSan and leak detection. The seed corpus is copied at run
# time from tests/cases/*.toml and examples/*.toml; what a run learns stays in the corpus
# folder, so later runs start from there. Exits non-zero when a target crashes, hangs,
# leaks or breaks an invariant; the input that did it is kept in artifacts/<target>/ of the
# work folder.
#
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
#   TARGET: load_validate, overlay, diagnostics (default: all three, one after another)
# Environment: SYNOVERLAY_FUZZ_BUILD (build folder, default build-fuzz/ in the project),
# SYNOVERLAY_FUZZ_WORK (corpora and artifacts, default fuzz-work/ in the build folder).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(load_validate overlay diagnostics)
build=${SYNOVERLAY_FUZZ_BUILD:-$root/build-fuzz}
work=${SYNOVERLAY_FUZZ_WORK:-$build/fuzz-work}

die() {
    echo "fuzz: error: $*" >&2
    exit 2
}
case $seconds in '' | *[!0-9]*) die "SECONDS must be a whole number, not '$seconds'" ;; esac
command -v clang++ >/dev/null || die "clang++ is missing; run scripts/setup-debian.sh"

echo "fuzz: building the targets with clang in $build"
mkdir -p "$build"
if ! { CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSYNOVERLAY_FUZZ=ON -DSYNOVERLAY_TESTS=OFF &&
    cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"; } \
    >"$build/fuzz-build.log" 2>&1; then
    cat "$build/fuzz-build.log" >&2
    die "the build failed"
fi

# Seeds: every environment file of the tests and examples. The diagnostics target reads
# its input as fields, not as TOML, but the files still make varied starting points.
seed_corpus() {
    local corpus=$1 file
    mkdir -p "$corpus"
    for file in "$root"/tests/cases/*.toml "$root"/examples/*.toml; do
        [ -f "$file" ] || continue
        cp "$file" "$corpus/seed-$(basename "$file")"
    done
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for target in "${targets[@]}"; do
    binary=$build/fuzz/fuzz_$target
    [ -x "$binary" ] || die "unknown target '$target' (no $binary)"
    corpus=$work/corpus/$target
    artifacts=$work/artifacts/$target/
    seed_corpus "$corpus"
    rm -rf "$artifacts"
    mkdir -p "$artifacts"
    log=$work/$target.log
    echo "fuzz: running $target for ${seconds}s (corpus $corpus)"
    status=0
    # The targets that read TOML get the pieces of its syntax as a dictionary.
    dict=()
    [ "$target" = diagnostics ] || dict=(-dict="$root/fuzz/toml.dict")
    # SYNOVERLAY_FUZZ_SEED fixes libFuzzer's random choices (CI sets it, so that a run is
    # repeatable); unset or 0 lets each run explore anew.
    "$binary" "$corpus" -max_total_time="$seconds" -seed="${SYNOVERLAY_FUZZ_SEED:-0}" \
        "${dict[@]}" -timeout=10 -rss_limit_mb=2048 \
        -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$artifacts" \
        >"$log" 2>&1 || status=$?
    stats=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    if [ "$status" -ne 0 ]; then
        echo "fuzz: $target FAILED (exit $status); the end of its log ($log):"
        tail -n 40 "$log"
        echo "fuzz: the input that failed is kept in $artifacts:"
        find "$artifacts" -type f | sed 's/^/  /'
        failed+=("$target")
    else
        echo "fuzz: $target ok: ${stats:-?} inputs, no crash, hang or leak"
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}"
    exit 1
fi
echo "fuzz: ${#targets[@]} of ${#targets[@]} targets passed"
