# Sourced (from the repository directory) by the VM scripts that run rund's Java in the guest: prepares the VM
# (setup.sh), compiles the main and test classes, writes the test classpath, and sets GUEST_JAVA, the java command
# line for the guest. Java runs 35-80x slower under TCG: C1 only and the serial collector start fastest.
. bin/jdk25.sh

src/test/vm/setup.sh
./mvnw -q -B -ntp test-compile
./mvnw -q -B -ntp dependency:build-classpath -Dmdep.outputFile=target/vm-classpath.txt -Dmdep.includeScope=test

GUEST_JAVA="$JAVA_HOME/bin/java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED"
GUEST_JAVA="$GUEST_JAVA --sun-misc-unsafe-memory-access=allow -cp target/classes:target/test-classes:$(cat target/vm-classpath.txt)"
