package io.rund.api;

import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

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

    /** Each writer writes at least this many rounds, and goes on until the test lets it finish. */
    private static final int MIN_ROUNDS = 10;
    private static final int LINES_PER_ROUND = 3_000;
    /** The 50 jobs: some writing all along, some silent, some ending while no daemon runs. */
    private static final int WRITERS = 17;
    private static final int SILENT = 17;
    private static final int ENDING = 16;
    private static final long AWAY_MILLIS = 3_000;

    /** What a follower received: the data in offset order, where it stopped, and the trailer if the stream ended. */
    private record Followed(byte[] bytes, long end, JobStatus trailer) {}

    /**
     * Steady output on both streams, each line naming {@code tag}, in rounds of 3,000 stdout lines (one round is
     * nearly a pipe's worth, so a writer blocks soon after its daemon dies), until {@code finish} exists. The test
     * decides when jobs end, not the machine's speed: a loaded CI host may take seconds to start fifty jobs.
     */
    private static String writer(String tag, Path finish) {
        return "i=0; while [ $i -lt " + MIN_ROUNDS + " ] || [ ! -e " + finish + " ]; do seq -f " + tag + "r${i}-%06g 1 "
                + LINES_PER_ROUND + "; echo " + tag + " round $i >&2; i=$((i+1)); sleep 0.05; done";
    }

    /** A job that ends with {@code code} only once {@code go} exists. */
    private static String endingWhen(Path go, int code) {
        return "while [ ! -e " + go + " ]; do sleep 0.05; done; exit " + code;
    }

    /** A directory the jobs' own users can look into, for the files that tell them when to end. */
    private static Path signals() throws IOException {
        Path dir = Files.createTempDirectory("rund-adoption-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        dir.toFile().deleteOnExit();
        return dir;
    }

    private static void raise(Path signal) throws IOException {
        Files.createFile(signal);
        signal.toFile().deleteOnExit();
    }

    /** Starts the first daemon of a scenario, with these environment additions. */
    @FunctionalInterface
    interface FirstDaemon {
        DaemonProcess start(Map<String, String> env) throws Exception;
    }

    /** What the next daemon's log must show once it has adopted the jobs (the upgrade test checks more). */
    @FunctionalInterface
    interface NextDaemonCheck {
        void check(DaemonProcess next) throws Exception;
    }

    @Test
    void aKill9LeavesFiftyJobsToTheNextDaemonWithNoByteLostAndRealExits() throws Exception {
        kill9WithFiftyJobs(DaemonProcess::start, next -> {});
    }

    /**
     * The scenario: 50 jobs on the daemon {@code firstDaemon} starts, kill -9, some end meanwhile, then a
     * daemon of this build on the same state directory; {@code check} is run on it once every job is accounted for.
     */
    static void kill9WithFiftyJobs(FirstDaemon firstDaemon, NextDaemonCheck check) throws Exception {
        Path signals = signals();
        Path away = signals.resolve("away");
        Path finish = signals.resolve("finish");
        DaemonProcess first = firstDaemon.start(Map.of());
        DaemonProcess next = null;
        ExecutorService followers = Executors.newSingleThreadExecutor();
        try {
            List<String> writers = new ArrayList<>();
            List<String> silent = new ArrayList<>();
            List<String> endingWhileAway = new ArrayList<>();
            Map<String, Integer> silentPids = new HashMap<>();
            List<Integer> endingPids = new ArrayList<>();
            Future<Followed> beforeCrash;
            RundClient follower = first.client("alice");
            try (RundClient alice = first.client("alice")) {
                for (int n = 0; n < WRITERS; n++) {
                    writers.add(LogReads.start(alice, writer("w" + n, finish)));
                }
                for (int n = 0; n < SILENT; n++) {
                    String id = LogReads.start(alice, "exec sleep 1000");
                    silent.add(id);
                    silentPids.put(id, status(alice, id).getPid().getValue());
                }
                for (int n = 0; n < ENDING; n++) {
                    String id = LogReads.start(alice, endingWhen(away, n + 1));
                    endingWhileAway.add(id);
                    endingPids.add(status(alice, id).getPid().getValue());
                }
                String followed = writers.getFirst();
                LogReads.until(() -> LogReads.read(alice, LogReads.request(followed).build()).bytes(LogStream.LOG_STREAM_STDOUT).length > 0,
                        "the first writer's output is in its log");
                beforeCrash = followers.submit(() -> follow(follower, followed, 0));
            }
            Instant killedAt = Instant.now();
            first.killHard();
            Followed cut = beforeCrash.get(LogReads.HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
            follower.close();
            assertTrue(cut.trailer() == null, "the follower was cut by the crash, not ended");
            raise(away);
            LogReads.until(() -> endingPids.stream().noneMatch(pid -> Files.exists(Path.of("/proc", pid.toString()))),
                    "the ending jobs ended, and rund-keeper reaped them, while no daemon ran");
            Thread.sleep(AWAY_MILLIS); // the writers block once their pipes are full
            Instant restartedAt = Instant.now();
            next = DaemonProcess.restartAfter(first, Map.of());

            try (RundClient alice = next.client("alice")) {
                for (int n = 0; n < ENDING; n++) {
                    JobStatus ended = LogReads.awaitEnd(alice, endingWhileAway.get(n));
                    assertEquals(n + 1, ended.getExitCode().getValue(), "the real exit code of a job that ended while no daemon ran: " + ended);
                    Instant endedAt = Instant.ofEpochSecond(ended.getEndedAt().getSeconds(), ended.getEndedAt().getNanos());
                    assertTrue(endedAt.isAfter(killedAt) && endedAt.isBefore(restartedAt),
                            "it ended (" + endedAt + ") while no daemon ran (" + killedAt + " to " + restartedAt + ")");
                }
                for (String id : silent) {
                    JobStatus stillRunning = status(alice, id);
                    assertEquals(JobState.JOB_STATE_RUNNING, stillRunning.getState(), stillRunning.toString());
                    assertEquals(silentPids.get(id), stillRunning.getPid().getValue());
                }
                raise(finish);
                // The follower connected before the crash resumes from the offset it had reached, and completes.
                Followed resumed = follow(alice, writers.getFirst(), cut.end());
                assertTrue(resumed.trailer() != null && resumed.trailer().getState() == JobState.JOB_STATE_EXITED,
                        "the resumed follower ends with the final status: " + resumed.trailer());
                for (int n = 0; n < WRITERS; n++) {
                    JobStatus wrote = LogReads.awaitEnd(alice, writers.get(n));
                    assertEquals(0, wrote.getExitCode().getValue(), wrote.toString());
                    LogReads.Stream log = LogReads.read(alice, LogReads.request(writers.get(n)).build());
                    assertExactOutput("w" + n, log);
                    if (n == 0) {
                        byte[] followedBytes = concat(cut.bytes(), resumed.bytes());
                        assertEquals(sha256(logBytes(log)), sha256(followedBytes),
                                "what the follower got before and after the crash is the whole log, each byte once");
                    }
                }
                for (String id : silent) {
                    alice.stop(StopRequest.newBuilder().setJobId(id).build());
                    JobStatus stopped = LogReads.awaitEnd(alice, id);
                    assertTrue(stopped.getStoppedByRequest() && stopped.hasSignal(), stopped.toString());
                }
            }
            check.check(next);
        } finally {
            followers.shutdownNow();
            if (next != null) {
                next.close();
            } else {
                first.close();
            }
        }
    }

    @Test
    void aSigtermWithKeepLeavesAJobToTheNextDaemon() throws Exception {
        sigtermWithKeep(DaemonProcess::start, next -> {});
    }

    /** SIGTERM with RUND_ON_EXIT=keep to the daemon {@code firstDaemon} starts, then a daemon of this build. */
    static void sigtermWithKeep(FirstDaemon firstDaemon, NextDaemonCheck check) throws Exception {
        Path finish = signals().resolve("finish");
        DaemonProcess first = firstDaemon.start(Map.of("RUND_ON_EXIT", "keep"));
        DaemonProcess next = null;
        try {
            String writer;
            try (RundClient alice = first.client("alice")) {
                writer = LogReads.start(alice, writer("k", finish));
                LogReads.until(() -> LogReads.read(alice, LogReads.request(writer).build()).bytes(LogStream.LOG_STREAM_STDOUT).length > 0,
                        "the writer's first output is in its log");
            }
            assertEquals(0, first.terminate(), "rund serve exits 0 on SIGTERM, leaving its jobs");
            next = DaemonProcess.restartAfter(first, Map.of());
            raise(finish);
            try (RundClient alice = next.client("alice")) {
                JobStatus wrote = LogReads.awaitEnd(alice, writer);
                assertEquals(0, wrote.getExitCode().getValue(), wrote.toString());
                assertFalse(wrote.getStoppedByRequest(), "the daemon's exit did not stop it");
                assertExactOutput("k", LogReads.read(alice, LogReads.request(writer).build()));
            }
            check.check(next);
        } finally {
            if (next != null) {
                next.close();
            } else {
                first.close();
            }
        }
    }

    /**
     * Follows job {@code id} from {@code from} until its trailer, or until the stream fails (the daemon was killed):
     * the bytes received in offset order, checked continuous, and where they end.
     */
    private static Followed follow(RundClient client, String id, long from) {
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        long end = from;
        try {
            Iterator<LogChunk> stream = client.logs(LogReads.request(id).setFromOffset(from).setFollow(true).build());
            while (stream.hasNext()) {
                LogChunk chunk = stream.next();
                if (chunk.hasTrailer()) {
                    return new Followed(received.toByteArray(), end, chunk.getTrailer().getStatus());
                }
                assertEquals(end, chunk.getData().getOffset(), "a follower's chunks are continuous");
                chunk.getData().getData().writeTo(received);
                end += chunk.getData().getData().size();
            }
        } catch (StatusRuntimeException cut) {
            // the daemon went away: what was received stands, and the follower resumes from its end
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return new Followed(received.toByteArray(), end, null);
    }

    private static byte[] logBytes(LogReads.Stream log) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        log.chunks().forEach(chunk -> all.writeBytes(chunk.getData().toByteArray()));
        return all.toByteArray();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] both = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        return both;
    }

    private static String sha256(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static JobStatus status(RundClient client, String id) {
        return client.status(StatusRequest.newBuilder().setJobId(id).build()).getStatus();
    }

    /**
     * Every byte the writer wrote, once, in order, on each stream, with each chunk starting where the one before
     * ended. Its stderr says how many rounds it wrote.
     */
    private static void assertExactOutput(String tag, LogReads.Stream log) {
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        long rounds = new String(log.bytes(LogStream.LOG_STREAM_STDERR), StandardCharsets.US_ASCII).lines().count();
        assertTrue(rounds >= MIN_ROUNDS, tag + " wrote " + rounds + " rounds");
        for (int round = 0; round < rounds; round++) {
            stdout.writeBytes(LogReads.seq(tag + "r" + round + "-", 6, 1, LINES_PER_ROUND));
            stderr.writeBytes((tag + " round " + round + "\n").getBytes(StandardCharsets.US_ASCII));
        }
        assertEquals(sha256(stdout.toByteArray()), sha256(log.bytes(LogStream.LOG_STREAM_STDOUT)), "stdout of " + tag + ", by sha256");
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
