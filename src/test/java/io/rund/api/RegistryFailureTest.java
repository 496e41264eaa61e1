package io.rund.api;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.StatusRequest;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The job registry is supervised (io.rund.Guardian): when it dies — here a classic Kill sent to it inside a real
 * daemon's JVM ({@link DaemonWithMortalRegistry}), as a bug in it would fail it — rund fails fast instead of timing
 * out every later call: one ERROR line, its calls end with UNAVAILABLE, the coordinated shutdown runs and the process
 * exits with status 1. Its running jobs are left with rund-keeper, whatever rund.jobs.on-daemon-exit says (their actors
 * died with the registry: nothing could stop them as SIGTERM does), and the next daemon adopts them with no byte of
 * their output lost or doubled.
 */
class RegistryFailureTest {

    /** A guard against a hang, not a claim: the daemon's own shutdown takes seconds. */
    private static final Duration EXIT_GUARD = Duration.ofMinutes(2);
    private static final String ERROR_LINE = "The job registry failed (org.apache.pekko.actor.ActorKilledException: Kill)";

    @Test
    void underKeepModeADeadRegistryEndsTheDaemonWithFailureAndTheNextDaemonAdoptsItsJob() throws Exception {
        registryDiesWhileAJobWrites(Map.of("RUND_ON_EXIT", "keep"));
    }

    @Test
    void withoutKeepModeTooTheJobOfADeadRegistryIsLeftForTheNextDaemonNotKilled() throws Exception {
        registryDiesWhileAJobWrites(Map.of());
    }

    private static void registryDiesWhileAJobWrites(Map<String, String> env) throws Exception {
        Path signals = Files.createTempDirectory("rund-registry-failure-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Path finish = signals.resolve("finish");
        try (DaemonRestart daemons = DaemonRestart.of(DaemonProcess.startMain(DaemonWithMortalRegistry.class, env))) {
            DaemonProcess first = daemons.first();
            String writer;
            try (RundClient alice = first.client("alice")) {
                writer = LogReads.start(alice, "i=0; while [ ! -e " + finish + " ]; do echo line $i; i=$((i+1));"
                        + " sleep 0.02; done; echo done");
                LogReads.until(() -> LogReads.read(alice, LogReads.request(writer).build())
                        .bytes(LogStream.LOG_STREAM_STDOUT).length > 0, "the writer's first output is in its log");

                first.sendLine(DaemonWithMortalRegistry.KILL_REGISTRY);
                long killed = System.nanoTime();
                // Each call ends (the client's deadline guards it); once the registry is gone one fails, UNAVAILABLE.
                StatusRuntimeException refused = null;
                while (refused == null) {
                    try {
                        alice.status(StatusRequest.newBuilder().setJobId(writer).build());
                        Thread.sleep(20);
                    } catch (StatusRuntimeException e) {
                        refused = e;
                    }
                }
                assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode(), refused.toString());
                assertEquals(1, first.awaitExit(EXIT_GUARD), "rund exits with failure when its registry dies");
                System.out.printf("registry killed -> first call refused (%s) -> daemon exited: %d ms%n",
                        refused.getStatus().getDescription(), (System.nanoTime() - killed) / 1_000_000);
            }
            List<String> log = first.logLines();
            assertEquals(1, log.stream().filter(line -> line.contains(ERROR_LINE) && line.contains("ERROR")).count(),
                    "one ERROR line says what happened:\n" + String.join("\n", log));
            assertTrue(log.stream().anyMatch(line -> line.contains("leaving the running jobs with rund-keeper")),
                    String.join("\n", log));

            DaemonProcess next = daemons.restart(Map.of());
            try (RundClient alice = next.client("alice")) {
                JobStatus adopted = alice.status(StatusRequest.newBuilder().setJobId(writer).build()).getStatus();
                assertEquals(JobState.JOB_STATE_RUNNING, adopted.getState(), "the next daemon adopted the job: " + adopted);
                Files.createFile(finish);
                JobStatus ended = LogReads.awaitEnd(alice, writer);
                assertEquals(0, ended.getExitCode().getValue(), ended.toString());
                assertFalse(ended.getStoppedByRequest(), "nothing stopped the job: " + ended);
                String stdout = LogReads.read(alice, LogReads.request(writer).build()).text(LogStream.LOG_STREAM_STDOUT);
                assertEquals(expectedOutput(stdout), stdout, "every line once, in order, across the registry's death");
            }
        } finally {
            Files.deleteIfExists(finish);
            Files.deleteIfExists(signals);
        }
    }

    /** "line 0" to "line N" then "done", N being the number of lines {@code stdout} holds before its last. */
    private static String expectedOutput(String stdout) {
        long lines = stdout.lines().count();
        assertTrue(lines >= 2, "the writer wrote lines and its end: " + stdout);
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        for (long i = 0; i < lines - 1; i++) {
            expected.writeBytes(("line " + i + "\n").getBytes(StandardCharsets.US_ASCII));
        }
        expected.writeBytes("done\n".getBytes(StandardCharsets.US_ASCII));
        return expected.toString(StandardCharsets.US_ASCII);
    }
}
