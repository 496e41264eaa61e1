package io.rund.job;

import io.rund.TestProcesses;
import io.rund.cgroup.Limits;
import io.rund.logs.LogStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.OptionalLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One job at a time through the real engine: real processes in real cgroups on the host's v2 tree. */
class JobEngineTest {

    @TempDir
    Path scratch;
    private Path stateDir;

    private EngineFixture engine;

    @BeforeEach
    void startEngine() throws IOException {
        // Jobs run as nobody: let them into the scratch directory, where rund's state directory also lives.
        Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxr-xr-x"));
        stateDir = scratch.resolve("state");
        engine = new EngineFixture(stateDir, Duration.ofSeconds(1));
    }

    @AfterEach
    void stopEngine() throws Exception {
        engine.close();
    }

    @Test
    void theFirstInstructionAlreadyRunsInTheJobsCgroup() throws Exception {
        String id = engine.started(JobSpec.of("cat", "/proc/self/cgroup"));
        JobStatus status = engine.awaitEnd(id);
        assertEquals(0, status.exitCode());
        String expected = "0::/" + engine.cgroupRoot.getFileName() + "/" + id;
        assertTrue(engine.stdout(id).lines().anyMatch(expected::equals), "cgroup lines: " + engine.stdout(id));
    }

    @Test
    void whatAJobLeavesRunningDiesWithItAndItsCgroupIsRemoved() throws Exception {
        // The subshell forks a setsid'd sleep (a grandchild, in its own session, holding stdout) and exits at once.
        String id = engine.started(JobSpec.of("sh", "-c", "(setsid sleep 1000 & echo $!)"));
        JobStatus status = engine.awaitEnd(id);
        assertEquals(0, status.exitCode());
        int grandchild = Integer.parseInt(engine.stdout(id).trim());
        assertFalse(TestProcesses.isAlive(grandchild), "grandchild " + grandchild + " must be dead when the job is reported exited");
        assertEquals(List.of(), engine.cgroupsLeft());
    }

    @Test
    void awaitEndAnswersOnceTheJobHasEndedOrAtOnceIfItHas() throws Exception {
        String id = engine.started(JobSpec.of("sh", "-c", "exec >&- 2>&-; sleep 1; exit 5"));
        var waiting = engine.testKit.<JobRegistry.StatusResult>createTestProbe();
        engine.registry.tell(new JobRegistry.AwaitEnd(id, EngineFixture.ALICE, EngineFixture.WAIT, waiting.ref()));
        engine.log(id); // the output is closed at once; the job runs on for a second
        waiting.expectNoMessage(Duration.ofMillis(300));
        JobStatus end = assertInstanceOf(JobRegistry.StatusReport.class, waiting.receiveMessage(EngineFixture.WAIT)).status();
        assertEquals(JobState.EXITED, end.state());
        assertEquals(5, end.exitCode());

        var late = engine.testKit.<JobRegistry.StatusResult>createTestProbe();
        engine.registry.tell(new JobRegistry.AwaitEnd(id, EngineFixture.ALICE, EngineFixture.WAIT, late.ref()));
        assertEquals(end, assertInstanceOf(JobRegistry.StatusReport.class, late.receiveMessage(EngineFixture.WAIT)).status());

        var stranger = engine.testKit.<JobRegistry.StatusResult>createTestProbe();
        engine.registry.tell(new JobRegistry.AwaitEnd(id, java.util.Set.of("DNS:carol.example"), EngineFixture.WAIT, stranger.ref()));
        assertInstanceOf(JobRegistry.JobNotFound.class, stranger.receiveMessage(EngineFixture.WAIT));
    }

    @Test
    void exitCodesAndSignalsAreReportedAsSuch() throws Exception {
        JobStatus three = engine.awaitEnd(engine.started(JobSpec.of("sh", "-c", "exit 3")));
        assertEquals(3, three.exitCode());
        assertNull(three.signal());

        JobStatus killed = engine.awaitEnd(engine.started(JobSpec.of("sh", "-c", "kill -KILL $$")));
        assertEquals(9, killed.signal());
        assertNull(killed.exitCode());
        assertEquals(137, killed.shellExitCode().orElseThrow());

        JobStatus terminated = engine.awaitEnd(engine.started(JobSpec.of("sh", "-c", "kill -TERM $$")));
        assertEquals(15, terminated.signal());

        JobStatus segfault = engine.awaitEnd(engine.started(JobSpec.of("sh", "-c", "kill -SEGV $$")));
        assertEquals(11, segfault.signal());
        assertFalse(segfault.stoppedByRequest());
    }

    @Test
    void stopTerminatesAJobAndReportsItStoppedByRequest() throws Exception {
        String id = engine.started(JobSpec.of("sleep", "1000"));
        JobStatus stopped = engine.stop(id, Duration.ofSeconds(20));
        assertEquals(JobState.EXITED, stopped.state());
        assertEquals(15, stopped.signal());
        assertTrue(stopped.stoppedByRequest());
        assertEquals(stopped, engine.stop(id, Duration.ofSeconds(5)), "Stop on an exited job returns its final status");
    }

    @Test
    void aJobIgnoringSigtermIsKilledAfterTheGracePeriod() throws Exception {
        String id = engine.started(JobSpec.of("sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"));
        awaitOutput(id, "ready");
        long before = System.nanoTime();
        JobStatus stopped = engine.stop(id, Duration.ofSeconds(20));
        long tookMillis = (System.nanoTime() - before) / 1_000_000;
        assertEquals(9, stopped.signal(), "killed by cgroup.kill after the grace period");
        assertTrue(stopped.stoppedByRequest());
        assertTrue(tookMillis >= 1000, "the grace period (1 s) is honoured before the kill, took " + tookMillis + " ms");
        assertEquals(List.of(), engine.cgroupsLeft());
    }

    @Test
    void aMissingCommandFailsStartAndLeavesNothing() throws Exception {
        JobError error = rejected(JobSpec.of("/no/such/command"));
        assertEquals(JobError.Kind.INVALID_ARGUMENT, error.kind());
        assertEquals("command", error.field());
        assertTrue(error.message().contains("/no/such/command"), error.message());
        assertNothingLeft();

        JobError notOnPath = rejected(JobSpec.of("no-such-command-anywhere"));
        assertEquals("command", notOnPath.field());
        assertTrue(notOnPath.message().contains("no-such-command-anywhere"), notOnPath.message());
        assertNothingLeft();
    }

    @Test
    void aNonExecutableFileFailsStartWithPermissionDenied() throws Exception {
        Path script = Files.writeString(scratch.resolve("not-executable.sh"), "#!/bin/sh\necho hi\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rw-r--r--"));
        JobError error = rejected(JobSpec.of(script.toString()));
        assertEquals("command", error.field());
        assertTrue(error.message().contains("Permission denied") && error.message().contains(script.toString()), error.message());
        assertNothingLeft();
    }

    @Test
    void aBadWorkingDirectoryFailsStartAndLeavesNothing() throws Exception {
        JobError error = rejected(JobSpec.of("/bin/true").withWorkingDirectory(Path.of("/no/such/dir")));
        assertEquals("working-directory", error.field());
        assertTrue(error.message().contains("/no/such/dir"), error.message());
        assertNothingLeft();
    }

    @Test
    void aJobSeesOnlyStdinStdoutAndStderrAndRunsAsAUserOfItsOwn() throws Exception {
        String fds = engine.started(JobSpec.of("sh", "-c", "ls /proc/$$/fd"));
        engine.awaitEnd(fds);
        assertEquals(List.of("0", "1", "2"), engine.stdout(fds).lines().toList());

        String ids = engine.started(JobSpec.of("sh", "-c", "id -u; id -g; id -G; echo $HOME $USER $LOGNAME"));
        engine.awaitEnd(ids);
        List<String> lines = engine.stdout(ids).lines().toList();
        int uid = Integer.parseInt(lines.get(0));
        IdentitySettings range = engine.identities.settings();
        assertTrue(uid >= range.firstId() && uid <= range.lastId(), "uid " + uid + " outside the configured range");
        assertEquals(List.of("" + uid, "" + uid, "" + uid,
                engine.homeRoot.resolve(ids) + " rund-" + uid + " rund-" + uid), lines, "uid, gid, groups, HOME USER LOGNAME");
    }

    @Test
    void aJobCannotReadRundsStateOrLogs() throws Exception {
        String id = engine.started(JobSpec.of("sh", "-c", "ls " + stateDir + "/logs; echo rc=$?"));
        engine.awaitEnd(id);
        assertTrue(engine.stdout(id).contains("rc=2"), "listing rund's logs must fail: " + engine.stdout(id));
        assertTrue(new String(engine.output(id, LogStream.STDERR)).contains("Permission denied"));
    }

    @Test
    void stdoutAndStderrComeBackSeparatedAndByteExact() throws Exception {
        byte[] out = randomBytes(50 << 20);
        byte[] err = randomBytes(5 << 20);
        Path outFile = Files.write(scratch.resolve("out.bin"), out);
        Path errFile = Files.write(scratch.resolve("err.bin"), err);
        for (Path file : List.of(outFile, errFile)) {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        }
        String id = engine.started(JobSpec.of("sh", "-c", "cat " + outFile + " & cat " + errFile + " >&2; wait"));
        assertEquals(0, engine.awaitEnd(id).exitCode());
        assertEquals(sha256(out), sha256(engine.output(id, LogStream.STDOUT)));
        assertEquals(sha256(err), sha256(engine.output(id, LogStream.STDERR)));
    }

    @Test
    void theFinalStatusCarriesTheJobsAccountingAndTimes() throws Exception {
        String id = engine.started(JobSpec.of("sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"));
        JobStatus status = engine.awaitEnd(id);
        assertTrue(status.usage().cpuUsageMicros() > 0, "cpu time used by the job: " + status.usage());
        assertTrue(status.usage().cpuUserMicros() > 0, "user time: " + status.usage());
        assertFalse(status.oomKilled());
        assertTrue(!status.startedAt().isBefore(status.createdAt()) && status.endedAt().isAfter(status.startedAt()),
                status.toString());
    }

    @Test
    void aShortJobsLastLineIsNeverLost() throws Exception {
        for (int i = 0; i < 50; i++) {
            String id = engine.started(JobSpec.of("echo", "done " + i));
            engine.awaitEnd(id);
            assertEquals("done " + i + "\n", engine.stdout(id));
        }
    }

    @Test
    void aLimitForAControllerThisHostLacksIsRefusedNamingItAndCreatesNothing() throws Exception {
        Limits memory = new Limits(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.of(64L << 20),
                OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), List.of());
        org.junit.jupiter.api.Assumptions.assumeFalse(engine.cgroups.availableControllers().contains("memory"),
                "this host delegates the memory controller; the refusal needs a host without it");
        JobError error = rejected(JobSpec.of("/bin/true").withLimits(memory));
        assertEquals(JobError.Kind.FAILED_PRECONDITION, error.kind());
        assertTrue(error.message().contains("memory"), error.message());
        assertNothingLeft();
    }

    @Test
    void invalidSpecsAreRefusedNamingTheField() {
        assertEquals("command", rejected(JobSpec.of("")).field());
        assertEquals("args[1]", rejected(JobSpec.of("echo", "ok", "nul\0byte")).field());
        assertEquals("user", rejected(JobSpec.of("/bin/true").withUser("root")).field(),
                "root is not in allowed-users");
        assertEquals("memory-max", rejected(JobSpec.of("/bin/true").withLimits(Limits.none().withMemoryMax(1024))).field());
    }

    private JobError rejected(JobSpec spec) {
        return assertInstanceOf(JobRegistry.StartRejected.class, engine.start(spec)).error();
    }

    private void assertNothingLeft() throws IOException {
        assertEquals(List.of(), engine.cgroupsLeft(), "no cgroup may be left by a failed start");
        assertEquals(List.of(), ProcessHandle.current().children().map(ProcessHandle::pid).toList(),
                "no process may be left by a failed start");
    }

    private void awaitOutput(String id, String text) throws Exception {
        long deadline = System.nanoTime() + EngineFixture.WAIT.toNanos();
        while (!engine.stdout(id).contains(text)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("job " + id + " never printed " + text);
            }
            Thread.sleep(20);
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        new SecureRandom().nextBytes(bytes);
        return bytes;
    }

    static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
