#!/usr/bin/env bash
# The change made the way people make it today without synoverlay: edit the overlay's patch
# with sed, render the overlay with kubectl kustomize to see that it still builds, git add,
# git commit. Usage: shell_pipeline.sh REPO ENV SED_SCRIPT MESSAGE_FILE [kustomize|none].
# bench/run.sh times this script as a whole, shell start included, since that is what the
# pipeline costs its user.
set -euo pipefail
repo=$1 env=$2 script=$3 message=$4 check=${5:-kustomize}

sed -i -f "$script" "$repo/overlays/$env/cortex.yaml"
if [ "$check" = kustomize ]; then
    kubectl kustomize "$repo/overlays/$env" >/dev/null
fi
git -C "$repo" add "overlays/$env"
git -C "$repo" commit -q -F - <"$message"
