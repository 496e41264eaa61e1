#!/bin/sh
# Guest-side smoke test of the VM itself: proves with plain shell tools that this kernel enforces
# the cgroup v2 limits rund relies on, before any rund code is blamed for a failing limit test.
# One line per check with the measured figure; exit status 1 if any check failed.
# Run it through the VM:  src/test/vm/run.sh src/test/vm/probe.sh
set -u
export LC_ALL=C

readonly CGROOT=/sys/fs/cgroup
readonly PROBE_CG="$CGROOT/rund-vm-probe"
readonly MIB=1048576
readonly MEMORY_LIMIT_MIB=50
readonly MEMORY_TOUCH_MIB=200        # 4x the limit: must be OOM-killed
readonly MEMORY_FITS_MIB=20          # well under the limit: must succeed
readonly CPU_QUOTA_US=20000
readonly CPU_PERIOD_US=100000
readonly CPU_SAMPLE_S=2
readonly CPU_TOLERANCE_PCT=5         # 20% +- 5 points
readonly PIDS_LIMIT=5
readonly PIDS_ATTEMPTS=20
readonly IO_BPS=2097152              # 2 MiB/s
readonly IO_BPS_MIB=8                # ~4 s per direction at the limit
readonly IO_IOPS=100
readonly IO_IOPS_OPS=300             # ~3 s per direction at the limit
readonly IO_TOLERANCE_PCT=20
readonly IO_BASELINE_MIB=32

failures=0
started_us=

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
now_us() { date +%s%6N; }
stat_field() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
# Runs "$@" with the calling process moved into cgroup $1 first (children inherit it).
in_cgroup() {
    cg="$1"; shift
    sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}
new_cgroup() {
    mkdir "$PROBE_CG/$1" || { echo "cannot create $PROBE_CG/$1" >&2; exit 1; }
    echo "$PROBE_CG/$1"
}
# Kills every process of each child cgroup (cgroup.kill), waits until it is empty, removes it.
cleanup() {
    [ -d "$PROBE_CG" ] || return 0
    for cg in "$PROBE_CG"/*/; do
        [ -d "$cg" ] || continue
        echo 1 > "$cg/cgroup.kill" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            grep -q '^populated 0' "$cg/cgroup.events" && break
            sleep 0.2
        done
        rmdir "$cg" || echo "probe: could not remove $cg" >&2
    done
    rmdir "$PROBE_CG" || echo "probe: could not remove $PROBE_CG" >&2
}
within() {  # within VALUE TARGET TOLERANCE_PCT_OF_TARGET
    awk -v v="$1" -v t="$2" -v p="$3" 'BEGIN { exit !(v >= t * (1 - p / 100) && v <= t * (1 + p / 100)) }'
}

check_cgroup2() {
    controllers="$(cat "$CGROOT/cgroup.controllers")"
    missing=
    for c in cpu memory io pids; do
        case " $controllers " in *" $c "*) ;; *) missing="$missing $c" ;; esac
    done
    v1_mounts="$(awk '$3 == "cgroup"' /proc/mounts | wc -l)"
    if grep -q " $CGROOT cgroup2 " /proc/mounts && [ -z "$missing" ] && [ "$v1_mounts" -eq 0 ]; then
        pass "cgroup2 at $CGROOT, no v1 hierarchies, controllers: $controllers"
    else
        fail "cgroup2: controllers '$controllers' (missing:${missing:-none}), v1 mounts $v1_mounts"
    fi
}

check_defaults_are_max() {
    cg="$(new_cgroup defaults)"
    got="memory.max=$(cat "$cg/memory.max") memory.swap.max=$(cat "$cg/memory.swap.max")"
    got="$got cpu.max='$(cat "$cg/cpu.max")' pids.max=$(cat "$cg/pids.max") io.max='$(cat "$cg/io.max")'"
    if [ "$got" = "memory.max=max memory.swap.max=max cpu.max='max $CPU_PERIOD_US' pids.max=max io.max=''" ]; then
        pass "unrequested limits read as unlimited: $got"
    else
        fail "unrequested limits: $got"
    fi
}

# A pipe into `tail -c N` keeps the last N bytes in memory: it really touches its pages.
check_memory() {
    cg="$(new_cgroup memory)"
    echo "${MEMORY_LIMIT_MIB}M" > "$cg/memory.max"
    echo 0 > "$cg/memory.swap.max"
    in_cgroup "$cg" sh -c "head -c ${MEMORY_FITS_MIB}M /dev/zero | tail -c ${MEMORY_FITS_MIB}M > /dev/null"
    fits_status=$?
    fits_peak_mib=$(( $(cat "$cg/memory.peak") / MIB ))
    in_cgroup "$cg" sh -c "head -c ${MEMORY_TOUCH_MIB}M /dev/zero | tail -c ${MEMORY_TOUCH_MIB}M > /dev/null" 2>/dev/null
    status=$?
    oom_kill="$(stat_field "$cg/memory.events" oom_kill)"
    peak_mib=$(( $(cat "$cg/memory.peak") / MIB ))
    figures="memory.max ${MEMORY_LIMIT_MIB}M swap.max 0: ${MEMORY_FITS_MIB} MiB toucher exit $fits_status (peak $fits_peak_mib MiB); ${MEMORY_TOUCH_MIB} MiB toucher exit $status, oom_kill $oom_kill, peak $peak_mib MiB"
    if [ "$fits_status" -eq 0 ] && [ "$fits_peak_mib" -ge "$MEMORY_FITS_MIB" ] && [ "$status" -eq 137 ] \
        && [ "${oom_kill:-0}" -ge 1 ] && [ "$peak_mib" -le "$MEMORY_LIMIT_MIB" ]; then
        pass "$figures"
    else
        fail "$figures"
    fi
}

check_cpu() {
    cg="$(new_cgroup cpu)"
    echo "$CPU_QUOTA_US $CPU_PERIOD_US" > "$cg/cpu.max"
    sh -c 'echo $$ > "$0/cgroup.procs" && exec sh -c "while :; do :; done"' "$cg" &
    loop_pid=$!
    while [ -z "$(cat "$cg/cgroup.procs")" ]; do sleep 0.1; done
    sleep 0.5
    # Three windows, median reported: under host contention a descheduled vCPU is charged to the running job,
    # so one window can overcount; a wrong limit is wrong in every window.
    samples=""
    for _ in 1 2 3; do
        u0="$(stat_field "$cg/cpu.stat" usage_usec)"; t0="$(now_us)"
        sleep "$CPU_SAMPLE_S"
        u1="$(stat_field "$cg/cpu.stat" usage_usec)"; t1="$(now_us)"
        samples="$samples $(awk -v du=$((u1 - u0)) -v dt=$((t1 - t0)) 'BEGIN { printf "%.1f", 100 * du / dt }')"
    done
    throttled="$(stat_field "$cg/cpu.stat" nr_throttled)"
    echo 1 > "$cg/cgroup.kill"
    wait "$loop_pid" 2>/dev/null
    target_pct="$(awk -v q="$CPU_QUOTA_US" -v p="$CPU_PERIOD_US" 'BEGIN { print 100 * q / p }')"
    pct="$(echo $samples | tr ' ' '\n' | sort -n | sed -n 2p)"
    figures="cpu.max $CPU_QUOTA_US/$CPU_PERIOD_US -> $pct% of one CPU (median of 3 windows of $CPU_SAMPLE_S s:$samples) (nr_throttled $throttled)"
    if awk -v v="$pct" -v t="$target_pct" -v d="$CPU_TOLERANCE_PCT" 'BEGIN { exit !(v >= t - d && v <= t + d) }' \
        && [ "${throttled:-0}" -gt 0 ]; then
        pass "$figures"
    else
        fail "$figures (want ${target_pct}% +- $CPU_TOLERANCE_PCT)"
    fi
}

check_pids() {
    cg="$(new_cgroup pids)"
    echo "$PIDS_LIMIT" > "$cg/pids.max"
    # The forking shell stops at its first failed fork; its sleeping children stay.
    in_cgroup "$cg" sh -c "i=0; while [ \$i -lt $PIDS_ATTEMPTS ]; do sleep 60 & i=\$((i + 1)); done; wait" 2>/dev/null &
    forker=$!
    sleep 1
    current="$(cat "$cg/pids.current")"
    refused="$(stat_field "$cg/pids.events" max)"
    echo 1 > "$cg/cgroup.kill"
    wait "$forker" 2>/dev/null
    emptied=no
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        grep -q '^populated 0' "$cg/cgroup.events" && { emptied=yes; break; }
        sleep 0.2
    done
    figures="pids.max $PIDS_LIMIT: $PIDS_ATTEMPTS fork attempts -> pids.current $current, refused forks (pids.events max) $refused, empty after cgroup.kill: $emptied"
    if [ "$current" -le "$PIDS_LIMIT" ] && [ "${refused:-0}" -ge 1 ] && [ "$emptied" = yes ]; then
        pass "$figures"
    else
        fail "$figures"
    fi
}

# Runs dd in cgroup $1 with the remaining arguments; prints the seconds dd itself measured
# (from its first to its last I/O, so process start-up under TCG does not dilute the rate).
timed_dd() {
    cg="$1"; shift
    report="$(in_cgroup "$cg" dd "$@" 2>&1)" || { echo "probe: dd $* failed: $report" >&2; echo 0; return; }
    echo "$report" | sed -n 's/.* copied, \([0-9.e+-]*\) s,.*/\1/p'
}

check_io() {
    disk="${RUND_VM_DISK:?RUND_VM_DISK unset: not in the VM?}"
    mount_dir="${RUND_VM_DISK_MOUNT:?}"
    majmin="$(cat "/sys/class/block/${disk#/dev/}/dev")"
    file="$mount_dir/probe-io"
    cg="$(new_cgroup io)"

    secs="$(timed_dd "$cg" if=/dev/zero of="$file" bs=1M count="$IO_BASELINE_MIB" oflag=direct)"
    base="$(awk -v b=$((IO_BASELINE_MIB * MIB)) -v s="$secs" 'BEGIN { printf "%.1f", b / s / 1e6 }')"
    echo "INFO io: unthrottled direct write to $disk ($majmin): $base MB/s"

    # One check per limit: set it alone, run dd, compare the measured rate with the limit.
    io_check "$cg" "$majmin" "wbps=$IO_BPS" "$IO_BPS" B/s \
        if=/dev/zero of="$file" bs=1M count="$IO_BPS_MIB" oflag=direct conv=notrunc
    io_check "$cg" "$majmin" "rbps=$IO_BPS" "$IO_BPS" B/s \
        if="$file" of=/dev/null bs=1M count="$IO_BPS_MIB" iflag=direct
    io_check "$cg" "$majmin" "wiops=$IO_IOPS" "$IO_IOPS" ops/s \
        if=/dev/zero of="$file" bs=4k count="$IO_IOPS_OPS" oflag=direct conv=notrunc
    io_check "$cg" "$majmin" "riops=$IO_IOPS" "$IO_IOPS" ops/s \
        if="$file" of=/dev/null bs=4k count="$IO_IOPS_OPS" iflag=direct
    rm -f "$file"
}

io_check() {  # io_check CG MAJ:MIN LIMIT TARGET UNIT DD_ARGS...
    cg="$1"; majmin="$2"; limit="$3"; target="$4"; unit="$5"; shift 5
    echo "$majmin $limit" > "$cg/io.max"
    if [ "$unit" = B/s ]; then
        amount=$((IO_BPS_MIB * MIB))
    else
        amount="$IO_IOPS_OPS"
    fi
    secs="$(timed_dd "$cg" "$@")"
    rate="$(awk -v a="$amount" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? a / s : 0) }')"
    figures="io.max $limit on $majmin -> $rate $unit ($(awk -v r="$rate" -v t="$target" 'BEGIN { printf "%.0f", 100 * r / t }')% of the limit over $secs s)"
    echo "$majmin rbps=max wbps=max riops=max wiops=max" > "$cg/io.max"
    if within "$rate" "$target" "$IO_TOLERANCE_PCT"; then
        pass "$figures"
    else
        fail "$figures (want +-$IO_TOLERANCE_PCT%)"
    fi
}

main() {
    if [ "${RUND_VM:-}" != 1 ]; then
        echo "probe.sh runs inside the test VM: src/test/vm/run.sh src/test/vm/probe.sh" >&2
        exit 2
    fi
    started_us="$(now_us)"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    echo "probe: kernel $(uname -r), $(nproc) CPUs, cmdline: $(cat /proc/cmdline)"
    check_cgroup2
    mkdir "$PROBE_CG" || exit 1
    echo "+cpu +memory +io +pids" > "$PROBE_CG/cgroup.subtree_control" || exit 1
    check_defaults_are_max
    check_memory
    check_cpu
    check_pids
    check_io
    echo "probe: $failures failed check(s), wall $(awk -v us=$(( $(now_us) - started_us )) 'BEGIN { printf "%.1f", us / 1e6 }') s"
    [ "$failures" -eq 0 ]
}

main "$@"
