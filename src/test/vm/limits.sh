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

echo "== VM suite 2/2: rund enforces limits (VmLimitsProof, the real engine)"
# Java runs 35-80x slower under TCG: C1 only and the serial collector start fastest.
src/test/vm/run.sh --results target/vm-results/rund -- "$JAVA_HOME/bin/java" \
    -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
    -cp "target/classes:target/test-classes:$(cat target/vm-classpath.txt)" io.rund.vm.VmLimitsProof
