package io.rund.api;

import com.google.protobuf.Any;
import com.google.protobuf.Int64Value;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.rund.cli.RundClient;
import io.rund.proto.v1.DeleteRequest;
import io.rund.proto.v1.Limits;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.function.Executable;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Every error a client gets carries google.rpc.ErrorInfo in grpc-status-details-bin, read here as any gRPC client
 * reads it (grpc-java's StatusProto over the CLI's real TLS connection): domain rund.io, a stable reason a program
 * can branch on, and the field at fault in its metadata, beside the same code and message as before.
 */
class ErrorDetailsTest {

    private static final String JOB_ID_FIELD = "job_id";
    /** A well-formed job id no job has. */
    private static final String UNKNOWN_JOB = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture("rund.jobs.allowed-users = [\"nobody\"]");

    @Test
    void aCommandThatDoesNotExistIsCommandNotFoundNamingTheField() {
        RundClient alice = rund.shared("alice");
        ErrorInfo info = refused(Status.Code.INVALID_ARGUMENT,
                () -> alice.start(StartRequest.newBuilder().setCommand("/nonexistent/rund-test-command").build()));
        assertEquals("COMMAND_NOT_FOUND", info.getReason());
        assertEquals(Map.of("field", "command"), info.getMetadataMap());
    }

    @Test
    void aJobNobodyHasIsJobNotFoundNamingTheJob() {
        RundClient alice = rund.shared("alice");
        for (Executable call : List.<Executable>of(
                () -> alice.status(StatusRequest.newBuilder().setJobId(UNKNOWN_JOB).build()),
                () -> alice.stop(StopRequest.newBuilder().setJobId(UNKNOWN_JOB).build()),
                () -> alice.delete(DeleteRequest.newBuilder().setJobId(UNKNOWN_JOB).build()),
                () -> alice.logs(LogsRequest.newBuilder().setJobId(UNKNOWN_JOB).build()).hasNext())) {
            ErrorInfo info = refused(Status.Code.NOT_FOUND, call);
            assertEquals("JOB_NOT_FOUND", info.getReason());
            assertEquals(Map.of("jobId", UNKNOWN_JOB), info.getMetadataMap());
        }
    }

    @Test
    void aMalformedIdOrLimitIsInvalidArgumentNamingTheField() {
        RundClient alice = rund.shared("alice");
        ErrorInfo badId = refused(Status.Code.INVALID_ARGUMENT,
                () -> alice.status(StatusRequest.newBuilder().setJobId("not-a-ulid").build()));
        assertEquals("INVALID_ARGUMENT", badId.getReason());
        assertEquals(JOB_ID_FIELD, badId.getMetadataOrThrow("field"));

        ErrorInfo badLimit = refused(Status.Code.INVALID_ARGUMENT, () -> alice.start(StartRequest.newBuilder()
                .setCommand("sleep").addArgs("1").setLimits(Limits.newBuilder().setPidsMax(Int64Value.of(0))).build()));
        assertEquals("INVALID_ARGUMENT", badLimit.getReason());
        assertEquals("pids-max", badLimit.getMetadataOrThrow("field"));
    }

    @Test
    void deletingARunningJobIsJobRunning() {
        RundClient alice = rund.shared("alice");
        String id = alice.start(StartRequest.newBuilder().setCommand("sleep").addArgs("600").build()).getJobId();
        try {
            ErrorInfo info = refused(Status.Code.FAILED_PRECONDITION,
                    () -> alice.delete(DeleteRequest.newBuilder().setJobId(id).build()));
            assertEquals("JOB_RUNNING", info.getReason());
        } finally {
            alice.stop(StopRequest.newBuilder().setJobId(id).build());
        }
    }

    @Test
    void aUserTheServerDoesNotAllowIsPermissionDeniedNamingTheField() {
        RundClient alice = rund.shared("alice");
        ErrorInfo info = refused(Status.Code.FAILED_PRECONDITION,
                () -> alice.start(StartRequest.newBuilder().setCommand("true").setUser("root").build()));
        assertEquals("PERMISSION_DENIED", info.getReason());
        assertEquals("user", info.getMetadataOrThrow("field"));
    }

    @Test
    void aLimitWhoseControllerIsMissingIsMissingController() throws Exception {
        String offered = Files.readString(rund.subtree().resolve("cgroup.subtree_control")).trim();
        assumeFalse(List.of(offered.split(" ")).contains("pids"), "this host delegates the pids controller");
        RundClient alice = rund.shared("alice");
        ErrorInfo info = refused(Status.Code.FAILED_PRECONDITION, () -> alice.start(StartRequest.newBuilder()
                .setCommand("sleep").addArgs("1").setLimits(Limits.newBuilder().setPidsMax(Int64Value.of(10))).build()));
        assertEquals("MISSING_CONTROLLER", info.getReason());
        assertEquals("limits", info.getMetadataOrThrow("field"));
    }

    /** The call fails with {@code code}; its details hold exactly one ErrorInfo of domain rund.io, returned. */
    private static ErrorInfo refused(Status.Code code, Executable call) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call);
        assertEquals(code, e.getStatus().getCode(), e.getStatus().toString());
        com.google.rpc.Status details = StatusProto.fromThrowable(e);
        assertNotNull(details, "the error carries grpc-status-details-bin: " + e.getStatus());
        assertEquals(code.value(), details.getCode(), "the details' code is the call's");
        assertEquals(e.getStatus().getDescription(), details.getMessage(), "the details' message is the call's");
        List<Any> infos = details.getDetailsList().stream().filter(any -> any.is(ErrorInfo.class)).toList();
        assertEquals(1, infos.size(), details.toString());
        try {
            ErrorInfo info = infos.getFirst().unpack(ErrorInfo.class);
            assertEquals("rund.io", info.getDomain());
            return info;
        } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
            throw new AssertionError(ex);
        }
    }
}
