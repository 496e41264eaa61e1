#!/usr/bin/env bash
# Runs the README's commands as written, on this checkout: `bin/rund serve`, then the walkthrough through the
# real CLI, then SIGTERM to the server (by its pid), which must exit 0 and leave no cgroup behind.
set -euo pipefail
cd "$(dirname "$0")/../../.."
state=$(mktemp -d)
log="$state/serve.log"
fail() { echo "README smoke: FAIL: $*" >&2; tail -n 40 "$log" >&2 || true; exit 1; }
. src/test/await-serve.sh

RUND_STATE_DIR="$state/state" bin/rund serve >"$log" 2>&1 &
server=$!
# The CLI's agent (bin/rund starts one for client commands) gets a runtime directory of this run's own, so the
# agent this test starts is found (by the socket path on its command line) and ended by pid, and no other is touched.
export XDG_RUNTIME_DIR="$state/run"
mkdir -m 700 "$XDG_RUNTIME_DIR"
stop_agents() {
    for pid in $(pgrep -f -- "$XDG_RUNTIME_DIR/rund/agent-" || true); do kill "$pid" 2>/dev/null || true; done
}
trap 'kill "$server" 2>/dev/null || true; stop_agents; rm -rf "$state"' EXIT
await_serve "$log" "$server" 120

[ "$(bin/rund run -- echo hello)" = hello ] || fail "rund run -- echo hello"
set +e
bin/rund run -- sh -c 'exit 7'; [ $? -eq 7 ] || fail "rund run exit code 7"
bin/rund run -- sh -c 'kill -9 $$'; [ $? -eq 137 ] || fail "rund run exit code 137 for SIGKILL"
set -e
id=$(bin/rund start -- sh -c 'echo out; echo err >&2; sleep 30')
[[ "$id" =~ ^[0-9A-HJKMNP-TV-Z]{26}$ ]] || fail "rund start printed '$id', not a ULID"
bin/rund status "$id" | grep -q '"state"' || fail "rund status"
sleep 1
[ "$(bin/rund logs "$id" 2>/dev/null)" = out ] || fail "rund logs: stdout"
[ "$(bin/rund logs "$id" 2>&1 >/dev/null)" = err ] || fail "rund logs: stderr"
bin/rund stop "$id" | grep -q '"stoppedByRequest": *true' || fail "rund stop"
bin/rund list | grep -q "$id" || fail "rund list"
# The commands after the first went through the per-user agent bin/rund started (the default path).
[ -n "$(pgrep -f -- "$XDG_RUNTIME_DIR/rund/agent-" || true)" ] || fail "bin/rund started no CLI agent (agent log: $(cat "$XDG_RUNTIME_DIR"/rund/*.log 2>/dev/null | tail -n 5))"

kill -TERM "$server"
wait "$server" || fail "bin/rund serve exited $? on SIGTERM, not 0"
trap 'stop_agents; rm -rf "$state"' EXIT
# Where this daemon put its jobs (it depends on the host's cgroup layout and the cgroup serve runs in), as it said.
subtree=$(sed -n 's/.*cgroup subtree \(.*\) ready;.*/\1/p' "$log" | head -n 1)
[ -n "$subtree" ] || fail "bin/rund serve did not log its cgroup subtree ('cgroup subtree ... ready')"
[ ! -d "$subtree" ] || [ -z "$(find "$subtree" -mindepth 1 -type d)" ] || fail "job cgroups left behind in $subtree"
echo "README smoke: serve, run (exit 7, 137), start, status, logs, stop, list (through the CLI agent), SIGTERM: all as documented"
