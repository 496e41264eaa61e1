package io.rund.api;

import io.grpc.Status;
import io.rund.TestFiles;
import io.rund.cli.RundClient;
import io.rund.job.IdentitySettings;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.StatusRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Jobs outlive the daemon that ran them, as records in its state directory: after a SIGTERM or a kill -9 of a real
 * {@code rund serve}, a new one on the same state directory answers Status, List and Logs of the earlier jobs with the
 * same ids, the same statuses and byte for byte the same output at the same offsets, to their owners only. A record
 * file that is torn or corrupt is reported in one line and skipped; the rest load.
 */
class RestartTest {

    private static final String OUTPUT_THEN_EXIT_3 = "printf 'out line\\n'; printf 'err line\\n' >&2; exit 3";
    /** 588,895 bytes of stdout: many log records, more than one read batch. */
    private static final String MUCH_OUTPUT = "seq 1 100000";

    private Path work;
    private Map<String, String> env;

    @BeforeEach
    void stateDirectory() throws Exception {
        ApiFixture.assumeEngineCanRun();
        work = Files.createTempDirectory("rund-restart-test-");
        env = Map.of("RUND_STATE_DIR", work.resolve("state").toString());
    }

    @AfterEach
    void removeStateDirectory() throws Exception {
        if (work != null) {
            TestFiles.deleteTree(IdentitySettings.defaultHomeRoot(work.resolve("state")));
            TestFiles.deleteTree(work);
        }
    }

    /** What a client saw of a job before the restart. */
    private record Seen(JobStatus status, byte[] stdout, byte[] stderr, long end) {}

    private static Seen seen(RundClient client, String id) throws InterruptedException {
        JobStatus status = LogReads.awaitEnd(client, id);
        LogReads.Stream log = LogReads.read(client, LogReads.request(id).build());
        return new Seen(status, log.bytes(LogStream.LOG_STREAM_STDOUT), log.bytes(LogStream.LOG_STREAM_STDERR), log.end());
    }

    private static void assertSameAfterRestart(RundClient client, String id, Seen before) {
        assertEquals(before.status(), client.status(StatusRequest.newBuilder().setJobId(id).build()).getStatus(),
                "the status of job " + id + " (exit, times, accounting, uid) after the restart");
        LogReads.Stream log = LogReads.read(client, LogReads.request(id).build());
        assertArrayEquals(before.stdout(), log.bytes(LogStream.LOG_STREAM_STDOUT), "stdout of " + id);
        assertArrayEquals(before.stderr(), log.bytes(LogStream.LOG_STREAM_STDERR), "stderr of " + id);
        assertEquals(before.end(), log.end(), "the offset past the last byte of " + id);
    }

    private static List<String> listedIds(RundClient client) {
        return client.list(ListRequest.getDefaultInstance()).getJobsList().stream().map(JobStatus::getId).toList();
    }

    private static void assertNotFound(Runnable call) {
        assertEquals(Status.Code.NOT_FOUND, LogReads.failure(call).getStatus().getCode());
    }

    @Test
    void finishedJobsAnswerAsBeforeAfterASigterm() throws Exception {
        String exited;
        String verbose;
        String stopped;
        Seen exitedBefore;
        Seen verboseBefore;
        try (DaemonProcess first = DaemonProcess.start(env); RundClient alice = first.client("alice")) {
            exited = LogReads.start(alice, OUTPUT_THEN_EXIT_3);
            verbose = LogReads.start(alice, MUCH_OUTPUT);
            stopped = LogReads.start(alice, "exec sleep 1000");
            exitedBefore = seen(alice, exited);
            verboseBefore = seen(alice, verbose);
            assertEquals(0, first.terminate(), "rund serve exits 0 on SIGTERM");
        }

        try (DaemonProcess second = DaemonProcess.start(env);
             RundClient alice = second.client("alice");
             RundClient bob = second.client("bob");
             RundClient carol = second.client("carol")) {
            assertSameAfterRestart(alice, exited, exitedBefore);
            assertEquals(3, exitedBefore.status().getExitCode().getValue());
            assertEquals("out line\n", new String(exitedBefore.stdout(), StandardCharsets.UTF_8));
            assertSameAfterRestart(alice, verbose, verboseBefore);
            assertEquals(588_895, verboseBefore.end());

            JobStatus stoppedAfter = alice.status(StatusRequest.newBuilder().setJobId(stopped).build()).getStatus();
            assertEquals(JobState.JOB_STATE_EXITED, stoppedAfter.getState(), "the job SIGTERM stopped is recorded as ended");
            assertTrue(stoppedAfter.getStoppedByRequest());
            assertTrue(stoppedAfter.hasSignal(), "ended by its signal: " + stoppedAfter);

            LogReads.Stream tail = LogReads.read(alice, LogReads.request(verbose).setFromOffset(588_895 - 7).build());
            assertEquals("100000\n", tail.text(), "a read from an offset gets what was there before the restart");

            assertEquals(List.of(exited, verbose, stopped), listedIds(alice));
            assertSameAfterRestart(bob, exited, exitedBefore); // bob shares a SAN with alice
            assertNotFound(() -> carol.status(StatusRequest.newBuilder().setJobId(exited).build()));
            assertNotFound(() -> LogReads.read(carol, LogReads.request(verbose).build()));
            assertFalse(listedIds(carol).contains(exited), "another tenant does not list alice's jobs");
        }
    }

    @Test
    void finishedJobsAnswerAsBeforeAfterAKill9AndARunningOneIsReportedAsUnobserved() throws Exception {
        String exited;
        String running;
        Seen exitedBefore;
        try (DaemonProcess first = DaemonProcess.start(env); RundClient alice = first.client("alice")) {
            exited = LogReads.start(alice, OUTPUT_THEN_EXIT_3);
            running = LogReads.start(alice, "echo started; exec sleep 1000");
            exitedBefore = seen(alice, exited);
            LogReads.until(() -> LogReads.read(alice, LogReads.request(running).build()).text().equals("started\n"),
                    "the running job wrote its line");
            first.kill();
        }

        try (DaemonProcess second = DaemonProcess.start(env);
             RundClient alice = second.client("alice");
             RundClient carol = second.client("carol")) {
            assertSameAfterRestart(alice, exited, exitedBefore);
            JobStatus unobserved = alice.status(StatusRequest.newBuilder().setJobId(running).build()).getStatus();
            assertEquals(JobState.JOB_STATE_EXITED, unobserved.getState());
            assertTrue(unobserved.getFailure().contains("the daemon restarted while the job ran; its end was not observed"),
                    unobserved.getFailure());
            assertFalse(unobserved.hasExitCode() || unobserved.hasSignal(), "no exit was observed: " + unobserved);
            assertEquals("started\n", LogReads.read(alice, LogReads.request(running).build()).text());
            assertEquals(List.of(exited, running), listedIds(alice));
            assertNotFound(() -> carol.status(StatusRequest.newBuilder().setJobId(running).build()));
        }
    }

    @Test
    void aTornOrCorruptRecordIsReportedAndSkippedAndTheRestLoad() throws Exception {
        String intact;
        String flipped;
        String torn;
        Seen intactBefore;
        try (DaemonProcess first = DaemonProcess.start(env); RundClient alice = first.client("alice")) {
            intact = LogReads.start(alice, OUTPUT_THEN_EXIT_3);
            flipped = LogReads.start(alice, "echo two");
            torn = LogReads.start(alice, "echo three");
            intactBefore = seen(alice, intact);
            LogReads.awaitEnd(alice, flipped);
            LogReads.awaitEnd(alice, torn);
            assertEquals(0, first.terminate());
        }
        Path records = work.resolve("state").resolve("jobs");
        byte[] bytes = Files.readAllBytes(records.resolve(flipped));
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(records.resolve(flipped), bytes);
        byte[] whole = Files.readAllBytes(records.resolve(torn));
        Files.write(records.resolve(torn), java.util.Arrays.copyOf(whole, whole.length / 2));
        String foreign = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
        Files.writeString(records.resolve(foreign), "not a record at all\n");

        try (DaemonProcess second = DaemonProcess.start(env); RundClient alice = second.client("alice")) {
            assertSameAfterRestart(alice, intact, intactBefore);
            assertNotFound(() -> alice.status(StatusRequest.newBuilder().setJobId(flipped).build()));
            assertNotFound(() -> alice.status(StatusRequest.newBuilder().setJobId(torn).build()));
            assertEquals(List.of(intact), listedIds(alice));
            List<String> log = second.logLines();
            assertReported(log, flipped, "CRC32C");
            assertReported(log, torn, "torn or truncated");
            assertReported(log, foreign, "not a job record");
            assertTrue(second.isAlive());
        }
    }

    private static void assertReported(List<String> daemonLog, String file, String why) {
        List<String> lines = daemonLog.stream().filter(line -> line.contains("Skipping job record") && line.contains(file)).toList();
        assertEquals(1, lines.size(), "one line reports record " + file + ": " + daemonLog);
        assertTrue(lines.getFirst().contains(why), lines.getFirst());
    }
}
