package io.rund.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.rund.TestCgroups;
import io.rund.TestFiles;
import io.rund.TestProcesses;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * rund-keeper with real processes, a real unix socket and a real cgroup: jobs spawned through it outlive the
 * client that asked for them (as they outlive a daemon killed with -9), with their output and exit kept.
 */
final class KeeperTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int PIPE_BYTES = 65536;

    private Path state;
    private Path cgroupRoot;
    private Keeper.Location location;

    @BeforeEach
    void setUp() throws IOException {
        Path mount = cgroup2Mount();
        assumeTrue(mount != null && Files.isWritable(mount.resolve("cgroup.procs")),
                "needs a writable cgroup v2 mount (root) for the keeper's leaf cgroup");
        state = Files.createTempDirectory("rund-keeper-test-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        cgroupRoot = mount.resolve("rund-keeper-test-" + UUID.randomUUID().toString().substring(0, 8));
        Files.createDirectory(cgroupRoot);
        location = new Keeper.Location(state, cgroupRoot.resolve("rund-keeper"));
    }

    @AfterEach
    void tearDown() throws Exception {
        if (cgroupRoot != null) {
            TestCgroups.removeTree(cgroupRoot); // kills the keeper and any job a failed test left
        }
        if (state != null) {
            TestFiles.deleteTree(state);
        }
    }

    @Test
    void spawnsThroughTheKeeperWhichReportsTheExitAndOutput() throws Exception {
        try (Keeper keeper = Keeper.connectOrStart(location); ExitWatcher exits = new ExitWatcher()) {
            exits.attach(keeper);
            SpawnedProcess process = keeper.spawn("job-1", TestJobs.request("sh", "-c", "echo out; echo err >&2; exit 3"));
            CompletableFuture<ProcessExit> exit = new CompletableFuture<>();
            exits.watch(process.pid(), process.pidfd(), exit::complete);
            assertEquals("out\n", readToEnd(process.stdoutFd()));
            assertEquals("err\n", readToEnd(process.stderrFd()));
            ProcessExit ended = exit.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertEquals(3, ended.exitCode());
            assertEquals(process.pid(), ended.pid());
        }
    }

    @Test
    void aSpawnFailureNamesTheStepAndErrnoAsBefore() throws Exception {
        try (Keeper keeper = Keeper.connectOrStart(location); ExitWatcher exits = new ExitWatcher()) {
            exits.attach(keeper);
            SpawnRequest request = new SpawnRequest("/bin/sh", List.of("sh"), TestJobs.ENVIRONMENT,
                    Path.of("/no/such/dir"), SpawnRequest.NO_CGROUP, SpawnRequest.KEEP_ID, SpawnRequest.KEEP_ID, null, false);
            SpawnException e = org.junit.jupiter.api.Assertions.assertThrows(SpawnException.class,
                    () -> keeper.spawn("job-bad", request));
            assertEquals("chdir", e.step());
            assertEquals("chdir /no/such/dir: No such file or directory (errno 2)", e.getMessage());
        }
    }

    @Test
    void jobsOutliveTheClientWithTheirOutputAndExitKept() throws Exception {
        Keeper first = Keeper.connectOrStart(location);
        ExitWatcher firstExits = new ExitWatcher();
        firstExits.attach(first);
        SpawnedProcess writer = first.spawn("writer", TestJobs.request("sh", "-c",
                "i=0; while :; do echo \"line $i\"; i=$((i+1)); done"));
        Instant beforeExit = Instant.now();
        SpawnedProcess quitter = first.spawn("quitter", TestJobs.request("sh", "-c", "read x < /dev/null; exit 7"));
        int keeperPid = first.keeperPid();
        assertEquals(keeperPid, parentOf(writer.pid()), "the keeper is the job's parent");
        // The client vanishes as a killed daemon would: no release, no goodbye; its copies of the fds go with it.
        firstExits.close();
        first.close();
        for (int fd : new int[] {writer.pidfd(), writer.stdoutFd(), writer.stderrFd(), quitter.pidfd(),
                quitter.stdoutFd(), quitter.stderrFd()}) {
            Fds.close(fd);
        }
        await(() -> !isAliveQuietly(quitter.pid()), "the quitter to end");
        assertTrue(TestProcesses.isAlive(keeperPid), "the keeper holds jobs, so it stays");

        try (Keeper second = Keeper.connectOrStart(location); ExitWatcher exits = new ExitWatcher()) {
            assertEquals(keeperPid, second.keeperPid(), "the same keeper answers");
            Map<String, KeptJob> held = byId(second.held());
            assertEquals(List.of("quitter", "writer"), held.keySet().stream().sorted().toList());
            KeptJob quit = held.get("quitter");
            assertEquals(7, quit.exit().orElseThrow().exitCode(), "its real exit code");
            assertTrue(!quit.exit().get().at().isBefore(beforeExit) && !quit.exit().get().at().isAfter(Instant.now()),
                    "ended at " + quit.exit().get().at());
            KeptJob write = held.get("writer");
            assertTrue(write.exit().isEmpty(), "the writer still runs");
            assertTrue(TestProcesses.isAlive(write.pid()), "the writer did not die of SIGPIPE");

            // Everything it wrote is in its pipe, in order, from the first line on.
            String start = readAtLeast(write.stdoutFd(), PIPE_BYTES * 2);
            List<String> lines = start.lines().toList();
            for (int i = 0; i < lines.size() - 1; i++) {
                assertEquals("line " + i, lines.get(i));
            }

            exits.attach(second);
            second.track(write);
            second.release("quitter");
            Fds.close(quit.pidfd());
            Fds.close(quit.stdoutFd());
            Fds.close(quit.stderrFd());
            CompletableFuture<ProcessExit> writerExit = new CompletableFuture<>();
            exits.watch(write.pid(), write.pidfd(), writerExit::complete);
            Pidfd.sendSignal(write.pidfd(), Signals.SIGKILL);
            assertEquals(Signals.SIGKILL, writerExit.get(WAIT.toSeconds(), TimeUnit.SECONDS).signal());
            drainAndClose(write.stdoutFd());
            Fds.close(write.stderrFd());
            assertNull(second.jobOf(write.pid()), "its exit was delivered");
            // The daemon releases a job once its output is read to the end and its end recorded, not at its exit.
            second.release("writer");
            exits.close(); // as the daemon does: the epoll thread stops reading the keeper's socket first
            assertTrue(second.shutdownAndAwaitExit(WAIT), "released both, asked to go: the keeper exits");
        }
        // Released both, nobody connected: the keeper leaves, and takes its socket with it.
        await(() -> !isAliveQuietly(keeperPid), "the keeper to exit");
        assertFalse(Files.exists(location.socket()), "socket removed");
    }

    @Test
    void aGarbageMessageDropsTheConnectionNotTheKeeperNorItsJobs() throws Exception {
        int keeperPid;
        int sleeper;
        try (Keeper keeper = Keeper.connectOrStart(location); ExitWatcher exits = new ExitWatcher()) {
            exits.attach(keeper);
            keeperPid = keeper.keeperPid();
            SpawnedProcess process = keeper.spawn("sleeper", TestJobs.request("sleep", "1000"));
            sleeper = process.pid();
            Fds.close(process.pidfd());
            Fds.close(process.stdoutFd());
            Fds.close(process.stderrFd());
        }
        for (byte[] garbage : List.of("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII),
                header(Integer.MAX_VALUE, 2), header(16, 999), message(3, "abcd"), message(4, "x"))) {
            try (SocketChannel raw = SocketChannel.open(UnixDomainSocketAddress.of(location.socket()))) {
                raw.write(ByteBuffer.wrap(garbage));
                assertHungUp(raw);
            }
        }
        try (Keeper again = Keeper.connectOrStart(location)) {
            assertEquals(keeperPid, again.keeperPid(), "the same keeper survived the garbage");
            assertEquals(List.of("sleeper"), again.held().stream().map(KeptJob::jobId).toList());
            assertTrue(TestProcesses.isAlive(sleeper));
            KeptJob job = again.held().getFirst();
            Pidfd.sendSignal(job.pidfd(), Signals.SIGKILL);
            Fds.close(job.pidfd());
            Fds.close(job.stdoutFd());
            Fds.close(job.stderrFd());
        }
    }

    @Test
    void aJobStartsWithTheSoftOpenFileLimitAskedForNotTheSpawners() throws Exception {
        long hard = hardOpenFileLimit();
        assumeTrue(hard > 1024, "needs a hard RLIMIT_NOFILE above 1024, this process has " + hard);
        try (Keeper keeper = Keeper.connectOrStart(location); ExitWatcher exits = new ExitWatcher()) {
            exits.attach(keeper);
            SpawnRequest base = TestJobs.request("sh", "-c", "ulimit -Sn; ulimit -Hn");
            SpawnRequest request = new SpawnRequest(base.executable(), base.argv(), base.environment(),
                    base.workingDirectory(), base.cgroupFd(), base.uid(), base.gid(), null, false, 1024);
            SpawnedProcess process = keeper.spawn("limits", request);
            CompletableFuture<ProcessExit> exit = new CompletableFuture<>();
            exits.watch(process.pid(), process.pidfd(), exit::complete);
            assertEquals("1024\n" + hard + "\n", readToEnd(process.stdoutFd()), "soft 1024, hard unchanged");
            Fds.close(process.stderrFd());
            assertEquals(0, exit.get(WAIT.toSeconds(), TimeUnit.SECONDS).exitCode());
        }
    }

    /** The keeper closed the connection: end of stream, or a reset when it closed with our bytes unread. */
    private static void assertHungUp(SocketChannel raw) {
        try {
            assertEquals(-1, raw.read(ByteBuffer.allocate(64)), "the keeper hangs up on garbage");
        } catch (IOException reset) {
            assertEquals("Connection reset", reset.getMessage());
        }
    }

    /** A whole message of {@code type} whose body is {@code body}: no NUL where a string needs one, or a body where
     *  none may be. */
    private static byte[] message(int type, String body) {
        byte[] bytes = body.getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.allocate(16 + bytes.length).put(header(16 + bytes.length, type)).put(bytes).array();
    }

    private static byte[] header(int length, int type) {
        ByteBuffer header = ByteBuffer.allocate(16).order(java.nio.ByteOrder.nativeOrder());
        header.putInt(length).putShort((short) type).putShort((short) 0).putLong(1);
        return header.array();
    }

    private static Map<String, KeptJob> byId(List<KeptJob> jobs) {
        return jobs.stream().collect(java.util.stream.Collectors.toMap(KeptJob::jobId, job -> job));
    }

    private static long hardOpenFileLimit() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (line.startsWith("Max open files")) {
                return Long.parseLong(line.substring("Max open files".length()).trim().split("\\s+")[1]);
            }
        }
        throw new IOException("no open-file limit in /proc/self/limits");
    }

    private static long parentOf(int pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
        return Long.parseLong(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[1]);
    }

    private static boolean isAliveQuietly(int pid) {
        try {
            return TestProcesses.isAlive(pid);
        } catch (IOException e) {
            return false;
        }
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(10);
        }
    }

    /** Reads a non-blocking pipe until end of file. */
    private static String readToEnd(int fd) throws Exception {
        StringBuilder text = new StringBuilder();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(PIPE_BYTES);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (true) {
                long n = Fds.read(fd, buffer);
                if (n == 0) {
                    break;
                }
                if (n > 0) {
                    text.append(new String(buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
                } else if (System.nanoTime() > deadline) {
                    throw new AssertionError("no end of file within " + WAIT);
                } else {
                    Thread.sleep(5);
                }
            }
        }
        Fds.close(fd);
        return text.toString();
    }

    private static String readAtLeast(int fd, int bytes) throws Exception {
        StringBuilder text = new StringBuilder();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(PIPE_BYTES);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (text.length() < bytes) {
                long n = Fds.read(fd, buffer);
                if (n > 0) {
                    text.append(new String(buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
                } else if (n == 0 || System.nanoTime() > deadline) {
                    throw new AssertionError("pipe ended or stalled after " + text.length() + " bytes");
                } else {
                    Thread.sleep(5);
                }
            }
        }
        return text.toString();
    }

    private static void drainAndClose(int fd) throws Exception {
        readToEnd(fd);
    }

    private static Path cgroup2Mount() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] halves = line.split(" - ", 2);
            if (halves.length == 2 && halves[1].startsWith("cgroup2 ")) {
                return Path.of(halves[0].split(" ")[4]);
            }
        }
        return null;
    }
}

