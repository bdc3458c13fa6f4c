#!/bin/sh
# Provisions Synapse services through AHA, once each. For every service named in
# PROVISION_SERVICES that has no Secret "<svc>-provision" yet, it asks the AHA tool inside
# the AHA pod for a one-time provisioning URL and stores it in that Secret under
# SYN_<SVC>_AHA_PROVISION. A Secret that exists is never replaced (a used URL that a service
# has not recorded would stop it from starting), no URL is ever printed, and nothing is
# restarted: the service pods wait for their Secret and start by themselves.
#
# Environment: PROVISION_SERVICES (some of "axon jsonstor cortex optic"), AHA_POD (aha-0),
# AHA_CONTAINER (aha), AHA_WAIT_SECONDS (900), POLL_SECONDS (5).
# Exit status: 0 when every listed service has its Secret, 1 otherwise.
# POSIX sh; runs under dash. Needs kubectl, cat, date, grep, head, mktemp, rm, sed and sleep.
set -eu
set -f  # the service list is split on blanks; no word in it may become a file name

AHA_POD=${AHA_POD:-aha-0}
AHA_CONTAINER=${AHA_CONTAINER:-aha}
AHA_WAIT_SECONDS=${AHA_WAIT_SECONDS:-900}
POLL_SECONDS=${POLL_SECONDS:-5}
KNOWN_SERVICES="axon jsonstor cortex optic"
DMON_PORT=27492

# ssl://<host>:27272/<guid>?certhash=<sha256>, the only thing the tool may print on success
# (an extended regular expression, matched against a whole line).
URL_PATTERN='ssl://[^/:?#@[:space:]]+:27272/[0-9a-fA-F]{32}[?]certhash=[0-9a-fA-F]{64}'

# Prints its arguments as one error line and exits 1.
fail() {
    printf 'provision: error: %s\n' "$*" >&2
    exit 1
}

# Copies stdin to stdout with anything that looks like a provisioning URL or a guid blanked
# out, so that no error message can leak a URL.
redact() {
    sed -e 's#ssl://[^[:space:]]*#<url withheld>#g' -e 's/[0-9a-fA-F]\{32,\}/<hex withheld>/g'
}

# The first non-empty line of the file $1, redacted; empty when there is none.
first_line() {
    grep -v '^[[:space:]]*$' "$1" | head -n 1 | redact || true
}

is_count() {
    case $1 in
        '' | *[!0-9]*) return 1 ;;
    esac
}

upper_name() {
    case $1 in
        axon) echo AXON ;;
        jsonstor) echo JSONSTOR ;;
        cortex) echo CORTEX ;;
        optic) echo OPTIC ;;
    esac
}

check_settings() {
    is_count "$AHA_WAIT_SECONDS" ||
        fail "AHA_WAIT_SECONDS must be a whole number of seconds, not '$AHA_WAIT_SECONDS'"
    if ! is_count "$POLL_SECONDS" || [ "$POLL_SECONDS" -eq 0 ]; then
        fail "POLL_SECONDS must be a whole number of seconds above 0, not '$POLL_SECONDS'"
    fi
    [ -n "${PROVISION_SERVICES:-}" ] ||
        fail "PROVISION_SERVICES is empty; expected some of: $KNOWN_SERVICES"

    # Every name is checked before anything is done, so a typo provisions nothing.
    for svc in $PROVISION_SERVICES; do
        case " $KNOWN_SERVICES " in
            *" $svc "*) ;;
            *) fail "unknown service '$svc' in PROVISION_SERVICES; expected some of:" \
                "$KNOWN_SERVICES" ;;
        esac
    done
}

# Polls the Ready condition of $AHA_POD until it is "True"; exits 1 after AHA_WAIT_SECONDS.
wait_for_aha() {
    deadline=$(($(date +%s) + AHA_WAIT_SECONDS))
    last_seen=""
    echo "waiting up to ${AHA_WAIT_SECONDS}s for pod $AHA_POD to be Ready"

    while :; do
        ready_rc=0
        ready=$(kubectl get pod "$AHA_POD" \
            -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' \
            2>"$work_dir/get-pod.err") || ready_rc=$?
        if [ "$ready_rc" -eq 0 ] && [ "$ready" = "True" ]; then
            echo "$AHA_POD is Ready"
            return 0
        fi

        # A missing pod is normal at first (the StatefulSet may not have made it yet), so any
        # failure here is reported and retried until the deadline.
        if [ "$ready_rc" -ne 0 ]; then
            seen="kubectl get pod failed: $(first_line "$work_dir/get-pod.err")"
        else
            seen="Ready=${ready:-unknown}"
        fi
        if [ "$seen" != "$last_seen" ]; then
            echo "$AHA_POD is not Ready yet ($seen)"
            last_seen=$seen
        fi

        if [ "$(date +%s)" -ge "$deadline" ]; then
            fail "pod $AHA_POD was not Ready after ${AHA_WAIT_SECONDS}s (last seen: $last_seen). \
Services cannot be provisioned before AHA runs; look at 'kubectl describe pod $AHA_POD' and \
'kubectl logs $AHA_POD -c $AHA_CONTAINER'. The Job retries by itself."
        fi
        sleep "$POLL_SECONDS"
    done
}

# Prints "yes" when Secret $1 exists and "no" when it does not; returns 1 on any other
# outcome (no permission, API server unreachable), with the reason in $work_dir/get-secret.err.
secret_exists() {
    found_rc=0
    found=$(kubectl get secret "$1" --ignore-not-found -o name 2>"$work_dir/get-secret.err") ||
        found_rc=$?
    [ "$found_rc" -eq 0 ] || return 1
    case $found in
        "") echo no ;;
        "secret/$1") echo yes ;;
        *)
            echo "unexpected answer from kubectl get secret" >"$work_dir/get-secret.err"
            return 1
            ;;
    esac
}

# Why the provisioning tool failed, from its output files $1 (stdout) and $2 (stderr): its
# ERROR line if it printed one, else kubectl's own complaint, else the exit status $3.
tool_failure_reason() {
    reason=$(cat "$1" "$2" | grep '^ERROR' | head -n 1 | redact || true)
    [ -n "$reason" ] || reason=$(first_line "$2")
    [ -n "$reason" ] || reason="the tool exited with status $3 and printed no error"
    echo "$reason"
}

# Provisions service $1, or records it in $failed_services. Never prints the URL.
provision_service() {
    svc=$1
    secret="$svc-provision"
    key="SYN_$(upper_name "$svc")_AHA_PROVISION"

    exists_rc=0
    exists=$(secret_exists "$secret") || exists_rc=$?
    if [ "$exists_rc" -ne 0 ]; then
        echo "$svc: cannot tell whether Secret $secret exists, so nothing was created:" \
            "$(first_line "$work_dir/get-secret.err")" >&2
        failed_services="$failed_services $svc"
        return 0
    fi
    if [ "$exists" = yes ]; then
        echo "$svc: already provisioned, left unchanged"
        return 0
    fi

    out="$work_dir/$svc.out"
    err="$work_dir/$svc.err"
    tool_rc=0
    kubectl exec "$AHA_POD" -c "$AHA_CONTAINER" -- \
        python -m synapse.tools.aha.provision.service "00.$svc" \
        --dmon-port "$DMON_PORT" --only-url >"$out" 2>"$err" || tool_rc=$?
    if [ "$tool_rc" -ne 0 ]; then
        echo "$svc: provisioning failed: $(tool_failure_reason "$out" "$err" "$tool_rc")" >&2
        rm -f "$out"
        failed_services="$failed_services $svc"
        return 0
    fi

    # Exactly one non-empty line, shaped like a provisioning URL; what else the tool printed
    # is withheld since it may hold a URL.
    if [ "$(grep -c -v '^[[:space:]]*$' "$out" || true)" != 1 ] ||
        ! grep -E -x -q "$URL_PATTERN" "$out"; then
        rm -f "$out"
        echo "$svc: provisioning failed: the tool did not print a URL of the expected shape" \
            "(scheme ssl, port 27272, a 32-digit hex guid, a 64-digit hex certhash);" \
            "its output is withheld" >&2
        failed_services="$failed_services $svc"
        return 0
    fi
    # printf is a shell builtin, so the URL appears in no process's arguments. No trailing
    # newline: the Secret holds the URL and nothing else.
    url=$(grep -E -x "$URL_PATTERN" "$out")
    rm -f "$out"
    url_file="$work_dir/$svc.url"
    printf '%s' "$url" >"$url_file"
    url=""

    create_rc=0
    kubectl create secret generic "$secret" "--from-file=$key=$url_file" \
        >/dev/null 2>"$err" || create_rc=$?
    rm -f "$url_file"
    if [ "$create_rc" -eq 0 ]; then
        echo "$svc: provisioned"
        return 0
    fi

    # Another run may have created the Secret between the check and now; its URL is the one
    # the service will use, and the URL made here is simply never used.
    exists=$(secret_exists "$secret") || exists=unknown
    if [ "$exists" = yes ]; then
        echo "$svc: already provisioned by another run, left unchanged"
        return 0
    fi
    echo "$svc: provisioning failed: could not create Secret $secret: $(first_line "$err")" >&2
    failed_services="$failed_services $svc"
}

main() {
    check_settings

    # Private folder (umask 077) for the URL files and captured output; removed on exit.
    umask 077
    work_dir=$(mktemp -d "${TMPDIR:-/tmp}/provision.XXXXXX")
    trap 'rm -rf "$work_dir"' EXIT
    trap 'exit 1' HUP INT TERM

    wait_for_aha

    failed_services=""
    for svc in $PROVISION_SERVICES; do
        provision_service "$svc"
    done

    if [ -n "$failed_services" ]; then
        fail "not provisioned:$failed_services (see the messages above); the Job retries by itself"
    fi
    echo "all services provisioned: $PROVISION_SERVICES"
}

main "$@"
