package io.rund.api;

import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.PauseRequest;
import io.rund.proto.v1.ResumeRequest;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Job control outlives the daemon: a daemon killed with kill -9 leaves a job with a deadline and a paused job with the
 * keeper; the next daemon adopts the first with the same deadline and stops it when that passes (its status says the
 * deadline ended it), and shows the second FROZEN (its cgroup.freeze is 1) until it is resumed.
 */
class JobControlAdoptionTest {

    /** Long enough, usually, to kill the first daemon and start the next inside it; if not, the next stops it at once. */
    private static final int TIMEOUT_SECONDS = 20;

    @Test
    void anAdoptedJobKeepsItsDeadlineAndAPausedOneStaysFrozen() throws Exception {
        try (AdoptingDaemons daemons = AdoptingDaemons.start(Map.of())) {
            String timed;
            String paused;
            Instant deadline;
            try (RundClient alice = daemons.current().client("alice")) {
                timed = alice.start(StartRequest.newBuilder().setCommand("sleep").addArgs("300")
                        .setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(TIMEOUT_SECONDS)).build()).getJobId();
                paused = LogReads.start(alice, "sleep 300");
                LogReads.until(() -> LogReads.status(alice, paused).getState() == JobState.JOB_STATE_RUNNING, "the job runs");
                assertEquals(JobState.JOB_STATE_FROZEN,
                        alice.pause(PauseRequest.newBuilder().setJobId(paused).build()).getStatus().getState());
                deadline = instant(LogReads.status(alice, timed).getDeadline());
            }
            DaemonProcess next = daemons.killAndAdopt();

            try (RundClient alice = next.client("alice")) {
                JobStatus frozen = LogReads.status(alice, paused);
                assertEquals(JobState.JOB_STATE_FROZEN, frozen.getState(), "adopted frozen: " + frozen);

                JobStatus adopted = LogReads.status(alice, timed);
                assertTrue(adopted.hasDeadline(), "the adopted job keeps its deadline: " + adopted);
                assertEquals(deadline, instant(adopted.getDeadline()));
                JobStatus ended = LogReads.awaitEnd(alice, timed);
                assertTrue(ended.getEndedByDeadline(), "the next daemon stopped it at its deadline: " + ended);
                assertFalse(instant(ended.getEndedAt()).isBefore(deadline), "not before its deadline: " + ended);

                assertEquals(JobState.JOB_STATE_RUNNING,
                        alice.resume(ResumeRequest.newBuilder().setJobId(paused).build()).getStatus().getState());
                JobStatus stopped = alice.stop(StopRequest.newBuilder().setJobId(paused).build()).getStatus();
                assertEquals(15, stopped.getSignal().getValue(), "thawed, it takes SIGTERM: " + stopped);
            }
        }
    }

    private static Instant instant(com.google.protobuf.Timestamp t) {
        return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
    }
}
