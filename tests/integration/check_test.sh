#!/usr/bin/env bash
# Integration tests of 'synoverlay check' and 'synoverlay remove': the real binary against
# real temporary git repositories, checked with the git command line. Run by CTest as
#   check_test.sh SYNOVERLAY SOURCE_DIR SCRATCH_DIR
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# The repositories must lie outside every other repository: libgit2 searches upwards.
WORK="$SCRATCH/work"
mkdir -p "$WORK"
if git -C "$WORK" rev-parse --git-dir >/dev/null 2>&1; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/synoverlay-check-test.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi
export GIT_CEILING_DIRECTORIES="$WORK"
echo "# working in $WORK"

OUT="$WORK/stdout"
ERR="$WORK/stderr"

# run COMMAND...: run, from $WORK.
run() { run_in "$WORK" "$@"; }

# state REPO: HEAD, the index and the work tree, to prove a command changed nothing.
state() {
  git -C "$1" rev-parse HEAD
  git -C "$1" status --porcelain --untracked-files=all
  git -C "$1" ls-files -s | git hash-object --stdin
  (cd "$1" && find . -path ./.git -prune -o -type f -print0 | sort -z | xargs -0 sha1sum)
}

commit_all() { git -C "$1" add -A && git -C "$1" commit -q -m "$2"; }

cat >"$WORK/dev.toml" <<'EOF'
# dev: small, no Optic
name = "dev"
namespace = "synapse-dev"
version = "v2.233.0"

[cortex]
storage = "20Gi"
EOF
cat >"$WORK/staging.toml" <<'EOF'
name = "staging"
namespace = "synapse-staging"
version = "v2.233.0"

[gitops]
engine = "flux"
repo_url = "ssh://git@git.example.com/gitops.git"
EOF
git init -q "$WORK/repo"

# ---------------------------------------------------------------------------------------
echo "# check after a build"

run "$SYNOVERLAY" build dev.toml staging.toml --repo repo
expect_rc 0 "build dev and staging"
HEAD=$(git -C "$WORK/repo" rev-parse --short=12 HEAD)

run "$SYNOVERLAY" check dev.toml staging.toml --repo repo
expect_rc 0 "check right after the build"
expect "check says what is up to date" same_text "$OUT" \
  "up to date: base/, overlays/dev, overlays/staging match HEAD ($HEAD)"
expect "check prints no diagnostics" test ! -s "$ERR"

# Uncommitted edits do not count: the check compares with HEAD, not the work tree.
echo "# uncommitted" >>"$WORK/repo/overlays/dev/cortex.yaml"
BEFORE=$(state "$WORK/repo")
run "$SYNOVERLAY" check dev.toml staging.toml --repo repo
expect_rc 0 "check ignores uncommitted edits of the work tree"
expect "check writes nothing" test "$BEFORE" = "$(state "$WORK/repo")"
git -C "$WORK/repo" checkout -q -- overlays/dev/cortex.yaml

# The check reads HEAD also when it is detached, as in a pull request's checkout.
git -C "$WORK/repo" checkout -q --detach
run "$SYNOVERLAY" check dev.toml staging.toml --repo repo
expect_rc 0 "check on a detached HEAD"
git -C "$WORK/repo" checkout -q -

# From inside the repository, without --repo, with the files given from elsewhere.
RC=0
(cd "$WORK/repo" && "$SYNOVERLAY" check ../dev.toml ../staging.toml) >"$OUT" 2>"$ERR" || RC=$?
expect_rc 0 "check from inside the repository"

# ---------------------------------------------------------------------------------------
echo "# a hand edit of a committed overlay file"

sed -i 's/"memory": "4Gi"/"memory": "6Gi"/' "$WORK/repo/overlays/dev/cortex.yaml"
commit_all "$WORK/repo" "edit the cortex limit by hand"
BEFORE=$(state "$WORK/repo")
run "$SYNOVERLAY" check dev.toml staging.toml --repo repo
expect_rc 1 "check finds the hand edit"
expect "the diff turns HEAD into the generated file" same_text "$OUT" \
'--- a/overlays/dev/cortex.yaml
+++ b/overlays/dev/cortex.yaml
@@ -15,4 +15,4 @@
               "memory": "1Gi"
             "limits":
               "cpu": "2"
-              "memory": "6Gi"
+              "memory": "4Gi"'
expect "the reason is a hand edit" same_text "$ERR" \
"dev.toml:1: error: overlays/dev/cortex.yaml differs from HEAD: hand edit (the committed record matches dev.toml, the file does not)
   1 | # dev: small, no Optic
  hint: move the change into dev.toml and build, or restore the file with 'synoverlay build --force dev.toml'
1 error and 0 warnings"
expect "check writes nothing after finding drift" test "$BEFORE" = "$(state "$WORK/repo")"

# The diff on stdout is a patch that git applies to HEAD.
cp "$OUT" "$WORK/fix.patch"
expect "the printed diff applies with git apply" git -C "$WORK/repo" apply --check "$WORK/fix.patch"

run "$SYNOVERLAY" check --format github dev.toml staging.toml --repo repo
expect_rc 1 "check --format github finds the hand edit"
expect "github annotations, and no diff" same_text "$OUT" \
"::error file=dev.toml,line=1,title=drift-hand-edit::overlays/dev/cortex.yaml differs from HEAD: hand edit (the committed record matches dev.toml, the file does not)%0Ahint: move the change into dev.toml and build, or restore the file with 'synoverlay build --force dev.toml'"
expect "nothing on stderr with --format github" test ! -s "$ERR"

run "$SYNOVERLAY" build --force dev.toml --repo repo
expect_rc 0 "build --force restores the generated file"
run "$SYNOVERLAY" check dev.toml staging.toml --repo repo
expect_rc 0 "check passes again"

# ---------------------------------------------------------------------------------------
echo "# an environment file changed without a build"

sed -i 's/storage = "20Gi"/storage = "25Gi"/' "$WORK/dev.toml"
run "$SYNOVERLAY" check dev.toml staging.toml --repo repo
expect_rc 1 "check finds the environment change"
expect "both changed files are diffed" same_text "$OUT" \
'--- a/overlays/dev/cortex-storage.yaml
+++ b/overlays/dev/cortex-storage.yaml
@@ -2,4 +2,4 @@
 # and run '"'"'synoverlay build'"'"' again.
 - "op": "replace"
   "path": "/spec/volumeClaimTemplates/0/spec/resources/requests/storage"
-  "value": "20Gi"
+  "value": "25Gi"
--- a/overlays/dev/synoverlay-record.toml
+++ b/overlays/dev/synoverlay-record.toml
@@ -23,7 +23,7 @@
 limits = { cpu = "500m", memory = "1Gi" }
 
 [cortex]
-storage = "20Gi"
+storage = "25Gi"
 requests = { cpu = "500m", memory = "1Gi" }
 limits = { cpu = "2", memory = "4Gi" }
 '
expect "the reason says the file changed without a build" same_text "$ERR" \
"dev.toml:1: error: overlays/dev/cortex-storage.yaml differs from HEAD: environment file changed without a build
   1 | # dev: small, no Optic
  hint: run 'synoverlay build dev.toml' and commit its result with the change
dev.toml:1: error: overlays/dev/synoverlay-record.toml differs from HEAD: environment file changed without a build
   1 | # dev: small, no Optic
  hint: run 'synoverlay build dev.toml' and commit its result with the change
2 errors and 0 warnings"

run "$SYNOVERLAY" check --format github dev.toml staging.toml --repo repo
expect_rc 1 "check --format github finds the environment change"
expect "one annotation per file on the environment file" same_text "$OUT" \
"::error file=dev.toml,line=1,title=drift-environment::overlays/dev/cortex-storage.yaml differs from HEAD: environment file changed without a build%0Ahint: run 'synoverlay build dev.toml' and commit its result with the change
::error file=dev.toml,line=1,title=drift-environment::overlays/dev/synoverlay-record.toml differs from HEAD: environment file changed without a build%0Ahint: run 'synoverlay build dev.toml' and commit its result with the change"

run "$SYNOVERLAY" build --accept-storage-growth dev.toml --repo repo
expect_rc 0 "build the change"
run "$SYNOVERLAY" check dev.toml staging.toml --repo repo
expect_rc 0 "check passes after the build"

# ---------------------------------------------------------------------------------------
echo "# base/ edited by hand"

echo "# a note" >>"$WORK/repo/base/aha/service.yaml"
commit_all "$WORK/repo" "edit base by hand"
run "$SYNOVERLAY" check dev.toml staging.toml --repo repo
expect_rc 1 "check finds the edit of base/"
expect "the base/ reason names the hand edit" grep -qxF \
  "dev.toml:1: error: base/aha/service.yaml differs from HEAD: base/ differs from this synoverlay's: hand edit (the file is not the one base/synoverlay-record.toml lists)" "$ERR"
expect "and the diff removes the line" grep -qxF -- "-# a note" "$OUT"
git -C "$WORK/repo" revert --no-edit HEAD >/dev/null

# ---------------------------------------------------------------------------------------
echo "# orphans and remove"

run "$SYNOVERLAY" check dev.toml --repo repo
expect_rc 0 "an orphan alone is a warning"
expect "the orphan is named with the command that removes it" same_text "$ERR" \
"synoverlay: warning: overlays/staging has no environment file in this run; remove it with 'synoverlay remove staging'
  hint: this is only meaningful when every environment file of the repository is given to synoverlay check
0 errors and 1 warning"

run "$SYNOVERLAY" check --werror dev.toml --repo repo
expect_rc 1 "an orphan fails the check under --werror"

run "$SYNOVERLAY" check --format github dev.toml --repo repo
expect "the orphan as a github warning" same_text "$OUT" \
"::warning title=overlay-orphaned::overlays/staging has no environment file in this run; remove it with 'synoverlay remove staging'%0Ahint: this is only meaningful when every environment file of the repository is given to synoverlay check"

BEFORE=$(state "$WORK/repo")
run "$SYNOVERLAY" remove staging nosuch --repo repo
expect_rc 1 "remove refuses an unknown name"
expect "and says which" same_text "$ERR" \
  "synoverlay: error: no environment 'nosuch' at HEAD: neither overlays/nosuch/ nor clusters/nosuch/ exists; nothing was removed"
expect "remove with an unknown name changes nothing" test "$BEFORE" = "$(state "$WORK/repo")"

echo "# local" >>"$WORK/repo/overlays/staging/axon.yaml"
run "$SYNOVERLAY" remove staging --repo repo
expect_rc 1 "remove refuses to drop uncommitted edits"
expect "and names them" grep -qxF "  overlays/staging/axon.yaml" "$ERR"
git -C "$WORK/repo" checkout -q -- overlays/staging/axon.yaml

echo "# untouched" >"$WORK/repo/notes.txt"
git -C "$WORK/repo" add notes.txt
PARENT=$(git -C "$WORK/repo" rev-parse HEAD)
run "$SYNOVERLAY" remove staging --repo repo
expect_rc 0 "remove staging"
expect "remove makes one commit on top of the previous HEAD" \
  test "$(git -C "$WORK/repo" rev-parse HEAD~1)" = "$PARENT"
expect "the commit deletes exactly overlays/staging/ and clusters/staging/" same_text \
  <(git -C "$WORK/repo" show --name-status --format= HEAD | awk '{print $1, $2}' | sort) \
  "$(git -C "$WORK/repo" ls-tree -r --name-only "$PARENT" -- overlays/staging clusters/staging |
    sed 's/^/D /' | sort)"
expect "clusters/staging was part of it" \
  grep -q "^D	clusters/staging/flux-kustomization.yaml$" \
  <(git -C "$WORK/repo" show --name-status --format= HEAD)
expect "the commit message names the environment" same_text \
  <(git -C "$WORK/repo" log -1 --format=%B) \
  "synoverlay: remove staging

- staging: overlays/staging/ and clusters/staging/ removed

Synoverlay-Version: $("$SYNOVERLAY" --version | sed 's/^synoverlay //')"
expect "the folders are gone from the work tree" \
  test ! -e "$WORK/repo/overlays/staging" -a ! -e "$WORK/repo/clusters/staging"
expect "the staged file of someone else stays staged, uncommitted" same_text \
  <(git -C "$WORK/repo" status --porcelain) "A  notes.txt"
expect "the repository is fsck-clean" git -C "$WORK/repo" fsck --strict --no-progress

run "$SYNOVERLAY" check dev.toml --repo repo
expect_rc 0 "check passes after remove, with no orphan"
expect "no warning is left" test ! -s "$ERR"

# ---------------------------------------------------------------------------------------
echo "# usage, input and repository failures"

run "$SYNOVERLAY" check --repo repo
expect_rc 2 "check without a file is a usage error"
run "$SYNOVERLAY" remove --repo repo
expect_rc 2 "remove without a name is a usage error"

printf 'name = "bad"\nversion = "v2.233.0"\n[cortex]\nstorage = "1GB"\n' >"$WORK/bad.toml"
run "$SYNOVERLAY" check bad.toml --repo repo
expect_rc 1 "check refuses an invalid environment file"
expect "the diagnostic points into the file" grep -q "^bad.toml:4:" "$ERR"

mkdir -p "$WORK/plain"
run "$SYNOVERLAY" check dev.toml --repo plain
expect_rc 3 "check outside a repository"
run "$SYNOVERLAY" remove dev --repo plain
expect_rc 3 "remove outside a repository"

git init -q "$WORK/empty"
run "$SYNOVERLAY" check dev.toml --repo empty
expect_rc 1 "check against a repository with no commit: everything is missing"
expect "the overlay is diffed against /dev/null" grep -qxF -- "--- /dev/null" "$OUT"

finish
