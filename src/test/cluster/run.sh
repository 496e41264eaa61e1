#!/usr/bin/env bash
# Issue 13's namespace tests (point 10(b)), what CI runs: three real `rund serve` processes, each in a network
# namespace of its own (src/test/cluster/netns.sh), driven through the CLI from the root namespace, one scenario at a
# time (src/test/cluster/scenarios.sh). Builds rund if needed, removes everything it made however it ends, prints
# PASS / FAIL / SKIP per scenario and exits non-zero if any failed. Skips as a whole (exit 0, the reason printed) on a
# machine that cannot make namespaces and cgroups (not root, no cgroup2).
#
#   src/test/cluster/run.sh [PATTERN]     PATTERN: an extended regex over the scenario names (default: all)
#   NETNS_KEEP_LOGS=DIR                   copy every daemon's log there before cleaning up
set -uo pipefail
cd "$(dirname "$0")/../../.."
ROOT=$(pwd)
pattern=${1:-.}

. src/test/cluster/netns.sh
. src/test/cluster/scenarios.sh

why=$(netns_skip_reason)
if [ -n "$why" ]; then
    echo "cluster namespace tests: SKIPPED: $why"
    exit 0
fi

# The build and the CLI's AOT cache first, in the root namespace (bin/rund makes both on first use).
bin/rund version >/dev/null 2>&1 || { bin/rund version; echo "cluster namespace tests: bin/rund does not run" >&2; exit 1; }

keep_logs() {
    [ -n "${NETNS_KEEP_LOGS:-}" ] && [ -n "${NETNS_WORK:-}" ] || return 0
    mkdir -p "$NETNS_KEEP_LOGS"
    find "$NETNS_WORK" -name 'serve*.log' -print0 2>/dev/null | while IFS= read -r -d '' f; do
        cp "$f" "$NETNS_KEEP_LOGS/$(basename "$(dirname "$f")")-$(basename "$f")"
    done
}
# Interrupted (Ctrl-C, a CI timeout's SIGTERM): the running scenario is killed first, then everything is removed.
current=""
interrupted() {
    [ -z "$current" ] || { kill -KILL "$current"; wait "$current"; } 2>/dev/null || true
    exit "$1"
}
trap 'keep_logs; netns_down' EXIT
trap 'interrupted 130' INT
trap 'interrupted 143' TERM

# A fourth namespace holds the intruder of test_cluster_user_certificate_cannot_join (no daemon runs there otherwise).
netns_up 4 || { echo "cluster namespace tests: could not make the namespaces" >&2; exit 1; }
started=$(date +%s)
for n in 1 2 3; do
    netns_start "$n" || { echo "cluster namespace tests: node$n's daemon did not start" >&2; exit 1; }
done
echo "cluster namespace tests: node1..node3 serve on $(netns_addr 1), $(netns_addr 2), $(netns_addr 3) ($(( $(date +%s) - started )) s)"
if has_cluster_mode; then
    export NETNS_CLUSTER_MODE=yes
    echo "cluster namespace tests: this build has cluster mode: cluster_* scenarios run"
else
    export NETNS_CLUSTER_MODE=no
    echo "cluster namespace tests: this build has no cluster mode (\`rund nodes\` unknown): cluster_* scenarios are skipped"
fi

passed=() failed=() skipped=()
# The standalone scenarios first: they prove the harness the cluster ones stand on.
for t in $(declare -F | awk '{ print $3 }' | grep '^test_standalone_'; declare -F | awk '{ print $3 }' | grep '^test_cluster_'); do
    echo "$t" | grep -qE -- "$pattern" || continue
    name=${t#test_}
    netns_ensure_up >/dev/null 2>&1 || { failed+=("$name (could not bring the nodes back up)"); continue; }
    out=$NETNS_WORK/$name.out
    begun=$(date +%s)
    # In the background, so that a signal to run.sh is handled at once (bash runs traps only between commands).
    ( set -euo pipefail; "$t" ) >"$out" 2>&1 &
    current=$!
    wait "$current"
    code=$?
    current=""
    took=$(( $(date +%s) - begun ))
    case $code in
        0) passed+=("$name"); echo "PASS $name (${took} s)"; grep '^  ' "$out" || true ;;
        77) skipped+=("$name"); echo "SKIP $name: $(sed -n 's/^SKIP: //p' "$out" | head -n 1)" ;;
        *) failed+=("$name"); echo "FAIL $name (${took} s): $(sed -n 's/^FAIL: //p' "$out" | head -n 1)"
           tail -n 20 "$out" | sed 's/^/    /'
           for n in 1 2 3 4; do
               [ -f "$(netns_serve_log "$n")" ] || continue
               echo "    --- node$n's daemon log, last lines:"
               tail -n 8 "$(netns_serve_log "$n")" | sed 's/^/    /'
           done ;;
    esac
done
echo "cluster namespace tests: ${#passed[@]} passed, ${#failed[@]} failed, ${#skipped[@]} skipped in $(( $(date +%s) - started )) s"
[ "${#failed[@]}" -eq 0 ]
