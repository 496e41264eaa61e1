package io.rund.cli;

import io.rund.TestCgroups;
import io.rund.api.ApiFixture;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The AOT cache's training (what bin/rund runs after a build) as bin/rund runs it, in a JVM of its own: every client
 * command against a real daemon it starts and stops, all of them answered as expected, and the daemon's cgroup
 * subtree gone afterwards.
 */
class CliTrainingTest {

    private static final long HANG_GUARD_SECONDS = 300;

    @Test
    void everyCommandRunsAgainstARealDaemonWhichLeavesNothingBehind() throws Exception {
        ApiFixture.assumeEngineCanRun();
        Path cgroup = TestCgroups.newRoot("rund-test");
        Path output = Files.createTempFile("rund-cli-training-", ".log");
        Process training = new ProcessBuilder(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"),
                CliTraining.class.getName(), Path.of("tls").toAbsolutePath().toString(), cgroup.toString()))
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();
        try {
            assertTrue(training.waitFor(HANG_GUARD_SECONDS, TimeUnit.SECONDS), "the training ended");
            String log = Files.readString(output, StandardCharsets.UTF_8);
            assertEquals(0, training.exitValue(), log);
            assertFalse(Files.exists(cgroup), "the daemon removed its cgroup subtree " + cgroup);
        } finally {
            if (training.isAlive()) {
                training.destroyForcibly();
                training.waitFor();
            }
            TestCgroups.removeTree(cgroup);
            Files.deleteIfExists(output);
        }
    }
}
