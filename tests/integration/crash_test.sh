#!/usr/bin/env bash
# Builds killed with SIGKILL at random moments, over a hundred times. After every kill the
# repository must be fsck-clean and HEAD either the commit before the build or the build's
# complete commit; the next build, without --force, must succeed (removing the lock the
# killed build left, and repairing the work tree) and leave the work tree matching HEAD.
# Run by CTest as crash_test.sh SYNOVERLAY SOURCE_DIR SCRATCH_DIR.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

KILLS=${SYNOVERLAY_CRASH_KILLS:-105}
ENVIRONMENTS=12  # enough that a changed fleet is written as a pack, not as loose objects

WORK="$SCRATCH/work"
if git -C "$SCRATCH" rev-parse --git-dir >/dev/null 2>&1; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/synoverlay-crash.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"
export GIT_CEILING_DIRECTORIES="$WORK"
REPO="$WORK/gitops"

# set_inputs VALUE: every environment's cortex memory request becomes VALUE Mi.
set_inputs() {
  local index
  for index in $(seq -w 1 "$ENVIRONMENTS"); do
    cat >"$REPO/envs/e$index.toml" <<EOF
name = "e$index"
namespace = "synapse-e$index"
version = "v2.233.0"

[cortex]
requests = { memory = "$1Mi" }
EOF
  done
}

build() { (cd "$REPO" && "$SYNOVERLAY" build envs/*.toml "$@"); }

now_ms() { date +%s%3N; }

git init -q "$REPO"
mkdir -p "$REPO/envs"
echo "# GitOps" >"$REPO/README.md"
git -C "$REPO" add README.md
git -C "$REPO" commit -q -m "Start"
set_inputs 1000
build >/dev/null

# How long a build that changes every environment takes here (the shortest of three), so
# the kills spread over all of it.
DURATION=
for value in 1001 1002 1003; do
  set_inputs "$value"
  started=$(now_ms)
  build >/dev/null
  took=$(($(now_ms) - started))
  [ -n "$DURATION" ] && [ "$DURATION" -le "$took" ] || DURATION=$took
done
echo "# a build of $ENVIRONMENTS environments takes about $DURATION ms here"

# Milliseconds until the kill: anywhere from the start to the end of a build.
pick_delay() { echo $(((RANDOM * 32768 + RANDOM) % (DURATION + 1))); }

fsck_failures=0 head_failures=0 next_failures=0 status_failures=0 uptodate_failures=0
garbage_failures=0
lock_failures=0 killed_before=0 killed_after=0 finished=0
stale_locks=0 repairs=0 git_locks=0
report() { # what, details
  echo "# kill $kill: $1"
  [ -z "${2:-}" ] || sed 's/^/#   /' <<<"$2" | head -n 8
}

for kill in $(seq 1 "$KILLS"); do
  old=$(git -C "$REPO" rev-parse HEAD)
  value=$((value + 1))
  set_inputs "$value"

  # exec: the process killed is synoverlay itself, not a shell around it.
  (cd "$REPO" && exec "$SYNOVERLAY" build envs/*.toml) >"$WORK/killed.out" 2>&1 &
  pid=$!
  delay=$(pick_delay)
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -KILL "$pid" 2>/dev/null || true
  status=0
  wait "$pid" 2>/dev/null || status=$?

  fsck=$(git -C "$REPO" fsck --strict --no-progress --no-dangling 2>&1) ||
    { fsck_failures=$((fsck_failures + 1)); report "git fsck failed" "$fsck"; }

  head=$(git -C "$REPO" rev-parse HEAD)
  if [ "$head" = "$old" ]; then
    if [ "$status" -eq 0 ]; then
      head_failures=$((head_failures + 1))
      report "the build finished, yet HEAD did not move"
    fi
    killed_before=$((killed_before + 1))
  elif [ "$(git -C "$REPO" rev-parse HEAD^)" = "$old" ] &&
    git -C "$REPO" log -1 --format=%s | grep -q "^synoverlay: build $ENVIRONMENTS environments"
  then
    if [ "$status" -eq 0 ]; then
      finished=$((finished + 1))
    else
      killed_after=$((killed_after + 1))
    fi
  else
    head_failures=$((head_failures + 1))
    report "HEAD is neither the old commit nor the build's" "$(git -C "$REPO" log --oneline -3)"
  fi

  # Every third time the next build has new input; otherwise it repeats the killed one,
  # as a pipeline's retry does.
  if ((kill % 3 == 0)); then
    value=$((value + 1))
    set_inputs "$value"
  fi
  moved=$(git -C "$REPO" rev-parse HEAD)
  if ! build >"$WORK/next.out" 2>"$WORK/next.err"; then
    next_failures=$((next_failures + 1))
    report "the next build failed" "$(cat "$WORK/next.err")"
    build --force >/dev/null 2>&1 || true
  fi
  grep -q "removed the stale lock" "$WORK/next.err" && stale_locks=$((stale_locks + 1))
  grep -q "was interrupted after it moved the branch" "$WORK/next.err" && repairs=$((repairs + 1))
  grep -q "left behind by the interrupted build" "$WORK/next.err" && git_locks=$((git_locks + 1))

  porcelain=$(git -C "$REPO" status --porcelain -- base overlays)
  if [ -n "$porcelain" ]; then
    status_failures=$((status_failures + 1))
    report "the work tree does not match HEAD after the next build" "$porcelain"
    git -C "$REPO" checkout -q -- base overlays 2>/dev/null || true
  fi
  # A commit that the killed build completed is the one the same input gives.
  if [ "$moved" != "$old" ] && ((kill % 3 != 0)) &&
    [ "$(git -C "$REPO" rev-parse HEAD)" != "$moved" ]; then
    uptodate_failures=$((uptodate_failures + 1))
    report "the killed build's commit was not what its input gives"
  fi
  if ! build --dry-run 2>&1 | grep -q "^dry run: up to date"; then
    uptodate_failures=$((uptodate_failures + 1))
    report "after the next build, a dry run still finds changes"
  fi
  if [ -e "$REPO/.git/synoverlay.lock" ] || [ -e "$REPO/.git/index.lock" ]; then
    lock_failures=$((lock_failures + 1))
    report "a lock file is left after the next build"
  fi
  leftovers=$(find "$REPO" -name '*.synoverlay-tmp' -o -name 'tmp_object_git2_*' \
    -o -name 'pack_git2_*')
  if [ -n "$leftovers" ]; then
    garbage_failures=$((garbage_failures + 1))
    report "temporary files are left after the next build" "$leftovers"
  fi
done

echo "# $KILLS kills: $killed_before before the branch moved, $killed_after after it," \
  "$finished after the build had finished"
echo "# the next build removed $stale_locks stale locks and $git_locks git lock files," \
  "and finished $repairs interrupted work tree updates"

check "after each of $KILLS kills, git fsck --strict is clean" [ "$fsck_failures" -eq 0 ]
check "after each kill, HEAD is the old commit or the build's new one" [ "$head_failures" -eq 0 ]
check "after each kill, the next build without --force succeeds" [ "$next_failures" -eq 0 ]
check "after each next build, git status is clean for base/ and overlays/" \
  [ "$status_failures" -eq 0 ]
check "after each next build, the commit is what the input gives" [ "$uptodate_failures" -eq 0 ]
check "after each next build, no lock file is left" [ "$lock_failures" -eq 0 ]
check "after each next build, no temporary file is left (work tree, objects, packs)" \
  [ "$garbage_failures" -eq 0 ]
check "git count-objects finds no garbage" \
  test "$(git -C "$REPO" count-objects -v | sed -n 's/^garbage: //p')" = 0
check "some kills landed before the branch moved" [ "$killed_before" -gt 0 ]
check "some kills landed after the branch moved" [ "$killed_after" -gt 0 ]
check "some kills left a stale lock, which the next build removed" [ "$stale_locks" -gt 0 ]

finish
