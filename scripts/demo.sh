#!/usr/bin/env bash
# Installs what is missing, builds synoverlay, and compiles examples/production.toml into
# a fresh demo GitOps repository (./demo/gitops, or the folder given as $1).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-$root/demo/gitops}

"$root/scripts/setup-debian.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DSYNOVERLAY_TESTS=OFF >/dev/null
cmake --build "$root/build" --target synoverlay -j"$(nproc)" >/dev/null

rm -rf "$target"
echo "demo: compiling examples/production.toml into the new repository $target"
"$root/build/synoverlay" build "$root/examples/production.toml" --repo "$target" --init
echo
echo "demo: the commit:"
git -C "$target" log --stat --format='commit %H%nAuthor: %an <%ae>%n%n%B' -1 | sed 's/^/  /'
if command -v kubectl >/dev/null; then
  objects=$(kubectl kustomize "$target/overlays/production" | grep -c '^kind:')
  echo "demo: 'kubectl kustomize $target/overlays/production' renders $objects objects"
fi
