#!/usr/bin/env bash
# The JUnit suite on a pure cgroup v2 kernel: runs test classes inside the VM (run.sh) through io.rund.vm.VmTestSuite
# (the JUnit Platform launcher in one JVM: Maven would cost minutes more under software emulation), against the
# checkout and ~/.m2 the VM shares read-only with the host. As on a systemd host, the test JVM does not sit in the root
# cgroup: it runs in the leaf ci.slice/junit, whose parent delegates cpu, memory, io and pids. Its temp directory is
# on the VM's ext4 disk, so tests that need a file system on a block device run too.
# Exit status is the verdict: 1 if any test failed or a class ran no test at all (e.g. its fixture skipped it).
#
# Usage: src/test/vm/suite.sh [TEST_CLASS|TEST_CLASS#METHOD...]   (default: the list below; RUND_VM_TESTS="A B" too)
set -euo pipefail
cd "$(dirname "$0")/../../.."

# One class or more per area (cgroup, linux, logs, job engine, API over mTLS, daemon lifecycle, cli), chosen to run
# what a hybrid host skips for want of controllers (CgroupManagerTest's limit read-backs, LimitsTest's disk
# resolution) and to keep this step near 10 minutes: JVM code runs 20-50x slower under TCG than on the host.
# A test method alone is written Class#method.
readonly DEFAULT_TESTS=(
    io.rund.cgroup.CgroupLocationTest
    io.rund.cgroup.CgroupManagerTest
    io.rund.cgroup.LimitsTest
    io.rund.cgroup.LimitUpdateTest
    io.rund.linux.SpawnerTest
    io.rund.logs.LogSegmentsTest
    # JobEngineTest starts an engine per test: all 16 took 444 s here on a loaded host (4 took 31 s on a quieter one).
    # These are the ones a cgroup layout can change: placement, kill of the whole tree, grace then kill, accounting.
    io.rund.job.JobEngineTest#theFirstInstructionAlreadyRunsInTheJobsCgroup
    io.rund.job.JobEngineTest#whatAJobLeavesRunningDiesWithItAndItsCgroupIsRemoved
    io.rund.job.JobEngineTest#aJobIgnoringSigtermIsKilledAfterTheGracePeriod
    io.rund.job.JobEngineTest#theFinalStatusCarriesTheJobsAccountingAndTimes
    io.rund.api.AuthorizationTest
    io.rund.api.UpdateTest
    # Live OOM-kill and pids.max events, and Stats against the cgroup files (throttling under a tight cpu.max).
    io.rund.api.LiveEventsTest
    io.rund.api.StatsTest
    io.rund.DaemonLifecycleTest
    io.rund.cli.DoctorCommandTest
)
# The leaf the test JVM runs in, below a parent that enables controllers for it (like systemd's session scopes).
readonly JVM_CGROUP_PARENT=ci.slice
readonly JVM_CGROUP_LEAF=junit
readonly CONTROLLERS="+cpu +memory +io +pids"
# On the VM's ext4 disk (run.sh mounts it at /mnt/vmdisk), made larger than run.sh's default for the tests' files.
readonly GUEST_TMP=/mnt/vmdisk/tmp
export RUND_VM_DISK_MIB="${RUND_VM_DISK_MIB:-1024}"
# A guard against a hung test, not a budget: on a quiet host the subset takes ~7 VM minutes, on a loaded one twice that.
export RUND_VM_TIMEOUT="${RUND_VM_TIMEOUT:-1800}"
readonly FAST_START_FLAGS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
readonly HANDSHAKE_TIMEOUT=120s

if [[ $# -gt 0 ]]; then
    tests=("$@")
elif [[ -n "${RUND_VM_TESTS:-}" ]]; then
    read -r -a tests <<< "$RUND_VM_TESTS"
else
    tests=("${DEFAULT_TESTS[@]}")
fi

. src/test/vm/guest-java.sh
echo "== VM suite: ${#tests[@]} test classes/methods on a pure cgroup v2 kernel (VmTestSuite): ${tests[*]##*.}"
# The guest's shell moves itself into the leaf, then becomes the JVM ($$ is that shell, so the JVM stays there).
# JVMs the tests start (daemons in processes of their own) get the flags that start fastest under TCG too, and
# every daemon's handshake timeout is raised: a cold JVM's first P-521 TLS handshake takes over its 10 s under TCG.
src/test/vm/run.sh --results target/vm-results/junit -e JDK_JAVA_OPTIONS="$FAST_START_FLAGS" \
    -e RUND_HANDSHAKE_TIMEOUT="$HANDSHAKE_TIMEOUT" -- sh -c '
    set -e
    mkdir -p "/sys/fs/cgroup/$1/$2" "$4"
    echo "$3" > "/sys/fs/cgroup/$1/cgroup.subtree_control"
    echo $$ > "/sys/fs/cgroup/$1/$2/cgroup.procs"
    shift 4
    exec "$@"' suite "$JVM_CGROUP_PARENT" "$JVM_CGROUP_LEAF" "$CONTROLLERS" "$GUEST_TMP" \
    $GUEST_JAVA -Djava.io.tmpdir="$GUEST_TMP" io.rund.vm.VmTestSuite "${tests[@]}"
