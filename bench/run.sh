#!/usr/bin/env bash
# Reruns every synoverlay benchmark in one go and writes bench/results/ (git-ignored):
# summary.md and summary.json (the figures against the targets of bench/README.md), one
# hyperfine JSON per scenario, stages.json (Google Benchmark) and machine.txt. Prints the
# summary table at the end.
#
# Usage: bench/run.sh [--quick]
#   --quick   fewer runs and fleets of 10 and 100 only: a smoke test of the script itself,
#             not figures to quote.
# Environment: SYNOVERLAY_BENCH_BUILD (build folder, default build-bench/ in the project),
# SYNOVERLAY_BENCH_DIR (where the scratch repositories go, default $TMPDIR or /tmp; the
# file system matters, see bench/README.md), SYNOVERLAY_BENCH_SIZES (fleet sizes, default
# "10 100 1000").
#
# Timings are never asserted: the script fails only when a scenario cannot run at all.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${SYNOVERLAY_BENCH_BUILD:-$root/build-bench}
results=$root/bench/results
quick=0
[ "${1:-}" = --quick ] && quick=1
sizes=${SYNOVERLAY_BENCH_SIZES:-10 100 1000}
[ "$quick" = 1 ] && sizes=${SYNOVERLAY_BENCH_SIZES:-10 100}

die() {
    echo "bench: error: $*" >&2
    exit 1
}
say() { echo "bench: $*" >&2; }

for tool in hyperfine jq git cmake /usr/bin/time; do
    command -v "$tool" >/dev/null || die "'$tool' is missing; run scripts/setup-debian.sh"
done
have_kubectl=1
command -v kubectl >/dev/null || have_kubectl=0

# --- build ---------------------------------------------------------------------------------
say "building synoverlay and stages_bench (Release) in $build"
mkdir -p "$build"
if ! { cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DSYNOVERLAY_BENCH=ON \
    -DSYNOVERLAY_TESTS=OFF &&
    cmake --build "$build" -j"$(nproc)" --target synoverlay stages_bench; } \
    >"$build/bench-build.log" 2>&1; then
    cat "$build/bench-build.log" >&2
    die "the build failed"
fi
bin=$build/synoverlay
stages=$build/bench/stages_bench

# --- scratch space, with git isolated from the machine's configuration ------------------------
scratch_parent=${SYNOVERLAY_BENCH_DIR:-${TMPDIR:-/tmp}}
work=$(mktemp -d "$scratch_parent/synoverlay-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 HOME=$work/home
mkdir -p "$HOME"
git config --global user.name "Bench Runner"
git config --global user.email "bench@synoverlay.invalid"
git config --global init.defaultBranch main
unset GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL \
    GIT_AUTHOR_DATE GIT_COMMITTER_DATE GIT_DIR GIT_WORK_TREE

rm -rf "$results"
mkdir -p "$results"

# A fleet run can take seconds: hyperfine stops after its 3-second budget once it has the
# minimum number of runs.
one_runs=(--warmup 5 --runs 60)
fleet_runs=(--warmup 1 --min-runs 3 --max-runs 10)
if [ "$quick" = 1 ]; then
    one_runs=(--warmup 2 --runs 10)
    fleet_runs=(--warmup 1 --min-runs 2 --max-runs 3)
fi

# expect_commits REPO BEFORE SCENARIO...: a run that found nothing to commit would measure
# the cheap "up to date" path, so every scenario proves that each of its runs (warmups and
# the memory run included) made a commit.
expect_commits() {
    local repo=$1 before=$2 expected=0 name now
    shift 2
    for name in "$@"; do
        expected=$((expected + $(jq '.results[0].times | length' "$results/$name.json") +
            $(warmups_of "$name") + 1))
    done
    now=$(git -C "$repo" rev-list --count HEAD)
    [ "$now" -eq $((before + expected)) ] ||
        die "$*: expected $expected new commits, found $((now - before)); not every run committed"
}
declare -A warmups
warmups_of() { echo "${warmups[$1]:-0}"; }
commits() { git -C "$1" rev-list --count HEAD; }

# --- inputs --------------------------------------------------------------------------------
# write_env NAME NAMESPACE CORTEX_CPU: examples/production.toml (every key set) with its
# name, namespace and cortex CPU request replaced, on stdout. The CPU request is the value
# that alternates between runs: a change that no guard refuses (a storage size would need
# --accept-storage-growth) and that touches one patch file, as a routine change does.
write_env() {
    awk -v name="$1" -v ns="$2" -v cpu="$3" '
        /^\[/ { section = $0 }
        /^name = / && section == "" { print "name = \"" name "\""; next }
        /^namespace = / && section == "" { print "namespace = \"" ns "\""; next }
        /^requests = / && section == "[cortex]" {
            sub(/cpu = "[^"]*"/, "cpu = \"" cpu "\""); print; next
        }
        { print }
    ' "$root/examples/production.toml"
}

# hyperfine_run NAME [hyperfine options...] COMMAND: one scenario, exported as NAME.json.
order=()
hyperfine_run() {
    local name=$1 arg prev=
    shift
    say "measuring $name"
    order+=("$name")
    warmups[$name]=0
    for arg in "$@"; do
        [ "$prev" = --warmup ] && warmups[$name]=$arg
        prev=$arg
    done
    hyperfine -N --style basic --export-json "$results/$name.json" "$@" \
        >>"$results/hyperfine.log" 2>&1 ||
        die "hyperfine failed for $name (see $results/hyperfine.log)"
}

# peak_rss NAME PREPARE COMMAND...: one more run of COMMAND after PREPARE (a string for
# sh -c), under /usr/bin/time; records the peak resident set size in KiB. For a script this
# is the largest single process it ran (getrusage's RUSAGE_CHILDREN maximum).
declare -A peak
peak_rss() {
    local name=$1 prepare=$2
    shift 2
    sh -c "$prepare"
    /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null 2>&1 ||
        die "the memory run of $name failed: $*"
    peak[$name]=$(tail -n 1 "$work/rss")
}

# --- 1. one environment: validate + generate + commit, a fresh commit every run --------------
mkdir -p "$work/one"
cd "$work/one"
write_env production synapse 2 >env.toml
write_env production synapse 3 >alt.toml
git init -q repo
"$bin" build env.toml --repo repo >/dev/null
swap_one="$root/bench/swap.sh env.toml alt.toml"
before=$(commits repo)
hyperfine_run one_build "${one_runs[@]}" --prepare "$swap_one" "$bin build env.toml --repo repo"
peak_rss one_build "$swap_one" "$bin" build env.toml --repo repo
expect_commits repo "$before" one_build
hyperfine_run one_validate "${one_runs[@]}" "$bin validate env.toml"
peak_rss one_validate true "$bin" validate env.toml

# --- 2. the same change the shell way, with and without the kustomize render check ----------
mkdir -p "$work/shell"
cd "$work/shell"
git init -q repo
write_env production synapse 2 >env.toml
"$bin" build env.toml --repo repo >/dev/null
# The cortex patch holds the request before the limit, so the first match is the request.
echo '0,/"cpu": "2"/s//"cpu": "3"/' >change.sed
echo '0,/"cpu": "3"/s//"cpu": "2"/' >change.alt.sed
echo "production: cortex requests cpu 2 -> 3" >message.txt
echo "production: cortex requests cpu 3 -> 2" >message.alt.txt
swap_shell="$root/bench/swap.sh change.sed change.alt.sed message.txt message.alt.txt"
pipeline=("$root/bench/shell_pipeline.sh" repo production change.sed message.txt)
# The first swap would turn the sed around before the first run; start from the other side.
"$root/bench/swap.sh" change.sed change.alt.sed message.txt message.alt.txt
before=$(commits repo)
if [ "$have_kubectl" = 1 ]; then
    hyperfine_run shell_kustomize "${one_runs[@]}" --prepare "$swap_shell" \
        "bash ${pipeline[*]} kustomize"
    peak_rss shell_kustomize "$swap_shell" bash "${pipeline[@]}" kustomize
else
    say "kubectl is missing: the shell pipeline with its kustomize check is NOT measured"
fi
hyperfine_run shell_plain "${one_runs[@]}" --prepare "$swap_shell" "bash ${pipeline[*]} none"
peak_rss shell_plain "$swap_shell" bash "${pipeline[@]}" none
if [ "$have_kubectl" = 1 ]; then
    expect_commits repo "$before" shell_kustomize shell_plain
else
    expect_commits repo "$before" shell_plain
fi
git -C repo fsck --strict >/dev/null 2>&1 || die "the shell pipeline's repository fails git fsck"

# --- 3. fleets: N environments built and committed in one call, and checked -----------------
has_check=0
# 'check --help' exits 0 even where check is unknown (the top-level help wins), so look at
# the list of subcommands instead.
"$bin" --help | grep -Eq '^ +check( |$)' && has_check=1
[ "$has_check" = 1 ] || say "'synoverlay check' does not exist in this build: check is NOT measured"

for n in $sizes; do
    dir=$work/fleet-$n
    mkdir -p "$dir/fleet" "$dir/fleet.alt"
    cd "$dir"
    files=()
    for i in $(seq 1 "$n"); do
        id=$(printf '%04d' "$i")
        write_env "env-$id" "syn-$id" 2 >"fleet/env-$id.toml"
        write_env "env-$id" "syn-$id" 3 >"fleet.alt/env-$id.toml"
        files+=("fleet/env-$id.toml")
    done
    git init -q repo
    "$bin" build "${files[@]}" --repo repo >/dev/null
    swap_fleet="$root/bench/swap.sh fleet fleet.alt"
    before=$(commits repo)
    hyperfine_run "fleet_build_$n" "${fleet_runs[@]}" --prepare "$swap_fleet" \
        "$bin build ${files[*]} --repo repo"
    peak_rss "fleet_build_$n" "$swap_fleet" "$bin" build "${files[@]}" --repo repo
    expect_commits repo "$before" "fleet_build_$n"
    if [ "$has_check" = 1 ]; then
        # After the memory run the repository holds exactly what fleet/ describes: check
        # finds everything up to date, the common case in CI.
        "$bin" check "${files[@]}" --repo repo >/dev/null ||
            die "synoverlay check of the fleet of $n did not exit 0"
        hyperfine_run "fleet_check_$n" "${fleet_runs[@]}" "$bin check ${files[*]} --repo repo"
        peak_rss "fleet_check_$n" true "$bin" check "${files[@]}" --repo repo
    fi
    git -C repo fsck --strict >/dev/null 2>&1 || die "the fleet repository ($n) fails git fsck"
done

# The largest fleet once more, into an empty repository: every file and object is new.
largest=$(echo "$sizes" | tr ' ' '\n' | sort -n | tail -n 1)
cd "$work/fleet-$largest"
files=()
for i in $(seq 1 "$largest"); do files+=("fleet/env-$(printf '%04d' "$i").toml"); done
fresh="rm -rf fresh && git init -q fresh"
hyperfine_run "fleet_first_build_$largest" --min-runs 3 --max-runs 5 --prepare "sh -c '$fresh'" \
    "$bin build ${files[*]} --repo fresh"
peak_rss "fleet_first_build_$largest" "$fresh" "$bin" build "${files[@]}" --repo fresh
[ "$(commits fresh)" -eq 1 ] || die "the first build of $largest environments made no commit"

# --- 4. the stages, in process ---------------------------------------------------------------
say "running stages_bench (Google Benchmark)"
min_time=0.5
[ "$quick" = 1 ] && min_time=0.05
"$stages" --benchmark_min_time="$min_time" --benchmark_out="$results/stages.json" \
    --benchmark_out_format=json >"$results/stages.txt" 2>&1 || die "stages_bench failed"

# --- 5. machine, summary -------------------------------------------------------------------
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    cpu=$(grep -m 1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
    echo "cpu: $cpu ($(nproc) cores)"
    echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
    echo "kernel: $(uname -r)"
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "scratch file system: $(df -T "$work" | awk 'NR == 2 {print $2}') ($scratch_parent)"
    echo "synoverlay: $("$bin" --version)"
    echo "git: $(git --version)"
    [ "$have_kubectl" = 1 ] &&
        echo "kubectl: $(kubectl version --client 2>/dev/null | tr '\n' ' ')"
    echo "hyperfine: $(hyperfine --version)"
    echo "quick: $quick"
} >"$results/machine.txt"

peak_json=$(for key in "${!peak[@]}"; do echo "$key ${peak[$key]}"; done |
    jq -R -n '[inputs | split(" ") | {(.[0]): (.[1] | tonumber)}] | add')
jq -n --arg sizes "$sizes" --arg quick "$quick" --rawfile machine "$results/machine.txt" \
    '{machine: $machine, quick: ($quick == "1"), sizes: ($sizes | split(" "))}' \
    >"$work/head.json"
# One object per scenario, in the order they ran.
for name in "${order[@]}"; do
    jq --arg name "$name" --argjson peak "$peak_json" '
        def ms: . * 1000 | (. * 100 | round) / 100;
        .results[0] as $r |
        {($name): {median_ms: ($r.median | ms), mean_ms: ($r.mean | ms),
                   stddev_ms: ($r.stddev | ms), min_ms: ($r.min | ms), max_ms: ($r.max | ms),
                   runs: ($r.times | length), peak_rss_kib: $peak[$name]}}' "$results/$name.json"
done | jq -s 'add' >"$work/scenarios.json"
jq -n --slurpfile head "$work/head.json" --slurpfile s "$work/scenarios.json" \
    --slurpfile stages "$results/stages.json" -f "$root/bench/summary.jq" >"$results/summary.json"
jq -r -f "$root/bench/table.jq" "$results/summary.json" >"$results/summary.md"

cat "$results/summary.md"
say "results in $results"
