package io.rund.api;

import com.google.protobuf.Int64Value;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.Limits;
import io.rund.proto.v1.StopRequest;
import io.rund.proto.v1.UpdateRequest;
import io.rund.proto.v1.UpdateResponse;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Update through the real API: a running job's limits change and read back where the host offers the controllers
 * (the VM suite), and are refused naming the controller where it does not (this hybrid host); bad values, an empty
 * change, a finished job and another tenant's job are refused with the reason named, the job left as it was. That
 * the kernel then enforces the new values is shown at the cgroup layer (LimitUpdateTest, in the VM).
 */
class UpdateTest {
    private static final long MIB = 1L << 20;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void aRunningJobsMemoryAndPidsLimitsChangeAndReadBackOrTheMissingControllerIsNamed() throws Exception {
        RundClient alice = rund.shared("alice");
        String id = LogReads.start(alice, "sleep 600");
        try {
            UpdateRequest request = UpdateRequest.newBuilder().setJobId(id).setLimits(Limits.newBuilder()
                    .setMemoryMaxBytes(Int64Value.of(256 * MIB)).setMemoryHighBytes(Int64Value.of(192 * MIB))
                    .setPidsMax(Int64Value.of(9))).build();
            Path cgroup = rund.subtree().resolve(id);
            if (offers("memory") && offers("pids")) {
                UpdateResponse response = alice.update(request);
                assertEquals(256 * MIB, response.getLimits().getMemoryMaxBytes().getValue());
                assertEquals(192 * MIB, response.getLimits().getMemoryHighBytes().getValue());
                assertEquals(9, response.getLimits().getPidsMax().getValue());
                assertEquals(0, response.getOomKills());
                assertEquals(Long.toString(256 * MIB), Files.readString(cgroup.resolve("memory.max")).strip());
                assertEquals("9", Files.readString(cgroup.resolve("pids.max")).strip());

                UpdateResponse lifted = alice.update(UpdateRequest.newBuilder().setJobId(id).addClear("pids-max").build());
                assertTrue(!lifted.getLimits().hasPidsMax(), "pids-max lifted: " + lifted.getLimits());
                assertEquals(256 * MIB, lifted.getLimits().getMemoryMaxBytes().getValue(), "what was not named stays");
                assertEquals("max", Files.readString(cgroup.resolve("pids.max")).strip());
            } else {
                StatusRuntimeException e = LogReads.failure(() -> alice.update(request));
                assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode(), e.getStatus().toString());
                String message = e.getStatus().getDescription();
                String missing = offers("memory") ? "pids" : "memory";
                assertTrue(message.contains("the " + missing + " controller"), "names the controller: " + message);
            }
            assertEquals(io.rund.proto.v1.JobState.JOB_STATE_RUNNING, alice.status(io.rund.proto.v1.StatusRequest.newBuilder().setJobId(id).build()).getStatus().getState(),
                    "the job runs on");
        } finally {
            alice.stop(StopRequest.newBuilder().setJobId(id).build());
        }
    }

    @Test
    void badValuesAndEmptyChangesAreRefusedNamingTheField() throws Exception {
        RundClient alice = rund.shared("alice");
        String id = LogReads.start(alice, "sleep 600");
        try {
            StatusRuntimeException tiny = LogReads.failure(() -> alice.update(UpdateRequest.newBuilder().setJobId(id)
                    .setLimits(Limits.newBuilder().setMemoryMaxBytes(Int64Value.of(10))).build()));
            assertEquals(Status.Code.INVALID_ARGUMENT, tiny.getStatus().getCode());
            assertTrue(tiny.getStatus().getDescription().contains("memory-max"), tiny.getStatus().getDescription());

            StatusRuntimeException nothing = LogReads.failure(() -> alice.update(UpdateRequest.newBuilder().setJobId(id).build()));
            assertEquals(Status.Code.INVALID_ARGUMENT, nothing.getStatus().getCode());
            assertTrue(nothing.getStatus().getDescription().contains("nothing to change"), nothing.getStatus().getDescription());

            StatusRuntimeException unknown = LogReads.failure(() -> alice.update(UpdateRequest.newBuilder().setJobId(id)
                    .addClear("cpu-shares").build()));
            assertEquals(Status.Code.INVALID_ARGUMENT, unknown.getStatus().getCode());
            assertTrue(unknown.getStatus().getDescription().contains("\"cpu-shares\" is not a limit that can be cleared; one of cpu-max"),
                    unknown.getStatus().getDescription());

            StatusRuntimeException both = LogReads.failure(() -> alice.update(UpdateRequest.newBuilder().setJobId(id)
                    .setLimits(Limits.newBuilder().setPidsMax(Int64Value.of(5))).addClear("pids-max").build()));
            assertEquals(Status.Code.INVALID_ARGUMENT, both.getStatus().getCode());
            assertTrue(both.getStatus().getDescription().contains("both set and cleared"), both.getStatus().getDescription());
        } finally {
            alice.stop(StopRequest.newBuilder().setJobId(id).build());
        }
    }

    @Test
    void aFinishedJobIsAPreconditionFailureAndAnotherTenantsJobIsNotFound() throws Exception {
        RundClient alice = rund.shared("alice");
        String ended = LogReads.start(alice, "true");
        LogReads.awaitEnd(alice, ended);
        UpdateRequest raise = UpdateRequest.newBuilder().setJobId(ended)
                .setLimits(Limits.newBuilder().setPidsMax(Int64Value.of(50))).build();
        StatusRuntimeException finished = LogReads.failure(() -> alice.update(raise));
        assertEquals(Status.Code.FAILED_PRECONDITION, finished.getStatus().getCode());
        assertTrue(finished.getStatus().getDescription().contains("is EXITED"), finished.getStatus().getDescription());

        String running = LogReads.start(alice, "sleep 600");
        try {
            StatusRuntimeException carols = LogReads.failure(() -> rund.shared("carol").update(UpdateRequest.newBuilder()
                    .setJobId(running).setLimits(Limits.newBuilder().setPidsMax(Int64Value.of(50))).build()));
            assertEquals(Status.Code.NOT_FOUND, carols.getStatus().getCode());
            assertEquals("job " + running + " not found", carols.getStatus().getDescription());
        } finally {
            alice.stop(StopRequest.newBuilder().setJobId(running).build());
        }
    }

    private static boolean offers(String controller) throws Exception {
        String offered = Files.readString(rund.subtree().resolve("cgroup.subtree_control")).strip();
        return List.of(offered.split(" ")).contains(controller);
    }
}
