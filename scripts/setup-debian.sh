#!/usr/bin/env bash
# Installs what synoverlay needs to build and to run its tests on a Debian 12 machine:
# the compiler and libraries from Debian's packages, and the test-only Node tools pinned
# in tests/node/package-lock.json. Installs only what is missing. Run as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake make pkg-config git python3 dash
          libyaml-cpp-dev libtomlplusplus-dev libgit2-dev libcli11-dev doctest-dev
          nodejs npm
          clang libclang-rt-14-dev                 # fuzz/: clang's libFuzzer and sanitizers
          hyperfine libbenchmark-dev jq time)      # bench/: the timing tools
[ "${SYNOVERLAY_SETUP_EXTRA:-}" ] && read -r -a extra <<<"$SYNOVERLAY_SETUP_EXTRA" &&
  packages+=("${extra[@]}")

missing=()
for package in "${packages[@]}"; do
  # npm may come with Node.js from elsewhere; only ask apt for what no command provides.
  case $package in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d tests/node/node_modules ] || [ tests/node/package-lock.json -nt tests/node/node_modules ]; then
  echo "setup: installing the test tools in tests/node (npm ci)"
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
  touch tests/node/node_modules
fi

if ! command -v kubectl >/dev/null; then
  echo "setup: note: kubectl (1.27 or newer) is not installed; the render tests will be" \
       "reported as skipped. Debian's own kubectl is too old for kustomize v5."
fi
