#!/usr/bin/env bash
# Installs what is missing, builds synoverlay with its tests, and runs the whole suite
# (unit tests, golden corpus, integration tests against real git repositories and real
# kubectl kustomize). Ends with CTest's summary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SYNOVERLAY_BUILD_DIR:-$root/build}

"$root/scripts/setup-debian.sh"
cmake -S "$root" -B "$build" -DSYNOVERLAY_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -j"$(nproc)" "$@"
