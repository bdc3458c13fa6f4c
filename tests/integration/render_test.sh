#!/usr/bin/env bash
# Renders every example (and one extra environment) with the real kubectl kustomize and
# checks the render with the node tools in tests/node: values in their right fields,
# RBAC, Pod Security, waves, schemas. A negative control section then breaks renders on
# purpose and makes sure the checkers notice. Run by CTest as
#   render_test.sh SYNOVERLAY SOURCE_DIR SCRATCH_DIR
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

require_kubectl
require_node_tools
command -v node >/dev/null || skip "node is not installed (needed for tests/node)"
NODE_DIR="$SOURCE_DIR/tests/node"
[ -x "$NODE_DIR/node_modules/.bin/taplo" ] ||
  skip "tests/node/node_modules/.bin/taplo is missing: run scripts/setup-debian.sh"

# Fresh repositories are made with --init on paths that do not exist yet, so they are new
# repositories even when the scratch folder lies inside another checkout.
WORK="$SCRATCH/work"
mkdir -p "$WORK"

# tally WHAT FILE RC: passes a node checker's lines through and counts them.
tally() {
  local what=$1 file=$2 rc=$3 passed failed
  cat "$file"
  passed=$(grep -c '^ok - ' "$file" || true)
  failed=$(grep -c '^not ok - ' "$file" || true)
  PASSED=$((PASSED + passed))
  FAILED=$((FAILED + failed))
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    not_ok "$what exited with status $rc without naming a failed check"
  fi
  if [ "$rc" -eq 0 ] && [ "$failed" -ne 0 ]; then
    not_ok "$what exited 0 although checks failed"
  fi
  if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then not_ok "$what ran no check"; fi
}

# node_run OUTPUT SCRIPT ARGS...: runs a checker; its exit status in RC.
node_run() {
  local output=$1 script=$2
  shift 2
  RC=0
  node "$NODE_DIR/$script" "$@" >"$output" 2>&1 || RC=$?
}

# kustomize NAME FOLDER OUTPUT: kubectl kustomize FOLDER must exit 0 and print no warning.
kustomize() {
  local name=$1 folder=$2 output=$3 rc=0
  kubectl kustomize "$folder" >"$output" 2>"$output.stderr" || rc=$?
  if [ "$rc" -eq 0 ]; then ok "$name: kubectl kustomize exits 0"; else
    not_ok "$name: kubectl kustomize exits $rc"
  fi
  if [ -s "$output.stderr" ]; then
    not_ok "$name: kubectl kustomize prints nothing on stderr (no warning)"
    sed 's/^/#   /' "$output.stderr"
  else
    ok "$name: kubectl kustomize prints nothing on stderr (no warning)"
  fi
  [ "$rc" -eq 0 ]
}

# An environment that no example covers: another namespace and cluster domain, a registry
# with a port, a digest on aha, quantities that are not canonical as written, no storage
# class, config values that are not strings, and Optic switched off with its settings kept.
cat >"$WORK/custom.toml" <<'EOF'
name = "team-a"
namespace = "team-a"
version = "v2.233.0"
cluster_domain = "k8s.internal"
registry = "registry.internal:5000/vertex"
pull_secret = "team-a-pull"

[aha]
digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
requests = { memory = "0.5Gi" }
limits = { cpu = "1.5", memory = "1536Mi" }

[axon]
storage = "1.5Ti"
requests = { cpu = "500m" }

[jsonstor]
storage = "2048Mi"
limits = { memory = "2Gi" }

[cortex]
storage = "1000Gi"
requests = { cpu = "0.25", memory = "1000Mi" }
limits = { cpu = "1000m", memory = "4096Mi" }

[cortex.config]
"storm:log" = false
"max:users" = 10

[optic]
enabled = false
version = "v2.19.3"
netloc = "optic.team-a.example.com:8443"
EOF

# The checker's own arithmetic first: canonical quantities as the API server stores them.
RC=0
node "$NODE_DIR/check-render.mjs" --self-test >"$WORK/self-test.log" 2>&1 || RC=$?
tally "check-render.mjs --self-test" "$WORK/self-test.log" "$RC"

# ---------------------------------------------------------------------------------------
# Each environment: build, render, check.

render_one() {
  local env_file=$1 name repo render base
  name=$(sed -n 's/^name *= *"\([^"]*\)".*/\1/p' "$env_file" | head -n 1)
  repo="$WORK/repo-$name"
  render="$WORK/$name.render.yaml"
  base="$WORK/$name.base.yaml"
  echo "# $name ($env_file)"

  RC=0
  "$SYNOVERLAY" build "$env_file" --repo "$repo" --init >"$WORK/$name.build.log" 2>&1 || RC=$?
  if [ "$RC" -ne 0 ]; then
    not_ok "$name: synoverlay build exits 0 (got $RC)"
    sed 's/^/#   /' "$WORK/$name.build.log"
    return
  fi
  ok "$name: synoverlay build exits 0"

  kustomize "$name overlay" "$repo/overlays/$name" "$render" || return 0
  kustomize "$name base" "$repo/base" "$base" || return 0

  local clusters=()
  if [ -d "$repo/clusters/$name" ]; then
    mapfile -t clusters < <(find "$repo/clusters/$name" -name '*.yaml' | sort)
  fi
  node_run "$WORK/$name.validate.log" validate-render.mjs --label "$name" "$render" "$base" \
    "${clusters[@]}"
  tally "$name: validate-render.mjs" "$WORK/$name.validate.log" "$RC"

  node_run "$WORK/$name.check.log" check-render.mjs --label "$name" --env "$env_file" \
    --render "$render" --base "$base" --clusters "$repo/clusters/$name"
  # For the negative control: the same environment as JSON, so taplo runs only once.
  "$NODE_DIR/node_modules/.bin/taplo" get -o json -f "$env_file" >"$WORK/$name.env.json" ||
    not_ok "$name: taplo reads the environment file"
  tally "$name: check-render.mjs" "$WORK/$name.check.log" "$RC"
}

for env_file in "$SOURCE_DIR"/examples/*.toml "$WORK/custom.toml"; do
  render_one "$env_file"
done

# The base on its own: it renders, and it follows every rule that does not depend on an
# environment (namespace "synapse", all five services).
if [ -s "$WORK/production.base.yaml" ]; then
  echo "# base/ on its own"
  node_run "$WORK/base.check.log" check-render.mjs --label "base" --base-only \
    "$WORK/production.base.yaml"
  tally "base: check-render.mjs" "$WORK/base.check.log" "$RC"
else
  not_ok "base: there is a base render to check"
fi

# The examples must cover what the checks above claim to check.
production_declares() {
  local file="$SOURCE_DIR/examples/production.toml" key
  for key in '^storage_class *=' '^registry *=' '^pull_secret *=' '^digest *=' \
    '^\[optic\.ingress\]' '^tls_secret *=' '^\[cortex\.config\]' '^\[provisioning\]'; do
    grep -qE "$key" "$file" || { echo "# production.toml lacks $key"; return 1; }
  done
}
check "examples: production sets the keys whose checks would otherwise be skipped" \
  production_declares
check "examples: staging is deployed by Flux, production by Argo CD" \
  test -f "$WORK/repo-staging/clusters/staging/flux-source.yaml" -a \
  -f "$WORK/repo-production/clusters/production/argocd-application.yaml"

# ---------------------------------------------------------------------------------------
# Negative control: each of these renders is broken in one way, and the checker must say
# so with a failed check whose name or reasons mention the expected words. A control whose
# edit changed nothing fails too, so that a stale edit cannot pass quietly.

echo "# negative control: broken renders must fail"

PROD_RENDER="$WORK/production.render.yaml"
PROD_BASE="$WORK/production.base.yaml"
PROD_ENV="$WORK/production.env.json"
STAGING_RENDER="$WORK/staging.render.yaml"
STAGING_ENV="$WORK/staging.env.json"
CONTROL="$WORK/control"
mkdir -p "$CONTROL"

# expect_caught WHAT PATTERN ORIGINAL BROKEN CHECKER ARGS...: BROKEN must differ from
# ORIGINAL, and the checker must exit non-zero with a "not ok" block matching PATTERN.
expect_caught() {
  local what=$1 pattern=$2 original=$3 broken=$4 log
  shift 4
  log="$CONTROL/$(echo "$what" | tr -c 'a-zA-Z0-9\n' '-').log"
  if cmp -s "$original" "$broken"; then
    not_ok "control: $what (the edit changed nothing; the control is stale)"
    return
  fi
  node_run "$log" "$@"
  # The failed check's line and its reasons ("#   ...") below it.
  if [ "$RC" -ne 0 ] && awk '/^not ok - /{on=1; print; next} /^ok - /{on=0} on' "$log" |
    grep -qiE "$pattern"; then
    ok "control: $what is caught"
  else
    not_ok "control: $what is caught (exit $RC, expected a failure matching '$pattern')"
    grep -E '^not ok|^#' "$log" | sed 's/^/#   /' | head -n 20
  fi
}

# control_check WHAT PATTERN SED_SCRIPT: the production render edited by sed, through
# check-render.mjs.
control_check() {
  local what=$1 pattern=$2 script=$3 broken
  broken="$CONTROL/$(echo "$what" | tr -c 'a-zA-Z0-9\n' '-').yaml"
  sed -e "$script" "$PROD_RENDER" >"$broken"
  expect_caught "$what" "$pattern" "$PROD_RENDER" "$broken" check-render.mjs --label control \
    --env-json "$PROD_ENV" --render "$broken" --base "$PROD_BASE" \
    --clusters "$WORK/repo-production/clusters/production"
}

if [ -s "$PROD_RENDER" ] && [ -s "$PROD_BASE" ] && [ -s "$STAGING_RENDER" ] &&
  [ -s "$PROD_ENV" ] && [ -s "$STAGING_ENV" ]; then
  control_check "storage class removed" "storageClassName" '/storageClassName: fast-ssd/d'
  control_check "a storage size left at another value" "storage '100Gi'" \
    's/storage: 200Gi/storage: 100Gi/'
  control_check "an image tag a patch missed" "synapse-axon:v2.232.0" \
    's#synapse-axon:v2.233.0#synapse-axon:v2.232.0#'
  control_check "the cortex digest dropped" "synapse-cortex" 's#@sha256:[0-9a-f]*##'
  control_check "a limit that is not the declared one" "limits.memory is '32Gi'" \
    's/memory: 16Gi/memory: 32Gi/'
  control_check "a quantity in a non-canonical form" "canonical" \
    's/memory: 4Gi/memory: 4096Mi/'
  control_check "a wrong SYN_AHA_DNS_NAME" "SYN_AHA_DNS_NAME" \
    's/aha.synapse.svc.cluster.local/aha.synapse.svc.cluster.locl/'
  control_check "the AHA network left at the default" "SYN_AHA_AHA_NETWORK" \
    's/SYN_AHA_AHA_NETWORK: prod.synapse/SYN_AHA_AHA_NETWORK: production.synapse/'
  control_check "a config option lost" "SYN_CORTEX_STORM_LOG" '/SYN_CORTEX_STORM_LOG: "true"/d'
  control_check "a wrong netloc" "SYN_OPTIC_NETLOC" \
    's/SYN_OPTIC_NETLOC: optic.synapse.example.com/SYN_OPTIC_NETLOC: optic.example.com/'
  listen='  SYN_AXON_DMON_LISTEN: tcp://0.0.0.0:27492/?hostname=00.axon.synapse'
  control_check "DMON_LISTEN set" "DMON_LISTEN" "s#^  SYN_AXON_HTTPS_PORT: \"null\"#&\\n$listen#"
  probe='        livenessProbe:\n          tcpSocket:\n            port: 27492'
  control_check "a livenessProbe" "livenessProbe" \
    "0,/^        readinessProbe:/s//$probe\\n        readinessProbe:/"
  control_check "an optional secretRef" "optional" 's/optional: false/optional: true/'
  control_check "an init container waiting by full DNS name" "\.svc" \
    's/^        - jsonstor$/        - jsonstor.synapse.svc.cluster.local/'
  control_check "a PostSync Job" "hook is 'PostSync'" \
    's#argocd.argoproj.io/hook: Sync#argocd.argoproj.io/hook: PostSync#'
  control_check "a Job without BeforeHookCreation" "hook-delete-policy" \
    's#hook-delete-policy: BeforeHookCreation#hook-delete-policy: HookSucceeded#'
  force='    kustomize.toolkit.fluxcd.io\/force: enabled'
  control_check "Flux force on a StatefulSet" "carries it" \
    "0,/^    argocd.argoproj.io\\/sync-wave: \"3\"\$/s//&\\n$force/"
  control_check "optic in an early wave" "before optic" 's/sync-wave: "4"/sync-wave: "3"/'
  control_check "PROVISION_SERVICES without optic" "PROVISION_SERVICES" \
    's/value: axon jsonstor cortex optic/value: axon jsonstor cortex/'
  control_check "a list verb in the Role" "grants list" 's/^  - create$/  - create\n  - list/'
  control_check "a wildcard in the Role" "wildcard|unexpected rule" 's/^  - pods\/exec$/  - "*"/'
  control_check "secrets get without optic-provision" "lacks the rule|unexpected rule" \
    '/^  - optic-provision$/d'
  control_check "allowPrivilegeEscalation dropped" "allowPrivilegeEscalation" \
    '0,/allowPrivilegeEscalation: false/{/allowPrivilegeEscalation: false/d}'
  control_check "capabilities not dropped" "capabilities" \
    '0,/^            - ALL$/s//            - NET_RAW/'
  control_check "a root user" "runAsUser" '0,/runAsUser: 999/s//runAsUser: 0/'
  control_check "seccomp unset" "seccomp" '/seccompProfile:/,+1d'
  control_check "a hostPath volume" "hostPath" \
    's#^      - emptyDir: {}$#      - hostPath:\n          path: /var/run\n        name: host\n&#'
  control_check "the Ingress on another port" "optic:443" 's/number: 4443/number: 443/'
  control_check "the Ingress without its TLS secret" "TLS" '/secretName: optic-tls/d'
  control_check "an object in another namespace" "namespace 'synapse-staging'" \
    '0,/^  namespace: synapse$/s//  namespace: synapse-staging/'

  broken="$CONTROL/clusterrole.yaml"
  { cat "$PROD_RENDER"; printf '%s\n' '---' 'apiVersion: rbac.authorization.k8s.io/v1' \
    'kind: ClusterRole' 'metadata:' '  name: synapse-everything' '  labels:' \
    '    app.kubernetes.io/instance: production' 'rules:' '- apiGroups: ["*"]' \
    '  resources: ["*"]' '  verbs: ["*"]'; } >"$broken"
  expect_caught "a ClusterRole added" "ClusterRole" "$PROD_RENDER" "$broken" check-render.mjs \
    --env-json "$PROD_ENV" --render "$broken" --base "$PROD_BASE" \
    --clusters "$WORK/repo-production/clusters/production"

  broken="$CONTROL/secret.yaml"
  { cat "$PROD_RENDER"; printf '%s\n' '---' 'apiVersion: v1' 'kind: Secret' 'metadata:' \
    '  name: synapse-registry' '  namespace: synapse' 'type: kubernetes.io/dockerconfigjson' \
    'data:' '  .dockerconfigjson: e30='; } >"$broken"
  expect_caught "a Secret from a secretGenerator" "Secret" "$PROD_RENDER" "$broken" \
    check-render.mjs --env-json "$PROD_ENV" --render "$broken" --base "$PROD_BASE" \
    --clusters "$WORK/repo-production/clusters/production"

  broken="$CONTROL/staging-namespace.yaml"
  sed '0,/SYN_AHA_DNS_NAME: aha.synapse-staging.svc/s//SYN_AHA_DNS_NAME: aha.synapse.svc/' \
    "$STAGING_RENDER" >"$broken"
  expect_caught "staging naming the 'synapse' namespace" "aha.synapse.svc" "$STAGING_RENDER" \
    "$broken" check-render.mjs --env-json "$STAGING_ENV" --render "$broken" \
    --base "$WORK/staging.base.yaml" --clusters "$WORK/repo-staging/clusters/staging"

  broken="$CONTROL/replicas.yaml"
  sed 's/^  replicas: 1$/  replicas: one/' "$PROD_RENDER" >"$broken"
  expect_caught "a field of the wrong type" "replicas must be integer" "$PROD_RENDER" "$broken" \
    validate-render.mjs "$broken"

  broken="$CONTROL/unknown-kind.yaml"
  { cat "$PROD_RENDER"; printf '%s\n' '---' 'apiVersion: apps/v1' 'kind: StatefulSett' \
    'metadata:' '  name: typo'; } >"$broken"
  expect_caught "a kind with no schema" "no schema" "$PROD_RENDER" "$broken" \
    validate-render.mjs "$broken"

  original="$WORK/repo-staging/clusters/staging/flux-kustomization.yaml"
  broken="$CONTROL/flux-kustomization.yaml"
  sed '/"prune"/d' "$original" >"$broken"
  expect_caught "a Flux Kustomization without prune" "prune" "$original" "$broken" \
    validate-render.mjs "$broken"

  original="$WORK/repo-production/clusters/production/argocd-application.yaml"
  mkdir -p "$CONTROL/clusters-production"
  broken="$CONTROL/clusters-production/argocd-application.yaml"
  sed 's#"path": "overlays/production"#"path": "overlays/staging"#' "$original" >"$broken"
  expect_caught "an Application pointing at another overlay" "source.path" "$original" \
    "$broken" check-render.mjs --env-json "$PROD_ENV" --render "$PROD_RENDER" --base "$PROD_BASE" \
    --clusters "$CONTROL/clusters-production"
else
  not_ok "control: the production and staging renders exist to break"
fi

finish
