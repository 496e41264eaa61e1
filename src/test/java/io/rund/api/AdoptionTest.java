package io.rund.api;

import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Running jobs survive their daemon: a kill -9 of a real {@code rund serve}, or a SIGTERM with
 * {@code RUND_ON_EXIT=keep}, leaves them running with rund-keeper, and the next daemon on the same state directory
 * adopts them. A job that wrote all along has, through the new daemon, exactly the bytes it wrote, each once, at
 * continuous offsets (its output waited in its pipe meanwhile); a job that ended while no daemon ran is reported with
 * its real exit code and end time; a silent one can be stopped as before.
 */
class AdoptionTest {

    private static final int ROUNDS = 40;
    private static final int LINES_PER_ROUND = 3_000;
    /** About 2 s of steady output on both streams (840 KB of stdout: far more than a pipe holds while no daemon runs). */
    private static final String WRITER = "i=0; while [ $i -lt " + ROUNDS + " ]; do seq -f r${i}-%06g 1 " + LINES_PER_ROUND
            + "; echo round $i >&2; i=$((i+1)); sleep 0.05; done";
    private static final long AWAY_MILLIS = 3_000;

    @Test
    void aKill9LeavesRunningJobsToTheNextDaemonWithNoByteLostAndRealExits() throws Exception {
        DaemonProcess first = DaemonProcess.start(Map.of());
        DaemonProcess next = null;
        try {
            String writer;
            String silent;
            String endsWhileAway;
            int silentPid;
            try (RundClient alice = first.client("alice")) {
                writer = LogReads.start(alice, WRITER);
                silent = LogReads.start(alice, "exec sleep 1000");
                endsWhileAway = LogReads.start(alice, "sleep 1; exit 7");
                silentPid = status(alice, silent).getPid().getValue();
                LogReads.until(() -> LogReads.read(alice, LogReads.request(writer).build()).bytes(LogStream.LOG_STREAM_STDOUT).length > 0,
                        "the writer's first output is in its log");
            }
            Instant killedAt = Instant.now();
            first.killHard();
            Thread.sleep(AWAY_MILLIS); // the third job ends meanwhile; the writer blocks once its pipe is full
            Instant restartedAt = Instant.now();
            next = DaemonProcess.restartAfter(first, Map.of());

            try (RundClient alice = next.client("alice")) {
                JobStatus ended = LogReads.awaitEnd(alice, endsWhileAway);
                assertEquals(7, ended.getExitCode().getValue(), "the real exit code of a job that ended while no daemon ran: " + ended);
                Instant endedAt = Instant.ofEpochSecond(ended.getEndedAt().getSeconds(), ended.getEndedAt().getNanos());
                assertTrue(endedAt.isAfter(killedAt) && endedAt.isBefore(restartedAt),
                        "it ended (" + endedAt + ") while no daemon ran (" + killedAt + " to " + restartedAt + ")");

                JobStatus stillRunning = status(alice, silent);
                assertEquals(JobState.JOB_STATE_RUNNING, stillRunning.getState(), stillRunning.toString());
                assertEquals(silentPid, stillRunning.getPid().getValue());

                JobStatus wrote = LogReads.awaitEnd(alice, writer);
                assertEquals(0, wrote.getExitCode().getValue(), wrote.toString());
                assertExactOutput(LogReads.read(alice, LogReads.request(writer).build()));

                JobStatus stopped = alice.stop(StopRequest.newBuilder().setJobId(silent).build()).getStatus();
                assertEquals(JobState.JOB_STATE_EXITED, LogReads.awaitEnd(alice, silent).getState(), stopped.toString());
                assertTrue(LogReads.awaitEnd(alice, silent).getStoppedByRequest());
            }
            assertTrue(String.join("\n", next.logLines()).contains("Adopted job " + writer));
        } finally {
            if (next != null) {
                next.close();
            } else {
                first.close();
            }
        }
    }

    @Test
    void aSigtermWithKeepLeavesAJobToTheNextDaemon() throws Exception {
        DaemonProcess first = DaemonProcess.start(Map.of("RUND_ON_EXIT", "keep"));
        DaemonProcess next = null;
        try {
            String writer;
            try (RundClient alice = first.client("alice")) {
                writer = LogReads.start(alice, WRITER);
                LogReads.until(() -> LogReads.read(alice, LogReads.request(writer).build()).bytes(LogStream.LOG_STREAM_STDOUT).length > 0,
                        "the writer's first output is in its log");
            }
            assertEquals(0, first.terminate(), "rund serve exits 0 on SIGTERM, leaving its jobs");
            next = DaemonProcess.restartAfter(first, Map.of());
            try (RundClient alice = next.client("alice")) {
                JobStatus wrote = LogReads.awaitEnd(alice, writer);
                assertEquals(0, wrote.getExitCode().getValue(), wrote.toString());
                assertFalse(wrote.getStoppedByRequest(), "the daemon's exit did not stop it");
                assertExactOutput(LogReads.read(alice, LogReads.request(writer).build()));
            }
        } finally {
            if (next != null) {
                next.close();
            } else {
                first.close();
            }
        }
    }

    private static JobStatus status(RundClient client, String id) {
        return client.status(StatusRequest.newBuilder().setJobId(id).build()).getStatus();
    }

    /** Every byte the writer wrote, once, in order, on each stream, with each chunk starting where the one before ended. */
    private static void assertExactOutput(LogReads.Stream log) {
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        for (int round = 0; round < ROUNDS; round++) {
            stdout.writeBytes(LogReads.seq("r" + round + "-", 6, 1, LINES_PER_ROUND));
            stderr.writeBytes(("round " + round + "\n").getBytes(StandardCharsets.US_ASCII));
        }
        assertArrayEquals(stdout.toByteArray(), log.bytes(LogStream.LOG_STREAM_STDOUT), "stdout, byte for byte");
        assertArrayEquals(stderr.toByteArray(), log.bytes(LogStream.LOG_STREAM_STDERR), "stderr, byte for byte");
        long expected = 0;
        for (LogData chunk : log.chunks()) {
            assertEquals(expected, chunk.getOffset(), "offsets are continuous");
            expected += chunk.getData().size();
        }
        assertEquals(stdout.size() + stderr.size(), expected, "the log holds both streams and nothing else");
    }
}
