#!/usr/bin/env bash
# The VM suite: proves on a pure cgroup v2 kernel that the limits rund writes are enforced.
#  1. the kernel itself, with plain shell (probe.sh): the VM is fit to judge;
#  2. rund's real engine (io.rund.vm.VmLimitsProof: the daemon, cgroup manager, spawner, job actors) under
#     every limit, each check printed with its measured figure.
# Exit status is the verdict. Needs root (apt, qemu); installs what it needs (setup.sh).
set -euo pipefail
cd "$(dirname "$0")/../../.."
. src/test/vm/guest-java.sh

echo "== VM suite 1/2: the kernel enforces limits (shell probe)"
src/test/vm/run.sh --results target/vm-results/probe -- src/test/vm/probe.sh

echo "== VM suite 2/2: rund doctor, then rund enforces limits (VmLimitsProof, the real engine)"
src/test/vm/run.sh --results target/vm-results/rund -- sh -c "
    $GUEST_JAVA io.rund.cli.RundCli doctor --cgroup-root rund-vm > /tmp/doctor.txt || exit 1
    cat /tmp/doctor.txt
    grep -q '^cgroup mode:      v2' /tmp/doctor.txt || { echo 'FAIL doctor: not reported as cgroup v2'; exit 1; }
    # Intel RDT's lines (controller column 'resctrl') are refused in this VM, which has no RDT: only cgroup limits count.
    if grep -v '^  --[a-z0-9-]* *resctrl ' /tmp/doctor.txt | grep -q refused; then echo 'FAIL doctor: a limit is refused on a pure v2 kernel'; exit 1; fi
    echo 'PASS rund doctor: cgroup v2, every limit works'
    exec $GUEST_JAVA io.rund.vm.VmLimitsProof"
