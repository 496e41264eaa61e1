package io.rund.linux;

import io.rund.TestCgroups;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpawnerTest {
    private static final int NOBODY = 65534;
    private static final int ROOT = 0;

    @Test
    void echoWritesExactBytesAndExitsZero() throws Exception {
        TestJobs.Result result = TestJobs.run(TestJobs.request("/bin/echo", "hello", "world"));
        assertArrayEquals("hello world\n".getBytes(StandardCharsets.US_ASCII), result.stdoutBytes());
        assertEquals("", result.stderr());
        assertEquals(0, result.exit().exitCode());
        assertNull(result.exit().signal());
        assertEquals(0, result.exit().shellStyleCode());
    }

    @Test
    void exitCodeIsReported() throws Exception {
        TestJobs.Result result = TestJobs.run(TestJobs.request("sh", "-c", "echo oops >&2; exit 3"));
        assertEquals(3, result.exit().exitCode());
        assertEquals("oops\n", result.stderr());
        assertTrue(result.exit().describe().contains("exited with code 3"), result.exit().describe());
    }

    @Test
    void sigkillThroughPidfdIsReportedAsSignal() throws Exception {
        SpawnedProcess process = Spawner.spawn(TestJobs.request("sleep", "1000"));
        assertTrue(Pidfd.sendSignal(process.pidfd(), Signals.SIGKILL));
        TestJobs.Result result = TestJobs.collect(process);
        assertEquals(Signals.SIGKILL, result.exit().signal());
        assertNull(result.exit().exitCode());
        assertEquals(128 + Signals.SIGKILL, result.exit().shellStyleCode());
        assertEquals(process.pid(), result.exit().pid());
    }

    @Test
    void sigtermIsReportedAsSignal() throws Exception {
        // Self-inflicted, so a child that wrongly kept a blocked mask fails the test instead of hanging it.
        TestJobs.Result result = TestJobs.run(TestJobs.request("sh", "-c", "kill -TERM $$; exit 0"));
        assertEquals(Signals.SIGTERM, result.exit().signal());
        assertEquals(128 + Signals.SIGTERM, result.exit().shellStyleCode());
        assertTrue(result.exit().describe().endsWith("killed by SIGTERM (signal 15)"), result.exit().describe());
    }

    @Test
    void segfaultIsReportedAsSignal() throws Exception {
        // ulimit -c 0: the host's core_pattern would otherwise leave a core file behind.
        TestJobs.Result result = TestJobs.run(TestJobs.request("sh", "-c", "ulimit -c 0; kill -SEGV $$"));
        assertEquals(Signals.SIGSEGV, result.exit().signal());
        assertTrue(result.exit().describe().contains("SIGSEGV"), result.exit().describe());
    }

    @Test
    void aReapedProcessCannotBeSignalledOrOpened() throws Exception {
        SpawnedProcess process = Spawner.spawn(TestJobs.request("true"));
        Fds.close(process.stdoutFd());
        Fds.close(process.stderrFd());
        try {
            assertEquals(0, Pidfd.waitExit(process.pidfd()).exitCode());
            assertFalse(Pidfd.sendSignal(process.pidfd(), Signals.SIGTERM), "reaped: ESRCH, never another process");
        } finally {
            Fds.close(process.pidfd());
        }
        LinuxException gone = assertThrows(LinuxException.class, () -> Pidfd.open(process.pid()));
        assertEquals(Libc.ESRCH, gone.errno());
        assertEquals("pidfd_open(" + process.pid() + "): No such process (errno 3)", gone.getMessage());
    }

    @Test
    void spawnsFromManyThreadsAtOnceStayIndependent() throws Exception {
        int threads = 8;
        int perThread = 25;
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        String word = thread + "-" + i;
                        TestJobs.Result result = TestJobs.run(TestJobs.request("/bin/echo", word));
                        assertEquals(word + "\n", result.stdout());
                        assertEquals(0, result.exit().exitCode());
                    }
                    return null;
                }));
            }
            for (Future<?> future : done) {
                future.get();
            }
        }
    }

    @Test
    void missingExecutableFailsWithEnoentNamingThePath() {
        SpawnRequest request = new SpawnRequest("/bin/nope", List.of("nope"), TestJobs.ENVIRONMENT, Path.of("/"),
                SpawnRequest.NO_CGROUP, SpawnRequest.KEEP_ID, SpawnRequest.KEEP_ID, null, false);
        SpawnException e = assertThrows(SpawnException.class, () -> Spawner.spawn(request));
        assertEquals(Libc.ENOENT, e.errno());
        assertEquals("execve", e.step());
        assertEquals("/bin/nope", e.path());
        assertEquals("execve /bin/nope: No such file or directory (errno 2)", e.getMessage());
    }

    @Test
    void nonExecutableFileFailsWithEacces(@TempDir Path dir) throws Exception {
        Path script = Files.writeString(dir.resolve("not-executable.sh"), "#!/bin/sh\necho hi\n");
        SpawnRequest request = new SpawnRequest(script.toString(), List.of("x"), TestJobs.ENVIRONMENT, dir,
                SpawnRequest.NO_CGROUP, SpawnRequest.KEEP_ID, SpawnRequest.KEEP_ID, null, false);
        SpawnException e = assertThrows(SpawnException.class, () -> Spawner.spawn(request));
        assertEquals(Libc.EACCES, e.errno());
        assertEquals("execve", e.step());
        assertEquals(script.toString(), e.path());
    }

    @Test
    void missingWorkingDirectoryFailsInChdir() {
        SpawnRequest request = new SpawnRequest("/bin/true", List.of("true"), TestJobs.ENVIRONMENT,
                Path.of("/no/such/dir"), SpawnRequest.NO_CGROUP, SpawnRequest.KEEP_ID, SpawnRequest.KEEP_ID,
                null, false);
        SpawnException e = assertThrows(SpawnException.class, () -> Spawner.spawn(request));
        assertEquals(Libc.ENOENT, e.errno());
        assertEquals("chdir", e.step());
        assertEquals("/no/such/dir", e.path());
        assertTrue(e.getMessage().startsWith("chdir /no/such/dir: No such file or directory"), e.getMessage());
    }

    @Test
    void nulBytesAreRejectedBeforeSpawning() {
        IllegalArgumentException inArg = assertThrows(IllegalArgumentException.class,
                () -> new SpawnRequest("/bin/echo", List.of("echo", "a\0b"), TestJobs.ENVIRONMENT, null,
                        SpawnRequest.NO_CGROUP, SpawnRequest.KEEP_ID, SpawnRequest.KEEP_ID, null, false));
        assertTrue(inArg.getMessage().contains("argv[1]"), inArg.getMessage());
        IllegalArgumentException inEnv = assertThrows(IllegalArgumentException.class,
                () -> new SpawnRequest("/bin/echo", List.of("echo"), List.of("A=1", "B=\0"), null,
                        SpawnRequest.NO_CGROUP, SpawnRequest.KEEP_ID, SpawnRequest.KEEP_ID, null, false));
        assertTrue(inEnv.getMessage().contains("environment[1]"), inEnv.getMessage());
    }

    @Test
    void childSeesOnlyStdio() throws Exception {
        TestJobs.Result result = TestJobs.run(TestJobs.request("/bin/sh", "-c", "ls /proc/$$/fd"));
        assertEquals("0\n1\n2\n", result.stdout());
    }

    @Test
    void stdinIsDevNull() throws Exception {
        TestJobs.Result result = TestJobs.run(TestJobs.request("/bin/sh", "-c", "readlink /proc/$$/fd/0; cat"));
        assertEquals("/dev/null\n", result.stdout());
    }

    @Test
    void environmentIsExactlyTheRequested() throws Exception {
        TestJobs.Result result = TestJobs.run(TestJobs.request("/usr/bin/env"));
        assertEquals("PATH=/usr/bin:/bin\nLC_ALL=C\n", result.stdout());
    }

    @Test
    void dropsToUserGroupAndSupplementaryGroups() throws Exception {
        assumeTrue(isRoot(), "switching uid/gid needs root; this test runs as uid " + currentUid());
        TestJobs.Result result = TestJobs.run(TestJobs.asUser(NOBODY, NOBODY, new int[] {NOBODY},
                "/bin/sh", "-c", "id -u; id -g; id -G"));
        assertEquals("65534\n65534\n65534\n", result.stdout(), result.stderr());
    }

    @Test
    void switchingUserWithoutGroupsClearsRootsGroups() throws Exception {
        assumeTrue(isRoot(), "switching uid/gid needs root; this test runs as uid " + currentUid());
        TestJobs.Result result = TestJobs.run(TestJobs.asUser(NOBODY, NOBODY, null, "/bin/sh", "-c", "id -G"));
        assertEquals("65534\n", result.stdout(), result.stderr());
    }

    @Test
    void workingDirectoryIsEnteredAfterDroppingPrivileges(@TempDir Path dir) throws Exception {
        assumeTrue(isRoot(), "switching uid/gid needs root; this test runs as uid " + currentUid());
        Path rootOnly = Files.createDirectory(dir.resolve("root-only"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        SpawnRequest request = new SpawnRequest("/bin/true", List.of("true"), TestJobs.ENVIRONMENT, rootOnly,
                SpawnRequest.NO_CGROUP, NOBODY, NOBODY, new int[0], true);
        SpawnException e = assertThrows(SpawnException.class, () -> Spawner.spawn(request));
        assertEquals("chdir", e.step());
        assertEquals(Libc.EACCES, e.errno());
    }

    @Test
    void childLeadsANewSession() throws Exception {
        SpawnedProcess process = Spawner.spawn(TestJobs.request("/bin/sh", "-c",
                "read -r pid comm state ppid pgrp session rest < /proc/$$/stat; echo $pgrp $session"));
        TestJobs.Result result = TestJobs.collect(process);
        assertEquals(process.pid() + " " + process.pid() + "\n", result.stdout());
    }

    @Test
    void signalMaskIsEmptyAndDispositionsAreDefault() throws Throwable {
        // Make the JVM ignore SIGWINCH (ignored by default anyway, so harmless) for the duration: the
        // child must not inherit that disposition, while execve alone would keep it.
        Linker linker = Linker.nativeLinker();
        MethodHandle signal = linker.downcallHandle(linker.defaultLookup().findOrThrow("signal"),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
        int sigwinch = 28;
        MemorySegment sigIgn = MemorySegment.ofAddress(1);
        MemorySegment previous = (MemorySegment) signal.invokeExact(sigwinch, sigIgn);
        TestJobs.Result result;
        try {
            long ignored = Files.readString(Path.of("/proc/self/status")).lines()
                    .filter(l -> l.startsWith("SigIgn:")).mapToLong(l -> Long.parseLong(l.substring(7).trim(), 16))
                    .findFirst().orElseThrow();
            assertTrue((ignored & (1L << (sigwinch - 1))) != 0, "the JVM should now ignore SIGWINCH");
            result = TestJobs.run(TestJobs.request("/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"));
        } finally {
            MemorySegment restored = (MemorySegment) signal.invokeExact(sigwinch, previous);
            assertEquals(sigIgn.address(), restored.address());
        }
        assertEquals("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n", result.stdout());
    }

    @Test
    void startsInsideTheGivenCgroup() throws Exception {
        Path mount = TestCgroups.mountOrSkip();
        Path parent = TestCgroups.newRoot("rund-test");
        Path job = parent.resolve("job");
        Files.createDirectory(parent);
        try {
            Files.createDirectory(job);
            int cgroupFd = Fds.openDirectoryPath(job);
            try {
                SpawnRequest request = new SpawnRequest("/bin/cat", List.of("cat", "/proc/self/cgroup"),
                        TestJobs.ENVIRONMENT, Path.of("/"), cgroupFd, SpawnRequest.KEEP_ID, SpawnRequest.KEEP_ID,
                        null, false);
                TestJobs.Result result = TestJobs.run(request); // reaped before the cgroups are removed
                String expected = "0::/" + mount.relativize(job);
                assertTrue(result.stdout().lines().anyMatch(expected::equals),
                        "expected line " + expected + " in:\n" + result.stdout());
            } finally {
                Fds.close(cgroupFd);
            }
        } finally {
            TestCgroups.removeTree(parent);
        }
    }

    @Test
    void missingCgroupFdFailsInClone3() {
        SpawnRequest request = new SpawnRequest("/bin/true", List.of("true"), TestJobs.ENVIRONMENT, Path.of("/"),
                999_999, SpawnRequest.KEEP_ID, SpawnRequest.KEEP_ID, null, false);
        SpawnException e = assertThrows(SpawnException.class, () -> Spawner.spawn(request));
        assertEquals("clone3", e.step());
        assertEquals("cgroup fd 999999", e.path());
        assertFalse(e.getMessage().isEmpty());
    }

    @Test
    void openFilesLimitIsRaisedToHard() throws Exception {
        long raised = ResourceLimits.raiseOpenFilesToHard();
        assertTrue(raised > 0);
        assertTrue(Files.readString(Path.of("/proc/self/limits")).lines()
                .filter(l -> l.startsWith("Max open files"))
                .anyMatch(l -> l.split("\\s+")[3].equals(String.valueOf(raised))));
    }

    private static boolean isRoot() throws Exception {
        return currentUid() == ROOT;
    }

    private static int currentUid() throws Exception {
        return Files.readString(Path.of("/proc/self/status")).lines().filter(l -> l.startsWith("Uid:"))
                .map(l -> Integer.parseInt(l.split("\\s+")[1])).findFirst().orElseThrow();
    }

    /**
     * The RDT placement step, shown on a plain file in the resctrl tasks file's place: the child writes "0" (itself)
     * into the fd before it execs, and a write the kernel refuses fails the spawn at step "resctrl", so a job never
     * runs outside the group it asked for.
     */
    @Test
    void theChildWritesItselfIntoTheRdtTasksFileBeforeExec() throws Exception {
        TestCgroups.mountOrSkip();
        Path parent = TestCgroups.newRoot("rund-test");
        Path job = parent.resolve("job");
        Path tasks = Files.createTempFile("rund-rdt-tasks", "");
        Files.createDirectory(parent);
        try {
            Files.createDirectory(job);
            int cgroupFd = Fds.openDirectoryPath(job);
            int tasksFd = Fds.openForWriting(tasks);
            try {
                SpawnRequest request = new SpawnRequest("/bin/true", List.of("true"), TestJobs.ENVIRONMENT,
                        Path.of("/"), cgroupFd, SpawnRequest.KEEP_ID, SpawnRequest.KEEP_ID, null, false,
                        SpawnRequest.KEEP_LIMIT, tasksFd);
                assertEquals(0, TestJobs.run(request).exit().exitCode());
                assertEquals("0", Files.readString(tasks));
            } finally {
                Fds.close(tasksFd);
            }
            int readOnlyFd = Fds.openDirectoryPath(job); // O_PATH: any write to it fails with EBADF
            try {
                SpawnRequest refused = new SpawnRequest("/bin/true", List.of("true"), TestJobs.ENVIRONMENT,
                        Path.of("/"), cgroupFd, SpawnRequest.KEEP_ID, SpawnRequest.KEEP_ID, null, false,
                        SpawnRequest.KEEP_LIMIT, readOnlyFd);
                SpawnException e = assertThrows(SpawnException.class, () -> Spawner.spawn(refused));
                assertEquals("resctrl", e.step());
                assertEquals(9, e.errno(), "EBADF");
            } finally {
                Fds.close(readOnlyFd);
                Fds.close(cgroupFd);
            }
        } finally {
            Files.deleteIfExists(tasks);
            TestCgroups.removeTree(parent);
        }
    }
}
