package io.rund.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CgroupManager and Cgroup against the real kernel, in a throwaway rund-test-<random> root under
 * the cgroup2 mount. Limit read-back runs only where the host offers the controller (a pure
 * cgroup v2 machine or the VM suite) and skips loudly elsewhere.
 */
final class CgroupManagerTest {
    private static final long MIB = 1L << 20;
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final int SIGKILL_EXIT = 128 + 9;
    /** Enough shell arithmetic to show up in cpu.stat. */
    private static final int BUSY_LOOP_ITERATIONS = 200_000;

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
    void openMakesTheConfiguredRootAndEnablesWhatTheHostOffers() throws Exception {
        assertEquals(mount, manager.mount());
        assertEquals(root, manager.subtree());
        assertTrue(Files.isDirectory(root));
        Set<String> offered = words(Files.readString(root.resolve("cgroup.controllers")));
        assertEquals(offered, manager.availableControllers(), "every controller offered is enabled for jobs");
        assertEquals(offered, words(Files.readString(root.resolve("cgroup.subtree_control"))));
        System.out.println("controllers for jobs on this host: " + manager.availableControllers());
    }

    @Test
    void aRelativeConfiguredRootIsTakenFromTheMount() throws Exception {
        CgroupManager again = CgroupManager.open(Optional.of(Path.of(root.getFileName().toString())));
        assertEquals(root, again.subtree());
        again.close();
        assertTrue(Files.isDirectory(root), "close removes only what that manager made");
    }

    @Test
    void aRootOutsideTheMountOrTheWholeMountIsRefused() {
        CgroupException outside = assertThrows(CgroupException.class,
                () -> CgroupManager.open(Optional.of(Path.of("/tmp/rund-cgroup"))));
        assertTrue(outside.getMessage().startsWith("/tmp/rund-cgroup: "), outside.getMessage());
        assertThrows(CgroupException.class, () -> CgroupManager.open(Optional.of(mount)));
    }

    @Test
    void createThenRemoveAJobCgroup() throws Exception {
        Cgroup job = manager.create("job-1", Limits.none(), workingDirectory);
        assertEquals("job-1", job.name());
        assertEquals(root.resolve("job-1"), job.path());
        assertTrue(Files.isDirectory(job.path()));
        assertFalse(job.populated());
        assertEquals(List.of(), job.pids());
        assertFalse(job.oomKilled());
        job.remove();
        assertFalse(Files.exists(job.path()));
    }

    @Test
    void anExistingNameIsRefused() throws Exception {
        manager.create("job-1", Limits.none(), workingDirectory);
        CgroupException e = assertThrows(CgroupException.class,
                () -> manager.create("job-1", Limits.none(), workingDirectory));
        assertTrue(e.getMessage().contains(root.resolve("job-1") + ": cannot create: it already exists"),
                e.getMessage());
    }

    @Test
    void aNameThatIsNoPlainCgroupNameIsABug() {
        for (String bad : List.of("", "..", "a/b", "cpu.max", "-x")) {
            assertThrows(IllegalArgumentException.class, () -> manager.create(bad, Limits.none(), workingDirectory));
        }
    }

    @Test
    void aLimitWhoseControllerIsMissingIsRefusedAndNothingIsCreated() throws Exception {
        Optional<String> missing = List.of("memory", "cpu", "pids", "io").stream()
                .filter(c -> !manager.availableControllers().contains(c)).findFirst();
        if (missing.isEmpty()) {
            CgroupTestSupport.skip("this host offers memory, cpu, pids and io: no missing controller to refuse");
        }
        Limits limits = switch (missing.get()) {
            case "memory" -> Limits.none().withMemoryMax(64 * MIB);
            case "cpu" -> Limits.none().withCpuMax(50_000);
            case "pids" -> Limits.none().withPidsMax(5);
            default -> Limits.none().withIo(IoLimit.onDevice("/").withWbps(MIB));
        };
        MissingControllerException e = assertThrows(MissingControllerException.class,
                () -> manager.create("job-1", limits, workingDirectory));
        System.out.println("refused as expected: " + e.getMessage());
        assertTrue(e.getMessage().contains("needs the " + missing.get() + " controller"), e.getMessage());
        String offers = manager.availableControllers().isEmpty() ? "none"
                : String.join(", ", manager.availableControllers());
        assertTrue(e.getMessage().endsWith("this host's cgroup v2 subtree offers: " + offers), e.getMessage());
        assertEquals(Set.of(missing.get()), e.missingControllers());
        assertFalse(Files.exists(root.resolve("job-1")), "nothing is created on refusal");
    }

    @Test
    void anInvalidLimitIsRefusedAndNothingIsCreated() {
        InvalidLimitException e = assertThrows(InvalidLimitException.class,
                () -> manager.create("job-1", Limits.none().withPidsMax(0), workingDirectory));
        assertEquals("pids-max", e.field());
        assertFalse(Files.exists(root.resolve("job-1")));
    }

    @Test
    void aFailedWriteRemovesTheNewCgroupAndNamesTheFile() {
        CgroupException e = assertThrows(CgroupException.class, () -> manager.createWith("job-1",
                List.of(new LimitWrites.Write("cgroup.max.depth", "not-a-number"))));
        assertTrue(e.getMessage().startsWith(root.resolve("job-1").resolve("cgroup.max.depth") + ": cannot write"),
                e.getMessage());
        assertFalse(Files.exists(root.resolve("job-1")), "the half-made cgroup is removed");
    }

    @Test
    void cpuMaxReadsBackExactly() throws Exception {
        requireController("cpu");
        Cgroup job = manager.create("job-1", Limits.none().withCpuMax(20_000, 50_000), workingDirectory);
        assertEquals("20000 50000", job.read("cpu.max").strip());
        Cgroup defaultPeriod = manager.create("job-2", Limits.none().withCpuMax(50_000), workingDirectory);
        assertEquals("50000 100000", defaultPeriod.read("cpu.max").strip());
    }

    @Test
    void memoryMaxAndSwapMaxReadBackExactly() throws Exception {
        requireController("memory");
        Cgroup job = manager.create("job-1",
                Limits.none().withMemoryMax(64 * MIB).withMemorySwapMax(0), workingDirectory);
        assertEquals(Long.toString(64 * MIB), job.read("memory.max").strip());
        assertEquals("0", job.read("memory.swap.max").strip());
    }

    @Test
    void pidsMaxReadsBackExactly() throws Exception {
        requireController("pids");
        Cgroup job = manager.create("job-1", Limits.none().withPidsMax(5), workingDirectory);
        assertEquals("5", job.read("pids.max").strip());
    }

    @Test
    void ioMaxReadsBackExactly() throws Exception {
        requireController("io");
        Optional<String> disk = CgroupTestSupport.someWholeDisk();
        if (disk.isEmpty()) {
            CgroupTestSupport.skip("no disk in /sys/block with a node in /dev");
        }
        BlockDevice numbers = CgroupTestSupport.sysBlockNumbers(disk.get());
        Cgroup job = manager.create("job-1", Limits.none().withIo(
                IoLimit.onDevice("/dev/" + disk.get()).withRbps(2_097_152).withWiops(120)), workingDirectory);
        assertEquals(numbers + " rbps=2097152 wbps=max riops=max wiops=120", job.read("io.max").strip());
    }

    @Test
    void aLimitNotAskedForIsNotWritten() throws Exception {
        requireController("cpu");
        requireController("pids");
        Cgroup job = manager.create("job-1", Limits.none().withPidsMax(5), workingDirectory);
        assertEquals("max " + Limits.DEFAULT_CPU_PERIOD_MICROS, job.read("cpu.max").strip());
    }

    @Test
    void killEmptiesTheCgroupAndKillsEveryProcess() throws Exception {
        Cgroup job = manager.create("job-1", Limits.none(), workingDirectory);
        Process first = CgroupTestSupport.startSleepIn(job.path(), started);
        Process second = CgroupTestSupport.startSleepIn(job.path(), started);
        assertTrue(job.populated());
        assertEquals(new TreeSet<>(List.of((int) first.pid(), (int) second.pid())), new TreeSet<>(job.pids()));

        job.kill();

        assertTrue(job.awaitEmpty(WAIT));
        assertFalse(job.populated());
        for (Process process : List.of(first, second)) {
            assertTrue(process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS));
            assertEquals(SIGKILL_EXIT, process.exitValue());
        }
        job.remove();
        assertFalse(Files.exists(job.path()));
    }

    @Test
    void awaitEmptyReportsACgroupThatStaysPopulated() throws Exception {
        Cgroup job = manager.create("job-1", Limits.none(), workingDirectory);
        CgroupTestSupport.startSleepIn(job.path(), started);
        assertFalse(job.awaitEmpty(Duration.ZERO));
    }

    @Test
    void freezeAndThawShowInCgroupEvents() throws Exception {
        Cgroup job = manager.create("job-1", Limits.none(), workingDirectory);
        Process sleep = CgroupTestSupport.startSleepIn(job.path(), started);

        job.freeze();
        assertTrue(job.read("cgroup.events").contains("frozen 1"), job.read("cgroup.events"));
        assertTrue(sleep.isAlive());

        job.thaw();
        assertTrue(job.read("cgroup.events").contains("frozen 0"), job.read("cgroup.events"));
        assertTrue(sleep.isAlive());
    }

    @Test
    void aFrozenCgroupCanStillBeKilled() throws Exception {
        Cgroup job = manager.create("job-1", Limits.none(), workingDirectory);
        Process sleep = CgroupTestSupport.startSleepIn(job.path(), started);
        job.freeze();
        job.kill();
        assertTrue(job.awaitEmpty(WAIT));
        assertTrue(sleep.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS));
        job.remove();
    }

    @Test
    void removeRefusesAPopulatedCgroup() throws Exception {
        Cgroup job = manager.create("job-1", Limits.none(), workingDirectory);
        CgroupTestSupport.startSleepIn(job.path(), started);
        CgroupException e = assertThrows(CgroupException.class, job::remove);
        assertTrue(e.getMessage().startsWith(job.path() + ": "), e.getMessage());
        assertTrue(Files.isDirectory(job.path()));

        job.kill();
        assertTrue(job.awaitEmpty(WAIT));
        job.remove();
        assertFalse(Files.exists(job.path()));
    }

    @Test
    void removeOrphansKillsAndRemovesWhatAPredecessorLeft() throws Exception {
        Cgroup leftRunning = manager.create("job-a", Limits.none(), workingDirectory);
        Process orphan = CgroupTestSupport.startSleepIn(leftRunning.path(), started);
        Files.createDirectory(root.resolve("job-b"));
        Files.createDirectory(root.resolve("job-b").resolve("nested"));

        CgroupManager successor = CgroupManager.open(Optional.of(root));
        assertEquals(List.of("job-a", "job-b"), successor.removeOrphans());

        assertFalse(Files.exists(root.resolve("job-a")));
        assertFalse(Files.exists(root.resolve("job-b")));
        assertTrue(orphan.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS));
        assertEquals(SIGKILL_EXIT, orphan.exitValue());
        assertEquals(List.of(), successor.removeOrphans());
        successor.close();
        assertTrue(Files.isDirectory(root), "the successor did not make the root, so it leaves it");
    }

    @Test
    void accountingCountsTheCpuTimeOfAProcessThatRanInside() throws Exception {
        Cgroup job = manager.create("job-1", Limits.none(), workingDirectory);
        Process busy = new ProcessBuilder("sh", "-c",
                "read go; i=0; while [ $i -lt " + BUSY_LOOP_ITERATIONS + " ]; do i=$((i+1)); done").start();
        started.add(busy);
        CgroupTestSupport.moveInto(busy, job.path());
        try (OutputStream stdin = busy.getOutputStream()) {
            stdin.write("go\n".getBytes(StandardCharsets.US_ASCII));
        }
        assertTrue(busy.waitFor(WAIT.toSeconds() * 6, TimeUnit.SECONDS));
        assertEquals(0, busy.exitValue());

        Accounting used = job.accounting();
        System.out.println("accounting after a busy loop: " + used);
        assertTrue(used.cpuUsageMicros() > 0, used.toString());
        assertTrue(used.cpuUserMicros() + used.cpuSystemMicros() > 0, used.toString());
        Set<String> controllers = manager.availableControllers();
        assertEquals(controllers.contains("memory"), used.memoryCurrentBytes().isPresent());
        assertEquals(controllers.contains("pids"), used.pidsCurrent().isPresent());
        assertEquals(controllers.contains("io"), used.ioReadBytes().isPresent());
    }

    @Test
    void closeRemovesTheRootItMade() throws Exception {
        manager.create("job-1", Limits.none(), workingDirectory).remove();
        manager.close();
        assertFalse(Files.exists(root));
        manager.close();
        assertThrows(IllegalStateException.class, () -> manager.create("job-2", Limits.none(), workingDirectory));
    }

    @Test
    void closeRefusesWhileJobCgroupsRemain() throws Exception {
        manager.create("job-1", Limits.none(), workingDirectory);
        CgroupException e = assertThrows(CgroupException.class, manager::close);
        assertTrue(e.getMessage().startsWith(root + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("job-1"), e.getMessage());
        assertTrue(Files.isDirectory(root));
    }

    @Test
    void byDefaultTheDaemonMovesIntoALeafAndJobsGoBesideIt() throws Exception {
        Path original = CgroupLocation.ofCurrentProcess().ownCgroup();
        Path serviceCgroup = root.resolve("service");
        Files.createDirectory(serviceCgroup);
        long pid = ProcessHandle.current().pid();
        try {
            CgroupManager daemon = CgroupManager.open(new CgroupLocation(mount, serviceCgroup), Optional.empty());

            assertEquals(serviceCgroup.resolve("jobs"), daemon.subtree());
            assertEquals(serviceCgroup.resolve("daemon"), CgroupLocation.ofCurrentProcess().ownCgroup());
            assertTrue(Files.readString(serviceCgroup.resolve("daemon/cgroup.procs")).lines()
                    .anyMatch(line -> line.equals(Long.toString(pid))));
            assertEquals(manager.availableControllers(), daemon.availableControllers());
            daemon.create("job-1", Limits.none(), workingDirectory).remove();

            CgroupManager restarted = CgroupManager.open(
                    new CgroupLocation(mount, serviceCgroup.resolve("daemon")), Optional.empty());
            assertEquals(serviceCgroup.resolve("jobs"), restarted.subtree(), "a restart inside the leaf keeps the layout");

            daemon.close();
            assertFalse(Files.exists(serviceCgroup.resolve("jobs")));
            assertTrue(Files.isDirectory(serviceCgroup.resolve("daemon")), "close moves nothing back");
        } finally {
            Files.writeString(original.resolve("cgroup.procs"), Long.toString(pid));
        }
        assertEquals(original, CgroupLocation.ofCurrentProcess().ownCgroup());
    }

    private void requireController(String controller) {
        if (!manager.availableControllers().contains(controller)) {
            CgroupTestSupport.skip("the " + controller + " controller is not offered here (jobs get: "
                    + manager.availableControllers() + "); its limit read-back runs on a pure cgroup v2 host (VM suite)");
        }
    }

    private static Set<String> words(String text) {
        Set<String> words = new TreeSet<>(Arrays.asList(text.strip().split("\\s+")));
        words.remove("");
        return words;
    }
}
