package io.rund.cgroup;

import io.rund.linux.FsCredentials;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A running job's limits changed through {@link CgroupManager#update}, against the real kernel: every value reads back,
 * and the kernel enforces the new one at once — a busy loop slows to its lower cpu.max, a lower pids.max stops forks,
 * a memory.max below usage reclaims clean page cache or OOM-kills anonymous memory, as the kernel does. Needs the
 * controllers (a pure cgroup v2 host: the VM suite runs it); skips saying so elsewhere.
 */
final class LimitUpdateTest {
    private static final long MIB = 1L << 20;
    private static final Duration SETTLE = Duration.ofSeconds(60);
    private static final long MEASURE_MILLIS = 2_000;

    @TempDir
    Path workingDirectory;

    private Path mount;
    private Path root;
    private CgroupManager manager;
    private final List<Process> started = new ArrayList<>();

    @BeforeEach
    void openManagerOnAFreshRoot() throws Exception {
        mount = CgroupTestSupport.cgroup2MountOrSkip();
        root = CgroupTestSupport.newTestRoot(mount);
        manager = CgroupManager.open(Optional.of(root));
    }

    @AfterEach
    void removeEverything() throws Exception {
        try {
            CgroupTestSupport.stopAll(started);
        } finally {
            if (root != null) {
                CgroupTestSupport.destroy(mount, root);
            }
        }
    }

    @Test
    void everyValueIsWrittenAndReadBackAndWhatIsNotNamedStays() throws Exception {
        require("cpu", "memory", "pids");
        Cgroup job = manager.create("job-1", Limits.none().withCpuMax(20_000, 50_000), workingDirectory);
        CgroupTestSupport.startSleepIn(job.path(), started);

        CgroupManager.LimitsInForce inForce = update(job, Limits.none().withCpuMax(30_000)
                .withMemoryMax(64 * MIB).withMemoryHigh(48 * MIB).withMemorySwapMax(0).withPidsMax(7));

        Limits limits = inForce.limits();
        assertEquals(OptionalLong.of(30_000), limits.cpuMaxQuotaMicros());
        assertEquals(OptionalLong.of(50_000), limits.cpuMaxPeriodMicros(), "a quota alone keeps the period in force");
        assertEquals(OptionalLong.of(64 * MIB), limits.memoryMaxBytes());
        assertEquals(OptionalLong.of(48 * MIB), limits.memoryHighBytes());
        assertEquals(OptionalLong.of(0), limits.memorySwapMaxBytes());
        assertEquals(OptionalLong.of(7), limits.pidsMax());
        assertEquals("30000 50000", job.read("cpu.max").strip());
        assertEquals(Long.toString(48 * MIB), job.read("memory.high").strip());
        assertEquals(0, inForce.oomKills());

        Limits lifted = manager.update(job, new LimitChange(Limits.none(), Set.of("memory-high", "pids-max")),
                workingDirectory, FsCredentials.DAEMON).limits();
        assertEquals(OptionalLong.empty(), lifted.memoryHighBytes());
        assertEquals(OptionalLong.empty(), lifted.pidsMax());
        assertEquals("max", job.read("pids.max").strip());
        assertEquals(OptionalLong.of(64 * MIB), lifted.memoryMaxBytes(), "not named: unchanged");
    }

    @Test
    void loweringCpuMaxSlowsABusyJobAtOnce() throws Exception {
        require("cpu");
        Cgroup job = manager.create("job-1", Limits.none(), workingDirectory);
        start(job, "while :; do :; done");

        long unlimited = cpuMicrosOver(job, MEASURE_MILLIS);
        update(job, Limits.none().withCpuMax(10_000, 100_000)); // a tenth of one CPU
        long limited = cpuMicrosOver(job, MEASURE_MILLIS);

        System.out.printf("busy loop: %d us of CPU in %d ms unlimited, %d us at cpu.max 10000 100000%n",
                unlimited, MEASURE_MILLIS, limited);
        assertTrue(limited * 3 < unlimited, "cpu.max lowered mid-run: " + limited + " us against " + unlimited + " us before");
    }

    @Test
    void loweringPidsMaxStopsFurtherForks() throws Exception {
        require("pids");
        Cgroup job = manager.create("job-1", Limits.none(), workingDirectory);
        start(job, "while :; do /bin/true; done");
        long refusedBefore = pidsMaxEvents(job);

        update(job, Limits.none().withPidsMax(1));

        Instant giveUp = Instant.now().plus(SETTLE);
        while (pidsMaxEvents(job) == refusedBefore && Instant.now().isBefore(giveUp)) {
            Thread.sleep(50);
        }
        assertTrue(pidsMaxEvents(job) > refusedBefore, "forks refused at pids.max 1: " + job.read("pids.events"));
        assertTrue(Long.parseLong(job.read("pids.current").strip()) <= 1, "pids.current " + job.read("pids.current"));
    }

    @Test
    void loweringMemoryMaxBelowAnonymousUsageOomKills() throws Exception {
        require("memory");
        Cgroup job = manager.create("job-1", Limits.none(), workingDirectory);
        Process shell = start(job, "while [ ! -e go ]; do sleep 0.1; done; head -c 48M /dev/zero | tail; sleep 1000");
        Files.createFile(workingDirectory.resolve("go"));
        awaitMemoryCurrentAbove(job, 40 * MIB);

        CgroupManager.LimitsInForce inForce = update(job, Limits.none().withMemoryMax(16 * MIB).withMemorySwapMax(0));

        assertTrue(inForce.oomKills() >= 1, "48 MiB of anonymous memory, no swap, memory.max 16 MiB: the kernel "
                + "OOM-kills (" + job.read("memory.events").replace('\n', ' ') + ")");
        assertTrue(Long.parseLong(job.read("memory.current").strip()) <= 16 * MIB);
        assertTrue(shell.isAlive(), "the OOM killer took the biggest process (tail), not the shell");
    }

    @Test
    void loweringMemoryMaxBelowCleanPageCacheReclaimsWithoutKilling() throws Exception {
        require("memory");
        String fileSystem = Files.getFileStore(workingDirectory).type();
        if (fileSystem.equals("tmpfs")) {
            CgroupTestSupport.skip("the working directory is on tmpfs, whose pages cannot be reclaimed without swap");
        }
        Cgroup job = manager.create("job-1", Limits.none(), workingDirectory);
        Process shell = start(job, "while [ ! -e go ]; do sleep 0.1; done; head -c 32M /dev/zero > cache && sync && touch written; sleep 1000");
        Files.createFile(workingDirectory.resolve("go"));
        Instant giveUp = Instant.now().plus(SETTLE);
        while (!Files.exists(workingDirectory.resolve("written")) && Instant.now().isBefore(giveUp)) {
            Thread.sleep(50);
        }
        assertTrue(Files.exists(workingDirectory.resolve("written")), "the job wrote its file");
        long before = Long.parseLong(job.read("memory.current").strip());

        CgroupManager.LimitsInForce inForce = update(job, Limits.none().withMemoryMax(8 * MIB));

        long after = Long.parseLong(job.read("memory.current").strip());
        System.out.printf("page cache: memory.current %d KiB before, %d KiB after memory.max 8 MiB%n", before >> 10, after >> 10);
        assertEquals(0, inForce.oomKills(), "clean page cache is reclaimed, nothing killed");
        assertTrue(after <= 8 * MIB, "memory.current " + after);
        assertTrue(shell.isAlive());
    }

    private CgroupManager.LimitsInForce update(Cgroup job, Limits limits) throws Exception {
        return manager.update(job, LimitChange.setting(limits), workingDirectory, FsCredentials.DAEMON);
    }

    private Process start(Cgroup job, String script) throws Exception {
        Process process = new ProcessBuilder("sh", "-c", script).directory(workingDirectory.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        started.add(process);
        CgroupTestSupport.moveInto(process, job.path());
        return process;
    }

    private static long cpuMicrosOver(Cgroup job, long millis) throws Exception {
        long before = usageMicros(job);
        Thread.sleep(millis);
        return usageMicros(job) - before;
    }

    private static long usageMicros(Cgroup job) throws Exception {
        return Long.parseLong(keyed(job.read("cpu.stat")).get("usage_usec"));
    }

    private static long pidsMaxEvents(Cgroup job) throws Exception {
        return Long.parseLong(keyed(job.read("pids.events")).getOrDefault("max", "0"));
    }

    private static void awaitMemoryCurrentAbove(Cgroup job, long bytes) throws Exception {
        Instant giveUp = Instant.now().plus(SETTLE);
        while (Long.parseLong(job.read("memory.current").strip()) <= bytes && Instant.now().isBefore(giveUp)) {
            Thread.sleep(50);
        }
        assertTrue(Long.parseLong(job.read("memory.current").strip()) > bytes, "memory.current " + job.read("memory.current"));
    }

    private static Map<String, String> keyed(String text) {
        Map<String, String> values = new java.util.HashMap<>();
        for (String line : text.split("\n")) {
            String[] kv = line.strip().split("\\s+", 2);
            if (kv.length == 2) {
                values.put(kv[0], kv[1]);
            }
        }
        return values;
    }

    private void require(String... controllers) {
        for (String controller : controllers) {
            if (!manager.availableControllers().contains(controller)) {
                CgroupTestSupport.skip("the " + controller + " controller is not offered here (jobs get: "
                        + manager.availableControllers() + "); live limit changes are proven on a pure cgroup v2 host (VM suite)");
            }
        }
    }
}
