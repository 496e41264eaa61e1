package io.rund.api;

import com.google.protobuf.Duration;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatsRequest;
import io.rund.proto.v1.StatsSample;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Stats RPC over the real API against real cgroups: a sample agrees with the job's cgroup files read by the
 * test around it (monotonic counters lie between a read before and one after), figures the host lacks are absent,
 * a stream yields samples until the job ends and then ends OK, and the refused cases name their reason.
 */
class StatsTest {

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    private static final long MIB = 1 << 20;

    @Test
    void aSampleAgreesWithTheJobsCgroupFiles() throws Exception {
        try (RundClient alice = rund.client("alice")) {
            // A CPU burn holding 64 MiB: the counters move while the test reads them.
            String id = alice.start(StartRequest.newBuilder().setCommand("python3").addArgs("-c")
                    .addArgs("b = bytearray(64 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nwhile True: pass").build()).getJobId();
            Path cgroup = rund.subtree().resolve(id);
            awaitRunning(alice, id);
            awaitMemoryTouched(cgroup);

            long cpuBefore = keyed(cgroup, "cpu.stat").get("usage_usec");
            Map<String, Long> memoryEventsBefore = keyedIfPresent(cgroup, "memory.events");
            StatsSample sample = one(alice, id);
            long cpuAfter = keyed(cgroup, "cpu.stat").get("usage_usec");
            Map<String, Long> memoryEventsAfter = keyedIfPresent(cgroup, "memory.events");

            assertEquals(id, sample.getJobId());
            assertEquals(JobState.JOB_STATE_RUNNING, sample.getState());
            assertTrue(cpuBefore <= sample.getCpuUsageMicros() && sample.getCpuUsageMicros() <= cpuAfter,
                    "cpu usage " + sample.getCpuUsageMicros() + " not between the file's " + cpuBefore + " and " + cpuAfter);
            assertTrue(sample.getCpuUserMicros() + sample.getCpuSystemMicros() > 0);
            Map<String, Long> cpuStat = keyed(cgroup, "cpu.stat");
            assertEquals(cpuStat.containsKey("nr_throttled"), sample.hasCpuThrottledPeriods(),
                    "throttling present exactly when cpu.stat has it");
            if (Files.exists(cgroup.resolve("memory.current"))) {
                assertTrue(sample.getMemoryCurrentBytes().getValue() >= 64 * MIB,
                        "memory.current " + sample.getMemoryCurrentBytes().getValue() + " below the 64 MiB the job holds");
                assertTrue(sample.getMemoryCurrentBytes().getValue() <= 64 * MIB + INTERPRETER_ALLOWANCE,
                        "memory.current " + sample.getMemoryCurrentBytes().getValue() + " far above the 64 MiB the job holds");
                assertTrue(sample.hasMemoryEvents());
                var events = sample.getMemoryEvents();
                Map<String, Long> inSample = Map.of("low", events.getLow(), "high", events.getHigh(), "max", events.getMax(),
                        "oom", events.getOom(), "oom_kill", events.getOomKill());
                inSample.forEach((key, value) -> assertTrue(memoryEventsBefore.getOrDefault(key, 0L) <= value
                        && value <= memoryEventsAfter.getOrDefault(key, 0L), "memory.events " + key + " " + value
                        + " not between the file's " + memoryEventsBefore + " and " + memoryEventsAfter));
                assertEquals(Files.exists(cgroup.resolve("memory.peak")), sample.hasMemoryPeakBytes());
            } else {
                assertFalse(sample.hasMemoryCurrentBytes(), "memory figures absent where the host has no memory controller");
                assertFalse(sample.hasMemoryEvents());
            }
            if (Files.exists(cgroup.resolve("pids.current"))) {
                assertEquals(Long.parseLong(read(cgroup, "pids.current")), sample.getPidsCurrent().getValue());
            } else {
                assertFalse(sample.hasPidsCurrent());
            }
            for (String psi : List.of("cpu", "memory", "io")) {
                boolean present = readable(cgroup.resolve(psi + ".pressure"));
                boolean inSample = switch (psi) {
                    case "cpu" -> sample.hasCpuPressure();
                    case "memory" -> sample.hasMemoryPressure();
                    default -> sample.hasIoPressure();
                };
                assertEquals(present, inSample, psi + ".pressure present exactly when the kernel has it");
            }
            if (sample.hasCpuPressure()) {
                assertTrue(sample.getCpuPressure().getSome().getTotalMicros() >= 0);
            }
            alice.stop(StopRequest.newBuilder().setJobId(id).build());
        }
    }

    @Test
    void aStreamYieldsSamplesUntilTheJobEndsThenEnds() throws Exception {
        try (RundClient alice = rund.client("alice")) {
            String id = alice.start(StartRequest.newBuilder().setCommand("sh").addArgs("-c")
                    .addArgs("i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 1").build()).getJobId();
            awaitRunning(alice, id);
            Iterator<StatsSample> stream = alice.stats(StatsRequest.newBuilder().setJobId(id)
                    .setInterval(Duration.newBuilder().setNanos(200_000_000)).build());
            List<StatsSample> samples = new ArrayList<>();
            stream.forEachRemaining(samples::add); // ends (without an error) once the job has ended

            assertTrue(samples.size() >= 2, "only " + samples.size() + " samples in a stream of a job running > 1 s");
            for (int i = 1; i < samples.size(); i++) {
                assertTrue(samples.get(i).getCpuUsageMicros() >= samples.get(i - 1).getCpuUsageMicros());
                assertTrue(seconds(samples.get(i)) > seconds(samples.get(i - 1)), "sample times increase");
            }
            // At the interval, not faster: one read may come late (a loaded host), so the span is counted one short.
            double span = seconds(samples.getLast()) - seconds(samples.getFirst());
            assertTrue(span >= (samples.size() - 2) * STREAM_INTERVAL_SECONDS, samples.size() + " samples over " + span
                    + " s: more than one per " + STREAM_INTERVAL_SECONDS + " s");
            assertEquals(JobState.JOB_STATE_EXITED, alice.status(StatusRequest.newBuilder().setJobId(id).build())
                    .getStatus().getState(), "the stream ended only after the job had");
        }
    }

    @Test
    void anEndedJobIsAFailedPreconditionNamingItsState() throws Exception {
        try (RundClient alice = rund.client("alice")) {
            String id = alice.start(StartRequest.newBuilder().setCommand("true").build()).getJobId();
            alice.status(StatusRequest.newBuilder().setJobId(id).setWaitForEnd(true).build());

            StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> one(alice, id));

            assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
            assertTrue(e.getStatus().getDescription().contains("EXITED"), e.getStatus().getDescription());
        }
    }

    @Test
    void refusedCasesNameTheirReason() throws Exception {
        String id;
        try (RundClient alice = rund.client("alice")) {
            id = alice.start(StartRequest.newBuilder().setCommand("sleep").addArgs("100").build()).getJobId();
            StatusRuntimeException tooOften = assertThrows(StatusRuntimeException.class, () -> alice.stats(
                    StatsRequest.newBuilder().setJobId(id).setInterval(Duration.newBuilder().setNanos(10_000_000)).build()).next());
            assertEquals(Status.Code.INVALID_ARGUMENT, tooOften.getStatus().getCode());
            assertTrue(tooOften.getStatus().getDescription().contains("rund.stats.min-interval"), tooOften.getStatus().getDescription());

            StatusRuntimeException tooRarely = assertThrows(StatusRuntimeException.class, () -> alice.stats(
                    StatsRequest.newBuilder().setJobId(id).setInterval(Duration.newBuilder().setSeconds(7200)).build()).next());
            assertEquals(Status.Code.INVALID_ARGUMENT, tooRarely.getStatus().getCode());

            StatusRuntimeException badId = assertThrows(StatusRuntimeException.class, () -> one(alice, "not-an-id"));
            assertEquals(Status.Code.INVALID_ARGUMENT, badId.getStatus().getCode());
        }
        try (RundClient carol = rund.client("carol")) {
            StatusRuntimeException notHers = assertThrows(StatusRuntimeException.class, () -> one(carol, id));
            assertEquals(Status.Code.NOT_FOUND, notHers.getStatus().getCode());
        }
        try (RundClient alice = rund.client("alice")) {
            alice.stop(StopRequest.newBuilder().setJobId(id).build());
        }
    }

    @Test
    void aTightCpuMaxShowsAsThrottlingAgreeingWithCpuStat() throws Exception {
        Path subtreeControl = rund.subtree().resolve("cgroup.subtree_control");
        org.junit.jupiter.api.Assumptions.assumeTrue(List.of(Files.readString(subtreeControl).strip().split(" ")).contains("cpu"),
                "skipped: the host's cgroup v2 tree does not delegate the cpu controller (a hybrid host); the VM suite runs this");
        try (RundClient alice = rund.client("alice")) {
            String id = alice.start(StartRequest.newBuilder().setCommand("sh").addArgs("-c").addArgs("while :; do :; done")
                    .setLimits(io.rund.proto.v1.Limits.newBuilder()
                            .setCpuMaxQuotaMicros(com.google.protobuf.Int64Value.of(TIGHT_QUOTA_MICROS))).build()).getJobId();
            Path cgroup = rund.subtree().resolve(id);
            try {
                awaitRunning(alice, id);
                for (int i = 0; i < 500 && keyed(cgroup, "cpu.stat").getOrDefault("nr_throttled", 0L) == 0; i++) {
                    Thread.sleep(20);
                }
                Map<String, Long> before = keyed(cgroup, "cpu.stat");
                StatsSample sample = one(alice, id);
                Map<String, Long> after = keyed(cgroup, "cpu.stat");

                assertTrue(sample.getCpuThrottledPeriods().getValue() > 0, "a busy loop at 10% of a CPU is throttled: " + sample);
                for (String[] figure : new String[][] {{"nr_periods", "periods"}, {"nr_throttled", "throttled periods"},
                        {"throttled_usec", "throttled micros"}}) {
                    long value = switch (figure[0]) {
                        case "nr_periods" -> sample.getCpuPeriods().getValue();
                        case "nr_throttled" -> sample.getCpuThrottledPeriods().getValue();
                        default -> sample.getCpuThrottledMicros().getValue();
                    };
                    assertTrue(before.get(figure[0]) <= value && value <= after.get(figure[0]), figure[1] + " " + value
                            + " not between cpu.stat's " + before.get(figure[0]) + " and " + after.get(figure[0]));
                }
                if (Files.exists(cgroup.resolve("pids.current"))) {
                    assertEquals(Long.parseLong(read(cgroup, "pids.current")), sample.getPidsCurrent().getValue());
                }
            } finally {
                alice.stop(StopRequest.newBuilder().setJobId(id).build());
            }
        }
    }

    /** 10% of one CPU (cpu.max "10000 100000"): a busy loop is throttled in most periods. */
    private static final long TIGHT_QUOTA_MICROS = 10_000;
    /** What a python interpreter takes besides the 64 MiB it is made to hold. */
    private static final long INTERPRETER_ALLOWANCE = 64 * MIB;
    private static final double STREAM_INTERVAL_SECONDS = 0.2;

    private static Map<String, Long> keyedIfPresent(Path cgroup, String file) throws IOException {
        return Files.exists(cgroup.resolve(file)) ? keyed(cgroup, file) : Map.of();
    }

    private static StatsSample one(RundClient client, String id) {
        Iterator<StatsSample> samples = client.stats(StatsRequest.newBuilder().setJobId(id).build());
        StatsSample sample = samples.next();
        assertFalse(samples.hasNext(), "one sample without an interval");
        return sample;
    }

    private static double seconds(StatsSample sample) {
        return sample.getTime().getSeconds() + sample.getTime().getNanos() / 1e9;
    }

    private static void awaitRunning(RundClient client, String id) throws InterruptedException {
        for (int i = 0; i < 300; i++) {
            if (client.status(StatusRequest.newBuilder().setJobId(id).build()).getStatus().getState() == JobState.JOB_STATE_RUNNING) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("job " + id + " not RUNNING within 6 s");
    }

    /** Until the job has touched its 64 MiB (where memory is accounted), so the sample sees all of it. */
    private static void awaitMemoryTouched(Path cgroup) throws IOException, InterruptedException {
        if (!Files.exists(cgroup.resolve("memory.current"))) {
            Thread.sleep(300); // let the burn run a little: usage_usec then moves between reads
            return;
        }
        for (int i = 0; i < 500; i++) {
            if (Long.parseLong(read(cgroup, "memory.current")) >= 64 * MIB) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError(cgroup + "/memory.current stayed below 64 MiB for 10 s");
    }

    private static boolean readable(Path file) {
        try {
            Files.readString(file);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static String read(Path cgroup, String file) throws IOException {
        return Files.readString(cgroup.resolve(file)).strip();
    }

    private static Map<String, Long> keyed(Path cgroup, String file) throws IOException {
        Map<String, Long> values = new TreeMap<>();
        for (String line : Files.readAllLines(cgroup.resolve(file))) {
            String[] kv = line.strip().split("\\s+");
            if (kv.length == 2) {
                values.put(kv[0], Long.parseLong(kv[1]));
            }
        }
        return values;
    }
}
