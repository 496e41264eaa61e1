package io.rund.api;

import com.google.protobuf.Int64Value;
import com.google.protobuf.UInt64Value;
import io.rund.cli.RundClient;
import io.rund.proto.v1.DeleteRequest;
import io.rund.proto.v1.JobEvent;
import io.rund.proto.v1.JobEventType;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.Limits;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import io.rund.proto.v1.WatchRequest;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Live OOM-kill and pids.max events through the real API against real cgroups (the VM suite; a host without the
 * memory or pids controller skips, saying so): a child the OOM killer ends shows as OOM_KILL while the job still runs,
 * a main process it ends shows as OOM_KILL before EXITED (Status says oom_killed), each kill once; forks refused at
 * pids.max show as PIDS_MAX while the job runs, their counts adding up to pids.events. Each job's Watch ends (OK) after
 * its REMOVED event.
 */
class LiveEventsTest {
    private static final long MIB = 1L << 20;
    private static final long MEMORY_MAX = 48 * MIB;
    /** Touches every page of 200 MiB, far past {@link #MEMORY_MAX}: the OOM killer ends it. */
    private static final String ALLOCATE = "python3 -c 'b = bytearray(200 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1'";
    private static final int PIDS_MAX = 5;
    private static final int FORKS = 8;
    /** One python process and FORKS tries: PIDS_MAX - 1 children fit, the rest are refused. */
    private static final int REFUSED_FORKS = FORKS - (PIDS_MAX - 1);
    private static final String FORK_PAST_THE_LIMIT = "import os, time\n"
            + "for i in range(" + FORKS + "):\n"
            + "    try:\n"
            + "        if os.fork() == 0:\n"
            + "            time.sleep(600)\n"
            + "            os._exit(0)\n"
            + "    except OSError:\n"
            + "        pass\n"
            + "time.sleep(600)\n";

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    /**
     * The shared connection's first call under a generous deadline: under software emulation (the VM) a cold client's
     * first P-521 handshake and call can take longer than a unary call's deadline.
     */
    @BeforeAll
    static void connect() {
        for (int attempt = 1; ; attempt++) {
            try {
                rund.shared("alice").status(StatusRequest.newBuilder().setJobId(UNKNOWN_JOB).build(), LogReads.HANG_GUARD);
                throw new AssertionError("job " + UNKNOWN_JOB + " was found");
            } catch (io.grpc.StatusRuntimeException e) {
                if (e.getStatus().getCode() == io.grpc.Status.Code.NOT_FOUND) {
                    return;
                }
                // A handshake that timed out on a host loaded enough to starve the emulated CPU: try again, a few times.
                if (attempt == CONNECT_ATTEMPTS || e.getStatus().getCode() != io.grpc.Status.Code.UNAVAILABLE) {
                    throw e;
                }
            }
        }
    }

    private static final String UNKNOWN_JOB = "01JZZZZZZZZZZZZZZZZZZZZZZZ";
    private static final int CONNECT_ATTEMPTS = 4;

    @Test
    void aChildKilledForMemoryIsAnOomKillEventWhileTheJobRunsAndIsNotPublishedAgainAtItsEnd() throws Exception {
        assumeController("memory");
        RundClient alice = rund.shared("alice");
        String id = start(alice, ALLOCATE + "; echo survived; exec sleep 600", memoryLimits());
        List<JobEvent> events = new ArrayList<>();
        Iterator<JobEvent> stream = watch(alice, id);

        JobEvent kill = until(stream, events, JobEventType.JOB_EVENT_TYPE_OOM_KILL);
        assertEquals(JobState.JOB_STATE_RUNNING, alice.status(StatusRequest.newBuilder().setJobId(id).build())
                .getStatus().getState(), "the shell outlives its killed child: the event came while the job ran");
        assertTrue(kill.getDetail().startsWith("1 process killed"), kill.getDetail());

        alice.stop(StopRequest.newBuilder().setJobId(id).build());
        alice.delete(DeleteRequest.newBuilder().setJobId(id).build());
        stream.forEachRemaining(events::add); // the watch ends after REMOVED

        assertEquals(List.of(JobEventType.JOB_EVENT_TYPE_STARTED, JobEventType.JOB_EVENT_TYPE_OOM_KILL,
                JobEventType.JOB_EVENT_TYPE_STOPPING, JobEventType.JOB_EVENT_TYPE_EXITED,
                JobEventType.JOB_EVENT_TYPE_REMOVED), types(events), "one OOM_KILL, live, none again at the end");
        assertTrue(ofType(events, JobEventType.JOB_EVENT_TYPE_EXITED).getStatus().getOomKilled(),
                "the final status says the OOM killer acted");
    }

    @Test
    void aMainProcessKilledForMemoryIsAnOomKillEventBeforeItsExit() throws Exception {
        assumeController("memory");
        RundClient alice = rund.shared("alice");
        String id = start(alice, "exec " + ALLOCATE, memoryLimits());
        List<JobEvent> events = new ArrayList<>();
        Iterator<JobEvent> stream = watch(alice, id);

        until(stream, events, JobEventType.JOB_EVENT_TYPE_EXITED);
        assertTrue(alice.status(StatusRequest.newBuilder().setJobId(id).build()).getStatus().getOomKilled(),
                "Status says oom_killed");
        alice.delete(DeleteRequest.newBuilder().setJobId(id).build());
        stream.forEachRemaining(events::add);

        assertEquals(List.of(JobEventType.JOB_EVENT_TYPE_STARTED, JobEventType.JOB_EVENT_TYPE_OOM_KILL,
                JobEventType.JOB_EVENT_TYPE_EXITED, JobEventType.JOB_EVENT_TYPE_REMOVED), types(events));
        assertEquals(9, ofType(events, JobEventType.JOB_EVENT_TYPE_EXITED).getStatus().getSignal().getValue(), "SIGKILL");
    }

    @Test
    void forksRefusedAtPidsMaxArePidsMaxEventsWhileTheJobRuns() throws Exception {
        assumeController("pids");
        RundClient alice = rund.shared("alice");
        String id = alice.start(StartRequest.newBuilder().setCommand("python3").addArgs("-c").addArgs(FORK_PAST_THE_LIMIT)
                .setLimits(Limits.newBuilder().setPidsMax(Int64Value.of(PIDS_MAX))).build()).getJobId();
        Path cgroup = rund.subtree().resolve(id);
        List<JobEvent> events = new ArrayList<>();
        Iterator<JobEvent> stream = watch(alice, id);

        until(stream, events, JobEventType.JOB_EVENT_TYPE_PIDS_MAX);
        assertEquals(JobState.JOB_STATE_RUNNING, alice.status(StatusRequest.newBuilder().setJobId(id).build())
                .getStatus().getState(), "the event came while the job ran");
        LogReads.until(() -> refusedForks(cgroup) == REFUSED_FORKS, cgroup + "/pids.events max reaching " + REFUSED_FORKS);
        alice.stop(StopRequest.newBuilder().setJobId(id).build());
        alice.delete(DeleteRequest.newBuilder().setJobId(id).build());
        stream.forEachRemaining(events::add);

        long published = events.stream().filter(e -> e.getType() == JobEventType.JOB_EVENT_TYPE_PIDS_MAX)
                .mapToLong(e -> Long.parseLong(e.getDetail().split(" ", 2)[0])).sum();
        assertEquals(REFUSED_FORKS, published, "the PIDS_MAX counts add up to pids.events max: " + events);
        assertEquals(JobEventType.JOB_EVENT_TYPE_REMOVED, events.getLast().getType());
        assertFalse(types(events).subList(types(events).indexOf(JobEventType.JOB_EVENT_TYPE_EXITED), events.size())
                .contains(JobEventType.JOB_EVENT_TYPE_PIDS_MAX), "no PIDS_MAX after the exit");
    }

    private static Limits memoryLimits() {
        return Limits.newBuilder().setMemoryMaxBytes(Int64Value.of(MEMORY_MAX))
                .setMemorySwapMaxBytes(Int64Value.of(0)).build();
    }

    private static String start(RundClient client, String shell, Limits limits) {
        return client.start(StartRequest.newBuilder().setCommand("sh").addArgs("-c").addArgs(shell).setLimits(limits)
                .build()).getJobId();
    }

    /** The job's events from the first the host keeps (its STARTED included), for as long as the test reads. */
    private static Iterator<JobEvent> watch(RundClient client, String id) {
        return client.watch(WatchRequest.newBuilder().setJobId(id).setAfterSequence(UInt64Value.of(0)).build(),
                LogReads.HANG_GUARD);
    }

    /** Reads events into {@code events} until one of {@code type}, which it returns. */
    private static JobEvent until(Iterator<JobEvent> stream, List<JobEvent> events, JobEventType type) {
        while (stream.hasNext()) {
            JobEvent event = stream.next();
            events.add(event);
            if (event.getType() == type) {
                return event;
            }
        }
        throw new AssertionError("the watch ended without a " + type + " event: " + types(events));
    }

    private static List<JobEventType> types(List<JobEvent> events) {
        return events.stream().map(JobEvent::getType).toList();
    }

    private static JobEvent ofType(List<JobEvent> events, JobEventType type) {
        return events.stream().filter(e -> e.getType() == type).findFirst()
                .orElseThrow(() -> new AssertionError("no " + type + " in " + types(events)));
    }

    private static long refusedForks(Path cgroup) {
        try {
            for (String line : Files.readAllLines(cgroup.resolve("pids.events"))) {
                if (line.startsWith("max ")) {
                    return Long.parseLong(line.substring(4).strip());
                }
            }
            return 0;
        } catch (java.io.IOException e) {
            throw new AssertionError("cannot read " + cgroup + "/pids.events", e);
        }
    }

    private static void assumeController(String controller) throws Exception {
        String offered = Files.readString(rund.subtree().resolve("cgroup.subtree_control")).strip();
        Assumptions.assumeTrue(List.of(offered.split(" ")).contains(controller), "skipped: the host's cgroup v2 tree does"
                + " not delegate the " + controller + " controller (a hybrid host); the VM suite runs this");
    }
}
