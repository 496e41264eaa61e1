package io.rund;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The daemon as a real process: SIGTERM leaves nothing behind; after kill -9 the next start cleans up. */
class DaemonLifecycleTest {

    private static final int JOBS = 6;

    @TempDir
    Path stateDir;
    private Path cgroupRoot;
    private final List<Process> daemons = new ArrayList<>();

    @BeforeEach
    void requireCgroupV2() {
        cgroupRoot = TestCgroups.newRoot("rund-test");
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (Process daemon : daemons) {
            daemon.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (Files.isDirectory(cgroupRoot)) {
            for (Path leaf : cgroups()) {
                Files.writeString(leaf.resolve("cgroup.kill"), "1");
            }
            for (Path leaf : cgroups().reversed()) {
                while (Files.readString(leaf.resolve("cgroup.events")).contains("populated 1")) {
                    Thread.sleep(10);
                }
                Files.delete(leaf);
            }
            Files.delete(cgroupRoot);
        }
    }

    @Test
    void sigtermStopsEveryJobRemovesRundsCgroupsAndExitsZero() throws Exception {
        Process daemon = startDaemon(JOBS);
        List<Integer> pids = jobProcesses();
        assertTrue(pids.size() >= JOBS, "every job must be running: " + pids);

        daemon.destroy(); // SIGTERM to the daemon we started, by its pid
        assertTrue(daemon.waitFor(60, TimeUnit.SECONDS), "the daemon must exit after stopping its jobs");
        assertEquals(0, daemon.exitValue());
        for (int pid : pids) {
            assertFalse(TestProcesses.isAlive(pid), "job process " + pid + " outlived the daemon");
        }
        assertFalse(Files.exists(cgroupRoot), "rund must remove the cgroup subtree it created");
    }

    /** Issue 11: jobs outlive a crashed daemon (rund-keeper holds them), so the next daemon no longer sweeps them. */
    @Test
    void aRestartAfterKillMinus9SparesTheJobsTheKeeperHolds() throws Exception {
        Process crashed = startDaemon(JOBS);
        assertTrue(jobProcesses().size() >= JOBS, "every job must be running");
        List<Path> keptCgroups = cgroups();
        crashed.destroyForcibly();
        assertTrue(crashed.waitFor(10, TimeUnit.SECONDS));

        Process restarted = startDaemon(0);
        // (Some of the jobs' pids are short-lived `sleep 1` loops: what must survive is each job, its cgroup populated.)
        assertEquals(keptCgroups, cgroups(), "the kept jobs' cgroups (and the keeper's leaf) stay");
        for (Path cgroup : keptCgroups) {
            assertTrue(Files.readString(cgroup.resolve("cgroup.events")).contains("populated 1"),
                    cgroup + " must still run its job after the crash and the restart");
        }
        restarted.destroy();
        assertTrue(restarted.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, restarted.exitValue());
    }

    private Process startDaemon(int jobs) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process daemon = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"),
                DaemonWithJobs.class.getName(), stateDir.resolve("state").toString(), cgroupRoot.toString(), "" + jobs)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        daemons.add(daemon);
        BufferedReader out = new BufferedReader(new InputStreamReader(daemon.getInputStream()));
        String line;
        while ((line = out.readLine()) != null && !line.equals("READY")) {
            System.out.println("daemon: " + line);
        }
        assertEquals("READY", line, "the daemon must start");
        return daemon;
    }

    /** Every process in every job cgroup under the test root. */
    private List<Integer> jobProcesses() throws IOException {
        List<Integer> pids = new ArrayList<>();
        for (Path leaf : cgroups()) {
            for (String line : Files.readAllLines(leaf.resolve("cgroup.procs"))) {
                pids.add(Integer.parseInt(line.trim()));
            }
        }
        return pids;
    }

    private List<Path> cgroups() throws IOException {
        if (!Files.isDirectory(cgroupRoot)) {
            return List.of();
        }
        try (Stream<Path> tree = Files.walk(cgroupRoot)) {
            return tree.filter(p -> Files.isDirectory(p) && !p.equals(cgroupRoot)).sorted().toList();
        }
    }
}
