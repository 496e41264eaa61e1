package io.rund.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.UInt64Value;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.Limits;
import io.rund.proto.v1.RdtValues;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import io.rund.proto.v1.UpdateRequest;
import io.rund.resctrl.RdtHost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Intel RDT through the real API. Where the host has no RDT (our machines and the VM: no rdt_a/cat_l3/mba in
 * /proc/cpuinfo, no resctrl mount), a Start or Update asking for it is refused FAILED_PRECONDITION naming what is
 * missing, and leaves nothing behind. Where it has, a job's group gets its schemata and its processes, children
 * included; that part skips here, saying why, so enforcement is unproven on our machines.
 */
class RdtTest {
    private static final Limits L3_MASK = Limits.newBuilder()
            .setL3CacheMask(RdtValues.newBuilder().setEveryDomain(UInt64Value.of(0x3))).build();
    private static final Limits BANDWIDTH = Limits.newBuilder()
            .setMemoryBandwidthPercent(RdtValues.newBuilder().setEveryDomain(UInt64Value.of(50))).build();

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void aStartAskingForRdtOnAHostWithoutItIsRefusedNamingWhatIsMissing() throws Exception {
        RdtHost host = RdtHost.ofThisHost();
        Assumptions.assumeTrue(host.missing(true, true).isPresent(), "this host has Intel RDT and resctrl mounted: "
                + "the refusal cannot be shown here");
        RundClient alice = rund.shared("alice");
        List<Path> before = jobCgroups();
        for (Limits limits : List.of(L3_MASK, BANDWIDTH)) {
            StatusRuntimeException e = LogReads.failure(() -> alice.start(StartRequest.newBuilder().setCommand("true")
                    .setLimits(limits).build()));
            assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode(), e.getStatus().toString());
            String message = e.getStatus().getDescription();
            assertTrue(message.contains(host.mount().isEmpty() ? "this host has no resctrl: Intel RDT needs CPU flags"
                    : "offers no"), message);
            assertEquals("RDT_UNAVAILABLE", reasonOf(e));
        }
        assertEquals(before, jobCgroups(), "a refused start leaves no cgroup behind");
    }

    @Test
    void anUpdateAskingForRdtIsRefusedAndTheJobRunsOn() throws Exception {
        Assumptions.assumeTrue(RdtHost.ofThisHost().missing(true, false).isPresent(), "this host has Intel RDT");
        RundClient alice = rund.shared("alice");
        String id = LogReads.start(alice, "sleep 600");
        try {
            StatusRuntimeException e = LogReads.failure(() -> alice.update(UpdateRequest.newBuilder().setJobId(id)
                    .setLimits(L3_MASK).build()));
            assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode(), e.getStatus().toString());
            assertEquals("RDT_UNAVAILABLE", reasonOf(e));
            assertEquals(JobState.JOB_STATE_RUNNING, alice.status(StatusRequest.newBuilder().setJobId(id).build())
                    .getStatus().getState(), "the job runs on");
        } finally {
            alice.stop(StopRequest.newBuilder().setJobId(id).build());
        }
    }

    @Test
    void anEmptyMaskOrAPercentageAbove100IsInvalidOnAnyHost() {
        RundClient alice = rund.shared("alice");
        StatusRuntimeException empty = LogReads.failure(() -> alice.start(StartRequest.newBuilder().setCommand("true")
                .setLimits(Limits.newBuilder().setL3CacheMask(RdtValues.newBuilder().setEveryDomain(UInt64Value.of(0))))
                .build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, empty.getStatus().getCode(), empty.getStatus().toString());
        assertTrue(empty.getStatus().getDescription().contains("l3-cache-mask"), empty.getStatus().getDescription());
        StatusRuntimeException above = LogReads.failure(() -> alice.start(StartRequest.newBuilder().setCommand("true")
                .setLimits(Limits.newBuilder().setMemoryBandwidthPercent(RdtValues.newBuilder().putByDomain(0, 101)))
                .build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, above.getStatus().getCode(), above.getStatus().toString());
        assertTrue(above.getStatus().getDescription().contains("memory-bandwidth"), above.getStatus().getDescription());
    }

    /** Runs only where the CPU has RDT and resctrl is mounted: the job and a child it forks are in the job's group. */
    @Test
    void aJobAndItsChildrenRunInTheirGroupWithTheSchemataAskedFor() throws Exception {
        RdtHost host = RdtHost.ofThisHost();
        Optional<?> missing = host.missing(true, false);
        Assumptions.assumeTrue(missing.isEmpty(), "enforcement unproven here: " + missing.map(Object::toString).orElse(""));
        RundClient alice = rund.shared("alice");
        long mask = Long.lowestOneBit(host.l3().orElseThrow().cbmMask()) * ((1L << Math.max(2, host.l3().get().minCbmBits())) - 1);
        String id = alice.start(StartRequest.newBuilder().setCommand("sh").addArgs("-c").addArgs("sleep 600 & wait")
                .setLimits(Limits.newBuilder().setL3CacheMask(RdtValues.newBuilder().setEveryDomain(UInt64Value.of(mask)))).build()).getJobId();
        Path group = host.mount().orElseThrow().resolve("rund-" + id);
        try {
            LogReads.until(() -> tasks(group).size() >= 2, "the job's shell and its sleep are in " + group);
            assertTrue(Files.readString(group.resolve("schemata")).contains("L3:"), "schemata written");
        } finally {
            alice.stop(StopRequest.newBuilder().setJobId(id).build());
        }
        LogReads.awaitEnd(alice, id);
        LogReads.until(() -> !Files.exists(group), "the group of the ended job is removed: " + group);
        assertFalse(Files.exists(group));
    }

    private static List<String> tasks(Path group) {
        try {
            return Files.readAllLines(group.resolve("tasks")).stream().filter(line -> !line.isBlank()).toList();
        } catch (java.io.IOException e) {
            return List.of();
        }
    }

    private static List<Path> jobCgroups() throws Exception {
        try (Stream<Path> children = Files.list(rund.subtree())) {
            return children.filter(Files::isDirectory).sorted().toList();
        }
    }

    private static String reasonOf(StatusRuntimeException e) throws Exception {
        com.google.rpc.Status details = StatusProto.fromThrowable(e);
        return details.getDetails(0).unpack(ErrorInfo.class).getReason();
    }
}
