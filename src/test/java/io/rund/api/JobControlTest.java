package io.rund.api;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.PauseRequest;
import io.rund.proto.v1.ResumeRequest;
import io.rund.proto.v1.SignalRequest;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Job control through the real API of a real rund, on real processes in real cgroups: Signal to the main process only
 * or to every process, an unknown signal refused, Pause freezing a busy loop (its cpu.stat usage stops growing) and
 * Resume letting it run again, a paused job stopped, Stop's own grace period and force, and a Start timeout whose
 * deadline stops the job and says so.
 */
class JobControlTest {

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    /** Long enough for a running busy loop to use measurable CPU time (its usage is in microseconds). */
    private static final Duration SETTLE = Duration.ofMillis(300);

    /** A shell that prints "main-hup" on SIGHUP, with a child shell that prints "child-hup" on its own. */
    private static final String TRAPPING = "trap 'echo main-hup' HUP; "
            + "sh -c \"trap 'echo child-hup' HUP; echo child-ready; while :; do sleep 0.05; done\" & "
            + "while :; do sleep 0.05; done";

    @Test
    void sighupReachesTheMainProcessOnlyAndWithAllTheChildToo() throws Exception {
        RundClient alice = rund.shared("alice");
        String id = LogReads.start(alice, TRAPPING);
        try {
            LogReads.until(() -> output(alice, id).contains("child-ready"), "the child shell traps HUP");
            JobStatus answered = alice.signal(signal(id, "HUP", false)).getStatus();
            assertEquals(id, answered.getId());
            LogReads.until(() -> count(output(alice, id), "main-hup") == 1, "the main process got SIGHUP");

            alice.signal(signal(id, "SIGHUP", true));
            LogReads.until(() -> count(output(alice, id), "child-hup") == 1 && count(output(alice, id), "main-hup") == 2,
                    "with --all both got SIGHUP");
        } finally {
            alice.stop(StopRequest.newBuilder().setJobId(id).build());
        }
        String all = output(alice, id);
        assertEquals(1, count(all, "child-hup"), "the child saw only the signal sent to all: " + all);
        assertEquals(2, count(all, "main-hup"), all);
    }

    @Test
    void anUnknownSignalIsAnInvalidArgumentNamingIt() throws Exception {
        RundClient alice = rund.shared("alice");
        String id = LogReads.start(alice, "sleep 600");
        try {
            for (String bad : new String[] {"SIGFOO", "0", "65", "", "RTMIN+99"}) {
                StatusRuntimeException refused = LogReads.failure(() -> alice.signal(signal(id, bad, false)));
                assertEquals(Status.Code.INVALID_ARGUMENT, refused.getStatus().getCode(), bad);
                assertTrue(refused.getStatus().getDescription().startsWith("signal: '" + bad + "' is not a signal"),
                        refused.getStatus().getDescription());
            }
        } finally {
            alice.stop(StopRequest.newBuilder().setJobId(id).build());
        }
    }

    @Test
    void aPausedBusyLoopUsesNoCpuUntilResumedAndCanBeStopped() throws Exception {
        RundClient alice = rund.shared("alice");
        String id = LogReads.start(alice, "while :; do :; done");
        Path cgroup = rund.subtree().resolve(id);
        try {
            LogReads.until(() -> Files.exists(cgroup.resolve("cgroup.procs")), "the job's cgroup exists");
            assumeTrue(Files.exists(cgroup.resolve("cgroup.freeze")),
                    "this kernel's cgroup v2 has no cgroup.freeze (needs Linux 5.2): pause cannot be shown here");
            LogReads.until(() -> cpuUsage(cgroup) > 0, "the busy loop runs");

            JobStatus paused = alice.pause(PauseRequest.newBuilder().setJobId(id).build()).getStatus();
            assertEquals(JobState.JOB_STATE_FROZEN, paused.getState());
            assertEquals(JobState.JOB_STATE_FROZEN, status(alice, id).getState(), "Status says FROZEN too");
            long frozenAt = cpuUsage(cgroup);
            Thread.sleep(SETTLE.toMillis());
            assertEquals(frozenAt, cpuUsage(cgroup), "no CPU time while frozen");

            StatusRuntimeException again = LogReads.failure(() -> alice.pause(PauseRequest.newBuilder().setJobId(id).build()));
            assertEquals(Status.Code.FAILED_PRECONDITION, again.getStatus().getCode());
            assertTrue(again.getStatus().getDescription().contains("is FROZEN already"), again.getStatus().getDescription());

            JobStatus resumed = alice.resume(ResumeRequest.newBuilder().setJobId(id).build()).getStatus();
            assertEquals(JobState.JOB_STATE_RUNNING, resumed.getState());
            assertTrue(resumed.hasFrozenFor() && Duration.ofSeconds(resumed.getFrozenFor().getSeconds(),
                    resumed.getFrozenFor().getNanos()).compareTo(SETTLE) >= 0, "frozen_for counts the freeze: " + resumed);
            LogReads.until(() -> cpuUsage(cgroup) > frozenAt, "it uses CPU again once resumed");

            StatusRuntimeException notFrozen = LogReads.failure(() -> alice.resume(ResumeRequest.newBuilder().setJobId(id).build()));
            assertEquals(Status.Code.FAILED_PRECONDITION, notFrozen.getStatus().getCode());
            assertTrue(notFrozen.getStatus().getDescription().contains("is RUNNING, not FROZEN"),
                    notFrozen.getStatus().getDescription());

            alice.pause(PauseRequest.newBuilder().setJobId(id).build());
        } finally {
            JobStatus stopped = alice.stop(StopRequest.newBuilder().setJobId(id).build()).getStatus();
            assertEquals(JobState.JOB_STATE_EXITED, stopped.getState(), "a paused job is stopped: " + stopped);
            assertEquals(15, stopped.getSignal().getValue(), "SIGTERM landed once Stop thawed it: " + stopped);
        }
        assertFalse(Files.exists(cgroup), "its cgroup is removed");

        StatusRuntimeException ended = LogReads.failure(() -> alice.signal(signal(id, "TERM", false)));
        assertEquals(Status.Code.FAILED_PRECONDITION, ended.getStatus().getCode());
        assertTrue(ended.getStatus().getDescription().contains("is EXITED: it has ended"), ended.getStatus().getDescription());
    }

    @Test
    void aSleepWithATwoSecondTimeoutEndsByItsDeadline() throws Exception {
        RundClient alice = rund.shared("alice");
        String id = alice.start(StartRequest.newBuilder().setCommand("sleep").addArgs("60")
                .setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(2)).build()).getJobId();
        JobStatus running = status(alice, id);
        assertTrue(running.hasDeadline(), "Status shows the deadline: " + running);
        assertEquals(instant(running.getCreatedAt()).plusSeconds(2), instant(running.getDeadline()));

        JobStatus ended = LogReads.awaitEnd(alice, id);
        assertTrue(ended.getEndedByDeadline(), "the final status says the deadline ended it: " + ended);
        assertEquals(15, ended.getSignal().getValue(), "stopped with SIGTERM: " + ended);
        Duration ran = Duration.between(instant(ended.getCreatedAt()), instant(ended.getEndedAt()));
        assertTrue(ran.compareTo(Duration.ofSeconds(2)) >= 0 && ran.compareTo(Duration.ofSeconds(60)) < 0,
                "it ended at its deadline, not by itself: ran " + ran);
    }

    @Test
    void updateGivesARunningJobADeadlineThatStopsIt() throws Exception {
        RundClient alice = rund.shared("alice");
        String id = alice.start(StartRequest.newBuilder().setCommand("sleep").addArgs("60").build()).getJobId();
        assertFalse(status(alice, id).hasDeadline(), "no timeout at Start: no deadline");
        java.time.Instant asked = java.time.Instant.now();

        io.rund.proto.v1.UpdateResponse updated = alice.update(io.rund.proto.v1.UpdateRequest.newBuilder().setJobId(id)
                .setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(2)).build());

        assertTrue(updated.hasDeadline() && !updated.hasLimits(), "only the deadline changed: " + updated);
        java.time.Instant deadline = instant(updated.getDeadline());
        assertTrue(!deadline.isBefore(asked.plusSeconds(2)) && deadline.isBefore(asked.plusSeconds(30)),
                "two seconds from the call: " + deadline + " asked at " + asked);
        assertEquals(deadline, instant(status(alice, id).getDeadline()), "Status shows the new deadline");
        JobStatus ended = LogReads.awaitEnd(alice, id);
        assertTrue(ended.getEndedByDeadline(), "the deadline Update gave ended it: " + ended);
        assertEquals(15, ended.getSignal().getValue(), "stopped with SIGTERM: " + ended);

        StatusRuntimeException late = LogReads.failure(() -> alice.update(io.rund.proto.v1.UpdateRequest.newBuilder()
                .setJobId(id).setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(5)).build()));
        assertEquals(Status.Code.FAILED_PRECONDITION, late.getStatus().getCode(), "an ended job gets no new deadline");
    }

    @Test
    void aTimeoutOrGraceOutOfBoundsIsAnInvalidArgument() {
        RundClient alice = rund.shared("alice");
        StatusRuntimeException zero = LogReads.failure(() -> alice.start(StartRequest.newBuilder().setCommand("true")
                .setTimeout(com.google.protobuf.Duration.getDefaultInstance()).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, zero.getStatus().getCode());
        assertTrue(zero.getStatus().getDescription().startsWith("timeout: must be above 0"), zero.getStatus().getDescription());
        StatusRuntimeException tooLong = LogReads.failure(() -> alice.stop(StopRequest.newBuilder().setJobId(
                        "01ARZ3NDEKTSV4RRFFQ69G5FAV").setGracePeriod(com.google.protobuf.Duration.newBuilder().setSeconds(86_400))
                .build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, tooLong.getStatus().getCode());
        assertTrue(tooLong.getStatus().getDescription().contains("rund.control.max-stop-grace-period"),
                tooLong.getStatus().getDescription());
    }

    @Test
    void stopWithAZeroGraceOrForceKillsAJobThatIgnoresSigterm() throws Exception {
        RundClient alice = rund.shared("alice");
        String ignoring = "trap '' TERM; echo ready; while :; do sleep 0.05; done";
        String graceless = LogReads.start(alice, ignoring);
        LogReads.until(() -> output(alice, graceless).contains("ready"), "the job ignores SIGTERM");
        JobStatus killed = alice.stop(StopRequest.newBuilder().setJobId(graceless)
                .setGracePeriod(com.google.protobuf.Duration.getDefaultInstance()).build()).getStatus();
        assertEquals(9, killed.getSignal().getValue(), "no grace: SIGKILL right after SIGTERM: " + killed);
        assertTrue(killed.getStoppedByRequest());

        String forced = LogReads.start(alice, ignoring);
        LogReads.until(() -> output(alice, forced).contains("ready"), "the job ignores SIGTERM");
        JobStatus forcedEnd = alice.stop(StopRequest.newBuilder().setJobId(forced).setForce(true).build()).getStatus();
        assertEquals(9, forcedEnd.getSignal().getValue(), "forced: SIGKILL: " + forcedEnd);
        assertTrue(forcedEnd.getStoppedByRequest());
    }

    @Test
    void anotherTenantCannotSignalOrPauseAJob() throws Exception {
        RundClient alice = rund.shared("alice");
        String id = LogReads.start(alice, "sleep 600");
        try {
            RundClient carol = rund.shared("carol");
            assertEquals(Status.Code.NOT_FOUND, LogReads.failure(() -> carol.signal(signal(id, "KILL", false))).getStatus().getCode());
            assertEquals(Status.Code.NOT_FOUND, LogReads.failure(() -> carol.pause(PauseRequest.newBuilder().setJobId(id).build()))
                    .getStatus().getCode());
            assertEquals(JobState.JOB_STATE_RUNNING, status(alice, id).getState(), "alice's job runs on");
        } finally {
            alice.stop(StopRequest.newBuilder().setJobId(id).build());
        }
    }

    private static SignalRequest signal(String id, String signal, boolean all) {
        return SignalRequest.newBuilder().setJobId(id).setSignal(signal).setAll(all).build();
    }

    private static JobStatus status(RundClient client, String id) {
        return client.status(StatusRequest.newBuilder().setJobId(id).build()).getStatus();
    }

    private static String output(RundClient client, String id) {
        return LogReads.read(client, LogReads.request(id).build()).text();
    }

    private static int count(String text, String word) {
        int count = 0;
        for (int at = text.indexOf(word); at >= 0; at = text.indexOf(word, at + word.length())) {
            count++;
        }
        return count;
    }

    /** usage_usec of the cgroup's cpu.stat (0 if it cannot be read yet). */
    private static long cpuUsage(Path cgroup) {
        try {
            for (String line : Files.readAllLines(cgroup.resolve("cpu.stat"))) {
                if (line.startsWith("usage_usec ")) {
                    return Long.parseLong(line.substring("usage_usec ".length()).strip());
                }
            }
        } catch (IOException e) {
            return 0;
        }
        return 0;
    }

    private static Instant instant(com.google.protobuf.Timestamp t) {
        return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
    }
}
