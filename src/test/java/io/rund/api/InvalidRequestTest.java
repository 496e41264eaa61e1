package io.rund.api;

import com.google.protobuf.Int64Value;
import com.google.protobuf.StringValue;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.job.JobSpec;
import io.rund.proto.v1.IoLimit;
import io.rund.proto.v1.Limits;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input is refused as INVALID_ARGUMENT naming the field, and creates nothing: no job, no cgroup, no log. */
class InvalidRequestTest {

    private static final StartRequest SLEEP = StartRequest.newBuilder().setCommand("sleep").addArgs("1").build();

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void emptyCommand() throws Exception {
        assertRefused(StartRequest.newBuilder().addArgs("x").build(), "command");
    }

    @Test
    void nulBytesInArgsOrEnv() throws Exception {
        assertRefused(SLEEP.toBuilder().addArgs("a\0b").build(), "args[1]");
        assertRefused(SLEEP.toBuilder().putEnv("A", "x\0y").build(), "env[A]");
        assertRefused(SLEEP.toBuilder().putEnv("A\0B", "x").build(), "env");
        assertRefused(SLEEP.toBuilder().setWorkingDirectory("/tmp\0x").build(), "working");
    }

    @Test
    void argvOverTheCap() throws Exception {
        String big = "x".repeat(JobSpec.MAX_ARGV_ENV_BYTES);
        assertRefused(SLEEP.toBuilder().addArgs(big).build(), "args");
    }

    @Test
    void zeroNegativeAndOverflowingLimits() throws Exception {
        assertRefused(withLimits(Limits.newBuilder().setMemoryMaxBytes(Int64Value.of(0))), "memory-max");
        assertRefused(withLimits(Limits.newBuilder().setMemoryMaxBytes(Int64Value.of(-1))), "memory-max");
        assertRefused(withLimits(Limits.newBuilder().setPidsMax(Int64Value.of(0))), "pids-max");
        assertRefused(withLimits(Limits.newBuilder().setPidsMax(Int64Value.of(Long.MAX_VALUE))), "pids-max");
        assertRefused(withLimits(Limits.newBuilder().setCpuMaxQuotaMicros(Int64Value.of(-5))), "cpu-max");
        assertRefused(withLimits(Limits.newBuilder().setCpuMaxQuotaMicros(Int64Value.of(Long.MAX_VALUE))), "cpu-max");
        assertRefused(withLimits(Limits.newBuilder().addIo(IoLimit.newBuilder().setRbps(Int64Value.of(0)))), "io-rbps");
        assertRefused(withLimits(Limits.newBuilder().addIo(IoLimit.newBuilder().setWiops(Int64Value.of(1L << 40)))), "io-wiops");
    }

    @Test
    void unknownDevice() throws Exception {
        assertRefused(withLimits(Limits.newBuilder().addIo(IoLimit.newBuilder()
                .setDevice(StringValue.of("/nonexistent/device")).setRbps(Int64Value.of(1 << 20)))), "io");
    }

    @Test
    void malformedJobIds() throws Exception {
        try (RundClient alice = rund.client("alice")) {
            for (String id : new String[] {"", "not-a-ulid", "01ARZ3NDEKTSV4RRFFQ69G5FA", "../../etc/passwd"}) {
                assertInvalid(() -> alice.status(StatusRequest.newBuilder().setJobId(id).build()), "job_id");
                assertInvalid(() -> alice.stop(StopRequest.newBuilder().setJobId(id).build()), "job_id");
                assertInvalid(() -> alice.logs(LogsRequest.newBuilder().setJobId(id).build()).hasNext(), "job_id");
            }
        }
    }

    @Test
    void jobIdsAreCanonicalUpperCaseLowerCaseIsReadAsUpperAndCrockfordAliasesAreRefused() throws Exception {
        RundClient carol = rund.shared("carol"); // the other tests expect alice's job list empty
        String id = carol.start(StartRequest.newBuilder().setCommand("true").build()).getJobId();
        assertEquals(id.toUpperCase(java.util.Locale.ROOT), id, "rund hands out upper-case ids");
        assertEquals(id, carol.status(StatusRequest.newBuilder().setJobId(id.toLowerCase(java.util.Locale.ROOT)).build())
                .getStatus().getId(), "a lower-case id names the same job");
        // Crockford decoders read I and L as 1 and O as 0; rund refuses them, so that a job has one spelling.
        String withAlias = id.substring(0, 25) + "O";
        assertInvalid(() -> carol.status(StatusRequest.newBuilder().setJobId(withAlias).build()), "job_id");
        assertInvalid(() -> carol.stop(StopRequest.newBuilder().setJobId("8" + id.substring(1)).build()), "job_id");
        String huge = "A".repeat(3_000_000);
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
                () -> carol.status(StatusRequest.newBuilder().setJobId(huge).build()));
        assertTrue(e.getStatus().getDescription().length() < 1000, "the 3 MB id is not echoed whole");
    }

    private static StartRequest withLimits(Limits.Builder limits) {
        return SLEEP.toBuilder().setLimits(limits).build();
    }

    private static void assertRefused(StartRequest request, String field) throws Exception {
        try (RundClient alice = rund.client("alice")) {
            long logsBefore = logFiles();
            long cgroupsBefore = rund.jobCgroups();
            assertInvalid(() -> alice.start(request), field);
            assertEquals(List.of(), alice.list(ListRequest.getDefaultInstance()).getJobsList(), "no job is listed");
            assertEquals(cgroupsBefore, rund.jobCgroups(), "no cgroup was created");
            assertEquals(logsBefore, logFiles(), "no log was created");
        }
    }

    private static void assertInvalid(Runnable call, String field) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().startsWith(field), field + " named in: " + e.getStatus().getDescription());
    }

    private static long logFiles() throws Exception {
        Path logs = rund.stateDirectory().resolve("logs");
        if (!Files.isDirectory(logs)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(logs)) {
            return files.count();
        }
    }
}
