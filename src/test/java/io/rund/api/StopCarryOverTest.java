package io.rund.api;

import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Stop in progress when the daemon died (SIGTERM sent, the grace period running) is carried over: the stop is
 * recorded with the time its SIGTERM went out and the time its grace ends, and the next daemon shows the job
 * stopping, kills it when that grace ends (not a new one of its own), and reports it stopped by request, as is one
 * that ended of the SIGTERM while no daemon ran. Main's record said "running": the adopted job ran on, unstopped.
 */
class StopCarryOverTest {

    /** The first daemon's grace: long enough, usually, to kill it and start the next daemon inside it. */
    private static final Duration FIRST_GRACE = Duration.ofSeconds(30);
    private static final int SIGKILL = 9;
    private static final int CODE_AFTER_SIGTERM = 7;

    @Test
    void aStopInProgressWhenTheDaemonDiedEndsInTheNextDaemonAtTheGraceItWasGiven() throws Exception {
        Path signals = Files.createTempDirectory("rund-stop-carry-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        Path go = signals.resolve("go");
        DaemonProcess first = DaemonProcess.start(Map.of("RUND_STOP_GRACE", FIRST_GRACE.toSeconds() + "s"));
        DaemonProcess next = null;
        ExecutorService stoppers = Executors.newFixedThreadPool(2);
        try {
            String deaf;
            String slow;
            try (RundClient alice = first.client("alice")) {
                // Ignores SIGTERM (so do its children: an ignored signal stays ignored across exec): only the kill ends it.
                deaf = LogReads.start(alice, "trap '' TERM; while :; do sleep 0.05; done");
                // Takes SIGTERM as a cue to finish, but only once the test says so (while no daemon runs).
                slow = LogReads.start(alice, "trap '' TERM; while [ ! -e " + go + " ]; do sleep 0.05; done; exit "
                        + CODE_AFTER_SIGTERM);
                for (String id : new String[] {deaf, slow}) {
                    LogReads.until(() -> status(alice, id).getState() == JobState.JOB_STATE_RUNNING, id + " runs");
                }
            }
            RundClient stopper = first.client("alice");
            Instant stopAsked = Instant.now();
            for (String id : new String[] {deaf, slow}) {
                // Stop answers once the job has ended: these calls are cut by the crash.
                stoppers.submit(() -> stopper.stop(StopRequest.newBuilder().setJobId(id).build()));
            }
            for (String id : new String[] {deaf, slow}) {
                LogReads.until(() -> loggedStopRecorded(first, id), "the daemon logs " + id + "'s stop as recorded");
            }
            first.killHard();
            stopper.close();
            Files.createFile(go);
            next = DaemonProcess.restartAfter(first, Map.of()); // its own grace is 2 s: the recorded one counts

            try (RundClient alice = next.client("alice")) {
                JobStatus carried = status(alice, deaf);
                // Stopping until its grace ends, or killed already if the restart took longer than the grace.
                assertTrue(carried.getState() == JobState.JOB_STATE_STOPPING || carried.getState() == JobState.JOB_STATE_EXITED,
                        "not running on after the restart: " + carried);
                assertTrue(carried.getStoppedByRequest(), carried.toString());
                JobStatus killed = LogReads.awaitEnd(alice, deaf);
                assertTrue(killed.getStoppedByRequest(), "reported stopped by request: " + killed);
                assertEquals(SIGKILL, killed.getSignal().getValue(), "killed at the end of its grace: " + killed);
                Instant endedAt = Instant.ofEpochSecond(killed.getEndedAt().getSeconds(), killed.getEndedAt().getNanos());
                assertTrue(endedAt.isAfter(stopAsked.plus(FIRST_GRACE)), "not before the end of the grace the first"
                        + " daemon gave it (" + FIRST_GRACE + " from " + stopAsked + "): ended " + endedAt);

                JobStatus ended = LogReads.awaitEnd(alice, slow);
                assertTrue(ended.getStoppedByRequest(), "a job that ended after its SIGTERM, while no daemon ran, was"
                        + " stopped by request: " + ended);
                assertEquals(CODE_AFTER_SIGTERM, ended.getExitCode().getValue(), ended.toString());
                assertFalse(ended.hasSignal(), ended.toString());
            }
            assertTrue(next.logLines().stream().anyMatch(line -> line.contains("Job " + deaf + " was stopping when the"
                    + " previous daemon went away")), "the next daemon says it carries the stop over");
        } finally {
            stoppers.shutdownNow();
            if (next != null) {
                next.close();
            } else {
                first.close();
            }
            Files.deleteIfExists(go);
            Files.deleteIfExists(signals);
        }
    }

    private static boolean loggedStopRecorded(DaemonProcess daemon, String id) {
        try {
            return daemon.logLines().stream().anyMatch(line -> line.contains("Job " + id + " is stopping")
                    && line.contains("recorded"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static JobStatus status(RundClient client, String id) {
        return client.status(StatusRequest.newBuilder().setJobId(id).build()).getStatus();
    }
}
