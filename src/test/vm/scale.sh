#!/usr/bin/env bash
# The scale proof (issue 6): rund's real engine (io.rund.vm.VmScaleProof) holds JOBS concurrent sleeping jobs
# (default 10,000) in a VM, where the daemon's open-file limit can be raised (on the development hosts its hard
# limit holds only ~4,400-6,300 jobs and it lacks CAP_SYS_RESOURCE). Prints the figures (threads, heap, RSS and open
# files per job, time to start and to stop them all) and checks that all ran, all stopped and nothing was left.
# Exit status is the correctness verdict; timings are not judged. Slow (TCG): not part of .ci/run.
#
# Usage: src/test/vm/scale.sh [JOBS]      (bin/bench --vm-scale [JOBS] runs it too)
# Env:   RUND_VM_MEMORY (MiB, default 6144 here: the guest uses ~300 KiB per job, and kernel.threads-max and
#        RLIMIT_NPROC, which the jobs share as one user, grow with memory: 2 GiB allows only ~8,000 processes),
#        RUND_VM_TIMEOUT (s, default 600 + JOBS/5: under TCG a start takes ~75-150 ms, a stop ~20-50 ms),
#        RUND_SCALE_NOFILE (RLIMIT_NOFILE in the guest, default 65536).
set -euo pipefail
cd "$(dirname "$0")/../../.."

jobs="${1:-10000}"
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "usage: src/test/vm/scale.sh [JOBS]" >&2; exit 2; }
readonly NOFILE="${RUND_SCALE_NOFILE:-65536}"
export RUND_VM_MEMORY="${RUND_VM_MEMORY:-6144}"
export RUND_VM_TIMEOUT="${RUND_VM_TIMEOUT:-$((600 + jobs / 5))}"

. src/test/vm/guest-java.sh

echo "== VM scale proof: $jobs sleeping jobs on rund's real engine (VmScaleProof; VM: ${RUND_VM_MEMORY} MiB)"
# As an operator would (LimitNOFILE=): root raises the hard limit, then the soft one; the daemon raises soft to hard.
src/test/vm/run.sh --results target/vm-results/scale -- sh -c "
    ulimit -H -n $NOFILE && ulimit -S -n $NOFILE || { echo 'FAIL cannot raise RLIMIT_NOFILE to $NOFILE'; exit 1; }
    exec $GUEST_JAVA io.rund.vm.VmScaleProof $jobs"
