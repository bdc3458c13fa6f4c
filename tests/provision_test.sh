#!/usr/bin/env bash
# Tests base/provisioning/provision.sh with tests/fake-kubectl standing in for kubectl, under
# sh and under dash. Usage: tests/provision_test.sh [project root]; the root defaults to the
# folder above this script. Prints "ok - ..." or "not ok - ..." per check, then
# "N passed, M failed"; exits 1 when a check failed.
set -euo pipefail

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
script="$root/base/provisioning/provision.sh"
fake="$root/tests/fake-kubectl"
for file in "$script" "$fake"; do
    if [[ ! -f $file ]]; then
        echo "provision_test: missing $file" >&2
        exit 2
    fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin"
cp "$fake" "$work/bin/kubectl"
chmod +x "$work/bin/kubectl"

all_services="axon jsonstor cortex optic"
passed=0
failed=0

# check DESCRIPTION COMMAND...: runs the command and reports it as one check.
check() {
    local description=$1
    shift
    if "$@"; then
        echo "ok - $description"
        passed=$((passed + 1))
    else
        echo "not ok - $description"
        failed=$((failed + 1))
    fi
}

# new_state NAME: makes an empty state folder for the stand-in and prints its path.
new_state() {
    local dir="$work/state-$1"
    mkdir -p "$dir/secrets" "$dir/tool" "$dir/race" "$dir/get-secret-error"
    echo 1 >"$dir/aha-ready-after"
    : >"$dir/calls.log"
    echo "$dir"
}

# run SHELL STATE SERVICES [VAR=VALUE...]: runs the script; its combined output goes to
# $STATE/output (and is appended to $work/all-output), its exit status to $STATE/status.
# AHA_WAIT_SECONDS is short so that a broken stand-in fails the checks quickly; the
# outer timeout only keeps a hanging script from hanging the test.
run() {
    local shell=$1 state=$2 services=$3
    shift 3
    local status=0
    env PATH="$work/bin:$PATH" FAKE_KUBECTL_STATE="$state" PROVISION_SERVICES="$services" \
        AHA_WAIT_SECONDS=10 POLL_SECONDS=1 "$@" \
        timeout 120 "$shell" "$script" >"$state/output" 2>&1 || status=$?
    echo "$status" >"$state/status"
    cat "$state/output" >>"$work/all-output"
}

status_is() { [[ $(cat "$1/status") == "$2" ]]; }
status_is_not_zero() { [[ $(cat "$1/status") != 0 ]]; }
output_has() { grep -q -F -- "$2" "$1/output"; }
calls_have() { grep -q -E -- "$2" "$1/calls.log"; }
no_secret() { [[ ! -e $1/secrets/$2-provision ]]; }
file_holds() { [[ -f $1 && $(cat "$1"; echo x) == "$2x" ]]; }

upper() { tr '[:lower:]' '[:upper:]' <<<"$1"; }

# secret_holds_issued_url STATE SVC: the Secret holds exactly SYN_<SVC>_AHA_PROVISION=<the
# URL the tool printed>, with no trailing newline.
secret_holds_issued_url() {
    local file="$1/secrets/$2-provision" issued="$1/issued/$2"
    [[ -f $file && -f $issued ]] &&
        [[ $(cat "$file"; echo x) == "SYN_$(upper "$2")_AHA_PROVISION=$(cat "$issued")x" ]]
}

every_secret_holds_issued_url() {
    local state=$1 svc
    for svc in $all_services; do
        secret_holds_issued_url "$state" "$svc" || return 1
    done
}

every_service_reported() {
    local state=$1 text=$2 svc
    for svc in $all_services; do
        output_has "$state" "$svc: $text" || return 1
    done
}

url_files_private() {
    [[ -s $1/secret-file-modes.log ]] && ! grep -q -v -x 600 "$1/secret-file-modes.log"
}

test_shell() {
    local shell=$1 name=$2 state

    # (a) A first run creates one Secret per service, holding the URL the tool printed.
    state=$(new_state "$name-a")
    echo 2 >"$state/aha-ready-after"
    run "$shell" "$state" "$all_services"
    check "$name: (a) first run exits 0" status_is "$state" 0
    check "$name: (a) first run creates each Secret with SYN_<SVC>_AHA_PROVISION=<url>" \
        every_secret_holds_issued_url "$state"
    check "$name: (a) first run says '<svc>: provisioned' for each service" \
        every_service_reported "$state" "provisioned"
    check "$name: (a) the URL files are private (mode 600)" url_files_private "$state"

    # (b) A second run on the same cluster leaves everything alone.
    cp -r "$state/secrets" "$state/secrets-before"
    : >"$state/calls.log"
    run "$shell" "$state" "$all_services"
    check "$name: (b) second run exits 0" status_is "$state" 0
    check "$name: (b) second run makes no exec call" \
        not calls_have "$state" '^exec '
    check "$name: (b) second run creates no Secret" not calls_have "$state" '^create '
    check "$name: (b) second run leaves the Secrets as they were" \
        diff -r "$state/secrets-before" "$state/secrets"
    check "$name: (b) second run says 'already provisioned, left unchanged' for each" \
        every_service_reported "$state" "already provisioned, left unchanged"

    # (c) The tool fails for jsonstor: no Secret for it, the error is named, status non-zero.
    state=$(new_state "$name-c")
    echo error >"$state/tool/jsonstor"
    run "$shell" "$state" "$all_services"
    check "$name: (c) a tool ERROR makes the run exit non-zero" status_is_not_zero "$state"
    check "$name: (c) no Secret for the service whose tool failed" no_secret "$state" jsonstor
    check "$name: (c) the output names the service and the tool's ERROR line" \
        output_has "$state" "jsonstor: provisioning failed: ERROR: fake AHA refused to provision"
    check "$name: (c) the other services are still provisioned" \
        all_but_one_provisioned "$state" jsonstor

    # (d) The tool prints a URL of the wrong shape: treated like a failure.
    state=$(new_state "$name-d")
    echo malformed >"$state/tool/cortex"
    run "$shell" "$state" "$all_services"
    check "$name: (d) a malformed URL makes the run exit non-zero" status_is_not_zero "$state"
    check "$name: (d) no Secret for the service with the malformed URL" no_secret "$state" cortex
    check "$name: (d) the output names the service and the expected shape" \
        output_has "$state" "cortex: provisioning failed: the tool did not print a URL"
    check "$name: (d) the other services are still provisioned" \
        all_but_one_provisioned "$state" cortex

    # (e) A Secret that exists is never touched, and no URL is made for it.
    state=$(new_state "$name-e")
    local old="SYN_AXON_AHA_PROVISION=ssl://aha.synapse.svc.cluster.local:27272/"
    old+="0123456789abcdef0123456789abcdef?certhash=$(printf '%064d' 7)"
    printf '%s' "$old" >"$state/secrets/axon-provision"
    run "$shell" "$state" "$all_services"
    check "$name: (e) run with an existing Secret exits 0" status_is "$state" 0
    check "$name: (e) the existing Secret keeps its value" \
        file_holds "$state/secrets/axon-provision" "$old"
    check "$name: (e) no URL is made for the service whose Secret exists" \
        not calls_have "$state" '^exec .* 00\.axon '
    check "$name: (e) the output says axon was left unchanged" \
        output_has "$state" "axon: already provisioned, left unchanged"
    check "$name: (e) the output says jsonstor was provisioned" \
        output_has "$state" "jsonstor: provisioned"
    echo "0123456789abcdef0123456789abcdef" >>"$state/guids.log"

    # (g) AHA never becomes Ready: exit 1 with a message saying what to look at.
    state=$(new_state "$name-g")
    rm "$state/aha-ready-after"
    run "$shell" "$state" "$all_services" AHA_WAIT_SECONDS=2
    check "$name: (g) AHA never Ready makes the run exit 1" status_is "$state" 1
    check "$name: (g) the timeout message names the pod, the wait and where to look" \
        output_has "$state" "pod aha-0 was not Ready after 2s (last seen: Ready=False)"
    check "$name: (g) the timeout message points at kubectl describe" \
        output_has "$state" "kubectl describe pod aha-0"
    check "$name: (g) nothing is provisioned while AHA is not Ready" \
        not calls_have "$state" '^(exec|create|get secret) '

    # A missing aha-0 pod counts as not Ready yet, not as a failure.
    state=$(new_state "$name-g2")
    touch "$state/aha-missing"
    run "$shell" "$state" "axon" AHA_WAIT_SECONDS=1
    check "$name: (g) a missing aha-0 pod is waited for, and reported" \
        output_has "$state" 'pods "aha-0" not found'

    # (h) With optic left out of the list, optic is never touched.
    state=$(new_state "$name-h")
    run "$shell" "$state" "axon jsonstor cortex"
    check "$name: (h) run without optic exits 0" status_is "$state" 0
    check "$name: (h) run without optic never mentions optic to kubectl" \
        not calls_have "$state" 'optic'
    check "$name: (h) run without optic creates no optic Secret" no_secret "$state" optic
    check "$name: (h) run without optic provisions the three others" \
        all_but_one_provisioned "$state" optic

    # (i) An unknown name fails before anything is done.
    state=$(new_state "$name-i")
    run "$shell" "$state" "axon jsonstor cortx"
    check "$name: (i) an unknown service name makes the run exit non-zero" \
        status_is_not_zero "$state"
    check "$name: (i) the error names the unknown service" \
        output_has "$state" "unknown service 'cortx'"
    check "$name: (i) an unknown service name means no kubectl call at all" \
        test ! -s "$state/calls.log"

    # (j) An error other than NotFound when reading a Secret: fail, do not create.
    state=$(new_state "$name-j")
    touch "$state/get-secret-error/cortex-provision"
    run "$shell" "$state" "$all_services"
    check "$name: (j) a Forbidden error on get secret makes the run exit non-zero" \
        status_is_not_zero "$state"
    check "$name: (j) no URL is made and no Secret created after such an error" \
        not calls_have "$state" '(00\.cortex|generic cortex-provision)'
    check "$name: (j) the output names the service and the error" \
        output_has "$state" "cortex: cannot tell whether Secret cortex-provision exists"

    # (k) Another run creates the Secret first: its value stays, and this run succeeds.
    state=$(new_state "$name-k")
    printf 'SYN_OPTIC_AHA_PROVISION=from-the-other-run' >"$state/race/optic-provision"
    run "$shell" "$state" "$all_services"
    check "$name: (k) losing the race to create a Secret still exits 0" status_is "$state" 0
    check "$name: (k) the Secret made by the other run is kept" \
        file_holds "$state/secrets/optic-provision" "SYN_OPTIC_AHA_PROVISION=from-the-other-run"
    check "$name: (k) the output says optic was left unchanged" \
        output_has "$state" "optic: already provisioned by another run, left unchanged"

    # (f) Over every run above: no URL and no guid in any output.
    check "$name: (f) no output contains 'ssl://'" not grep -q -F 'ssl://' "$work/all-output"
    check "$name: (f) no output contains a guid the tool handed out" no_guid_in_output
    check "$name: (f) no kubectl argument contains a URL" no_url_in_calls
    check "$name: (f) 'rollout' is never called" no_rollout
    rm -f "$work/all-output"
}

# all_but_one_provisioned STATE SVC: every service but SVC has the URL the tool printed.
all_but_one_provisioned() {
    local state=$1 skip=$2 svc
    for svc in $all_services; do
        if [[ $svc != "$skip" ]]; then
            secret_holds_issued_url "$state" "$svc" || return 1
        fi
    done
}

no_guid_in_output() {
    local guids
    guids=$(cat "$work"/state-*/guids.log)
    [[ -n $guids ]] && ! grep -q -F -f <(echo "$guids") "$work/all-output"
}

no_url_in_calls() { ! grep -q -E 'ssl://|[0-9a-f]{32}' "$work"/state-*/calls.log; }
no_rollout() { ! grep -q -w 'rollout' "$work"/state-*/calls.log; }

not() { ! "$@"; }

# The stand-in itself must refuse what it does not know, or the checks above prove little.
fake_refuses_unknown() {
    local state="$work/fake-check"
    mkdir "$state"
    ! FAKE_KUBECTL_STATE="$state" "$work/bin/kubectl" rollout restart statefulset/axon \
        2>"$state/err" && grep -q 'unsupported invocation' "$state/err"
}
check "fake-kubectl refuses a subcommand the script must not use" fake_refuses_unknown

if command -v shellcheck >/dev/null; then
    check "shellcheck finds nothing in provision.sh (as POSIX sh)" \
        shellcheck -s sh "$script"
else
    echo "shellcheck not installed, skipped"
fi

test_shell sh sh
rm -rf "$work"/state-*
if command -v dash >/dev/null; then
    test_shell dash dash
else
    echo "dash not installed, skipped"
fi

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
