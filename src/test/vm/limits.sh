#!/usr/bin/env bash
# The VM suite: proves on a pure cgroup v2 kernel that the limits rund writes are enforced.
#  1. the kernel itself, with plain shell (probe.sh): the VM is fit to judge;
#  2. rund's real engine (io.rund.vm.VmLimitsProof: the daemon, cgroup manager, spawner, job actors) under
#     every limit, each check printed with its measured figure.
# Exit status is the verdict. Needs root (apt, qemu); installs what it needs (setup.sh).
set -euo pipefail
cd "$(dirname "$0")/../../.."
. bin/jdk25.sh

src/test/vm/setup.sh
./mvnw -q -B -ntp test-compile
./mvnw -q -B -ntp dependency:build-classpath -Dmdep.outputFile=target/vm-classpath.txt -Dmdep.includeScope=test

echo "== VM suite 1/2: the kernel enforces limits (shell probe)"
src/test/vm/run.sh --results target/vm-results/probe -- src/test/vm/probe.sh

echo "== VM suite 2/2: rund doctor, then rund enforces limits (VmLimitsProof, the real engine)"
# Java runs 35-80x slower under TCG: C1 only and the serial collector start fastest.
java="$JAVA_HOME/bin/java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED"
java="$java --sun-misc-unsafe-memory-access=allow -cp target/classes:target/test-classes:$(cat target/vm-classpath.txt)"
src/test/vm/run.sh --results target/vm-results/rund -- sh -c "
    $java io.rund.cli.RundCli doctor --cgroup-root rund-vm > /tmp/doctor.txt || exit 1
    cat /tmp/doctor.txt
    grep -q '^cgroup mode:      v2' /tmp/doctor.txt || { echo 'FAIL doctor: not reported as cgroup v2'; exit 1; }
    if grep -q refused /tmp/doctor.txt; then echo 'FAIL doctor: a limit is refused on a pure v2 kernel'; exit 1; fi
    echo 'PASS rund doctor: cgroup v2, every limit works'
    exec $java io.rund.vm.VmLimitsProof"
