#!/usr/bin/env bash
# The JSON Schema and synoverlay agree. taplo (pinned in tests/node/package.json) checks the
# examples and every corpus file against schema/env.schema.json through the files' own
# `#:schema` line, and a set of probe values through --schema. Where the schema can express
# a rule, taplo must reject exactly the files synoverlay rejects; the rules it cannot express
# are listed below, and for those taplo must accept what synoverlay rejects, so that the list
# stays true. `synoverlay schema` must print the schema file byte for byte.
source "$(dirname "$0")/../lib/common.sh"

require_node_tools
TAPLO=$SOURCE_DIR/tests/node/node_modules/.bin/taplo
[ -x "$TAPLO" ] || skip "taplo is not installed in tests/node: run scripts/setup-debian.sh"
command -v node >/dev/null || skip "node is not installed (taplo runs on it)"
SCHEMA=$SOURCE_DIR/schema/env.schema.json

# Corpus files that synoverlay rejects for a reason a JSON Schema cannot state, with the
# reason. taplo must accept each of them.
NOT_EXPRESSIBLE=(
  "error.request-above-limit: compares two values after unit conversion"
  "error.request-above-limit-memory: compares two values after unit conversion"
  "error.request-above-default-limit: compares a value with another key's default"
  "error.limit-below-default-request: compares a value with another key's default"
  "error.config-duplicate: two keys that give the same variable name"
  "error.config-value-date: a schema sees a TOML date as a string"
  "error.quantity-too-large: the size of a number, not its spelling"
  "error.toml-depth: how deeply a value nests"
  "error.gitops-repo-url-credentials: a user name or password inside a URL"
)

not_expressible() {
  local entry
  for entry in "${NOT_EXPRESSIBLE[@]}"; do
    [ "${entry%%:*}" = "$1" ] && return 0
  done
  return 1
}

# Runs taplo over files; prints the files it rejects, one per line, as absolute paths.
taplo_rejects() {
  local log=$SCRATCH/taplo.log
  "$TAPLO" check --no-auto-config --colors never "$@" >"$log" 2>&1 || true
  if grep -q "panicked\|RuntimeError\|failed to load schema" "$log"; then
    cat "$log" >&2
    echo "taplo crashed or did not find the schema" >&2
    return 1
  fi
  sed -n 's/.*invalid file .*path="\([^"]*\)".*/\1/p' "$log" | sort -u
}

# ---- the schema itself ----------------------------------------------------------------------

check "synoverlay schema prints schema/env.schema.json byte for byte" \
  cmp -s <("$SYNOVERLAY" schema) "$SCHEMA"
check "the schema is JSON of draft-07 that forbids unknown keys" python3 -c '
import json, sys
schema = json.load(open(sys.argv[1]))
assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
assert schema["additionalProperties"] is False
def walk(node, path):
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, path
            for key, sub in node["properties"].items():
                assert "description" in sub, path + "." + key
        for key, sub in node.items():
            walk(sub, path + "/" + key)
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            walk(sub, path + "/" + str(i))
walk(schema, "")
' "$SCHEMA"

# ---- examples and corpus, through their own #:schema lines ---------------------------------

cd "$SOURCE_DIR"
mapfile -t EXAMPLES < <(ls examples/*.toml)
mapfile -t OK_CASES < <(ls tests/cases/ok.*.toml)
mapfile -t ERROR_CASES < <(ls tests/cases/error.*.toml)

for file in "${EXAMPLES[@]}" "${OK_CASES[@]}" "${ERROR_CASES[@]}"; do
  head -n 1 "$file" | grep -q '^#:schema \.\./.*schema/env\.schema\.json$' ||
    not_ok "$file does not start with a #:schema line"
done

REJECTED=$(taplo_rejects "${EXAMPLES[@]}" "${OK_CASES[@]}" "${ERROR_CASES[@]}") ||
  { not_ok "taplo ran"; finish; }
rejected() { grep -qxF "$SOURCE_DIR/$1" <<<"$REJECTED"; }

for file in "${EXAMPLES[@]}" "${OK_CASES[@]}"; do
  if rejected "$file"; then not_ok "taplo accepts $file"; else ok "taplo accepts $file"; fi
  "$SYNOVERLAY" validate "$file" >/dev/null 2>&1 || not_ok "synoverlay accepts $file"
done

for file in "${ERROR_CASES[@]}"; do
  name=$(basename "$file" .toml)
  exit_code=$(cat "tests/cases/$name.exit")
  if [ "$exit_code" = 1 ] && ! not_expressible "$name"; then
    want=reject
  else
    want=accept
  fi
  if rejected "$file"; then got=reject; else got=accept; fi
  if [ "$want" = "$got" ]; then
    ok "taplo and synoverlay agree on $name (synoverlay exit $exit_code, taplo ${got}s)"
  else
    not_ok "$name: synoverlay exits $exit_code, taplo ${got}s it, expected taplo to $want"
  fi
done

for entry in "${NOT_EXPRESSIBLE[@]}"; do
  [ -f "tests/cases/${entry%%:*}.toml" ] || not_ok "NOT_EXPRESSIBLE names a missing case: $entry"
done

# The examples' `#:schema ../schema/env.schema.json` is resolved against the file's folder:
# a broken copy of an example in the same layout must be rejected, or taplo never read it.
mkdir -p "$SCRATCH/layout/examples" "$SCRATCH/layout/schema"
cp "$SCHEMA" "$SCRATCH/layout/schema/env.schema.json"
sed 's/^storage_class = .*/storage_clas = "fast-ssd"/' examples/production.toml \
  >"$SCRATCH/layout/examples/production.toml"
LAYOUT_REJECTED=$(taplo_rejects "$SCRATCH/layout/examples/production.toml") || LAYOUT_REJECTED=
check "taplo finds the schema through the examples' #:schema line" \
  grep -qxF "$SCRATCH/layout/examples/production.toml" <<<"$LAYOUT_REJECTED"

# ---- probe values, through --schema -----------------------------------------------------------

# One probe a line: table|key|value. The table is "" for the top level; a value that
# starts with '=' is written as raw TOML, any other is quoted. Every probe file has a name and
# version (unless the probe sets them), [optic] gets a version, [gitops] an engine and a
# repo_url, and "gitops-flux" stands for [gitops] with engine "flux".
PROBES=$(cat <<'EOF'
|name|staging
|name|Staging
|name|staging_eu
|name|-staging
|name|staging-
|name|1st
|name|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
|name|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
|name|
|namespace|synapse-dev
|namespace|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
|namespace|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
|namespace|synapse.dev
|version|v2.233.0
|version|v2.0.0
|version|v2.x.x
|version|v3.0.0
|version|v3.x.x
|version|v1.9.9
|version|v2.01.0
|version|2.233.0
|version|v2.233
|version|latest
|version|v2.233.0-rc1
|version|=2.1
|cluster_domain|cluster.local
|cluster_domain|Cluster.local
|cluster_domain|cluster..local
|cluster_domain|.cluster.local
|storage_class|fast.ssd
|storage_class|fast_ssd
|pull_secret|registry-secret
|pull_secret|registry secret
|registry|mirror.example.com/vertexproject
|registry|mirror.example.com:5000/vertexproject
|registry|localhost:5000
|registry|vertexproject
|registry|my__org/images
|registry|Mirror.example.com/vertexproject
|registry|mirror.example.com/
|registry|mirror.example.com//vertexproject
|registry|mirror.example.com/vertexproject:v2
|registry|-mirror.example.com
cortex|storage|1Gi
cortex|storage|1.5Gi
cortex|storage|100G
cortex|storage|1e3
cortex|storage|1E3
cortex|storage|.5Gi
cortex|storage|+1Gi
cortex|storage|1.
cortex|storage|1.5
cortex|storage|128m
cortex|storage|1E
cortex|storage|0
cortex|storage|0.0Gi
cortex|storage|-1Gi
cortex|storage|1g
cortex|storage|1GB
cortex|storage|1 Gi
cortex|storage|
cortex|storage|Gi
cortex|storage|1e
cortex|storage|1.2.3
cortex|storage|1e3Gi
cortex|storage|=5
cortex.requests|cpu|250m
cortex.requests|cpu|0.5
cortex.requests|cpu|1e-1
cortex.requests|cpu|2Gi
cortex.requests|cpu|=1
cortex.limits|memory|16Gi
cortex.limits|memory|16gi
cortex|digest|sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
cortex|digest|sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde
cortex|digest|sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef
cortex|digest|0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
cortex|digest|sha512:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
aha|network|prod.synapse
aha|network|synapse
aha|network|a.b
aha|network|Prod.synapse
aha|network|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.syn
aha|network|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.syn
optic|netloc|optic.example.com
optic|netloc|optic.example.com:8443
optic|netloc|optic.example.com:65535
optic|netloc|optic.example.com:65536
optic|netloc|optic.example.com:0
optic|netloc|optic.example.com:08443
optic|netloc|optic.example.com:
optic|netloc|localhost
optic|netloc|LOCALHOST
optic|netloc|host-1.example.com
optic|netloc|1-2.example
optic|netloc|a.1-2
optic|netloc|a.123
optic|netloc|3com.example
optic|netloc|10.0.0.1
optic|netloc|10.0.0.1:1
optic|netloc|1.2.3
optic|netloc|1.2.3.4.5
optic|netloc|01.2.3.4
optic|netloc|256.1.1.1
optic|netloc|[::1]
optic|netloc|[fd00::1]:4443
optic|netloc|[fd00::1]:65536
optic|netloc|[1:2:3:4:5:6:7:8]
optic|netloc|[1:2:3:4:5:6:7:8:9]
optic|netloc|[fd00::1
optic|netloc|[g::1]
optic|netloc|fd00::1
optic|netloc|https://optic.example.com
optic|netloc|optic.example.com/ui
optic|netloc|admin@optic.example.com
optic|netloc|optic .example.com
optic|netloc|-optic.example.com
optic|netloc|optic-.example.com
optic|netloc|optic..example.com
optic|netloc|.optic.example.com
optic|netloc|optic.example.com.
optic|netloc|optic_ui.example.com
optic|netloc|
optic|version|v2.19.3
optic|version|v10.0.0
optic|version|v2.x.x
optic|version|2.19.3
optic|enabled|=false
optic|enabled|=0
optic.ingress|class|nginx
optic.ingress|class|Nginx
provisioning|image|registry.k8s.io/kubectl:v1.32.4
provisioning|image|registry.k8s.io/kubectl
provisioning|image|kubectl:v1
provisioning|image|localhost:5000/kubectl:v1
provisioning|image|kubectl@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
provisioning|image|registry.k8s.io/kubectl:v1.32.4@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
provisioning|image|Registry.k8s.io/kubectl:v1
provisioning|image|kubectl:
provisioning|image|kubectl:-v1
provisioning|timeout|=29
provisioning|timeout|=30
provisioning|timeout|=86400
provisioning|timeout|=86401
provisioning|retries|=0
provisioning|retries|=101
gitops|repo_url|https://git.example.com/gitops.git
gitops|repo_url|ssh://git@git.example.com/gitops.git
gitops|repo_url|git@git.example.com:platform/gitops.git
gitops|repo_url|git.example.com/gitops
gitops|repo_url|https:///gitops
gitops|repo_url|https://git.example.com/a b
gitops|repo_url|ftp://git.example.com/gitops
gitops|engine|argo
gitops|revision|release/2025
gitops|revision|$BRANCH
gitops|path|clusters/eu
gitops|path|/clusters
gitops|path|a/../b
gitops|project|my-project
gitops|argocd_namespace|Argo
gitops-flux|repo_url|git@git.example.com:platform/gitops.git
gitops-flux|repo_url|ssh://git@git.example.com/platform/gitops.git
gitops-flux|interval|5m
gitops-flux|interval|1h30m
gitops-flux|interval|500ms
gitops-flux|interval|1.5h
gitops-flux|interval|5min
gitops-flux|interval|5
gitops-flux|interval|m5
cortex.config|storm:log|=true
cortex.config|storm:log:level|INFO
cortex.config|Storm:log|=true
cortex.config|storm::log|=true
cortex.config|storm:|=true
cortex.config|1storm|=true
cortex.config|storm-log|=true
cortex.config|aha:anything|=true
cortex.config|axon|x
cortex.config|https:port|=4443
cortex.config|max:list|=[1, 2]
cortex.config|some:text|="""one\ntwo"""
axon.config|axon|x
EOF
)

# Writes one probe file and prints its path.
write_probe() {
  local number=$1 table=$2 key=$3 value=$4
  local file=$SCRATCH/probes/probe-$number.toml
  local line
  if [ "${value:0:1}" = "=" ]; then
    line="\"$key\" = ${value:1}"
  else
    line="\"$key\" = \"$value\""
  fi
  local header=$table
  [ "$table" = "gitops-flux" ] && header=gitops
  {
    [ "$table$key" = "name" ] || echo 'name = "probe"'
    [ "$table$key" = "version" ] || echo 'version = "v2.233.0"'
    [ -z "$table" ] && printf '%b\n' "$line"
    if [ -n "$table" ]; then
      echo "[$header]"
      printf '%b\n' "$line"
      [ "$table" = optic ] && [ "$key" != version ] && echo 'version = "v2.19.3"'
      [ "$table" = optic ] && [ "$key" != netloc ] && echo 'netloc = "optic.example.com"'
      [ "$table" = optic.ingress ] && printf '[optic]\nversion = "v2.19.3"\nnetloc = "o.example"\n'
      case $table in
        gitops*) [ "$key" = engine ] ||
                   { [ "$table" = gitops-flux ] && echo 'engine = "flux"' ||
                     echo 'engine = "argocd"'; }
                 [ "$key" = repo_url ] || echo 'repo_url = "https://git.example.com/g.git"' ;;
      esac
    fi
  } >"$file"
  echo "$file"
}

mkdir -p "$SCRATCH/probes"
PROBE_FILES=()
PROBE_TEXT=()
number=0
while IFS='|' read -r table key value; do
  number=$((number + 1))
  PROBE_FILES+=("$(write_probe "$number" "$table" "$key" "$value")")
  PROBE_TEXT+=("[${table:-top}] $key = '$value'")
done <<<"$PROBES"

REJECTED=$(taplo_rejects --schema "file://$SCHEMA" "${PROBE_FILES[@]}") ||
  { not_ok "taplo ran on the probes"; finish; }
accepted=0
refused=0
for i in "${!PROBE_FILES[@]}"; do
  file=${PROBE_FILES[$i]}
  if "$SYNOVERLAY" validate "$file" >/dev/null 2>&1; then ours=accept; else ours=reject; fi
  if grep -qxF "$file" <<<"$REJECTED"; then theirs=reject; else theirs=accept; fi
  [ "$ours" = accept ] && accepted=$((accepted + 1)) || refused=$((refused + 1))
  if [ "$ours" = "$theirs" ]; then
    ok "probe ${PROBE_TEXT[$i]}: both ${ours}"
  else
    not_ok "probe ${PROBE_TEXT[$i]}: synoverlay would ${ours}, taplo would ${theirs} ($file)"
  fi
done
check "the probes hold both valid and invalid values ($accepted, $refused)" \
  test "$accepted" -gt 20 -a "$refused" -gt 20

finish
