package io.rund.api;

import com.google.protobuf.Int64Value;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.IoLimit;
import io.rund.proto.v1.Limits;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.StartRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * On a host whose cgroup v2 tree lacks a controller (this hybrid host: v1 holds cpu, memory, io, pids), a limit
 * needing it is refused with FAILED_PRECONDITION naming the controller, and nothing is created. The same limits are
 * proven enforced where the controllers exist, in the VM suite (src/test/vm).
 */
class MissingControllerTest {

    private static final Map<String, Limits> LIMIT_BY_CONTROLLER = Map.of(
            "cpu", Limits.newBuilder().setCpuMaxQuotaMicros(Int64Value.of(50_000)).build(),
            "memory", Limits.newBuilder().setMemoryMaxBytes(Int64Value.of(64L << 20)).build(),
            "pids", Limits.newBuilder().setPidsMax(Int64Value.of(10)).build(),
            "io", Limits.newBuilder().addIo(IoLimit.newBuilder().setWbps(Int64Value.of(1 << 20))).build());

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void aLimitWhoseControllerIsMissingIsRefusedNamingItAndCreatesNothing() throws Exception {
        String offered = Files.readString(rund.subtree().resolve("cgroup.subtree_control")).trim();
        for (Map.Entry<String, Limits> limit : LIMIT_BY_CONTROLLER.entrySet()) {
            String controller = limit.getKey();
            assumeFalse(List.of(offered.split(" ")).contains(controller), "this host delegates " + controller);
            StartRequest request = StartRequest.newBuilder().setCommand("sleep").addArgs("1").setLimits(limit.getValue()).build();
            try (RundClient alice = rund.client("alice")) {
                long cgroupsBefore = rund.jobCgroups();
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> alice.start(request));
                assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode(), e.getStatus().toString());
                String message = e.getStatus().getDescription();
                assertTrue(message.contains("the " + controller + " controller") && message.contains("offers: " + offered.replace(" ", ", ")),
                        "names the controller and what the host offers: " + message);
                assertEquals(cgroupsBefore, rund.jobCgroups(), "no cgroup was created");
                assertEquals(List.of(), alice.list(ListRequest.getDefaultInstance()).getJobsList(), "no job was created");
            }
        }
    }
}
