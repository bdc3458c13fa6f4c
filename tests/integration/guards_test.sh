#!/usr/bin/env bash
# Integration tests of the build's guards: the real binary against real temporary git
# repositories. Each guard: build, change the environment file, build again -> exit 1 with
# the exact message and nothing written or committed; the flag lets the change through and
# the commit message says so. Run by CTest as
#   guards_test.sh SYNOVERLAY SOURCE_DIR SCRATCH_DIR
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

# The repositories must lie outside every other repository: libgit2 searches upwards.
WORK="$SCRATCH/work"
mkdir -p "$WORK"
if git -C "$WORK" rev-parse --git-dir >/dev/null 2>&1; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/synoverlay-guards-test.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
fi
export GIT_CEILING_DIRECTORIES="$WORK"
echo "# working in $WORK"

OUT="$WORK/stdout"
ERR="$WORK/stderr"
REPO="$WORK/repo"
VERSION=$("$SYNOVERLAY" --version | sed 's/^synoverlay //')

# run COMMAND...: run, from $WORK.
run() { run_in "$WORK" "$@"; }

# HEAD, the index and every file of the work tree.
state() {
  git -C "$REPO" rev-parse HEAD
  git -C "$REPO" status --porcelain --untracked-files=all
  git -C "$REPO" ls-files -s | git hash-object --stdin
  (cd "$REPO" && find . -path ./.git -prune -o -type f -print0 | sort -z | xargs -0 sha1sum)
}

# The body of HEAD's commit message between the summary and the trailers.
head_body() { git -C "$REPO" log -1 --format=%b | sed '/^Synoverlay-/d'; }

cat >"$WORK/prod.toml" <<'EOF'
name = "prod"
namespace = "synapse-prod"
version = "v2.233.0"
storage_class = "standard"

[aha]
network = "prod.synapse"

[cortex]
storage = "100Gi"

[optic]
version = "v2.19.3"
netloc = "optic.example.com"

[gitops]
engine = "argocd"
repo_url = "https://git.example.com/gitops.git"
EOF
cp "$WORK/prod.toml" "$WORK/committed.toml"
git init -q "$REPO"
run "$SYNOVERLAY" build prod.toml --repo repo
expect_rc 0 "the first build of prod"
FIRST=$(git -C "$REPO" rev-parse HEAD)

# start_from SED_SCRIPT: the repository back at the first build, and prod.toml as committed
# there with SED_SCRIPT applied.
start_from() {
  git -C "$REPO" reset -q --hard "$FIRST"
  sed "$1" "$WORK/committed.toml" >"$WORK/prod.toml"
}

# refused WHAT STDERR [BUILD ARGS...]: the build exits 1 with exactly STDERR, and leaves
# HEAD, the index and the work tree as they were.
refused() {
  local what=$1 expected=$2
  shift 2
  local before
  before=$(state)
  run "$SYNOVERLAY" build prod.toml --repo repo "$@"
  expect_rc 1 "$what is refused"
  expect "$what: the exact message" same_text "$ERR" "$expected"
  expect "$what: nothing written or committed" test "$before" = "$(state)"
}

REFUSED="synoverlay: the change was refused; nothing was written or committed"
REBUILD_HINT="  hint: a new environment is the way: copy the file under a new name, build and sync it, move the data over, then run 'synoverlay remove prod'; for a deliberate rebuild of this environment, run again with --allow-rebuild"

# ---------------------------------------------------------------------------------------
echo "# storage growth"

start_from 's/storage = "100Gi"/storage = "150Gi"/'
refused "storage growth" \
"prod.toml:10:11: error: cortex storage grows from '100Gi' to '150Gi': the running StatefulSet 'cortex' cannot change its volume claim template
   10 | storage = \"150Gi\"
      |           ^~~~~~~
  hint: the volume can grow in place: run again with --accept-storage-growth, which commits the change and records these steps in the commit message; once the commit is pushed, in namespace 'synapse-prod':
    1. the StorageClass of PVC storage-cortex-0 ('standard') must have allowVolumeExpansion: true
    2. kubectl -n synapse-prod patch pvc storage-cortex-0 -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"150Gi\"}}}}'
    3. kubectl -n synapse-prod delete sts cortex --cascade=orphan
    4. sync: argocd app sync synapse-prod
$REFUSED"

refused "storage growth in a dry run" "$(cat "$ERR")" --dry-run
refused "storage growth with --no-commit" "$(cat "$ERR")" --no-commit

run "$SYNOVERLAY" build --format github prod.toml --repo repo
expect_rc 1 "storage growth is refused with --format github"
expect "storage growth as a github annotation on the line that asks for it" same_text "$OUT" \
"::error file=prod.toml,line=10,col=11,endLine=10,endColumn=18,title=guard-storage-growth::cortex storage grows from '100Gi' to '150Gi': the running StatefulSet 'cortex' cannot change its volume claim template%0Ahint: the volume can grow in place: run again with --accept-storage-growth, which commits the change and records these steps in the commit message; once the commit is pushed, in namespace 'synapse-prod':%0A    1. the StorageClass of PVC storage-cortex-0 ('standard') must have allowVolumeExpansion: true%0A    2. kubectl -n synapse-prod patch pvc storage-cortex-0 -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"150Gi\"}}}}'%0A    3. kubectl -n synapse-prod delete sts cortex --cascade=orphan%0A    4. sync: argocd app sync synapse-prod"

run "$SYNOVERLAY" build --accept-storage-growth prod.toml --repo repo
expect_rc 0 "--accept-storage-growth lets it through"
expect "one new commit" test "$(git -C "$REPO" rev-parse HEAD~1)" = "$FIRST"
expect "the commit message records the steps" same_text <(head_body) \
"prod:
- cortex storage 100Gi -> 150Gi
accepted although a running cluster rejects it:
- prod: cortex storage 100Gi -> 150Gi, with --accept-storage-growth; once this commit is pushed, in namespace synapse-prod:
  1. the StorageClass of PVC storage-cortex-0 ('standard') must have allowVolumeExpansion: true
  2. kubectl -n synapse-prod patch pvc storage-cortex-0 -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"150Gi\"}}}}'
  3. kubectl -n synapse-prod delete sts cortex --cascade=orphan
  4. sync: argocd app sync synapse-prod"
expect "the overlay holds the new size" \
  grep -qxF '  "value": "150Gi"' "$REPO/overlays/prod/cortex-storage.yaml"

run "$SYNOVERLAY" build prod.toml --repo repo
expect_rc 0 "the next build compares with the new record and passes"

# The same size in other words is no change.
start_from 's/storage = "100Gi"/storage = "102400Mi"/'
run "$SYNOVERLAY" build prod.toml --repo repo
expect_rc 0 "quantities compare by value"

# ---------------------------------------------------------------------------------------
echo "# storage shrink, storage class, AHA network, namespace, cluster domain"

start_from 's/storage = "100Gi"/storage = "80Gi"/'
refused "storage shrink" \
"prod.toml:10:11: error: cortex storage shrinks from '100Gi' to '80Gi': a volume cannot shrink
   10 | storage = \"80Gi\"
      |           ^~~~~~
$REBUILD_HINT
$REFUSED"
refused "storage shrink with --accept-storage-growth" "$(cat "$ERR")" --accept-storage-growth

start_from 's/storage_class = "standard"/storage_class = "fast"/'
refused "a changed storage class" \
"prod.toml:4:17: error: storage class changes from 'standard' to 'fast': existing volumes keep their class, and a running StatefulSet cannot change its volume claim template
   4 | storage_class = \"fast\"
     |                 ^~~~~~
$REBUILD_HINT
$REFUSED"

start_from '/^storage_class/d'
refused "a storage class left out" \
"prod.toml:1:8: error: storage class changes from 'standard' to the cluster's default: existing volumes keep their class, and a running StatefulSet cannot change its volume claim template
   1 | name = \"prod\"
     |        ^~~~~~
$REBUILD_HINT
$REFUSED"

start_from 's/network = "prod.synapse"/network = "prod2.synapse"/'
refused "a changed AHA network" \
"prod.toml:7:11: error: AHA network changes from 'prod.synapse' to 'prod2.synapse': AHA's certificate authority and every service certificate were issued for the network the environment was deployed with
   7 | network = \"prod2.synapse\"
     |           ^~~~~~~~~~~~~~~
$REBUILD_HINT
$REFUSED"

start_from 's/^namespace = .*/namespace = "synapse-new"/'
refused "a changed namespace" \
"prod.toml:2:13: error: namespace changes from 'synapse-prod' to 'synapse-new': the running deployment and its volumes stay in 'synapse-prod', and AHA's certificates name 'aha.synapse-prod.svc.cluster.local'
   2 | namespace = \"synapse-new\"
     |             ^~~~~~~~~~~~~
$REBUILD_HINT
$REFUSED"

start_from 's/^version = "v2.233.0"/&\ncluster_domain = "corp.local"/'
refused "a changed cluster domain" \
"prod.toml:4:18: error: cluster domain changes from 'cluster.local' to 'corp.local': AHA's certificate and the registry URL every service stores name 'aha.synapse-prod.svc.cluster.local'
   4 | cluster_domain = \"corp.local\"
     |                  ^~~~~~~~~~~~
$REBUILD_HINT
$REFUSED"

start_from 's/storage = "100Gi"/storage = "80Gi"/; s/^namespace = .*/namespace = "synapse-new"/'
run "$SYNOVERLAY" build --allow-rebuild prod.toml --repo repo
expect_rc 0 "--allow-rebuild lets a deliberate rebuild through"
expect "the commit message says what was let through" same_text <(head_body) \
"prod:
- namespace synapse-prod -> synapse-new
- cortex storage 100Gi -> 80Gi
accepted although a running cluster rejects it:
- prod: cortex storage 100Gi -> 80Gi, with --allow-rebuild (a deliberate rebuild)
- prod: namespace synapse-prod -> synapse-new, with --allow-rebuild (a deliberate rebuild)"

# ---------------------------------------------------------------------------------------
echo "# downgrades"

start_from 's/^version = "v2.233.0"/version = "v2.232.0"/'
refused "a lower Synapse release" \
"prod.toml:3:11: error: version goes back from 'v2.233.0' to 'v2.232.0': Synapse cannot be downgraded once a newer release has touched its storage
   3 | version = \"v2.232.0\"
     |           ^~~~~~~~~~
  hint: use 'v2.233.0' or newer; --allow-downgrade commits it anyway, for storage the newer release never touched
$REFUSED"

start_from 's/^version = "v2.19.3"/version = "v2.19.2"/'
refused "a lower Optic release" \
"prod.toml:13:11: error: optic version goes back from 'v2.19.3' to 'v2.19.2': Optic cannot be downgraded once a newer release has touched its storage
   13 | version = \"v2.19.2\"
      |           ^~~~~~~~~
  hint: use 'v2.19.3' or newer; --allow-downgrade commits it anyway, for storage the newer release never touched
$REFUSED"

start_from 's/^version = "v2.233.0"/version = "v2.232.0"/; s/^version = "v2.19.3"/version = "v2.19.2"/'
run "$SYNOVERLAY" build --allow-downgrade prod.toml --repo repo
expect_rc 0 "--allow-downgrade lets both through"
expect "the commit message says so" same_text <(head_body | sed -n '/^accepted/,$p') \
"accepted although a running cluster rejects it:
- prod: version v2.233.0 -> v2.232.0, with --allow-downgrade
- prod: optic version v2.19.3 -> v2.19.2, with --allow-downgrade"

start_from 's/^version = "v2.233.0"/version = "v2.x.x"/'
run "$SYNOVERLAY" build prod.toml --repo repo
expect_rc 0 "a floating tag is not compared"

# ---------------------------------------------------------------------------------------
echo "# changes a running cluster takes"

start_from '/^\[optic\]/a enabled = false'
run "$SYNOVERLAY" build prod.toml --repo repo
expect_rc 0 "switching Optic off"
sed -i '/^enabled = false/d' "$WORK/prod.toml"
run "$SYNOVERLAY" build prod.toml --repo repo
expect_rc 0 "switching Optic on again"

start_from 's/^version = "v2.233.0"/version = "v2.240.0"/; s/storage = "100Gi"/storage = "100Gi"\nlimits = { memory = "16Gi" }/'
run "$SYNOVERLAY" build prod.toml --repo repo
expect_rc 0 "an upgrade and a new memory limit"

# ---------------------------------------------------------------------------------------
echo "# a committed record that cannot be read"

start_from 's/storage = "100Gi"/storage = "150Gi"/'
printf '# not a record\nname = 42\n' >"$REPO/overlays/prod/synoverlay-record.toml"
git -C "$REPO" commit -q -am "a broken record"
BROKEN=$(git -C "$REPO" rev-parse HEAD)
run "$SYNOVERLAY" build --werror prod.toml --repo repo
expect_rc 1 "an unreadable record is a warning, which fails under --werror"
# The problem in parentheses is the loader's own message.
sed -i 's/cannot be read (.*), so/cannot be read (...), so/' "$ERR"
expect "the warning says the guards could not compare" same_text "$ERR" \
"prod.toml: warning: the committed record of 'prod' cannot be read (...), so the guards could not compare the change with it
  hint: compare overlays/prod/synoverlay-record.toml with this file by hand
$REFUSED"
expect "nothing committed under --werror" test "$(git -C "$REPO" rev-parse HEAD)" = "$BROKEN"
run "$SYNOVERLAY" build prod.toml --repo repo
expect_rc 0 "without --werror the build goes on"
expect "and prints the warning" grep -q "^prod.toml: warning: the committed record" "$ERR"

# ---------------------------------------------------------------------------------------
echo "# base/ written by another synoverlay"

# HEAD's base/ as an older synoverlay might have written it: another serviceName for optic,
# with a record that lists the file, so that it is no hand edit.
start_from ''
printf 'name = "dev"\nnamespace = "synapse-dev"\nversion = "v2.233.0"\n' >"$WORK/dev.toml"
run "$SYNOVERLAY" build dev.toml --repo repo
expect_rc 0 "build dev (no Optic) beside prod"
sed -i 's/"serviceName": "optic-headless"/"serviceName": "optic-pods"/' \
  "$REPO/base/optic/statefulset.yaml"
BLOB=$(git -C "$REPO" hash-object base/optic/statefulset.yaml)
sed -i "s|^\"optic/statefulset.yaml\" = \"[0-9a-f]*\"|\"optic/statefulset.yaml\" = \"$BLOB\"|; s|^synoverlay = .*|synoverlay = \"0.0.1\"|" \
  "$REPO/base/synoverlay-record.toml"
git -C "$REPO" commit -q -am "base/ of synoverlay 0.0.1"
OLD_BASE=$(git -C "$REPO" rev-parse HEAD)

before=$(state)
run "$SYNOVERLAY" build dev.toml --repo repo
expect_rc 1 "a base/ change to a claim template, selector or serviceName is refused"
expect "it names the file and every environment using it, built now or not" same_text "$ERR" \
"synoverlay: error: base/optic/statefulset.yaml: this synoverlay changes the serviceName of StatefulSet 'optic', which a running cluster rejects; environments using it: prod
  hint: keep building these environments with the synoverlay that wrote base/, or run again with --allow-rebuild and, once the commit is pushed, recreate the StatefulSet without its pods, then sync:
    prod: kubectl -n synapse-prod delete sts optic --cascade=orphan
$REFUSED"
expect "nothing written or committed" test "$before" = "$(state)"

run "$SYNOVERLAY" build --allow-rebuild dev.toml --repo repo
expect_rc 0 "--allow-rebuild lets the base/ change through"
expect "the commit message names the steps" same_text <(head_body | sed -n '/^accepted/,/^base:/p') \
"accepted although a running cluster rejects it:
- base/optic/statefulset.yaml: this synoverlay changes the serviceName of StatefulSet 'optic', with --allow-rebuild; once this commit is pushed, recreate it without its pods, then sync:
  1. prod: kubectl -n synapse-prod delete sts optic --cascade=orphan
base: written by synoverlay $VERSION"

# A base/ change elsewhere in the StatefulSet (the pod template) is taken.
git -C "$REPO" reset -q --hard "$OLD_BASE"
git -C "$REPO" show "$FIRST:base/optic/statefulset.yaml" >"$REPO/base/optic/statefulset.yaml"
sed -i 's/"failureThreshold": 3/"failureThreshold": 5/' "$REPO/base/optic/statefulset.yaml"
BLOB=$(git -C "$REPO" hash-object base/optic/statefulset.yaml)
sed -i "s|^\"optic/statefulset.yaml\" = \"[0-9a-f]*\"|\"optic/statefulset.yaml\" = \"$BLOB\"|" \
  "$REPO/base/synoverlay-record.toml"
git -C "$REPO" commit -q -am "another base/ of synoverlay 0.0.1"
run "$SYNOVERLAY" build dev.toml --repo repo
expect_rc 0 "a base/ change to the pod template passes"

expect "the repository is fsck-clean" git -C "$REPO" fsck --strict --no-progress

finish
