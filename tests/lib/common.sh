# Shared helpers for the integration tests (sourced, not run). Each test script gets
# $1 = the synoverlay binary, $2 = the source folder, $3 = a name for its scratch folder.
set -euo pipefail

SYNOVERLAY=${1:?usage: test.sh SYNOVERLAY SOURCE_DIR SCRATCH_NAME}
SOURCE_DIR=${2:?}
# The scratch folder lies outside every git checkout (a build folder may sit inside one), so
# that no repository a test makes or misses can be confused with the project's own.
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/synoverlay-$(basename "${3:?}").XXXXXX")
export GIT_CEILING_DIRECTORIES=$(dirname "$SCRATCH")
echo "# scratch folder: $SCRATCH (removed when every check passes)"

# The machine's git configuration must not leak into the tests.
export GIT_CONFIG_NOSYSTEM=1
export HOME="$SCRATCH/home"
mkdir -p "$HOME"
git config --global user.name "Test Runner"
git config --global user.email "tests@synoverlay.invalid"
git config --global init.defaultBranch main
unset GIT_AUTHOR_NAME GIT_AUTHOR_EMAIL GIT_COMMITTER_NAME GIT_COMMITTER_EMAIL
unset GIT_AUTHOR_DATE GIT_COMMITTER_DATE GIT_DIR GIT_WORK_TREE

PASSED=0
FAILED=0

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }

# check "description" command...: passes when the command succeeds.
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# Ends the script with the runner's summary line; non-zero when anything failed.
finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] || return 1
  rm -rf "$SCRATCH"
}

# Exit code 77 tells CTest the test was skipped; say why, loudly.
skip() {
  echo "SKIPPED: $*" >&2
  echo "SKIPPED: $*"
  exit 77
}

# kubectl 1.27 or newer carries kustomize v5; older ones (Debian's) do not.
require_kubectl() {
  command -v kubectl >/dev/null || skip "kubectl is not installed (need 1.27 or newer)"
  local minor
  minor=$(kubectl version --client -o json 2>/dev/null |
    sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -n 1)
  [ -n "$minor" ] && [ "$minor" -ge 27 ] ||
    skip "kubectl $(kubectl version --client 2>/dev/null | head -n 1) is older than 1.27"
}

# Node tools installed by scripts/setup-debian.sh into tests/node/node_modules.
require_node_tools() {
  [ -d "$SOURCE_DIR/tests/node/node_modules" ] ||
    skip "tests/node/node_modules is missing: run scripts/setup-debian.sh"
}

# ---------------------------------------------------------------------------------------
# Running the binary and checking what it did. A script sets OUT and ERR (files) first.

# run COMMAND...: runs it, keeping the exit status in RC and the output in $OUT and $ERR.
run() {
  RC=0
  "$@" >"$OUT" 2>"$ERR" || RC=$?
}

# run_in FOLDER COMMAND...: run, from FOLDER.
run_in() {
  local folder=$1
  shift
  RC=0
  (cd "$folder" && "$@") >"$OUT" 2>"$ERR" || RC=$?
}

# show_output: the last run's output, as comments, to explain a failed check.
show_output() {
  echo "# exit status $RC; stdout:"
  head -n 40 "$OUT" | sed 's/^/#   /'
  echo "# stderr:"
  head -n 40 "$ERR" | sed 's/^/#   /'
}

# expect_rc CODE WHAT: a check on the last run's exit status.
expect_rc() {
  if [ "$RC" -eq "$1" ]; then
    ok "$2 (exit $1)"
  else
    not_ok "$2 (expected exit $1, got $RC)"
    show_output
  fi
}

# expect WHAT COMMAND...: check, with the last run's output shown when it fails.
expect() {
  local what=$1
  shift
  if "$@"; then
    ok "$what"
  else
    not_ok "$what"
    show_output
  fi
}

# same_text FILE EXPECTED: the file holds exactly EXPECTED (plus a final newline).
same_text() {
  local expected=$2
  if [ "$(cat "$1")" = "$expected" ]; then return 0; fi
  echo "# expected:"
  printf '%s\n' "$expected" | sed 's/^/#   /'
  echo "# got:"
  sed 's/^/#   /' "$1"
  return 1
}
