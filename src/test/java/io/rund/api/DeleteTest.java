package io.rund.api;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.DeleteRequest;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Delete RPC against a real rund: a finished job and its log file are gone once Delete answers, and the job then
 * answers NOT_FOUND everywhere; a job that has not ended is refused with FAILED_PRECONDITION and keeps running;
 * another tenant's job answers NOT_FOUND, as Status does, and is left alone; the admin may delete any job.
 */
class DeleteTest {

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void deletingAFinishedJobRemovesItAndItsLogFile() throws Exception {
        RundClient alice = rund.shared("alice");
        String id = LogReads.start(alice, "echo kept until deleted");
        LogReads.awaitEnd(alice, id);
        Path log = logFile(id);
        assertTrue(Files.exists(log), "the finished job's log is on disk: " + log);

        alice.delete(delete(id));

        assertFalse(Files.exists(log), "its log file is deleted by the time Delete answers");
        assertEquals(Status.Code.NOT_FOUND, code(() -> alice.status(StatusRequest.newBuilder().setJobId(id).build())));
        assertEquals(Status.Code.NOT_FOUND, code(() -> LogReads.read(alice, LogReads.request(id).build())));
        assertFalse(ListPagingTest.ids(ListPagingTest.listAll(alice, io.rund.proto.v1.ListRequest.newBuilder(), page -> {}))
                .contains(id), "nor listed");
        assertEquals(Status.Code.NOT_FOUND, code(() -> alice.delete(delete(id))), "a second Delete finds nothing");
    }

    @Test
    void aJobThatHasNotEndedIsRefusedAndRunsOn() throws Exception {
        RundClient alice = rund.shared("alice");
        String id = LogReads.start(alice, "sleep 600");
        try {
            StatusRuntimeException refused = LogReads.failure(() -> alice.delete(delete(id)));
            assertEquals(Status.Code.FAILED_PRECONDITION, refused.getStatus().getCode());
            assertTrue(refused.getStatus().getDescription().contains("job " + id + " is still running"),
                    refused.getStatus().getDescription());
            assertTrue(refused.getStatus().getDescription().endsWith("stop it first"), refused.getStatus().getDescription());
            JobState state = alice.status(StatusRequest.newBuilder().setJobId(id).build()).getStatus().getState();
            assertTrue(state == JobState.JOB_STATE_RUNNING || state == JobState.JOB_STATE_STARTING, "it runs on: " + state);
            assertTrue(Files.exists(logFile(id)));
        } finally {
            alice.stop(StopRequest.newBuilder().setJobId(id).build());
        }
        alice.delete(delete(id));
        assertFalse(Files.exists(logFile(id)), "once stopped it may be deleted");
    }

    @Test
    void anotherTenantsJobIsNotFoundAndLeftAloneButTheAdminMayDeleteIt() throws Exception {
        RundClient alice = rund.shared("alice");
        String id = LogReads.start(alice, "echo alice's");
        LogReads.awaitEnd(alice, id);

        StatusRuntimeException carols = LogReads.failure(() -> rund.shared("carol").delete(delete(id)));
        assertEquals(Status.Code.NOT_FOUND, carols.getStatus().getCode());
        assertEquals("job " + id + " not found", carols.getStatus().getDescription(), "the same answer as for no such job");
        assertEquals(JobState.JOB_STATE_EXITED, alice.status(StatusRequest.newBuilder().setJobId(id).build()).getStatus().getState());
        assertTrue(Files.exists(logFile(id)), "its log is left alone");

        rund.shared("admin").delete(delete(id));
        assertFalse(Files.exists(logFile(id)));
    }

    @Test
    void anIdThatIsNoneIsAnInvalidArgument() {
        assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> rund.shared("alice").delete(delete("not-a-job"))));
    }

    private static Path logFile(String id) {
        return rund.stateDirectory().resolve("logs").resolve(id + ".log");
    }

    private static DeleteRequest delete(String id) {
        return DeleteRequest.newBuilder().setJobId(id).build();
    }

    private static Status.Code code(Runnable call) {
        return LogReads.failure(call).getStatus().getCode();
    }
}
