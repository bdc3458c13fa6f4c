#!/usr/bin/env bash
# Integration tests of 'synoverlay build': the real binary against real temporary git
# repositories, checked with the git command line. Run by CTest as
#   build_test.sh SYNOVERLAY SOURCE_DIR SCRATCH_DIR
# and prints one "ok - ..." or "not ok - ..." line per check.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

EXAMPLES="$SOURCE_DIR/examples"

# ---------------------------------------------------------------------------------------
# Where the repositories live. libgit2 looks for a repository in the given folder and in
# every folder above it, so a folder that is "not a repository" inside, say, a build folder
# of the project's own checkout would be taken for that checkout. The tests therefore work
# in a folder that no repository holds, and refuse to run anywhere else.

inside_a_repository() { git -C "$1" rev-parse --git-dir >/dev/null 2>&1; }

if ! inside_a_repository "$SCRATCH"; then
  WORK="$SCRATCH/work"
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/synoverlay-build-test.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  if inside_a_repository "$WORK"; then
    skip "both $SCRATCH and $WORK lie inside a git repository; the tests need a folder" \
      "outside every repository"
  fi
fi
# git itself stops looking for repositories at the work folder, too.
export GIT_CEILING_DIRECTORIES="$WORK"
echo "# working in $WORK"

# ---------------------------------------------------------------------------------------
# Helpers.

OUT="$WORK/stdout"
ERR="$WORK/stderr"

# The synoverlay binary, so that 'run so build ...' reads like the command a user types.
so() { "$SYNOVERLAY" "$@"; }

head_id() { git -C "$1" rev-parse -q --verify HEAD 2>/dev/null || echo "none"; }
commit_count() { git -C "$1" rev-list --count HEAD 2>/dev/null || echo 0; }

# state REPO: HEAD, the index and a hash of every file in the work tree; equal states mean
# that nothing was written, staged or committed.
state() {
  local repo=$1
  head_id "$repo"
  git -C "$repo" ls-files --stage
  (cd "$repo" && find . -path ./.git -prune -o -type f -print0 | sort -z |
    xargs -0 -r sha1sum)
}

# folder_state DIR: every file (and folder) under DIR with its hash, .git included.
folder_state() {
  (cd "$1" && find . -print0 | sort -z | while IFS= read -r -d '' path; do
    if [ -f "$path" ]; then sha1sum "$path"; else echo "$path"; fi
  done)
}

# The paths that the last build said it added, modified or removed, sorted.
printed_paths() {
  sed -n 's/^  *\(added\|modified\|removed\|deleted\) \{1,\}\([^ ].*\)$/\2/p' "$OUT" | sort
}

# Paths of HEAD's commit as 'git show --stat' lists them (wide, so that none is shortened).
stat_paths() {
  git -C "$1" show --stat=1000 --no-renames --format= HEAD |
    sed -n 's/^ \(.*[^ ]\) *| .*$/\1/p' | sort
}

# Paths of HEAD's commit.
commit_paths() { git -C "$1" show --name-only --no-renames --format= HEAD | sort; }

# The commit id that the last build printed: a hex word of 7 or more digits that starts
# HEAD's id.
printed_commit_matches() {
  local repo=$1 full word
  full=$(head_id "$repo")
  for word in $(grep -o '\b[0-9a-f]\{7,40\}\b' "$OUT" || true); do
    case $full in "$word"*) return 0 ;; esac
  done
  return 1
}

fsck_clean() {
  local repo=$1 log="$WORK/fsck.log"
  git -C "$repo" fsck --strict --no-progress >"$log" 2>&1 &&
    ! grep -qiE 'error|warning|missing|broken|bad' "$log"
}

porcelain_empty() { [ -z "$(git -C "$1" status --porcelain --untracked-files=all)" ]; }

# set_in_section FILE SECTION KEY VALUE: sets KEY = VALUE inside [SECTION] of a TOML file
# (the key must be there already); other sections keep their own KEY.
set_in_section() {
  local file=$1 section=$2 key=$3 value=$4 tmp="$1.tmp"
  awk -v section="[$section]" -v key="$key" -v value="$value" '
    /^\[/ { inside = ($0 == section) }
    inside && $1 == key && $2 == "=" { print key " = " value; changed = 1; next }
    { print }
    END { if (!changed) exit 1 }' "$file" >"$tmp"
  mv "$tmp" "$file"
}

# git_commit REPO MESSAGE: a commit made by a person with git, not by synoverlay.
git_commit() {
  git -C "$1" commit -q -m "$2"
}

# fresh_build NAME ENV_FILE...: a new repository $WORK/NAME built from the files with
# --init; its path in REPO. A failure here is a failed check, since later checks need it.
fresh_build() {
  local name=$1
  shift
  REPO="$WORK/$name"
  run so build "$@" --repo "$REPO" --init
  if [ "$RC" -ne 0 ]; then
    not_ok "setup: building $* into a fresh repository $name"
    show_output
  fi
}

# Environment files outside every repository. All are called production.toml, so that the
# name that generated files quote stays the same and only the intended setting changes.
# "bigger" grows a volume, which a running cluster accepts only after steps by hand, so
# building it takes --accept-storage-growth; "debug" changes a setting and nothing else.
mkdir -p "$WORK/envs/base" "$WORK/envs/bigger" "$WORK/envs/debug" "$WORK/envs/nooptic" \
  "$WORK/envs/bad"
cp "$EXAMPLES/production.toml" "$WORK/envs/base/production.toml"
cp "$EXAMPLES/production.toml" "$WORK/envs/bigger/production.toml"
set_in_section "$WORK/envs/bigger/production.toml" cortex storage '"300Gi"'
cp "$EXAMPLES/production.toml" "$WORK/envs/debug/production.toml"
set_in_section "$WORK/envs/debug/production.toml" cortex.config '"storm:log:level"' '"DEBUG"'
cp "$EXAMPLES/production.toml" "$WORK/envs/nooptic/production.toml"
set_in_section "$WORK/envs/nooptic/production.toml" optic enabled false
cp "$EXAMPLES/production.toml" "$WORK/envs/bad/production.toml"
set_in_section "$WORK/envs/bad/production.toml" jsonstor storage '"1GB"'
PROD="$WORK/envs/base/production.toml"
BIGGER="$WORK/envs/bigger/production.toml"
DEBUG="$WORK/envs/debug/production.toml"
NOOPTIC="$WORK/envs/nooptic/production.toml"
BAD="$WORK/envs/bad/production.toml"

# The environment name of each example, from its 'name' key.
env_name() { sed -n 's/^name *= *"\([^"]*\)".*/\1/p' "$1" | head -n 1; }

# ---------------------------------------------------------------------------------------
echo "# every example builds into a fresh repository, and git agrees with what it printed"

for example in "$EXAMPLES"/*.toml; do
  name=$(env_name "$example")
  repo="$WORK/example-$name"
  run so build "$example" --repo "$repo" --init
  expect_rc 0 "$name: builds into a fresh repository with --init"
  expect "$name: the output names the commit that HEAD is" printed_commit_matches "$repo"
  expect "$name: exactly one commit" test "$(commit_count "$repo")" = 1
  printed_paths >"$WORK/printed"
  stat_paths "$repo" >"$WORK/stat"
  commit_paths "$repo" >"$WORK/names"
  expect "$name: the tool printed the files it committed" test -s "$WORK/printed"
  expect "$name: git show --stat lists exactly the files the tool printed" \
    cmp -s "$WORK/printed" "$WORK/stat"
  expect "$name: git show --name-only lists exactly the files the tool printed" \
    cmp -s "$WORK/printed" "$WORK/names"
  if ! cmp -s "$WORK/printed" "$WORK/stat"; then
    diff "$WORK/printed" "$WORK/stat" | sed 's/^/#   /' || true
  fi
  expect "$name: the commit holds base/ and overlays/$name/ only (and clusters/$name/)" \
    test -z "$(grep -vE "^(base/|overlays/$name/|clusters/$name/)" "$WORK/names")"
  expect "$name: git fsck --strict is clean" fsck_clean "$repo"
  expect "$name: git status --porcelain is empty afterwards" porcelain_empty "$repo"
  expect "$name: the commit is on the branch git init would make (main)" \
    test "$(git -C "$repo" symbolic-ref -q HEAD)" = "refs/heads/main"

  before=$(head_id "$repo")
  run so build "$example" --repo "$repo"
  expect_rc 0 "$name: a second build of the same file succeeds"
  expect "$name: the second build says 'up to date'" grep -q "up to date" "$OUT"
  expect "$name: the second build makes no commit" test "$(head_id "$repo")" = "$before"
  expect "$name: git status is still clean" porcelain_empty "$repo"
done

# ---------------------------------------------------------------------------------------
echo "# several files in one call make one commit"

fresh_build all "$EXAMPLES/dev.toml" "$EXAMPLES/staging.toml" "$EXAMPLES/production.toml"
expect "three examples in one call make ONE commit" test "$(commit_count "$REPO")" = 1
overlays=$(git -C "$REPO" ls-tree -d --name-only HEAD overlays/ | sort | tr '\n' ' ' || true)
expect "that commit holds the three overlays (got: $overlays)" \
  test "$overlays" = "overlays/dev overlays/production overlays/staging "
expect "the summary of that commit names the three environments" \
  bash -c "git -C '$REPO' log -1 --format=%s | grep -q dev &&
           git -C '$REPO' log -1 --format=%s | grep -q staging &&
           git -C '$REPO' log -1 --format=%s | grep -q production"
expect "a trailer names each of the three files" test "$(git -C "$REPO" log -1 \
  --format='%(trailers:key=Synoverlay-Environment,valueonly)' | sed '/^$/d' | sort |
  tr '\n' ' ')" = "dev.toml production.toml staging.toml "
expect "git fsck --strict is clean after the three-file build" fsck_clean "$REPO"

# ---------------------------------------------------------------------------------------
echo "# unrelated staged, unstaged and untracked changes survive a build"

REPO="$WORK/unrelated"
git init -q "$REPO"
echo "a file synoverlay does not own" >"$REPO/README.md"
git -C "$REPO" add README.md
git_commit "$REPO" "a person's first commit"
run so build "$PROD" --repo "$REPO"
expect_rc 0 "a build on top of a person's commit"

echo "staged by a person" >"$REPO/staged.txt"
git -C "$REPO" add staged.txt
echo "an unstaged edit" >>"$REPO/README.md"
echo "untracked" >"$REPO/untracked.txt"
cp "$REPO/README.md" "$WORK/readme.expected"
before=$(head_id "$REPO")
run so build "$DEBUG" --repo "$REPO"
expect_rc 0 "a changed environment builds while unrelated changes are pending"
expect "that build made a new commit" test "$(head_id "$REPO")" != "$before"
commit_paths "$REPO" >"$WORK/names"
expect "the new commit does not contain the staged file" \
  bash -c "! grep -qx staged.txt '$WORK/names'"
expect "the new commit does not contain the edited tracked file" \
  bash -c "! grep -qx README.md '$WORK/names'"
expect "the new commit does not contain the untracked file" \
  bash -c "! grep -qx untracked.txt '$WORK/names'"
expect "the new commit contains the changed overlay file" \
  grep -qx overlays/production/kustomization.yaml "$WORK/names"
expect "git diff --cached --name-only still lists the staged file" \
  test "$(git -C "$REPO" diff --cached --name-only)" = "staged.txt"
expect "the staged content is intact in the index" \
  test "$(git -C "$REPO" show :staged.txt)" = "staged by a person"
expect "the unstaged edit is intact in the work tree" \
  cmp -s "$REPO/README.md" "$WORK/readme.expected"
expect "git diff --name-only still lists the edited file" \
  test "$(git -C "$REPO" diff --name-only)" = "README.md"
expect "the untracked file is still there" test -f "$REPO/untracked.txt"
expect "HEAD still holds the person's README.md unchanged" \
  test "$(git -C "$REPO" show HEAD:README.md)" = "a file synoverlay does not own"
expect "git fsck --strict is clean with pending changes" fsck_clean "$REPO"

# ---------------------------------------------------------------------------------------
echo "# disabling Optic removes its files in the next commit"

fresh_build optic-off "$PROD"
optic_before=$(git -C "$REPO" ls-tree -r --name-only HEAD overlays/production/ |
  grep '^overlays/production/optic' || true)
expect "with Optic on, the overlay has optic*.yaml files" test -n "$optic_before"
run so build "$NOOPTIC" --repo "$REPO"
expect_rc 0 "the build with enabled = false under [optic]"
git -C "$REPO" show --name-status --no-renames --format= HEAD >"$WORK/status"
for path in $optic_before; do
  expect "git show --name-status has 'D $path'" grep -qxP "D\t\Q$path\E" "$WORK/status"
done
expect "HEAD has no overlays/production/optic* file" test -z "$(git -C "$REPO" ls-tree -r \
  --name-only HEAD overlays/production/ | grep '^overlays/production/optic' || true)"
expect "the work tree has no overlays/production/optic* file" \
  test -z "$(find "$REPO/overlays/production" -name 'optic*')"
expect "the tool printed the removed files" \
  test "$(grep -c 'optic' <(sed -n '/removed\|deleted/p' "$OUT"))" -eq \
  "$(echo "$optic_before" | wc -l)"
expect "git status is clean after removing Optic" porcelain_empty "$REPO"

kubectl_ok=no
if command -v kubectl >/dev/null; then
  minor=$(kubectl version --client -o json 2>/dev/null |
    sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -n 1)
  [ -n "$minor" ] && [ "$minor" -ge 27 ] && kubectl_ok=yes
fi
if [ "$kubectl_ok" = yes ]; then
  run kubectl kustomize "$REPO/overlays/production"
  expect_rc 0 "the overlay without Optic renders"
  # Top-level names are indented by two spaces in kubectl's output.
  expect "the render has no object with 'optic' in its name" \
    bash -c "! grep -E '^  name: .*optic' '$OUT'"
  expect "the render has an object of every other service" \
    bash -c "for s in aha axon jsonstor cortex; do grep -qx \"  name: \$s\" '$OUT' || exit 1; done"
else
  echo "SKIPPED: rendering the overlay without Optic needs kubectl 1.27 or newer" >&2
  echo "# SKIPPED: rendering the overlay without Optic needs kubectl 1.27 or newer"
fi

# ---------------------------------------------------------------------------------------
echo "# an invalid file writes and commits nothing"

fresh_build invalid "$PROD"
state "$REPO" >"$WORK/state.before"
run so build "$BAD" --repo "$REPO"
expect_rc 1 "storage = \"1GB\" is rejected"
expect "the error reads 'path:line:col: error:'" \
  grep -qF "$BAD:" <(grep -E '^.+:[0-9]+:[0-9]+: error: ' "$ERR")
expect "nothing is written or committed (HEAD, index and work tree unchanged)" \
  cmp -s "$WORK/state.before" <(state "$REPO")

run so build "$BAD" --repo "$WORK/never-made" --init
expect_rc 1 "an invalid file with --init on a fresh path is rejected"
expect "no repository (nor folder) was created" test ! -e "$WORK/never-made"

run so build "$EXAMPLES/dev.toml" "$BAD" "$EXAMPLES/staging.toml" --repo "$REPO"
expect_rc 1 "several files where one is invalid"
expect "the error names the invalid file" grep -qF "$BAD:" "$ERR"
expect "with several files, nothing is written when one is invalid" \
  cmp -s "$WORK/state.before" <(state "$REPO")

run so build "$EXAMPLES/dev.toml" "$BAD" --repo "$WORK/never-made-either" --init
expect_rc 1 "several files, one invalid, with --init on a fresh path"
expect "no repository was created for them" test ! -e "$WORK/never-made-either"

# ---------------------------------------------------------------------------------------
echo "# repositories that are not there yet"

mkdir -p "$WORK/plain"
echo "keep me" >"$WORK/plain/notes.txt"
folder_state "$WORK/plain" >"$WORK/plain.before"
run so build "$EXAMPLES/dev.toml" --repo "$WORK/plain"
expect_rc 3 "a folder that is not a repository, without --init"
expect "the message says how to create one (git init or --init)" \
  grep -qE 'git init|--init' "$ERR"
expect "the folder is left as it was" cmp -s "$WORK/plain.before" <(folder_state "$WORK/plain")

run so build "$EXAMPLES/dev.toml" --repo "$WORK/plain" --init --dry-run
expect_rc 3 "--dry-run --init on a folder that is not a repository"
expect "the message says a dry run creates nothing" \
  grep -qF "a dry run creates nothing, --init included" "$ERR"
expect "the folder is left as it was by the dry run" \
  cmp -s "$WORK/plain.before" <(folder_state "$WORK/plain")

run_in "$WORK/plain" so build "$EXAMPLES/dev.toml"
expect_rc 3 "no --repo, from a folder that no repository holds"
expect "the folder is still left as it was" \
  cmp -s "$WORK/plain.before" <(folder_state "$WORK/plain")

REPO="$WORK/empty"
git init -q "$REPO"
run so build "$EXAMPLES/dev.toml" --repo "$REPO"
expect_rc 0 "an empty repository with no commit"
expect "the build made the first commit" test "$(commit_count "$REPO")" = 1
expect "that commit is on the repository's branch (main)" \
  test "$(git -C "$REPO" rev-parse -q --verify refs/heads/main)" = "$(head_id "$REPO")"
expect "the commit has no parent" test -z "$(git -C "$REPO" log -1 --format=%P)"
expect "git fsck --strict is clean after the first commit" fsck_clean "$REPO"

# --init on an existing, empty folder that happens to lie inside another repository (a
# person's checkout, a dotfiles repository) must make the new repository there, not commit
# into the repository around it.
OUTER="$WORK/outer"
git init -q "$OUTER"
echo "someone else's project" >"$OUTER/README.md"
git -C "$OUTER" add README.md
git_commit "$OUTER" "the outer project"
mkdir -p "$OUTER/gitops"
state "$OUTER" >"$WORK/outer.before"
outer_head=$(head_id "$OUTER")
run so build "$EXAMPLES/dev.toml" --repo "$OUTER/gitops" --init
expect_rc 0 "--init on an empty folder inside another repository"
expect "the enclosing repository gets no commit" test "$(head_id "$OUTER")" = "$outer_head"
expect "the enclosing repository's work tree gets no base/ or overlays/" \
  test ! -e "$OUTER/base" -a ! -e "$OUTER/overlays"
expect "the new repository is made in the folder that --repo names" \
  test -d "$OUTER/gitops/.git" -a -f "$OUTER/gitops/overlays/dev/kustomization.yaml"
if [ -e "$OUTER/base" ]; then
  echo "# synoverlay wrote into and committed to $OUTER instead: $(git -C "$OUTER" log -1 \
--format=%s)"
fi

REPO="$WORK/from-inside"
git init -q "$REPO"
mkdir -p "$REPO/some/folder"
run_in "$REPO/some/folder" so build "$EXAMPLES/dev.toml"
expect_rc 0 "no --repo: the repository that holds the current folder"
expect "the files land at that repository's root" test -f "$REPO/overlays/dev/kustomization.yaml"
expect "nothing lands in the current folder" test -z "$(ls -A "$REPO/some/folder")"

# ---------------------------------------------------------------------------------------
echo "# --no-commit and --dry-run"

fresh_build no-commit "$PROD"
before=$(head_id "$REPO")
run so build "$DEBUG" --repo "$REPO" --no-commit
expect_rc 0 "--no-commit"
expect "--no-commit makes no commit" test "$(head_id "$REPO")" = "$before"
expect "--no-commit writes the changed file" \
  grep -q 'SYN_CORTEX_STORM_LOG_LEVEL=DEBUG' "$REPO/overlays/production/kustomization.yaml"
expect "git status shows the written file as modified, not staged" \
  grep -qx ' M overlays/production/kustomization.yaml' <(git -C "$REPO" status --porcelain)

state "$REPO" >"$WORK/state.before"
run so build "$DEBUG" --repo "$REPO" --dry-run
expect_rc 0 "--dry-run over files that --no-commit wrote"
expect "--dry-run names the file that a build would commit" \
  grep -q 'overlays/production/kustomization.yaml' "$OUT"
expect "--dry-run writes nothing (HEAD, index, work tree unchanged)" \
  cmp -s "$WORK/state.before" <(state "$REPO")

fresh_build dry-run "$PROD"
state "$REPO" >"$WORK/state.before"
run so build "$PROD" --repo "$REPO" --dry-run
expect_rc 0 "--dry-run with nothing to change"
expect "--dry-run says it is up to date" grep -q 'up to date' "$OUT"
run so build "$NOOPTIC" --repo "$REPO" --dry-run
expect_rc 0 "--dry-run of a changed environment (Optic off)"
expect "--dry-run names the files that would go" grep -q 'optic' "$OUT"
expect "--dry-run leaves HEAD, index and work tree alone" \
  cmp -s "$WORK/state.before" <(state "$REPO")

REPO="$WORK/no-commit-empty"
git init -q "$REPO"
run so build "$EXAMPLES/dev.toml" --repo "$REPO" --no-commit
expect_rc 0 "--no-commit in an empty repository"
expect "the files are written" test -f "$REPO/overlays/dev/kustomization.yaml"
expect "there is still no commit" test "$(head_id "$REPO")" = none

# ---------------------------------------------------------------------------------------
echo "# author and committer"

REPO="$WORK/author-flag"
git init -q "$REPO"
run so build "$PROD" --repo "$REPO" --author "A B <a@b.c>"
expect_rc 0 "--author"
expect "--author is the author" test "$(git -C "$REPO" log -1 --format='%an <%ae>')" = "A B <a@b.c>"
expect "without GIT_COMMITTER_*, the committer is the configured user" \
  test "$(git -C "$REPO" log -1 --format='%cn <%ce>')" = "Test Runner <tests@synoverlay.invalid>"

REPO="$WORK/author-env"
git init -q "$REPO"
run env GIT_AUTHOR_NAME="Ann Author" GIT_AUTHOR_EMAIL="ann@example.org" \
  GIT_COMMITTER_NAME="Cid Committer" GIT_COMMITTER_EMAIL="cid@example.org" \
  "$SYNOVERLAY" build "$PROD" --repo "$REPO"
expect_rc 0 "GIT_AUTHOR_* and GIT_COMMITTER_* set"
expect "GIT_AUTHOR_NAME/EMAIL are honoured" \
  test "$(git -C "$REPO" log -1 --format='%an <%ae>')" = "Ann Author <ann@example.org>"
expect "GIT_COMMITTER_NAME/EMAIL are honoured" \
  test "$(git -C "$REPO" log -1 --format='%cn <%ce>')" = "Cid Committer <cid@example.org>"

REPO="$WORK/author-both"
git init -q "$REPO"
run env GIT_AUTHOR_NAME="Ann Author" GIT_AUTHOR_EMAIL="ann@example.org" \
  "$SYNOVERLAY" build "$PROD" --repo "$REPO" --author "A B <a@b.c>"
expect_rc 0 "--author and GIT_AUTHOR_* together"
expect "--author beats GIT_AUTHOR_*" \
  test "$(git -C "$REPO" log -1 --format='%an <%ae>')" = "A B <a@b.c>"

REPO="$WORK/author-config"
git init -q "$REPO"
git -C "$REPO" config user.name "Repo Person"
git -C "$REPO" config user.email "repo@example.org"
run so build "$PROD" --repo "$REPO"
expect_rc 0 "no --author and no GIT_* variables"
expect "the author is the repository's user.name/user.email" \
  test "$(git -C "$REPO" log -1 --format='%an <%ae>')" = "Repo Person <repo@example.org>"
expect "the committer is the repository's user.name/user.email" \
  test "$(git -C "$REPO" log -1 --format='%cn <%ce>')" = "Repo Person <repo@example.org>"

fresh_build author-global "$PROD"
expect "without repository settings, the global user.name/user.email" \
  test "$(git -C "$REPO" log -1 --format='%an <%ae>|%cn <%ce>')" = \
  "Test Runner <tests@synoverlay.invalid>|Test Runner <tests@synoverlay.invalid>"

# ---------------------------------------------------------------------------------------
echo "# the commit message"

fresh_build message "$PROD"
summary=$(git -C "$REPO" log -1 --format=%s || true)
expect "the summary names the environment ($summary)" grep -q production <<<"$summary"
expect "the summary names the version" grep -qF v2.233.0 <<<"$summary"
expect "the trailer names the file outside the repository by its name" test "$(git -C "$REPO" \
  log -1 --format='%(trailers:key=Synoverlay-Environment,valueonly)' | sed '/^$/d')" = \
  "production.toml"

# A running cluster needs steps by hand to grow a volume; the flag accepts that.
run so build "$BIGGER" --repo "$REPO" --accept-storage-growth
expect_rc 0 "cortex storage 200Gi -> 300Gi (with --accept-storage-growth)"
git -C "$REPO" log -1 --format=%b >"$WORK/body"
expect "the body has the line '- cortex storage 200Gi -> 300Gi'" \
  grep -qx -- '- cortex storage 200Gi -> 300Gi' "$WORK/body"
# The lines of the "production:" paragraph, each a change of that environment.
changes=$(awk '/^production:$/ { on = 1; next } on && /^- / { n++; next } on { exit }
  END { print n + 0 }' "$WORK/body")
expect "the body lists no other change of the environment ($changes)" test "$changes" = 1
if [ "$changes" != 1 ]; then sed 's/^/#   /' "$WORK/body"; fi
expect "only cortex's storage file changed" test "$(commit_paths "$REPO")" = \
  "overlays/production/cortex-storage.yaml
overlays/production/synoverlay-record.toml"

fresh_build message-flag "$PROD"
run so build "$DEBUG" --repo "$REPO" -m "Louder cortex logs"
expect_rc 0 "--message"
expect "--message replaces the summary" \
  test "$(git -C "$REPO" log -1 --format=%s)" = "Louder cortex logs"

REPO="$WORK/message-inside"
git init -q "$REPO"
mkdir -p "$REPO/examples"
cp "$EXAMPLES/production.toml" "$REPO/examples/production.toml"
run_in "$REPO" so build examples/production.toml
expect_rc 0 "an environment file inside the repository"
expect "the trailer is its path relative to the repository" test "$(git -C "$REPO" \
  log -1 --format='%(trailers:key=Synoverlay-Environment,valueonly)' | sed '/^$/d')" = \
  "examples/production.toml"
expect "the environment file itself is not committed" \
  bash -c "! git -C '$REPO' ls-tree -r --name-only HEAD | grep -q '^examples/'"

# ---------------------------------------------------------------------------------------
echo "# the same input gives the same bytes, from any folder"

mkdir -p "$WORK/cwd-one" "$WORK/cwd-two/deeper"
run_in "$WORK/cwd-one" so build ../envs/base/production.toml --repo ../det-a --init
expect_rc 0 "determinism: a relative path from one folder"
run_in "$WORK/cwd-two/deeper" so build "$PROD" --repo "$WORK/det-b" --init
expect_rc 0 "determinism: an absolute path from another folder"
tree_a=$(git -C "$WORK/det-a" rev-parse "HEAD^{tree}" || echo "no tree a")
tree_b=$(git -C "$WORK/det-b" rev-parse "HEAD^{tree}" || echo "no tree b")
expect "the two trees are identical ($tree_a)" test "$tree_a" = "$tree_b"

for repo in det-c det-d; do
  git init -q "$WORK/$repo"
  mkdir -p "$WORK/$repo/examples"
  cp "$EXAMPLES/production.toml" "$WORK/$repo/examples/production.toml"
done
run_in "$WORK/det-c" so build examples/production.toml
expect_rc 0 "determinism: the file inside the repository, from its root"
run_in "$WORK/det-d/examples" so build production.toml --repo ..
expect_rc 0 "determinism: the file inside the repository, from its folder"
tree_c=$(git -C "$WORK/det-c" rev-parse "HEAD^{tree}" || echo "no tree c")
tree_d=$(git -C "$WORK/det-d" rev-parse "HEAD^{tree}" || echo "no tree d")
expect "the two trees are identical when the relative path is the same ($tree_c)" \
  test "$tree_c" = "$tree_d"

today=$(date -u +%Y-%m-%d)
stamp="$today|[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}"
# none_holds REPO GREP_MODE PATTERN: no committed file of REPO holds PATTERN (the names of
# those that do are printed).
none_holds() {
  local repo=$1 mode=$2 pattern=$3
  ! git -C "$repo" ls-files -z | (cd "$repo" && xargs -0 grep -l "$mode" -e "$pattern")
}

for repo in det-a det-c example-production example-staging example-dev; do
  expect "$repo: has generated files to look at" \
    test "$(git -C "$WORK/$repo" ls-files | wc -l)" -gt 10
  expect "$repo: no generated file holds the scratch folder's path" \
    none_holds "$WORK/$repo" -F "$WORK"
  expect "$repo: no generated file holds the source folder's path" \
    none_holds "$WORK/$repo" -F "$SOURCE_DIR"
  expect "$repo: no generated file holds a timestamp" none_holds "$WORK/$repo" -E "$stamp"
done

# ---------------------------------------------------------------------------------------
echo "# hand edits of files synoverlay owns"

fresh_build hand-base "$PROD"
cp "$REPO/base/aha/service.yaml" "$WORK/service.yaml.original"
sed -i '0,/27492/s//27493/' "$REPO/base/aha/service.yaml"
git -C "$REPO" commit -q -am "a person edits base/ by hand"
before=$(head_id "$REPO")
run so build "$PROD" --repo "$REPO"
expect_rc 1 "a committed hand edit of base/ is refused"
expect "the refusal names base/aha/service.yaml" grep -qF base/aha/service.yaml "$ERR"
expect "the refusal commits nothing" test "$(head_id "$REPO")" = "$before"
expect "the refusal leaves the edit in the work tree" \
  bash -c "! cmp -s '$WORK/service.yaml.original' '$REPO/base/aha/service.yaml'"
run so build "$PROD" --repo "$REPO" --force
expect_rc 0 "--force replaces the hand-edited base/"
expect "--force restores base/aha/service.yaml" \
  cmp -s "$WORK/service.yaml.original" "$REPO/base/aha/service.yaml"
expect "--force committed the restored file" \
  grep -qx base/aha/service.yaml <(commit_paths "$REPO")
expect "git status is clean after --force" porcelain_empty "$REPO"

fresh_build hand-overlay "$PROD"
file=overlays/production/cortex.yaml
sed -i 's/"16Gi"/"32Gi"/' "$REPO/$file"
cp "$REPO/$file" "$WORK/edited.yaml"
before=$(head_id "$REPO")
run so build "$PROD" --repo "$REPO"
expect_rc 1 "an uncommitted edit to an owned overlay file is refused"
expect "the refusal names $file" grep -qF "$file" "$ERR"
expect "the edit is not overwritten" cmp -s "$REPO/$file" "$WORK/edited.yaml"
expect "nothing is committed" test "$(head_id "$REPO")" = "$before"
run so build "$DEBUG" --repo "$REPO"
expect_rc 1 "a changed environment is refused too while the edit is there"
expect "that refusal names $file too" grep -qF "$file" "$ERR"
run so build "$PROD" --repo "$REPO" --force
expect_rc 0 "--force replaces the edited overlay file"
expect "the file holds synoverlay's content again" \
  git -C "$REPO" diff --quiet HEAD -- "$file"
expect "git status is clean after --force" porcelain_empty "$REPO"

fresh_build hand-overlay-committed "$PROD"
file=overlays/production/axon.yaml
sed -i 's/"8Gi"/"9Gi"/' "$REPO/$file"
git -C "$REPO" commit -q -am "a person edits an overlay by hand"
before=$(head_id "$REPO")
run so build "$PROD" --repo "$REPO"
expect_rc 1 "a committed hand edit of an overlay file is refused"
expect "the refusal names $file" grep -qF "$file" "$ERR"
expect "nothing is committed" test "$(head_id "$REPO")" = "$before"

# ---------------------------------------------------------------------------------------
echo "# the command line"

run so --version
expect_rc 0 "--version"
expect "--version prints 'synoverlay 0.1.0'" test "$(head -n 1 "$OUT")" = "synoverlay 0.1.0"
run so build --help
expect_rc 0 "build --help"
for flag in --repo --init --no-commit --dry-run --force --author --message --format \
  --werror --verbose --help; do
  expect "build --help lists $flag" grep -qE -- "(^|[ ,])$flag([ =,]|$)" "$OUT"
done
run so build --no-such-flag "$PROD" --repo "$WORK/example-production"
expect_rc 2 "an unknown flag"
run so build --repo "$WORK/example-production"
expect_rc 2 "build without an environment file"
run so no-such-command
expect_rc 2 "an unknown command"

# ---------------------------------------------------------------------------------------
echo "# two environments never share a namespace"

printf 'name = "first"\nversion = "v2.233.0"\n' >"$WORK/first.toml"
printf 'name = "second"\nversion = "v2.233.0"\n' >"$WORK/second.toml"
fresh_build shared-namespace "$WORK/first.toml"
before=$(state "$REPO")
run so build "$WORK/second.toml" --repo "$REPO"
expect_rc 1 "a second environment in a namespace already committed"
expect "the error names the environment that has the namespace" grep -qF \
  "second.toml:1:8: error: namespace 'synapse' is already used by environment 'first' in this repository" \
  "$ERR"
expect "nothing was written or committed" test "$before" = "$(state "$REPO")"
run so validate "$WORK/first.toml" "$WORK/second.toml"
expect_rc 1 "two files of one run in one namespace"
expect "the error names the other environment" grep -qF \
  "second.toml:1:8: error: namespace 'synapse' is also used by environment 'first' in this run" \
  "$ERR"

# ---------------------------------------------------------------------------------------
echo "# the index knows the written files, so git needs no refresh"

fresh_build fresh-index "$WORK/first.toml"
expect "git diff-files sees no change right after a build" git -C "$REPO" diff-files --quiet
git -C "$REPO" branch -q before-build HEAD
sed 's/v2.233.0/v2.234.0/' "$WORK/first.toml" >"$WORK/first-newer.toml"
run so build "$WORK/first-newer.toml" --repo "$REPO"
expect "git reset --keep works right after a build" git -C "$REPO" reset -q --keep before-build

# ---------------------------------------------------------------------------------------
echo "# what --no-commit wrote is the build's own output, not a hand edit"

fresh_build no-commit-then "$WORK/first.toml"
sed 's/v2.233.0/v2.234.0/' "$WORK/first.toml" >"$WORK/first-next.toml"
sed 's/v2.233.0/v2.235.0/' "$WORK/first.toml" >"$WORK/first-after.toml"
run so build "$WORK/first-next.toml" --repo "$REPO" --no-commit
expect_rc 0 "--no-commit of a change"
run so build "$WORK/first-after.toml" --repo "$REPO"
expect_rc 0 "a further change builds over what --no-commit wrote"
run so build "$WORK/first-next.toml" --repo "$REPO" --no-commit
echo "# edited" >>"$REPO/overlays/first/cortex.yaml"
run so build "$WORK/first-after.toml" --repo "$REPO"
expect_rc 1 "an edit after --no-commit is still refused"
expect "the refusal names the edited file" grep -q "overlays/first/cortex.yaml" "$ERR"

# ---------------------------------------------------------------------------------------
echo "# a base/ from a newer synoverlay is not replaced by an older one"

fresh_build newer-base "$WORK/first.toml"
sed -i 's/^synoverlay = ".*"/synoverlay = "999.0.0"/' "$REPO/base/synoverlay-record.toml"
git -C "$REPO" commit -q -am "base/ from a newer synoverlay"
before=$(state "$REPO")
run so build "$WORK/first.toml" --repo "$REPO"
expect_rc 1 "an older synoverlay over a newer base/"
expect "the error names both versions" grep -qF \
  "synoverlay: error: base/ was written by synoverlay 999.0.0, newer than this synoverlay $("$SYNOVERLAY" --version | cut -d' ' -f2); it would be replaced by an older base" \
  "$ERR"
expect "nothing was written or committed" test "$before" = "$(state "$REPO")"
run so build "$WORK/first.toml" --repo "$REPO" --force
expect_rc 0 "--force goes back deliberately"

# ---------------------------------------------------------------------------------------
echo "# a file in the way stops the build before it commits"

REPO="$WORK/file-in-the-way"
git init -q "$REPO"
mkdir -p "$REPO/overlays"
echo "notes" >"$REPO/overlays/first"
run so build "$WORK/first.toml" --repo "$REPO"
expect_rc 3 "a file where the overlay's folder goes"
expect "the error names the file in the way" grep -qF \
  "synoverlay: error: cannot write 'overlays/first/aha-storage.yaml': 'overlays/first' is a file, not a folder; move it away, nothing was written or committed" \
  "$ERR"
expect "no commit was made" test "$(commit_count "$REPO")" = 0
expect "the file in the way is untouched" test "$(cat "$REPO/overlays/first")" = notes

# ---------------------------------------------------------------------------------------
echo "# the environment file's name cannot inject YAML"

odd_name=$'odd\n"namePrefix": "pwned-"\n#.toml'
cp "$WORK/first.toml" "$WORK/$odd_name"
fresh_build odd-name "$WORK/$odd_name"
expect "the header shows the name with its control characters replaced" grep -qF \
  '# Generated by synoverlay from odd?"namePrefix": "pwned-"?#.toml.' \
  "$REPO/overlays/first/kustomization.yaml"
expect "no namePrefix key was injected" \
  bash -c "! grep -q '^\"namePrefix\"' '$REPO/overlays/first/kustomization.yaml'"

# ---------------------------------------------------------------------------------------
echo "# machine formats print one document on stdout"

fresh_build json-format "$PROD"
sed '0,/^storage = "200Gi"/s//storage = "300Gi"/' "$PROD" >"$WORK/grown.toml"
run so build "$WORK/grown.toml" --repo "$REPO" --format json
expect_rc 1 "a guard refuses under --format json"
expect "stdout is exactly one JSON document, holding the guard's error" python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
assert [d["rule"] for d in doc["diagnostics"]] == ["guard-storage-growth"], doc
assert doc["errors"] == 1' "$OUT"
run so build "$WORK/grown.toml" --repo "$REPO" --format json --accept-storage-growth
expect_rc 0 "the accepted change builds under --format json"
expect "stdout is one empty JSON document" python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc == {"version": 1, "diagnostics": [], "errors": 0, "warnings": 0}, doc' "$OUT"
expect "what the build did goes to stderr" grep -q '^committed ' "$ERR"

# ---------------------------------------------------------------------------------------
echo "# many environments in one call (shared out between cores) give what one at a time give"

mkdir -p "$WORK/fleet"
fleet=()
for i in $(seq -w 1 12); do
  sed -e "s/^name = .*/name = \"fleet-$i\"/" -e "s/^namespace = .*/namespace = \"fleet-$i\"/" \
    "$PROD" >"$WORK/fleet/fleet-$i.toml"
  fleet+=("fleet/fleet-$i.toml")
done
fixed_dates=(env GIT_AUTHOR_DATE="1700000000 +0000" GIT_COMMITTER_DATE="1700000000 +0000")
run_in "$WORK" "${fixed_dates[@]}" "$SYNOVERLAY" build "${fleet[@]}" --repo fleet-a --init
expect_rc 0 "twelve environments in one call"
run_in "$WORK" "${fixed_dates[@]}" "$SYNOVERLAY" build "${fleet[@]}" --repo fleet-b --init
expect_rc 0 "the same twelve again, into another repository"
expect "both calls make the same commit, byte for byte" \
  test "$(head_id "$WORK/fleet-a")" = "$(head_id "$WORK/fleet-b")"
expect "the message lists the environments in the order given" test \
  "$(git -C "$WORK/fleet-a" log -1 --format=%b | grep -E '^fleet-[0-9]+:$' | tr -d ':' |
    tr '\n' ' ')" = "$(printf 'fleet-%s ' $(seq -w 1 12))"
expect "the new objects of the large commit went into one pack" \
  test "$(find "$WORK/fleet-a/.git/objects/pack" -name '*.pack' | wc -l)" -eq 1
git init -q "$WORK/fleet-c"
for file in "${fleet[@]}"; do
  run_in "$WORK" so build "$file" --repo fleet-c
  [ "$RC" -eq 0 ] || break
done
expect_rc 0 "the twelve one call at a time"
expect "one call at a time gives the same tree" test \
  "$(git -C "$WORK/fleet-a" rev-parse "HEAD^{tree}")" = \
  "$(git -C "$WORK/fleet-c" rev-parse "HEAD^{tree}")"
run_in "$WORK" so build "${fleet[@]}" --repo fleet-a
expect_rc 0 "the twelve again"
expect "nothing changed, so no commit" grep -q '^up to date: ' "$OUT"
expect "the work tree is clean" test -z "$(git -C "$WORK/fleet-a" status --porcelain)"

mkdir -p "$WORK/fleet-bad"
bad=()
for i in $(seq -w 1 12); do
  cp "$WORK/fleet/fleet-$i.toml" "$WORK/fleet-bad/fleet-$i.toml"
  bad+=("fleet-bad/fleet-$i.toml")
done
sed -i 's/^namespace = .*/namespace = "Bad_Namespace"/' "$WORK/fleet-bad/fleet-03.toml"
sed -i 's/^version = .*/version = "v1.0.0"/' "$WORK/fleet-bad/fleet-09.toml"
run_in "$WORK" so validate "${bad[@]}"
expect_rc 1 "twelve files, two of them wrong"
cp "$ERR" "$WORK/fleet-bad/together.err"
: >"$WORK/fleet-bad/alone.err"
for file in "${bad[@]}"; do
  run_in "$WORK" so validate "$file"
  grep -v ' and [0-9]* warning' "$ERR" >>"$WORK/fleet-bad/alone.err" || true
done
expect "the diagnostics of many files at once are those of each file alone, in file order" \
  diff <(grep -v ' and [0-9]* warning' "$WORK/fleet-bad/together.err") "$WORK/fleet-bad/alone.err"
expect "both wrong files are reported" \
  test "$(grep -cE '^fleet-bad/fleet-(03|09)\.toml:[0-9]+:[0-9]+: error' \
    "$WORK/fleet-bad/together.err")" -ge 2

# ---------------------------------------------------------------------------------------
echo "# every repository made here is sound"

for git_dir in "$WORK"/*/.git; do
  repo=$(dirname "$git_dir")
  expect "git fsck --strict is clean in $(basename "$repo")" fsck_clean "$repo"
done

finish
