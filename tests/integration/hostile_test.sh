#!/usr/bin/env bash
# Hostile input through the real binary. Every string field the environment file has gets
# YAML, shell and newline injection: the build either refuses it (exit 1, nothing written,
# nothing committed, a diagnostic without raw control characters) or commits files that
# parse as YAML with exactly the structure a harmless value gives, whose kubectl kustomize
# render has that structure too and holds the value verbatim where it belongs, and whose
# provisioning script, run against tests/fake-kubectl with the Job's environment from the
# render, runs no part of it. Then: environment names that are paths, owned folders that
# are symbolic links leading outside the repository, an environment file whose path holds a
# line break, a 100 MB file, deep nesting, invalid UTF-8, NUL, a named pipe, a byte-order
# mark and CRLF.
# Run by CTest as hostile_test.sh SYNOVERLAY SOURCE_DIR SCRATCH_DIR. The same injections
# in process, over every string field, are tests/hostile_test.cpp.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

WORK="$SCRATCH/work"
OUTSIDE="$SCRATCH/outside"
MARKER="$SCRATCH/pwned"
mkdir -p "$WORK" "$OUTSIDE"
SECONDS_LIMIT=30

# The render part needs kubectl (1.27 or newer) and the YAML parser in tests/node; without
# them the rest still runs and the test ends as skipped, never as passed.
render_skipped=""
if ! command -v kubectl >/dev/null; then
  render_skipped="kubectl is not installed"
elif ! (require_kubectl >/dev/null 2>&1); then
  render_skipped="kubectl is older than 1.27"
fi
command -v node >/dev/null || render_skipped="node is not installed"
[ -d "$SOURCE_DIR/tests/node/node_modules/yaml" ] ||
  render_skipped="tests/node/node_modules/yaml is missing: run scripts/setup-debian.sh"
[ -e /tmp/pwned ] && echo "# note: /tmp/pwned existed before this test; it is not checked"

# new_repo DIR: an empty repository of its own (never the checkout the scratch lies in).
new_repo() {
  git init -q "$1"
}

# run_build RC_VAR OUT ERR ARGS...: the binary under a time limit; a hang is a failure.
run_build() {
  local _var=$1 _out=$2 _err=$3 _status=0
  shift 3
  timeout "$SECONDS_LIMIT" "$SYNOVERLAY" build "$@" >"$_out" 2>"$_err" || _status=$?
  printf -v "$_var" '%s' "$_status"
}

# no_raw_control FILE: the file holds no control character but newline and tab.
no_raw_control() {
  ! LC_ALL=C grep -q '[[:cntrl:]]' <(tr -d '\n\t' <"$1")
}

# tree_state REPO: HEAD and the work tree's status, to tell that nothing changed.
tree_state() {
  { git -C "$1" rev-parse -q --verify HEAD || echo unborn; git -C "$1" status --porcelain; } 2>&1
}

# outside_state: every file below $OUTSIDE with its checksum.
outside_state() {
  (cd "$OUTSIDE" && find . -type f -exec sha256sum {} + | sort)
}

# ------------------------------------------------------------------------------------------
# The YAML helper: generates the injection cases and inspects YAML with the yaml package
# of tests/node, read as YAML 1.1 like Kubernetes does.
HELPER="$SCRATCH/hostile-helper.cjs"
cat >"$HELPER" <<'EOF'
"use strict";
const fs = require("fs");
const path = require("path");
const YAML = require(process.env.YAML_MODULE);

const FIELDS = [
  ["", "name", "hostile"], ["", "namespace", "hostile-ns"], ["", "version", "v2.233.0"],
  ["", "cluster_domain", "cluster.local"], ["", "storage_class", "fast-ssd"],
  ["", "registry", "mirror.example.com/vertexproject"], ["", "pull_secret", "synapse-registry"],
  ["aha", "network", "hostile.synapse"], ["optic", "version", "v2.19.3"],
  ["optic", "netloc", "optic.example.com"], ["optic", "pull_secret", "optic-registry"],
  ["optic.ingress", "class", "nginx"], ["optic.ingress", "tls_secret", "optic-tls"],
  ["provisioning", "image", "registry.k8s.io/kubectl:v1.32.4"],
  ["cortex.config", '"storm:log:level"', "INFO"],
  ["gitops", "engine", "argocd"],
  ["gitops", "repo_url", "https://git.example.com/platform/gitops.git"],
  ["gitops", "revision", "main"], ["gitops", "path", "clusters/prod"],
];
const MARKER = process.env.MARKER;
const VALUES = [
  "a\nb: c", "x: y", "'", '"', "{a: b}", "- x", "&a", "*a", "!!python/object",
  "$(touch /tmp/pwned)", "`id`", "; rm -rf /", `$(touch ${MARKER})`, `\`touch ${MARKER}\``,
  `;touch ${MARKER}`, "a\nb", "a\r\nb", "a\u0000b", "\u001b[2J", "a\u0085b", "a\u2028b",
  "a\nenv.toml:1:1: error: forged",
];

// JSON string syntax is TOML basic string syntax for everything JSON.stringify writes.
function environment(overrides) {
  const tables = new Map();
  for (const [table, key, benign] of FIELDS) {
    const id = `${table}.${key}`;
    const value = id in overrides ? overrides[id] : benign;
    if (!tables.has(table)) tables.set(table, []);
    tables.get(table).push(`${key} = ${JSON.stringify(value)}`);
  }
  let text = "";
  for (const [table, lines] of tables) {
    if (table) text += `\n[${table}]\n`;
    text += lines.join("\n") + "\n";
  }
  return text;
}

// The value for a test line: quoted, with everything but printable ASCII escaped.
const shown = (value) => JSON.stringify(value).replace(/[\u007f-\uffff]/g,
  (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

function gen(dir) {
  let n = 0;
  const write = (engine, table, key, value) => {
    const id = `${table}.${key}`;
    const name = `case-${String(++n).padStart(4, "0")}`;
    fs.writeFileSync(path.join(dir, `${name}.toml`),
                     environment({ "gitops.engine": engine, [id]: value }));
    const control = /[\u0000-\u0008\u000a-\u001f\u007f]/.test(value) ? "control" : "plain";
    fs.writeFileSync(path.join(dir, `${name}.meta`),
                     [engine, id, Buffer.from(value, "utf8").toString("hex"), shown(value),
                      control].join("\t") + "\n");
  };
  for (const engine of ["argocd", "flux"]) {
    fs.writeFileSync(path.join(dir, `baseline-${engine}.toml`),
                     environment({ "gitops.engine": engine }));
    for (const [table, key] of FIELDS) {
      if (key === "engine") continue;
      // Flux differs from Argo CD only in what it makes of the gitops values.
      if (engine === "flux" && table !== "gitops") continue;
      for (const value of VALUES) write(engine, table, key, value);
    }
  }
}

function documents(file) {
  const text = fs.readFileSync(file, "utf8");
  const out = [];
  for (const doc of YAML.parseAllDocuments(text, { version: "1.1" })) {
    if (doc.errors.length) {
      throw new Error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
    }
    const value = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== "object") throw new Error(`${file}: a document is a bare scalar`);
    out.push(value);
  }
  return out;
}

// Keys in order, sequence lengths and scalar types; no scalar value.
function shape(value) {
  if (Array.isArray(value)) return `[${value.map(shape).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${shape(v)}`);
    return `{${entries.join(",")}}`;
  }
  return value === null ? "null" : typeof value;
}

function scalars(value, out = []) {
  if (Array.isArray(value)) value.forEach((v) => scalars(v, out));
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) { out.push(k); scalars(v, out); }
  } else out.push(String(value));
  return out;
}

const find = (docs, kind, prefix) =>
  docs.find((d) => d.kind === kind && String(d.metadata?.name ?? "").startsWith(prefix));

// Where each field's value must appear, exactly, given the parsed files and the render.
function located(id, engine, files, render, value) {
  const app = files["argocd-application.yaml"]?.[0];
  const source = files["flux-source.yaml"]?.[0];
  const kust = files["flux-kustomization.yaml"]?.[0];
  switch (id) {
    case 'cortex.config."storm:log:level"':
      return find(render, "ConfigMap", "cortex-config-")?.data?.SYN_CORTEX_STORM_LOG_LEVEL ===
        value;
    case "gitops.repo_url":
      return engine === "argocd" ? app?.spec?.source?.repoURL === value
                                 : source?.spec?.url === value;
    case "gitops.revision":
      return engine === "argocd" ? app?.spec?.source?.targetRevision === value
                                 : Object.values(source?.spec?.ref ?? {}).includes(value);
    case "gitops.path":
      return engine === "argocd" ? app?.spec?.source?.path === `${value}/overlays/hostile`
                                 : kust?.spec?.path === `./${value}/overlays/hostile`;
    default: {
      const all = [...Object.values(files).flat(), ...render].flatMap((d) => scalars(d));
      return all.some((s) => s.includes(value));
    }
  }
}

// Writes the provisioning script as the render holds it, and the Job's environment as
// NAME=VALUE entries ended by NUL bytes, for the shell to read back as they are.
function writeJob(render, dir) {
  const job = find(render, "Job", "synapse-provision");
  const container = job.spec.template.spec.containers.find((c) => c.name === "provision");
  const script = find(render, "ConfigMap", "provision-script").data["provision.sh"];
  fs.writeFileSync(path.join(dir, "provision.sh"), script);
  const env = (container.env ?? []).filter((e) => typeof e.value === "string");
  fs.writeFileSync(path.join(dir, "job.env"), env.map((e) => `${e.name}=${e.value}\0`).join(""));
}

function main() {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === "gen") return gen(args[0]);
  if (mode === "shapes") {
    // shapes FILE...: one line per file, "name<TAB>shape".
    for (const file of args) console.log(`${path.basename(file)}\t${shape(documents(file))}`);
    return;
  }
  if (mode === "inspect") {
    // inspect ENGINE ID RENDER BASE_SHAPES BASE_RENDER_SHAPE DIR FILE...: one accepted case.
    // Prints "ok<TAB>what" or "not ok<TAB>what" lines for the structure of the generated
    // files and of the render and for where the value (VALUE_HEX) landed, and writes the
    // rendered provisioning script and the Job's environment into DIR.
    const [engine, id, renderFile, baseShapes, baseRender, dir, ...fileList] = args;
    const value = Buffer.from(process.env.VALUE_HEX, "hex").toString("utf8");
    const report = (good, what) => console.log(`${good ? "ok" : "not ok"}\t${what}`);
    const expected = new Map(fs.readFileSync(baseShapes, "utf8").trim().split("\n")
      .map((line) => line.split("\t")));
    const files = {};
    const changed = [];
    for (const file of fileList) {
      const name = path.basename(file);
      files[name] = documents(file);
      if (expected.get(name) !== shape(files[name])) changed.push(name);
    }
    if (fileList.length !== expected.size) changed.push("(the set of files)");
    report(changed.length === 0, "every generated file keeps the structure of a harmless value" +
      (changed.length ? `; changed: ${changed.join(", ")}` : ""));
    const render = documents(renderFile);
    report(shape(render) === fs.readFileSync(baseRender, "utf8").trim(),
           "the kustomize render keeps its structure");
    report(located(id, engine, files, render, value), "the value is verbatim where it belongs");
    writeJob(render, dir);
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

try { main(); } catch (error) { console.error(String(error.message ?? error)); process.exit(2); }
EOF
export YAML_MODULE="$SOURCE_DIR/tests/node/node_modules/yaml" MARKER

# ------------------------------------------------------------------------------------------
# 1. Injection into every string field.

# shapes_of DIR OUTPUT: the shape of every YAML file synoverlay wrote for the environment.
shapes_of() {
  local files
  files=$(find "$1/overlays/hostile" "$1/clusters/hostile" -name '*.yaml' 2>/dev/null | sort)
  # shellcheck disable=SC2086
  node "$HELPER" shapes $files >"$2" 2>&1
}

# provision_runs_nothing DIR WHAT: runs the rendered provisioning script in DIR with the
# Job's environment against the stand-in kubectl; it must succeed, make only the calls the
# stand-in knows, and leave no marker file behind.
provision_runs_nothing() {
  local dir=$1 what=$2 state rc=0
  state="$dir/state"
  if [ ! -s "$dir/provision.sh" ]; then
    not_ok "$what: the render holds no provisioning script to run"
    return
  fi
  mkdir -p "$dir/bin" "$state/secrets" "$state/tool" "$state/race" "$state/get-secret-error"
  echo 0 >"$state/aha-ready-after"
  : >"$state/calls.log"
  cp "$SOURCE_DIR/tests/fake-kubectl" "$dir/bin/kubectl"
  chmod +x "$dir/bin/kubectl"
  local -a job_env=()
  local entry
  while IFS= read -r -d '' entry; do job_env+=("$entry"); done <"$dir/job.env"
  (cd "$dir" && env -i PATH="$dir/bin:/usr/bin:/bin" HOME="$dir" TMPDIR="$dir" \
    FAKE_KUBECTL_STATE="$state" POLL_SECONDS=1 "${job_env[@]}" \
    timeout 60 sh "$dir/provision.sh" >"$dir/output" 2>&1) || rc=$?
  if [ "$rc" -eq 0 ] && ! grep -q -v -E '^(get pod|get secret|exec aha-0|create secret) ' \
    "$state/calls.log" && [ ! -e "$MARKER" ]; then
    ok "$what: the rendered provisioning script runs, calls only kubectl, runs none of it"
  else
    not_ok "$what: the provisioning script (exit $rc) ran something it should not"
    sed 's/^/#   /' "$dir/output" "$state/calls.log" | head -n 20
  fi
}

if [ -n "$render_skipped" ]; then
  echo "# SKIPPED: the injection cases need the render tools: $render_skipped"
else
  CASES="$SCRATCH/cases"
  mkdir -p "$CASES" "$WORK/envs"
  node "$HELPER" gen "$CASES"
  declare -A base_shapes base_render
  for engine in argocd flux; do
    repo="$WORK/base-$engine"
    new_repo "$repo"
    cp "$CASES/baseline-$engine.toml" "$WORK/envs/hostile.toml"
    run_build rc "$SCRATCH/out" "$SCRATCH/err" "$WORK/envs/hostile.toml" --repo "$repo"
    if [ "$rc" -ne 0 ]; then
      not_ok "the harmless $engine environment builds (exit $rc)"
      sed 's/^/#   /' "$SCRATCH/err"
      continue
    fi
    shapes_of "$repo" "$SCRATCH/shapes-$engine"
    kubectl kustomize "$repo/overlays/hostile" >"$SCRATCH/render-$engine.yaml"
    node "$HELPER" shapes "$SCRATCH/render-$engine.yaml" | cut -f 2- \
      >"$SCRATCH/render-shape-$engine"
    base_shapes[$engine]="$SCRATCH/shapes-$engine"
    base_render[$engine]="$SCRATCH/render-shape-$engine"
  done

  REPO="$WORK/cases-repo"
  new_repo "$REPO"
  cp "$CASES/baseline-argocd.toml" "$WORK/envs/hostile.toml"
  run_build rc "$SCRATCH/out" "$SCRATCH/err" "$WORK/envs/hostile.toml" --repo "$REPO"
  check "the harmless environment builds in the repository of the cases" test "$rc" -eq 0
  refused=0 accepted=0 raw_control=0 raw_example=""
  for case_file in "$CASES"/case-*.toml; do
    IFS=$'\t' read -r engine id hex shown control <"${case_file%.toml}.meta"
    what="$engine: ${id#.} = $shown"
    cp "$case_file" "$WORK/envs/hostile.toml"
    before=$(tree_state "$REPO")
    run_build rc "$SCRATCH/out" "$SCRATCH/err" "$WORK/envs/hostile.toml" --repo "$REPO"
    if [ "$rc" -eq 1 ]; then
      refused=$((refused + 1))
      grep -q 'error:' "$SCRATCH/err" || not_ok "$what: refused without a diagnostic"
      [ "$(tree_state "$REPO")" = "$before" ] || not_ok "$what: refused, yet the repository changed"
      if ! no_raw_control "$SCRATCH/err"; then
        raw_control=$((raw_control + 1))
        [ -n "$raw_example" ] || raw_example="$what"
      fi
      continue
    fi
    if [ "$rc" -ne 0 ]; then
      not_ok "$what: exit $rc (neither accepted nor refused)"
      sed 's/^/#   /' "$SCRATCH/err" | head -n 5
      continue
    fi

    accepted=$((accepted + 1))
    [ "$control" = plain ] || not_ok "$what: a value with a control character was accepted"
    if ! kubectl kustomize "$REPO/overlays/hostile" >"$SCRATCH/render.yaml" 2>"$SCRATCH/err"; then
      not_ok "$what: accepted, and kubectl kustomize fails"
      continue
    fi
    mapfile -t generated < <(find "$REPO/overlays/hostile" "$REPO/clusters/hostile" \
      -name '*.yaml' 2>/dev/null | sort)
    dir="$SCRATCH/provision"
    rm -rf "$dir"
    mkdir -p "$dir"
    VALUE_HEX="$hex" node "$HELPER" inspect "$engine" "$id" "$SCRATCH/render.yaml" \
      "${base_shapes[$engine]}" "${base_render[$engine]}" "$dir" "${generated[@]}" \
      >"$SCRATCH/inspect" 2>&1 || true
    grep -q 'verbatim' "$SCRATCH/inspect" ||
      not_ok "$what: the YAML helper failed: $(head -c 300 "$SCRATCH/inspect")"
    while IFS=$'\t' read -r verdict text; do
      case $verdict in
        ok) ok "$what: $text" ;;
        "not ok") not_ok "$what: $text" ;;
      esac
    done <"$SCRATCH/inspect"
    provision_runs_nothing "$dir" "$what"
  done
  echo "# injection cases: $refused refused, $accepted accepted and checked"
  check "some injection cases are accepted (config values may be any one-line YAML)" \
    test "$accepted" -gt 0
  if [ "$raw_control" -eq 0 ]; then
    ok "no diagnostic prints a raw control character from the value"
  else
    not_ok "$raw_control diagnostics print raw control characters from the value (newline, CR," \
      "ESC, NUL reach the terminal), e.g. $raw_example"
  fi
  check "no injected command ran (no $MARKER)" test ! -e "$MARKER"
  check "git fsck --strict passes after every case" git -C "$REPO" fsck --strict --no-progress
fi

# ------------------------------------------------------------------------------------------
# 2. Environment names that are paths.
REPO="$WORK/names"
new_repo "$REPO"
for name in "../x" "/abs" "a/b" ".." "../../outside/x"; do
  printf 'name = "%s"\nversion = "v2.233.0"\n' "$name" >"$WORK/name.toml"
  before=$(tree_state "$REPO")
  outside_before=$(outside_state)
  run_build rc "$SCRATCH/out" "$SCRATCH/err" "$WORK/name.toml" --repo "$REPO"
  check "name '$name' is refused with exit 1" test "$rc" -eq 1
  check "name '$name': nothing written in the repository" test "$(tree_state "$REPO")" = "$before"
  check "name '$name': nothing written outside it" test "$(outside_state)" = "$outside_before"
  check "name '$name': no folder made beside the repository" test ! -e "$WORK/x"
done
check "name '/abs' made no /abs" test ! -e /abs/overlays

# ------------------------------------------------------------------------------------------
# 3. Owned folders that are symbolic links leading outside the repository.
DEV="$SOURCE_DIR/examples/dev.toml"
GITOPS="$WORK/gitops.toml"
{ cat "$DEV"; printf '\n[gitops]\nengine = "argocd"\nrepo_url = "https://example.com/g.git"\n'; } \
  >"$GITOPS"
dev_name=$(sed -n 's/^name = "\(.*\)"/\1/p' "$DEV")

# symlink_case WHAT ENV SETUP...: SETUP runs in a fresh repository; the build must exit 3
# and leave $OUTSIDE as it was.
symlink_case() {
  local what=$1 env=$2 repo
  shift 2
  repo="$WORK/link-$(printf '%s' "$what" | tr -c 'a-z0-9' '-')"
  new_repo "$repo"
  mkdir -p "$OUTSIDE/base" "$OUTSIDE/overlays" "$OUTSIDE/overlays-env" "$OUTSIDE/clusters"
  echo "keep" >"$OUTSIDE/file.yaml"
  (cd "$repo" && "$@")
  local before outside_before
  before=$(tree_state "$repo")
  outside_before=$(outside_state)
  run_build rc "$SCRATCH/out" "$SCRATCH/err" "$env" --repo "$repo"
  check "$what: refused with exit 3 (got $rc)" test "$rc" -eq 3
  check "$what: nothing written outside the repository" test "$(outside_state)" = "$outside_before"
  check "$what: no commit" test "$(tree_state "$repo")" = "$before"
}
symlink_case "base/ is a link outside" "$DEV" ln -s "$OUTSIDE/base" base
symlink_case "overlays/ is a link outside" "$DEV" ln -s "$OUTSIDE/overlays" overlays
symlink_case "overlays/<name>/ is a link outside" "$DEV" \
  sh -c "mkdir overlays && ln -s '$OUTSIDE/overlays-env' 'overlays/$dev_name'"
symlink_case "clusters/ is a link outside" "$GITOPS" ln -s "$OUTSIDE/clusters" clusters
symlink_case "base/ is a relative link to ../outside" "$DEV" \
  ln -s "$(realpath --relative-to="$WORK" "$OUTSIDE")/base" base
symlink_case "a file in base/ is a link outside" "$DEV" \
  sh -c "mkdir base && ln -s '$OUTSIDE/file.yaml' base/kustomization.yaml"

# A committed symbolic link named base: the build must not write through it, and the
# repository must stay valid whatever the build decides.
repo="$WORK/link-committed"
new_repo "$repo"
ln -s "$OUTSIDE/base" "$repo/base"
git -C "$repo" add base
git -C "$repo" commit -q -m "base is a link"
outside_before=$(outside_state)
run_build rc "$SCRATCH/out" "$SCRATCH/err" "$DEV" --repo "$repo"
check "committed link base: refused (exit 1 or 3, got $rc)" test "$rc" -eq 1 -o "$rc" -eq 3
check "committed link base: nothing written outside" test "$(outside_state)" = "$outside_before"
check "committed link base: git fsck --strict passes" git -C "$repo" fsck --strict --no-progress

# ------------------------------------------------------------------------------------------
# 4. An environment file whose path holds line breaks: the path is quoted in the header of
# every generated file, so it must be refused or kept from changing their structure.
if [ -z "$render_skipped" ]; then
  repo="$WORK/path-base"
  new_repo "$repo"
  mkdir -p "$repo/envs"
  cp "$DEV" "$repo/envs/dev.toml"
  run_build rc "$SCRATCH/out" "$SCRATCH/err" "$repo/envs/dev.toml" --repo "$repo"
  find "$repo/overlays" -name '*.yaml' | sort | xargs node "$HELPER" shapes >"$SCRATCH/path-shapes"

  repo="$WORK/path-evil"
  new_repo "$repo"
  evil_dir="$repo/envs/x"$'\n''- {"op": "add", "path": "'
  mkdir -p "$evil_dir/spec/template/spec"
  evil="$evil_dir/spec/template/spec/hostNetwork\", \"value\": true}"$'\n''"x": "y"'$'\n''#.toml'
  cp "$DEV" "$evil"
  run_build rc "$SCRATCH/out" "$SCRATCH/err" "$evil" --repo "$repo"
  if [ "$rc" -eq 1 ]; then
    ok "an environment file path with line breaks is refused"
  elif [ "$rc" -eq 0 ]; then
    find "$repo/overlays" -name '*.yaml' | sort | xargs node "$HELPER" shapes \
      >"$SCRATCH/path-evil-shapes" 2>&1 || true
    if diff -q "$SCRATCH/path-shapes" "$SCRATCH/path-evil-shapes" >/dev/null; then
      ok "an environment file path with line breaks leaves the YAML structure alone"
    else
      not_ok "an environment file path with line breaks injects YAML into the generated files"
      grep -n -A 3 'Generated by' "$repo/overlays/$dev_name/cortex-storage.yaml" | head -n 6 |
        sed 's/^/#   /'
    fi
  else
    not_ok "an environment file path with line breaks: exit $rc"
  fi
fi

# ------------------------------------------------------------------------------------------
# 5. Oversized, deeply nested, binary and oddly encoded files: a clear error or a correct
# read, never a crash (exit 128 and above) or a hang (timeout's 124).
# odd_file WHAT FILE WANT: validate FILE; WANT is the exit status expected, or "0|1" when
# reading the file correctly and refusing it clearly are both right.
odd_file() {
  local what=$1 file=$2 want=$3 rc=0 started elapsed
  started=$(date +%s)
  timeout "$SECONDS_LIMIT" "$SYNOVERLAY" validate "$file" >"$SCRATCH/out" 2>"$SCRATCH/err" || rc=$?
  elapsed=$(($(date +%s) - started))
  if [[ "|$want|" == *"|$rc|"* ]] && { [ "$rc" -eq 0 ] || grep -q 'error:' "$SCRATCH/err"; }; then
    ok "$what: exit $rc in ${elapsed}s"
  else
    not_ok "$what: exit $rc (expected $want with a diagnostic; 124 is a hang, 128+ a crash)"
    head -c 300 "$SCRATCH/err" | sed 's/^/#   /'
  fi
}

# repeat TEXT N: TEXT N times.
repeat() { printf "%${2}s" "" | sed "s/ /$1/g"; }

HEAD_TOML=$'name = "dev"\nversion = "v2.233.0"\n'
F="$WORK/odd.toml"
{ printf '%s' "$HEAD_TOML"; head -c 100000000 /dev/zero | tr '\0' '#'; } >"$F"
odd_file "a 100 MB file" "$F" 1
"$SYNOVERLAY" validate --format json "$F" >"$SCRATCH/out" 2>&1 || true
check "the 100 MB file is refused for its size (rule file-too-large)" \
  grep -q '"rule":"file-too-large"' "$SCRATCH/out"
rm -f "$F"
{ printf '%sx = ' "$HEAD_TOML"; repeat '{a = ' 100000; printf 1; repeat '}' 100000; } >"$F"
odd_file "100,000 nested inline tables" "$F" 1
{ printf '%sx = ' "$HEAD_TOML"; repeat '[' 100000; repeat ']' 100000; } >"$F"
odd_file "100,000 nested arrays" "$F" 1
{ printf '%s' "$HEAD_TOML"; repeat 'a.' 100000; printf 'b = 1\n'; } >"$F"
odd_file "a dotted key of 100,000 parts" "$F" 1
{ printf '%s[' "$HEAD_TOML"; repeat 'a.' 100000; printf 'b]\nc = 1\n'; } >"$F"
odd_file "a table header 100,000 tables deep" "$F" 1
{ printf '%s[cortex.config]\n' "$HEAD_TOML"; repeat 'a.' 10000; printf 'b = 1\n'; } >"$F"
odd_file "a config value 10,000 tables deep" "$F" "0|1"
printf 'name = "d\xff"\nversion = "v2.233.0"\n' >"$F"
odd_file "invalid UTF-8 in a string" "$F" 1
printf '# \xc3\x28\n%s' "$HEAD_TOML" >"$F"
odd_file "invalid UTF-8 in a comment" "$F" 1
printf 'name = "dev"\0\nversion = "v2.233.0"\n' >"$F"
odd_file "a NUL byte" "$F" 1
printf '\xff\xfen\0a\0m\0e\0' >"$F"
odd_file "UTF-16 text" "$F" 1
odd_file "a folder instead of a file" "$WORK" 1
odd_file "/dev/zero" /dev/zero 1

# A named pipe where the environment file should be: opening it must not wait for a writer.
# The build refuses it at once, naming the path and what it is, and writes nothing.
PIPE="$WORK/pipe.toml"
mkfifo "$PIPE"
repo="$WORK/pipe-repo"
new_repo "$repo"
before=$(tree_state "$repo")
run_build rc "$SCRATCH/out" "$SCRATCH/err" "$PIPE" --repo "$repo"
check "a named pipe: refused with exit 1 (got $rc; 124 is a hang)" test "$rc" -eq 1
check "a named pipe: the error names the path and what it is" same_text "$SCRATCH/err" \
  "$PIPE: error: the file is a named pipe (FIFO), not an environment file
1 error and 0 warnings"
check "a named pipe: nothing on stdout" test ! -s "$SCRATCH/out"
check "a named pipe: nothing written in the repository" test "$(tree_state "$repo")" = "$before"
odd_file "a named pipe (FIFO)" "$PIPE" 1
rm -f "$PIPE"
head -c 65536 /dev/urandom >"$F"
odd_file "64 KiB of random bytes" "$F" 1

# A byte-order mark and CRLF line endings: the same environment, the same files.
rc1=0 rc2=0
for variant in bom crlf; do
  repo_plain="$WORK/enc-plain-$variant" repo_odd="$WORK/enc-$variant"
  new_repo "$repo_plain"
  new_repo "$repo_odd"
  cp "$DEV" "$WORK/enc.toml"
  run_build rc1 "$SCRATCH/out" "$SCRATCH/err" "$WORK/enc.toml" --repo "$repo_plain"
  if [ "$variant" = bom ]; then
    { printf '\xef\xbb\xbf'; cat "$DEV"; } >"$WORK/enc.toml"
  else
    sed 's/$/\r/' "$DEV" >"$WORK/enc.toml"
  fi
  run_build rc2 "$SCRATCH/out" "$SCRATCH/err" "$WORK/enc.toml" --repo "$repo_odd"
  check "$variant: the build succeeds (exit $rc2)" test "$rc1" -eq 0 -a "$rc2" -eq 0
  check "$variant: the same files as without it" \
    diff -r -x .git "$repo_plain" "$repo_odd"
done
printf 'name = "dev"\rversion = "v2.233.0"\n' >"$F"
odd_file "a lone carriage return" "$F" 1

finish_status=0
finish || finish_status=$?
if [ "$finish_status" -eq 0 ] && [ -n "$render_skipped" ]; then
  skip "the injection and render checks did not run: $render_skipped"
fi
exit "$finish_status"
