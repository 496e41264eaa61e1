#!/usr/bin/env bash
# Runs one command as root inside a throwaway QEMU (TCG) VM whose kernel runs pure cgroup v2
# (cgroup_no_v1=all), and exits with the command's exit status.
#
# Usage: src/test/vm/run.sh [-e NAME=VALUE]... [-C DIR] [--results DIR] [--] COMMAND [ARG]...
#   -e NAME=VALUE   extra environment for COMMAND (repeatable)
#   -C DIR          working directory in the guest (default: the repository)
#   --results DIR   host directory shared writable at $RUND_VM_RESULTS, created if missing
#                   (default: <repo>/target/vm-results, emptied first); gets console.log too
#
# The guest sees the host's / read-only (9p) under a tmpfs overlay, so it can write anywhere but
# nothing reaches the host except through $RUND_VM_RESULTS. COMMAND's stdout+stderr arrive on this
# script's stdout. On failure the guest console's tail goes to stderr.
# Guest environment: RUND_VM=1, RUND_VM_DISK (e.g. /dev/vda: a fresh 256 MiB ext4 virtio disk),
# RUND_VM_DISK_MOUNT=/mnt/vmdisk, RUND_VM_RESULTS=/mnt/results, JAVA_HOME, PATH, HOME=/root.
# cgroup2 is at /sys/fs/cgroup with +cpu +memory +io +pids enabled in the root's subtree_control.
#
# Env: RUND_VM_TIMEOUT (seconds, default 900: qemu is killed, exit 124), RUND_VM_CACHE,
#      RUND_VM_MEMORY (MiB, default 2048), RUND_VM_CPUS (default 2), RUND_VM_DISK_MIB (default 256),
#      RUND_VM_JAVA_HOME (default /usr/lib/jvm/temurin-25-jdk-amd64), RUND_VM_KEEP=1 keeps the run dir.
# Exit: COMMAND's status; 124 on timeout; 125 when the VM failed before reporting a status.
set -euo pipefail

readonly VM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly REPO_DIR="$(cd "$VM_DIR/../../.." && pwd)"
readonly CACHE="${RUND_VM_CACHE:-$REPO_DIR/target/vm-cache}"
readonly TIMEOUT_S="${RUND_VM_TIMEOUT:-900}"
readonly MEMORY_MIB="${RUND_VM_MEMORY:-2048}"
readonly CPUS="${RUND_VM_CPUS:-2}"
readonly DISK_MIB="${RUND_VM_DISK_MIB:-256}"
readonly GUEST_JAVA_HOME="${RUND_VM_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
readonly CONSOLE_TAIL_LINES=60
readonly KILL_GRACE_S=5
readonly EXIT_TIMEOUT=124
readonly EXIT_VM_FAILED=125
readonly KERNEL_CMDLINE="console=ttyS0 cgroup_no_v1=all panic=-1 quiet loglevel=4 tsc=reliable"

die() { printf 'vm-run: ERROR: %s\n' "$*" >&2; exit "$EXIT_VM_FAILED"; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//' >&2; exit 2; }

# Single-quotes one word for /bin/sh.
shell_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

readonly DEFAULT_RESULTS="$REPO_DIR/target/vm-results"
extra_env=() cwd="$REPO_DIR" results="$DEFAULT_RESULTS"
while [[ $# -gt 0 ]]; do
    case "$1" in
        -e) [[ $# -ge 2 && "$2" == *=* ]] || usage; extra_env+=("$2"); shift 2 ;;
        -C) [[ $# -ge 2 ]] || usage; cwd="$2"; shift 2 ;;
        --results) [[ $# -ge 2 ]] || usage; results="$2"; shift 2 ;;
        -h|--help) usage ;;
        --) shift; break ;;
        -*) usage ;;
        *) break ;;
    esac
done
[[ $# -gt 0 ]] || usage
for var in "${extra_env[@]}"; do
    [[ "${var%%=*}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "-e $var: not a valid variable name"
done

"$VM_DIR/setup.sh" > /dev/null
[[ -s "$CACHE/vmlinux" && -s "$CACHE/initramfs.cpio" ]] || die "setup.sh left no vmlinux/initramfs in $CACHE"

mkdir -p "$CACHE/runs"
run_dir="$(mktemp -d "$CACHE/runs/run.XXXXXX")"
cleanup() {
    if [[ "${RUND_VM_KEEP:-0}" == 1 ]]; then
        echo "vm-run: kept $run_dir" >&2
    else
        rm -rf "$run_dir"
    fi
}
trap cleanup EXIT
mkdir -p "$run_dir/ctl"
if [[ "$results" == "$DEFAULT_RESULTS" ]]; then
    rm -rf "$DEFAULT_RESULTS"   # ours: start empty; an explicit --results is never emptied
fi
results="$(mkdir -p "$results" && cd "$results" && pwd)" || die "cannot create results directory $results"

# The command, as a script the guest's /bin/sh runs from the control share.
{
    echo "export JAVA_HOME=$(shell_quote "$GUEST_JAVA_HOME")"
    echo 'export PATH="$JAVA_HOME/bin:$PATH"'
    for var in "${extra_env[@]}"; do
        echo "export ${var%%=*}=$(shell_quote "${var#*=}")"
    done
    echo "cd $(shell_quote "$cwd") || exit 126"
    printf 'exec'
    for word in "$@"; do printf ' %s' "$(shell_quote "$word")"; done
    echo
} > "$run_dir/ctl/cmd.sh"

# A fresh ext4 disk for io.max tests, formatted by the host so the guest needs no mkfs.
truncate -s "${DISK_MIB}M" "$run_dir/disk.img"
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 -L rund-vmdisk "$run_dir/disk.img" \
    || die "mkfs.ext4 $run_dir/disk.img"

start_ns="$(date +%s%N)"
set +e
timeout --foreground --kill-after="$KILL_GRACE_S" "$TIMEOUT_S" \
    qemu-system-x86_64 \
        -nodefaults -no-user-config -display none -no-reboot \
        -machine pc -accel tcg -cpu max -smp "$CPUS" -m "$MEMORY_MIB" \
        -bios /usr/share/qemu/qboot.rom \
        -kernel "$CACHE/vmlinux" -initrd "$CACHE/initramfs.cpio" -append "$KERNEL_CMDLINE" \
        -serial "file:$run_dir/console.log" -serial stdio \
        -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
        -virtfs "local,path=$run_dir/ctl,mount_tag=ctl,security_model=passthrough" \
        -virtfs "local,path=$results,mount_tag=results,security_model=passthrough" \
        -drive "file=$run_dir/disk.img,format=raw,if=none,id=vmdisk,cache=unsafe" \
        -device virtio-blk-pci,drive=vmdisk,serial=rund-vmdisk \
        < /dev/null
qemu_status=$?
set -e
end_ns="$(date +%s%N)"

cp "$run_dir/console.log" "$results/console.log" 2>/dev/null || true
started="$(stat -c %.3Y "$run_dir/ctl/started" 2>/dev/null || true)"
if [[ -n "$started" ]]; then
    boot_s="$(awk -v s="$start_ns" -v t="$started" 'BEGIN { printf "%.1f", t - s / 1e9 }')"
else
    boot_s="?"
fi
wall_s="$(awk -v s="$start_ns" -v e="$end_ns" 'BEGIN { printf "%.1f", (e - s) / 1e9 }')"

print_console_tail() {
    echo "vm-run: ---- guest console (last $CONSOLE_TAIL_LINES lines of $results/console.log) ----" >&2
    tail -n "$CONSOLE_TAIL_LINES" "$run_dir/console.log" >&2 2>/dev/null || true
    echo "vm-run: ---- end of guest console ----" >&2
}

if [[ -s "$run_dir/ctl/status" ]]; then
    status="$(cat "$run_dir/ctl/status")"
    echo "vm-run: command exited with status $status (boot to command ${boot_s} s, VM wall ${wall_s} s)" >&2
    [[ "$status" == 0 ]] || print_console_tail
    exit "$status"
fi
if [[ "$qemu_status" == "$EXIT_TIMEOUT" || "$qemu_status" == 137 ]]; then
    echo "vm-run: TIMEOUT: killed qemu after ${TIMEOUT_S} s (RUND_VM_TIMEOUT)" >&2
    print_console_tail
    exit "$EXIT_TIMEOUT"
fi
if [[ -s "$run_dir/ctl/init-failure" ]]; then
    echo "vm-run: guest init failed: $(cat "$run_dir/ctl/init-failure")" >&2
fi
echo "vm-run: the VM stopped without reporting a status (qemu exit $qemu_status, wall ${wall_s} s)" >&2
print_console_tail
exit "$EXIT_VM_FAILED"
