# Sourced by the CI scripts that start `bin/rund serve` in the background (src/test/smoke/readme.sh,
# src/test/interop/run.sh): waits until the daemon's log says "rund serves on", and fails, through the caller's own
# `fail`, if the daemon exits first or does not come up in time.
# Usage: await_serve LOG PID SECONDS [WHY IT MAY TAKE THAT LONG]
await_serve() {
    local log=$1 pid=$2 seconds=$3 note=${4:-}
    for _ in $(seq 1 "$seconds"); do
        grep -q "rund serves on" "$log" && return 0
        kill -0 "$pid" 2>/dev/null || fail "bin/rund serve exited early"
        sleep 1
    done
    grep -q "rund serves on" "$log" || fail "bin/rund serve did not come up in $seconds s${note:+ ($note)}"
}
