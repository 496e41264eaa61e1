package io.rund.api;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Status with wait_for_end over the real API: the answer is the final status, sent when the job ends. */
class StatusWaitTest {

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void answersOnceTheJobHasEnded() throws Exception {
        try (RundClient alice = rund.client("alice")) {
            String id = alice.start(StartRequest.newBuilder().setCommand("sh").addArgs("-c").addArgs("sleep 0.5; exit 4").build())
                    .getJobId();

            JobStatus end = alice.status(StatusRequest.newBuilder().setJobId(id).setWaitForEnd(true).build()).getStatus();

            assertEquals(JobState.JOB_STATE_EXITED, end.getState());
            assertEquals(4, end.getExitCode().getValue());
        }
    }

    /** Longer than the server's ask timeout (the fixture's grace period plus margin), which once bounded the wait. */
    @Test
    void aThirtySecondJobIsWaitedForToItsEnd() throws Exception {
        try (RundClient alice = rund.client("alice")) {
            String id = alice.start(StartRequest.newBuilder().setCommand("sh").addArgs("-c").addArgs("sleep 30; exit 5").build())
                    .getJobId();

            JobStatus end = alice.status(StatusRequest.newBuilder().setJobId(id).setWaitForEnd(true).build(),
                    java.time.Duration.ofMinutes(3)).getStatus();

            assertEquals(JobState.JOB_STATE_EXITED, end.getState());
            assertEquals(5, end.getExitCode().getValue());
        }
    }

    @Test
    void aJobOfSomeoneElseIsNotFound() throws Exception {
        String id;
        try (RundClient alice = rund.client("alice")) {
            id = alice.start(StartRequest.newBuilder().setCommand("sleep").addArgs("1000").build()).getJobId();
        }
        try (RundClient carol = rund.client("carol")) {
            StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                    () -> carol.status(StatusRequest.newBuilder().setJobId(id).setWaitForEnd(true).build()));
            assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
        }
    }
}
