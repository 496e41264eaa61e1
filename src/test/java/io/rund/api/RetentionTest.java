package io.rund.api;

import io.grpc.Status;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Retention against a real rund: past rund.jobs.max-retained the oldest-finished jobs are removed with their log
 * files, and a finished job is removed with its log once rund.jobs.retention has passed, while running jobs stay.
 */
class RetentionTest {

    private static final int MAX_RETAINED = 3;
    private static final int MORE = 2;
    private static final String SHORT_RETENTION = "3s";

    @Nested
    class ByCount {

        @RegisterExtension
        static final ApiFixture rund = new ApiFixture("rund.jobs.max-retained = " + MAX_RETAINED);

        @Test
        void pastTheCountTheOldestFinishedJobsGoWithTheirLogs() throws Exception {
            RundClient alice = rund.shared("alice");
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < MAX_RETAINED + MORE; i++) {
                String id = LogReads.start(alice, "echo job " + i);
                LogReads.awaitEnd(alice, id); // one at a time, so they end in this order
                ids.add(id);
            }
            for (String gone : ids.subList(0, MORE)) {
                Path log = logFile(rund, gone);
                LogReads.until(() -> !Files.exists(log), "the log of removed job " + gone + " is deleted");
                assertEquals(Status.Code.NOT_FOUND, statusCode(alice, gone));
            }
            for (String kept : ids.subList(MORE, ids.size())) {
                assertEquals(JobState.JOB_STATE_EXITED, alice.status(status(kept)).getStatus().getState());
                assertEquals("job " + ids.indexOf(kept) + "\n", LogReads.read(alice, LogReads.request(kept).build()).text());
                assertTrue(Files.exists(logFile(rund, kept)));
            }
        }
    }

    @Nested
    class ByAge {

        @RegisterExtension
        static final ApiFixture rund = new ApiFixture("rund.jobs.retention = " + SHORT_RETENTION);

        @Test
        void aFinishedJobIsRemovedWithItsLogOnceItsRetentionHasPassedWhileRunningJobsStay() throws Exception {
            RundClient alice = rund.shared("alice");
            String running = LogReads.start(alice, "sleep 600");
            try {
                String finished = LogReads.start(alice, "echo soon gone");
                LogReads.awaitEnd(alice, finished);
                Path log = logFile(rund, finished);
                LogReads.until(() -> statusCode(alice, finished) == Status.Code.NOT_FOUND,
                        "the finished job is removed " + SHORT_RETENTION + " after it ended");
                LogReads.until(() -> !Files.exists(log), "and its log file is deleted");
                JobState state = alice.status(status(running)).getStatus().getState();
                assertTrue(state == JobState.JOB_STATE_RUNNING, "a running job is never removed: " + state);
                assertFalse(Files.exists(log));
            } finally {
                alice.stop(StopRequest.newBuilder().setJobId(running).build());
            }
        }
    }

    private static Path logFile(ApiFixture rund, String id) {
        return rund.stateDirectory().resolve("logs").resolve(id + ".log");
    }

    private static StatusRequest status(String id) {
        return StatusRequest.newBuilder().setJobId(id).build();
    }

    private static Status.Code statusCode(RundClient client, String id) {
        try {
            client.status(status(id));
            return Status.Code.OK;
        } catch (io.grpc.StatusRuntimeException e) {
            return e.getStatus().getCode();
        }
    }
}
