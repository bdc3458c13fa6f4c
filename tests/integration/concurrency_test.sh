#!/usr/bin/env bash
# Concurrent pipelines. Eight clones each build and push a different environment five times
# to one remote, first a real git server (git daemon on loopback), then the same remote given
# as a path; all 40 changes must be in the final history, exactly once each, and git fsck
# --strict must stay clean. Then builds in one clone at once: they take turns through the
# lock, none fails and the index stays sound, and --lock-timeout gives up naming the holder.
# Run by CTest as concurrency_test.sh SYNOVERLAY SOURCE_DIR SCRATCH_DIR.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

PIPELINES=8
ROUNDS=5
# Eight pipelines pushing five times back to back collide far more often than CI jobs do;
# a pipeline that gives up loses nothing (its commit stays in its clone), but the test wants
# every change on the remote.
TRIES=10

[ -x "$(git --exec-path)/git-daemon" ] || skip "git daemon is not installed (it comes with git)"
command -v python3 >/dev/null || skip "python3 is needed to find a free port"
command -v flock >/dev/null || skip "flock (util-linux) is needed to hold a lock in the test"

# libgit2 looks for a repository in every folder above the one given; the repositories here
# live in a folder that no other repository holds.
WORK="$SCRATCH/work"
if git -C "$SCRATCH" rev-parse --git-dir >/dev/null 2>&1; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/synoverlay-concurrency.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"
export GIT_CEILING_DIRECTORIES="$WORK"

# ---------------------------------------------------------------------------------------
# The git server, started here and always stopped when the script ends.

DAEMON_PID=
stop_daemon() {
  if [ -n "$DAEMON_PID" ]; then
    kill "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
    DAEMON_PID=
  fi
}
trap 'stop_daemon; [ "$WORK" = "$SCRATCH/work" ] || rm -rf "$WORK"' EXIT

# A port nothing listens on now (the kernel's choice, released at once).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# start_daemon BASE: serves the bare repositories in BASE on 127.0.0.1 with pushes allowed.
start_daemon() {
  local attempt
  for attempt in 1 2 3; do
    PORT=$(free_port)
    git daemon --export-all --enable=receive-pack --informative-errors --reuseaddr \
      --base-path="$1" --listen=127.0.0.1 --port="$PORT" "$1" 2>"$WORK/daemon.log" &
    DAEMON_PID=$!
    for _ in $(seq 1 50); do
      if git ls-remote "git://127.0.0.1:$PORT/remote.git" >/dev/null 2>&1; then return 0; fi
      kill -0 "$DAEMON_PID" 2>/dev/null || break
      sleep 0.1
    done
    stop_daemon
  done
  echo "# git daemon did not start:"
  sed 's/^/#   /' "$WORK/daemon.log"
  return 1
}

# ---------------------------------------------------------------------------------------
# Helpers.

# write_env FILE NAME ROUND: an environment whose cortex memory request names the round.
write_env() {
  cat >"$1" <<EOF
name = "$2"
namespace = "synapse-$2"
version = "v2.233.0"

[cortex]
requests = { memory = "$((1000 + $3))Mi" }
EOF
}

# new_remote PATH: a bare repository holding one commit, as a GitOps repository starts.
new_remote() {
  git init -q --bare "$1"
  local seed="$WORK/seed.$$"
  rm -rf "$seed"
  git clone -q "$1" "$seed" 2>/dev/null
  echo "# GitOps repository" >"$seed/README.md"
  git -C "$seed" add README.md
  git -C "$seed" commit -q -m "Start the GitOps repository"
  git -C "$seed" push -q origin main
  rm -rf "$seed"
}

# pipeline URL CLONE INDEX LOG: one CI pipeline, building and pushing its environment ROUNDS
# times, each time with a new value.
pipeline() {
  local url=$1 clone=$2 index=$3 log=$4 round
  git clone -q "$url" "$clone" >>"$log" 2>&1 || return 1
  for round in $(seq 1 "$ROUNDS"); do
    write_env "$clone/env$index.toml" "env$index" "$round"
    echo "== round $round" >>"$log"
    if ! (cd "$clone" && "$SYNOVERLAY" build "env$index.toml" --push --push-retries "$TRIES") \
      >>"$log" 2>&1; then
      echo "== round $round FAILED" >>"$log"
      return 1
    fi
  done
}

# every_change_landed REMOTE: each environment's value of each round is in the history.
every_change_landed() {
  local remote=$1 index round missing=0
  for index in $(seq 1 "$PIPELINES"); do
    local history
    history=$(git -C "$remote" log -p main -- "overlays/env$index/synoverlay-record.toml")
    for round in $(seq 1 "$ROUNDS"); do
      if ! grep -q "^+requests = { cpu = \"500m\", memory = \"$((1000 + round))Mi\" }" \
        <<<"$history"; then
        echo "# env$index: the value of round $round is not in the history"
        missing=$((missing + 1))
      fi
    done
  done
  [ "$missing" -eq 0 ]
}

# run_pipelines LABEL URL REMOTE_PATH: the whole scenario against one remote.
run_pipelines() {
  local label=$1 url=$2 remote=$3 index failed=0 pids=()
  local started=$SECONDS
  for index in $(seq 1 "$PIPELINES"); do
    pipeline "$url" "$WORK/$label/clone$index" "$index" "$WORK/$label/pipeline$index.log" &
    pids+=($!)
  done
  for index in "${!pids[@]}"; do
    if ! wait "${pids[$index]}"; then
      failed=$((failed + 1))
      echo "# $label pipeline $((index + 1)) failed; its log:"
      sed 's/^/#   /' "$WORK/$label/pipeline$((index + 1)).log" | tail -n 20
    fi
  done
  echo "# $label: $PIPELINES pipelines x $ROUNDS rounds took $((SECONDS - started)) s;" \
    "$(cat "$WORK/$label"/pipeline*.log | grep -c 'was rejected') pushes were rejected" \
    "and retried"

  check "$label: every pipeline built and pushed all $ROUNDS rounds" [ "$failed" -eq 0 ]
  check "$label: each of the $((PIPELINES * ROUNDS)) builds was pushed once" \
    [ "$(cat "$WORK/$label"/pipeline*.log | grep -c '^pushed ')" -eq $((PIPELINES * ROUNDS)) ]
  check "$label: the history holds the start and exactly one commit per build" \
    [ "$(git -C "$remote" rev-list --count main)" -eq $((PIPELINES * ROUNDS + 1)) ]
  check "$label: the history is linear (rebuilt, never merged)" \
    [ -z "$(git -C "$remote" rev-list --merges main)" ]
  check "$label: every environment's value of every round is in the history" \
    every_change_landed "$remote"
  check "$label: the final tree holds every environment's last value" \
    bash -c 'for i in $(seq 1 '"$PIPELINES"'); do
      git -C "'"$remote"'" show "main:overlays/env$i/synoverlay-record.toml" |
        grep -q "memory = \"'"$((1000 + ROUNDS))"'Mi\"" || exit 1; done'
  check "$label: git fsck --strict is clean on the remote" \
    git -C "$remote" fsck --strict --no-progress --no-dangling
  check "$label: git fsck --strict is clean in a clone" \
    git -C "$WORK/$label/clone1" fsck --strict --no-progress --no-dangling
}

# ---------------------------------------------------------------------------------------
# 1. A real git server on loopback.

mkdir -p "$WORK/served" "$WORK/daemon"
new_remote "$WORK/served/remote.git"
if start_daemon "$WORK/served"; then
  echo "# git daemon serves $WORK/served on 127.0.0.1:$PORT"
  run_pipelines daemon "git://127.0.0.1:$PORT/remote.git" "$WORK/served/remote.git"
  stop_daemon
else
  not_ok "git daemon started on loopback"
fi

# ---------------------------------------------------------------------------------------
# 2. The same with the remote given as a path: libgit2's local transport would overwrite the
# branch without comparing it, and lose builds; synoverlay compares and swaps it.

mkdir -p "$WORK/path"
new_remote "$WORK/path-remote.git"
run_pipelines path "$WORK/path-remote.git" "$WORK/path-remote.git"

# ---------------------------------------------------------------------------------------
# 3. Builds in one clone at once take turns.

CLONE="$WORK/one-clone"
new_remote "$WORK/one-remote.git"
git clone -q "$WORK/one-remote.git" "$CLONE"
failed=0
for round in 1 2 3 4 5; do
  pids=()
  for index in 1 2 3 4; do
    write_env "$CLONE/env$index.toml" "env$index" "$round"
  done
  for index in 1 2 3 4; do
    (cd "$CLONE" && "$SYNOVERLAY" build "env$index.toml") >"$WORK/one-$round-$index.log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
done
echo "# one clone: $(cat "$WORK"/one-*.log | grep -c 'waiting for the build') builds waited" \
  "for another"
check "one clone: 20 builds, 4 at a time, all succeeded" [ "$failed" -eq 0 ]
check "one clone: each build made its own commit" \
  [ "$(git -C "$CLONE" rev-list --count main)" -eq 21 ]
check "one clone: the index matches HEAD and the work tree (git status is clean)" \
  [ -z "$(git -C "$CLONE" status --porcelain -- base overlays)" ]
check "one clone: git fsck --strict is clean" \
  git -C "$CLONE" fsck --strict --no-progress --no-dangling
check "one clone: no lock is left behind" [ ! -e "$CLONE/.git/synoverlay.lock" ]

# A holder that stays: another build (here a sleep holding the flock on a lock file as
# synoverlay writes it) holds the lock for a while.
hold_lock() {
  local seconds=$1
  (
    printf 'synoverlay lock\npid %s\nhost %s\nsince %s\nstart 0\ncommand %s\n' \
      "$BASHPID" "$(hostname)" "$(date +%s)" "synoverlay build envs/slow.toml" \
      >"$CLONE/.git/synoverlay.lock"
    exec 9<"$CLONE/.git/synoverlay.lock"
    flock 9
    exec sleep "$seconds"
  ) &
  HOLDER=$!
  for _ in $(seq 1 50); do
    if [ -s "$CLONE/.git/synoverlay.lock" ] && ! flock -n "$CLONE/.git/synoverlay.lock" true; then
      break
    fi
    sleep 0.1
  done
}

write_env "$CLONE/env1.toml" env1 6
hold_lock 30
rc=0
(cd "$CLONE" && "$SYNOVERLAY" build env1.toml --lock-timeout 1) >"$WORK/timeout.out" \
  2>"$WORK/timeout.err" || rc=$?
check "lock timeout: exit 3 while another build holds the lock" [ "$rc" -eq 3 ]
check "lock timeout: the message names the holder's pid, host and command" \
  grep -q "another build holds the lock '.*synoverlay.lock': pid $HOLDER on host '$(hostname)' \
('synoverlay build envs/slow.toml'" "$WORK/timeout.err"
check "lock timeout: the hint names --lock-timeout" grep -q -- "--lock-timeout" "$WORK/timeout.err"
check "lock timeout: nothing was committed" \
  [ "$(git -C "$CLONE" rev-list --count main)" -eq 21 ]
kill "$HOLDER" 2>/dev/null || true
wait "$HOLDER" 2>/dev/null || true
rm -f "$CLONE/.git/synoverlay.lock"

hold_lock 5
rc=0
(cd "$CLONE" && "$SYNOVERLAY" build env1.toml --lock-timeout 60) >"$WORK/wait.out" \
  2>"$WORK/wait.err" || rc=$?
wait "$HOLDER" 2>/dev/null || true
check "lock wait: the build waits for the holder, then succeeds" [ "$rc" -eq 0 ]
check "lock wait: it says whom it waits for" \
  grep -q "waiting for the build of pid $HOLDER on host" "$WORK/wait.err"
check "lock wait: it committed" [ "$(git -C "$CLONE" rev-list --count main)" -eq 22 ]

finish
