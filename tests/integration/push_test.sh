#!/usr/bin/env bash
# 'synoverlay build --push' against real remotes that run here and are stopped at the end: a
# bare repository given as a path, a git server (git daemon on loopback), and git's smart
# HTTP (git http-backend behind a small loopback web server that wants a token). Checks the
# first push, a remote that already holds the build, commits the remote lacks, a branch
# behind the remote with the user's own changes, a rejected push rebuilt on the new tip, a
# remote that refuses for good, an unreachable or unknown remote, and the token.
# Run by CTest as push_test.sh SYNOVERLAY SOURCE_DIR SCRATCH_DIR.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

[ -x "$(git --exec-path)/git-daemon" ] || skip "git daemon is not installed (it comes with git)"
command -v python3 >/dev/null || skip "python3 is needed for the loopback servers"

WORK="$SCRATCH/work"
if git -C "$SCRATCH" rev-parse --git-dir >/dev/null 2>&1; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/synoverlay-push.XXXXXX")
fi
mkdir -p "$WORK"
export GIT_CEILING_DIRECTORIES="$WORK"
unset SYNOVERLAY_GIT_TOKEN SYNOVERLAY_GIT_USER SYNOVERLAY_SSH_KEY SYNOVERLAY_SSH_KEY_PASSPHRASE

# ---------------------------------------------------------------------------------------
# The servers, always stopped when the script ends.

SERVERS=()
stop_servers() {
  local pid
  for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${SERVERS[@]}"; do wait "$pid" 2>/dev/null || true; done
  SERVERS=()
}
trap 'stop_servers; [ "$WORK" = "$SCRATCH/work" ] || rm -rf "$WORK"' EXIT

# A port nothing listens on now (the kernel's choice, released at once).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# start_daemon BASE: git daemon serving BASE on loopback, pushes allowed; sets DAEMON_PORT.
start_daemon() {
  local attempt pid
  for attempt in 1 2 3; do
    DAEMON_PORT=$(free_port)
    git daemon --export-all --enable=receive-pack --informative-errors --reuseaddr \
      --base-path="$1" --listen=127.0.0.1 --port="$DAEMON_PORT" "$1" 2>>"$WORK/daemon.log" &
    pid=$!
    SERVERS+=("$pid")
    for _ in $(seq 1 50); do
      git ls-remote "git://127.0.0.1:$DAEMON_PORT/seed.git" >/dev/null 2>&1 && return 0
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  done
  return 1
}

# The smart HTTP server: git http-backend as CGI, behind Basic authentication with one user
# and token, as a Git host takes a token over HTTPS.
cat >"$WORK/http_server.py" <<'PY'
import base64, http.server, os, subprocess, sys

root, port_file, user, token = sys.argv[1:5]
expected = "Basic " + base64.b64encode(f"{user}:{token}".encode()).decode()

def read_chunked(stream):
    data = b""
    while True:
        size = int(stream.readline().split(b";")[0].strip(), 16)
        if size == 0:
            while stream.readline().strip():
                pass
            return data
        data += stream.read(size)
        stream.readline()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def serve(self):
        # The request is read whole first, so the connection stays usable after a 401.
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = read_chunked(self.rfile)
        else:
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Authorization") != expected:
            # An empty body: libgit2 1.5.1 does not read past a 401's body before it sends
            # the next request on the connection, and then fails to parse the reply.
            body = b""
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        path, _, query = self.path.partition("?")
        env = dict(os.environ, GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL="1",
                   REQUEST_METHOD=self.command, PATH_INFO=path, QUERY_STRING=query,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(len(data)), REMOTE_USER=user, REMOTE_ADDR="127.0.0.1",
                   HTTP_CONTENT_ENCODING=self.headers.get("Content-Encoding", ""))
        out = subprocess.run(["git", "http-backend"], input=data, env=env,
                             stdout=subprocess.PIPE).stdout
        separator = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
        head, _, body = out.partition(separator)
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = serve
    do_POST = serve

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as out:
    out.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
PY

# start_http ROOT USER TOKEN: sets HTTP_PORT.
start_http() {
  rm -f "$WORK/http.port"
  python3 "$WORK/http_server.py" "$1" "$WORK/http.port" "$2" "$3" 2>>"$WORK/http.log" &
  SERVERS+=("$!")
  for _ in $(seq 1 50); do
    [ -s "$WORK/http.port" ] && HTTP_PORT=$(cat "$WORK/http.port") && return 0
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------------------------------
# Helpers.

OUT="$WORK/stdout"
ERR="$WORK/stderr"
# run DIR ARGS...: synoverlay in DIR; exit status in RC, output in $OUT and $ERR.
run() {
  local dir=$1
  shift
  RC=0
  (cd "$dir" && "$SYNOVERLAY" "$@") >"$OUT" 2>"$ERR" || RC=$?
}
show() { sed 's/^/#   /' "$ERR" "$OUT" | head -n 20; }

# write_env FILE NAME MEMORY
write_env() {
  printf 'name = "%s"\nnamespace = "synapse-%s"\nversion = "v2.233.0"\n\n[cortex]\n' "$2" "$2" \
    >"$1"
  printf 'requests = { memory = "%s" }\n' "$3" >>"$1"
}

# new_remote PATH: a bare repository with one commit.
new_remote() {
  rm -rf "$1" "$WORK/seed-clone"
  git init -q --bare "$1"
  git clone -q "$1" "$WORK/seed-clone" 2>/dev/null
  echo "# GitOps" >"$WORK/seed-clone/README.md"
  echo "notes" >"$WORK/seed-clone/notes.md"
  git -C "$WORK/seed-clone" add README.md notes.md
  git -C "$WORK/seed-clone" commit -q -m "Start"
  git -C "$WORK/seed-clone" push -q origin main
}

# another_push URL FILE TEXT: someone else's commit lands on the remote.
another_push() {
  rm -rf "$WORK/other"
  git clone -q "$1" "$WORK/other"
  echo "$3" >"$WORK/other/$2"
  git -C "$WORK/other" add "$2"
  git -C "$WORK/other" commit -q -m "Someone else's change to $2"
  git -C "$WORK/other" push -q origin main
}

remote_tip() { git -C "$1" rev-parse main; }

# ---------------------------------------------------------------------------------------
# The same scenarios against a remote given as a path and against git daemon.

scenarios() {
  local label=$1 url=$2 bare=$3
  local clone="$WORK/$label-a" second="$WORK/$label-b"
  rm -rf "$clone" "$second"
  git clone -q "$url" "$clone"
  git clone -q "$url" "$second"
  write_env "$clone/dev.toml" dev 1Gi
  cp "$clone/dev.toml" "$second/dev.toml"

  # The first push.
  run "$clone" build dev.toml --push
  check "$label: the first build --push exits 0" [ "$RC" -eq 0 ] || show
  check "$label: it says what it pushed where" \
    grep -q "^pushed $(git -C "$clone" rev-parse --short=12 HEAD) to origin/main ($url)$" "$OUT"
  check "$label: the remote's branch is the clone's HEAD" \
    [ "$(remote_tip "$bare")" = "$(git -C "$clone" rev-parse HEAD)" ]
  check "$label: the tracking branch follows" \
    [ "$(git -C "$clone" rev-parse origin/main)" = "$(git -C "$clone" rev-parse HEAD)" ]
  check "$label: git fsck --strict is clean on the remote" \
    git -C "$bare" fsck --strict --no-progress --no-dangling

  # Another clone with the same file: the remote already holds that overlay.
  local before
  before=$(remote_tip "$bare")
  run "$second" build dev.toml --push
  check "$label: the same overlay again exits 0" [ "$RC" -eq 0 ] || show
  check "$label: it says the remote already holds it" \
    grep -q "^origin/main already holds this build ($(git -C "$bare" rev-parse --short=12 main));" \
    "$OUT"
  check "$label: no new commit anywhere" \
    [ "$(remote_tip "$bare")" = "$before" -a "$(git -C "$second" rev-parse HEAD)" = "$before" ]

  # A commit the remote does not have is never pushed along.
  git -C "$clone" commit -q --allow-empty -m "Work in progress"
  local local_head
  local_head=$(git -C "$clone" rev-parse HEAD)
  write_env "$clone/dev.toml" dev 2Gi
  run "$clone" build dev.toml --push
  check "$label: a local commit the remote lacks: exit 3" [ "$RC" -eq 3 ] || show
  check "$label: it names the commit" \
    grep -q "^  $(git -C "$clone" rev-parse --short=12 HEAD) Work in progress$" "$ERR"
  check "$label: it says synoverlay never pushes other work along" \
    grep -q "it never pushes other work along, and never drops it" "$ERR"
  check "$label: it says how to go on" \
    grep -qF "hint: push them first ('git push origin main'), or drop them ('git reset --keep" \
    "$ERR"
  check "$label: nothing moved" \
    [ "$(git -C "$clone" rev-parse HEAD)" = "$local_head" -a "$(remote_tip "$bare")" = "$before" ]
  git -C "$clone" reset -q --keep origin/main

  # Behind the remote, with the user's own changes: they survive the move to the remote's tip.
  another_push "$url" docs.md "a runbook"
  echo "# GitOps, edited here" >"$second/README.md"
  echo "staged here" >"$second/staged.md"
  git -C "$second" add staged.md
  write_env "$second/dev.toml" dev 3Gi
  run "$second" build dev.toml --push
  check "$label: behind the remote: exit 0" [ "$RC" -eq 0 ] || show
  check "$label: behind the remote: the new commit sits on the remote's tip" \
    [ "$(git -C "$bare" rev-parse main^)" = "$(git -C "$WORK/other" rev-parse HEAD)" ]
  check "$label: behind the remote: their file is in the work tree" \
    [ "$(cat "$second/docs.md")" = "a runbook" ]
  check "$label: behind the remote: the unstaged change survives" \
    [ "$(git -C "$second" status --porcelain -- README.md)" = " M README.md" ]
  check "$label: behind the remote: the staged change survives" \
    [ "$(git -C "$second" status --porcelain -- staged.md)" = "A  staged.md" ]
  check "$label: behind the remote: the staged change is not in the commit" \
    bash -c "! git -C '$bare' cat-file -e main:staged.md 2>/dev/null"

  # A change of the user's that the remote's tip would overwrite stops the build.
  another_push "$url" notes.md "their notes"
  echo "my notes" >"$second/notes.md"
  local second_head
  second_head=$(git -C "$second" rev-parse HEAD)
  write_env "$second/dev.toml" dev 4Gi
  run "$second" build dev.toml --push
  check "$label: a conflicting local change: exit 3" [ "$RC" -eq 3 ] || show
  check "$label: it names the file" \
    grep -qF "would overwrite changes nobody committed in 'notes.md'; commit or discard them" \
    "$ERR"
  check "$label: the change and the branch are untouched" \
    [ "$(cat "$second/notes.md")" = "my notes" -a \
      "$(git -C "$second" rev-parse HEAD)" = "$second_head" ]
  git -C "$second" checkout -q -- notes.md
}

new_remote "$WORK/path-remote.git"
scenarios path "$WORK/path-remote.git" "$WORK/path-remote.git"

mkdir -p "$WORK/served"
new_remote "$WORK/served/seed.git"
if start_daemon "$WORK/served"; then
  echo "# git daemon serves $WORK/served on 127.0.0.1:$DAEMON_PORT"
  new_remote "$WORK/served/remote.git"
  scenarios daemon "git://127.0.0.1:$DAEMON_PORT/remote.git" "$WORK/served/remote.git"
else
  not_ok "git daemon starts on loopback"
  sed 's/^/#   /' "$WORK/daemon.log"
fi

# ---------------------------------------------------------------------------------------
# A push rejected because another pipeline pushed first: the remote's pre-receive hook lets
# that other push land just before ours, once. synoverlay fetches, builds again on top of
# the new tip, and pushes again; never a merge, never a force.

if [ -n "${DAEMON_PORT:-}" ]; then
  REMOTE="$WORK/served/race.git"
  URL="git://127.0.0.1:$DAEMON_PORT/race.git"
  new_remote "$REMOTE"
  rm -rf "$WORK/race-other" "$WORK/race"
  git clone -q "$URL" "$WORK/race-other"
  write_env "$WORK/race-other/staging.toml" staging 1Gi
  (cd "$WORK/race-other" && "$SYNOVERLAY" build staging.toml >/dev/null)
  git -C "$WORK/race-other" push -q origin main:refs/heads/other-pipeline
  cat >"$REMOTE/hooks/pre-receive" <<'HOOK'
#!/bin/sh
# Once: another pipeline's commit lands first.
# (git forbids ref updates from a hook while the pushed objects are quarantined; the other
# pipeline's objects are already in, so the hook steps out of the quarantine.)
if [ ! -e other-pipeline-landed ]; then
  touch other-pipeline-landed
  env -u GIT_QUARANTINE_PATH git update-ref refs/heads/main refs/heads/other-pipeline
fi
HOOK
  chmod +x "$REMOTE/hooks/pre-receive"
  git clone -q "$URL" "$WORK/race"
  write_env "$WORK/race/dev.toml" dev 1Gi
  run "$WORK/race" build dev.toml --push
  check "race: exit 0" [ "$RC" -eq 0 ] || show
  check "race: the first push was rejected, and it says so" \
    grep -q "the push to origin/main was rejected (the remote said: " "$ERR"
  check "race: it builds again on the new tip" \
    grep -q "origin/main moved to $(git -C "$REMOTE" rev-parse --short=12 other-pipeline); \
building again on top of it" "$ERR"
  check "race: the second try pushed" grep -q "^pushed .* to origin/main ($URL) on try 2$" "$OUT"
  check "race: our commit sits on the other pipeline's" \
    [ "$(git -C "$REMOTE" rev-parse main^)" = "$(git -C "$REMOTE" rev-parse other-pipeline)" ]
  check "race: both environments are on the remote" \
    bash -c "git -C '$REMOTE' cat-file -e main:overlays/dev/kustomization.yaml &&
             git -C '$REMOTE' cat-file -e main:overlays/staging/kustomization.yaml"
  check "race: no merge commit" [ -z "$(git -C "$REMOTE" rev-list --merges main)" ]
  check "race: the clone's work tree matches its HEAD" \
    [ -z "$(git -C "$WORK/race" status --porcelain -- base overlays)" ]

  # A remote that refuses every push: a bounded number of tries, then exit 3 with the reason.
  printf '#!/bin/sh\necho "policy: this branch is frozen" >&2\nexit 1\n' \
    >"$REMOTE/hooks/pre-receive"
  write_env "$WORK/race/dev.toml" dev 2Gi
  before=$(remote_tip "$REMOTE")
  run "$WORK/race" build dev.toml --push --push-retries 2
  check "refused: exit 3" [ "$RC" -eq 3 ] || show
  check "refused: it gives up after the tries asked for, with the remote's reason" \
    grep -q "^synoverlay: error: gave up pushing to origin/main after 2 tries; the last was \
rejected: the remote said: pre-receive hook declined$" "$ERR"
  check "refused: it says where the commit is and how to go on" \
    grep -qF "stays on the local branch 'main'; 'git push origin main' sends it once the remote \
takes it, or 'git reset --keep origin/main' drops it" "$ERR"
  check "refused: the remote is unchanged" [ "$(remote_tip "$REMOTE")" = "$before" ]
fi

# ---------------------------------------------------------------------------------------
# A remote that cannot be reached, and one that does not exist.

new_remote "$WORK/lonely.git"
rm -rf "$WORK/lonely"
git clone -q "$WORK/lonely.git" "$WORK/lonely"
write_env "$WORK/lonely/dev.toml" dev 1Gi
CLOSED=$(free_port)
git -C "$WORK/lonely" remote add down "git://127.0.0.1:$CLOSED/nothing.git"
run "$WORK/lonely" build dev.toml --push --remote down
check "unreachable: exit 3" [ "$RC" -eq 3 ] || show
check "unreachable: it says which remote could not be reached" \
  grep -q "^synoverlay: error: cannot fetch 'main' from 'down' \
(git://127.0.0.1:$CLOSED/nothing.git): " "$ERR"
check "unreachable: nothing was committed" \
  [ "$(git -C "$WORK/lonely" rev-list --count main)" -eq 1 ]
run "$WORK/lonely" build dev.toml --push --remote upstream
check "unknown remote: exit 3" [ "$RC" -eq 3 ]
check "unknown remote: it names the remotes there are" \
  grep -qF "the repository has no remote 'upstream' (it has: down, origin)" "$ERR"
run "$WORK/lonely" build dev.toml --push --dry-run
check "--push with --dry-run is a usage error" [ "$RC" -eq 2 ]
run "$WORK/lonely" build dev.toml --remote origin
check "--remote without --push is a usage error" [ "$RC" -eq 2 ]

# ---------------------------------------------------------------------------------------
# A token over smart HTTP (the same Basic authentication HTTPS uses). The token never shows.

TOKEN="tok-$RANDOM$RANDOM-secret"
mkdir -p "$WORK/http"
new_remote "$WORK/http/repo.git"
if start_http "$WORK/http" x-access-token "$TOKEN"; then
  HTTP_URL="http://127.0.0.1:$HTTP_PORT/repo.git"
  rm -rf "$WORK/http-clone"
  BASIC=$(printf 'x-access-token:%s' "$TOKEN" | base64 -w0)
  git -c http.extraHeader="Authorization: Basic $BASIC" clone -q "$HTTP_URL" "$WORK/http-clone"
  write_env "$WORK/http-clone/dev.toml" dev 1Gi

  run "$WORK/http-clone" build dev.toml --push
  check "http: without a token: exit 3" [ "$RC" -eq 3 ] || show
  check "http: without a token: it says to set SYNOVERLAY_GIT_TOKEN" \
    grep -q "the remote asks for a user name and password; set SYNOVERLAY_GIT_TOKEN" "$ERR"

  SYNOVERLAY_GIT_TOKEN="wrong-$TOKEN" run "$WORK/http-clone" build dev.toml --push
  check "http: a wrong token: exit 3" [ "$RC" -eq 3 ] || show
  check "http: a wrong token: it says the remote refused it" \
    grep -q "the remote refused the token from SYNOVERLAY_GIT_TOKEN for user 'x-access-token'" \
    "$ERR"
  check "http: a wrong token: the token is not printed" \
    bash -c "! grep -q -- '$TOKEN' '$OUT' '$ERR'"

  SYNOVERLAY_GIT_TOKEN="$TOKEN" run "$WORK/http-clone" build dev.toml --push -v
  check "http: the right token: exit 0" [ "$RC" -eq 0 ] || show
  check "http: the right token: pushed" grep -q "^pushed .* to origin/main ($HTTP_URL)$" "$OUT"
  check "http: the remote holds the build" \
    [ "$(remote_tip "$WORK/http/repo.git")" = "$(git -C "$WORK/http-clone" rev-parse HEAD)" ]
  check "http: the token is not printed, not even with -v" \
    bash -c "! grep -q -- '$TOKEN' '$OUT' '$ERR'"
  stop_servers

  # Another user name for the token: SYNOVERLAY_GIT_USER.
  if start_http "$WORK/http" ci-bot "$TOKEN"; then
    git -C "$WORK/http-clone" remote set-url origin "http://127.0.0.1:$HTTP_PORT/repo.git"
    write_env "$WORK/http-clone/dev.toml" dev 2Gi
    SYNOVERLAY_GIT_TOKEN="$TOKEN" SYNOVERLAY_GIT_USER=ci-bot \
      run "$WORK/http-clone" build dev.toml --push
    check "http: SYNOVERLAY_GIT_USER names the user: exit 0" [ "$RC" -eq 0 ] || show
  else
    not_ok "the HTTP server starts again"
  fi
else
  not_ok "the smart HTTP server starts on loopback"
  sed 's/^/#   /' "$WORK/http.log"
fi

finish
