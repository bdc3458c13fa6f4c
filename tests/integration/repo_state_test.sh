#!/usr/bin/env bash
# Repository states synoverlay does not handle: a detached HEAD, a rebase or a merge in
# progress, an index.lock held by another program, a repository owned by another user, a
# bare repository. Each gets a clear error that says what to do, exit 3, and nothing is
# written: HEAD, the refs, the index and every file stay as they were, with --push too.
# Run by CTest as repo_state_test.sh SYNOVERLAY SOURCE_DIR SCRATCH_DIR.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

WORK="$SCRATCH/work"
if git -C "$SCRATCH" rev-parse --git-dir >/dev/null 2>&1; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/synoverlay-state.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"
export GIT_CEILING_DIRECTORIES="$WORK"
ENV_FILE="$SOURCE_DIR/examples/dev.toml"

# A repository with a remote, one build committed and pushed, and a branch 'other' whose
# change to README.md conflicts with main's.
new_repository() {
  local repo=$1
  rm -rf "$repo" "$repo-remote.git"
  git init -q --bare "$repo-remote.git"
  git clone -q "$repo-remote.git" "$repo" 2>/dev/null
  echo "# GitOps" >"$repo/README.md"
  git -C "$repo" add README.md
  git -C "$repo" commit -q -m "Start"
  (cd "$repo" && "$SYNOVERLAY" build "$ENV_FILE" >/dev/null)
  git -C "$repo" push -q origin main
  git -C "$repo" checkout -q -b other
  echo "# Theirs" >"$repo/README.md"
  git -C "$repo" commit -q -am "Theirs"
  git -C "$repo" checkout -q main
  echo "# Ours" >"$repo/README.md"
  git -C "$repo" commit -q -am "Ours"
  # The environment changes, so a build would commit.
  sed 's/storage = "20Gi"/storage = "20Gi"\nrequests = { memory = "2Gi" }/' "$ENV_FILE" \
    >"$repo/dev.toml"
}

# Everything a build could change: refs, the index, the files of the work tree, the
# git directory's top level. git status runs without refreshing the index.
snapshot() {
  local repo=$1
  (
    cd "$repo"
    export GIT_OPTIONAL_LOCKS=0
    git -c safe.directory='*' for-each-ref --format='%(refname) %(objectname)'
    git -c safe.directory='*' rev-parse HEAD
    git -c safe.directory='*' status --porcelain=v1 --untracked-files=all
    sha1sum .git/index
    ls -a .git
    find . -path ./.git -prune -o -type f -print | sort | xargs sha1sum
  )
}

# refuses NAME REPO EXPECTED ARGS...: the build (with ARGS) exits 3, says EXPECTED, and
# writes nothing.
refuses() {
  local name=$1 repo=$2 expected=$3
  shift 3
  local before after rc=0
  before=$(snapshot "$repo")
  (cd "$repo" && "$SYNOVERLAY" build dev.toml "$@") >"$WORK/out" 2>"$WORK/err" || rc=$?
  after=$(snapshot "$repo")
  check "$name: exit 3" [ "$rc" -eq 3 ]
  check "$name: the error says what to do" grep -qF -- "$expected" "$WORK/err"
  check "$name: nothing was written" [ "$before" = "$after" ]
  check "$name: nothing on stdout" [ ! -s "$WORK/out" ]
  if [ "$rc" -ne 3 ] || ! grep -qF -- "$expected" "$WORK/err"; then
    sed 's/^/#   /' "$WORK/err"
  fi
}

# ---------------------------------------------------------------------------------------
# Detached HEAD.

REPO="$WORK/detached"
new_repository "$REPO"
git -C "$REPO" checkout -q --detach
for push in "" --push; do
  refuses "detached HEAD ${push:-(build)}" "$REPO" \
    "error: cannot build in $REPO: HEAD is detached; check out a branch first, \
e.g. 'git switch main'" \
    $push
done

# ---------------------------------------------------------------------------------------
# A rebase in progress, stopped at a conflict. With --push nothing is fetched either.

REPO="$WORK/rebase"
new_repository "$REPO"
git -C "$REPO" rebase other >/dev/null 2>&1 || true
check "rebase: git really stopped in the middle of the rebase" \
  test -d "$REPO/.git/rebase-merge" -o -d "$REPO/.git/rebase-apply"
for push in "" --push; do
  refuses "rebase in progress ${push:-(build)}" "$REPO" \
    "error: cannot build in $REPO: a rebase is in progress; finish or abort it first \
('git rebase --abort')" \
    $push
done

# ---------------------------------------------------------------------------------------
# A merge in progress, stopped at a conflict.

REPO="$WORK/merge"
new_repository "$REPO"
git -C "$REPO" merge other >/dev/null 2>&1 || true
check "merge: git really stopped in the middle of the merge" test -f "$REPO/.git/MERGE_HEAD"
for push in "" --push; do
  refuses "merge in progress ${push:-(build)}" "$REPO" \
    "error: cannot build in $REPO: a merge is in progress; finish or abort it first \
('git merge --abort')" \
    $push
done

# ---------------------------------------------------------------------------------------
# An index.lock held by another program: one that keeps it open, and one that left it
# behind an hour ago. Neither is synoverlay's to remove, also when a stale synoverlay lock
# is found beside it.

REPO="$WORK/index-lock"
new_repository "$REPO"
LOCK_TEXT="the lock file '$REPO/.git/index.lock' exists: another git process is running in this \
repository, or one crashed and left the file behind (delete it if no git process is running)"
# The holder is the sleep itself, so killing it frees the lock and leaves no process behind.
(
  exec 9>"$REPO/.git/index.lock"
  flock 9
  exec sleep 60
) &
HOLDER=$!
for _ in $(seq 1 50); do [ -e "$REPO/.git/index.lock" ] && break; sleep 0.1; done
for push in "" --push; do
  refuses "index.lock held open ${push:-(build)}" "$REPO" "$LOCK_TEXT" $push
done
check "index.lock held open: the other program's lock is still there" \
  test -e "$REPO/.git/index.lock"
kill "$HOLDER" 2>/dev/null || true
wait "$HOLDER" 2>/dev/null || true

touch -d '1 hour ago' "$REPO/.git/index.lock"
refuses "index.lock left an hour ago" "$REPO" "$LOCK_TEXT"

# A stale synoverlay lock (its process is gone) next to the old index.lock: the stale lock
# goes, the index.lock stays, since it is older than the dead build.
sleep 30 &
DEAD=$!
kill "$DEAD" && wait "$DEAD" 2>/dev/null || true
printf 'synoverlay lock\npid %s\nhost %s\nsince %s\nstart 0\ncommand synoverlay build x.toml\n' \
  "$DEAD" "$(hostname)" "$(date +%s)" >"$REPO/.git/synoverlay.lock"
rc=0
(cd "$REPO" && "$SYNOVERLAY" build dev.toml) >"$WORK/out" 2>"$WORK/err" || rc=$?
check "stale lock beside an old index.lock: exit 3" [ "$rc" -eq 3 ]
check "stale lock beside an old index.lock: the stale lock is removed, and said so" \
  grep -q "removed the stale lock '$REPO/.git/synoverlay.lock': synoverlay pid $DEAD on host" \
  "$WORK/err"
check "stale lock beside an old index.lock: the index.lock is not synoverlay's to remove" \
  test -e "$REPO/.git/index.lock"
check "stale lock beside an old index.lock: the error names the index.lock" \
  grep -qF "$LOCK_TEXT" "$WORK/err"
rm -f "$REPO/.git/index.lock"
rc=0
(cd "$REPO" && "$SYNOVERLAY" build dev.toml) >"$WORK/out" 2>"$WORK/err" || rc=$?
check "index.lock gone: the build succeeds" [ "$rc" -eq 0 ]

# ---------------------------------------------------------------------------------------
# A repository owned by another user. libgit2 refuses it as git does; only root can make
# one here.

if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1; then
  REPO="$WORK/foreign"
  new_repository "$REPO"
  chown -R nobody "$REPO"
  refuses "owned by another user" "$REPO" \
    "the repository '$REPO' belongs to user 'nobody' (uid $(id -u nobody)), and git refuses to \
work in another user's repository"
  check "owned by another user: the error names git's safe.directory remedy" \
    grep -qF "git config --global --add safe.directory $REPO" "$WORK/err"
  check "owned by another user: no hint to create a repository" \
    bash -c "! grep -q 'git init' '$WORK/err'"
  git config --global --add safe.directory "$REPO"
  rc=0
  (cd "$REPO" && "$SYNOVERLAY" build dev.toml) >"$WORK/out" 2>"$WORK/err" || rc=$?
  check "owned by another user: marked safe, the build succeeds" [ "$rc" -eq 0 ]
  git config --global --unset-all safe.directory
else
  echo "# skip: 'owned by another user' needs root (to chown to nobody); running as $(id -un)"
fi

# ---------------------------------------------------------------------------------------
# A bare repository has no work tree; --init cannot help either.

git init -q --bare "$WORK/bare.git"
for init in "" --init; do
  rc=0
  "$SYNOVERLAY" build "$ENV_FILE" --repo "$WORK/bare.git" $init >"$WORK/out" 2>"$WORK/err" ||
    rc=$?
  check "bare repository ${init:-(build)}: exit 3" [ "$rc" -eq 3 ]
  check "bare repository ${init:-(build)}: says it is bare" \
    grep -qF "synoverlay: error: '$WORK/bare.git' is a bare repository; synoverlay needs one \
with a work tree" "$WORK/err"
  check "bare repository ${init:-(build)}: nothing was written" \
    [ -z "$(git -C "$WORK/bare.git" for-each-ref)" -a ! -e "$WORK/bare.git/.git" ]
done

finish
