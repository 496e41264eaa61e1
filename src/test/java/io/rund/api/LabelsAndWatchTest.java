package io.rund.api;

import com.google.protobuf.UInt64Value;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobEvent;
import io.rund.proto.v1.JobEventType;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.ListResponse;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.WatchRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Labels, List's label selector and the Watch stream against a real rund: labels are validated with the rule named,
 * shown in Status and List; a selector filters across pages; a watcher that disconnects after N events and resumes
 * from N's sequence gets exactly the rest; events of jobs a caller may not see never reach it.
 */
class LabelsAndWatchTest {

    private static final int MAX_LABELS = 4;
    private static final int PAGE = 2;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture(String.join("\n",
            "rund.labels.max-count = " + MAX_LABELS,
            "rund.jobs.list-page-size = " + PAGE,
            "rund.jobs.max-list-page-size = " + PAGE,
            "rund.jobs.list-scan-budget = " + PAGE));

    /** A label value no other test uses, so that each test selects its own jobs. */
    private static String unique() {
        return "t" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }

    private static String start(RundClient client, Map<String, String> labels, String shell) {
        return client.start(StartRequest.newBuilder().setCommand("sh").addArgs("-c").addArgs(shell).putAllLabels(labels)
                .build()).getJobId();
    }

    @Test
    void labelsAreShownInStatusAndList() throws Exception {
        RundClient alice = rund.shared("alice");
        String run = unique();
        Map<String, String> labels = Map.of("run", run, "example.com/team", "ci", "empty", "");
        String id = start(alice, labels, "true");
        JobStatus status = alice.status(StatusRequest.newBuilder().setJobId(id).setWaitForEnd(true).build()).getStatus();
        assertEquals(labels, status.getLabelsMap());
        ListResponse listed = alice.list(ListRequest.newBuilder().setLabelSelector("run=" + run).build());
        assertEquals(List.of(id), listed.getJobsList().stream().map(JobStatus::getId).toList());
        assertEquals(labels, listed.getJobs(0).getLabelsMap());
    }

    @Test
    void badLabelsAreRefusedNamingTheKeyAndTheRule() {
        RundClient alice = rund.shared("alice");
        StatusRuntimeException badKey = LogReads.failure(() -> start(alice, Map.of("-app", "x"), "true"));
        assertEquals(Status.Code.INVALID_ARGUMENT, badKey.getStatus().getCode());
        assertTrue(badKey.getStatus().getDescription().contains("-app")
                && badKey.getStatus().getDescription().contains("starting and ending"), badKey.getStatus().getDescription());
        StatusRuntimeException badValue = LogReads.failure(() -> start(alice, Map.of("app", "v".repeat(64)), "true"));
        assertEquals(Status.Code.INVALID_ARGUMENT, badValue.getStatus().getCode());
        assertTrue(badValue.getStatus().getDescription().contains("labels[app]")
                && badValue.getStatus().getDescription().contains("63"), badValue.getStatus().getDescription());
        Map<String, String> tooMany = new HashMap<>();
        for (int i = 0; i <= MAX_LABELS; i++) {
            tooMany.put("k" + i, "v");
        }
        StatusRuntimeException count = LogReads.failure(() -> start(alice, tooMany, "true"));
        assertEquals(Status.Code.INVALID_ARGUMENT, count.getStatus().getCode());
        assertTrue(count.getStatus().getDescription().contains("rund.labels.max-count"), count.getStatus().getDescription());
    }

    @Test
    void aSelectorFiltersAcrossPagesAndABadOneNamesItsPosition() throws Exception {
        RundClient alice = rund.shared("alice");
        String run = unique();
        Set<String> wanted = new java.util.HashSet<>();
        for (int i = 0; i < 7; i++) {
            String id = start(alice, Map.of("run", run, "kind", i % 2 == 0 ? "x" : "y"), "true");
            if (i % 2 == 0) {
                wanted.add(id);
            }
        }
        for (String form : List.of("run=" + run + ",kind=x", "run=" + run + ",kind in (x, z)", "run==" + run + ",kind notin (y)",
                "run=" + run + ",kind!=y")) {
            List<String> listed = new ArrayList<>();
            String token = "";
            int pages = 0;
            do {
                ListResponse page = alice.list(ListRequest.newBuilder().setLabelSelector(form).setPageToken(token).build());
                page.getJobsList().forEach(job -> listed.add(job.getId()));
                token = page.getNextPageToken();
                pages++;
            } while (!token.isEmpty());
            assertEquals(wanted, Set.copyOf(listed), form);
            assertEquals(wanted.size(), listed.size(), "each once: " + form);
            assertTrue(pages > wanted.size() / PAGE, "several pages of " + PAGE + ": " + pages);
        }
        StatusRuntimeException bad = LogReads.failure(() -> alice.list(ListRequest.newBuilder().setLabelSelector("kind in x").build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode());
        assertTrue(bad.getStatus().getDescription().contains("label_selector")
                && bad.getStatus().getDescription().contains("position 8"), bad.getStatus().getDescription());
    }

    @Test
    void aWatcherResumingFromItsLastSequenceGetsExactlyTheRest() throws Exception {
        RundClient alice = rund.shared("alice");
        String run = unique();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(start(alice, Map.of("run", run), "exit " + i));
        }
        for (String id : ids) {
            LogReads.awaitEnd(alice, id);
        }
        WatchRequest selected = WatchRequest.newBuilder().setLabelSelector("run=" + run).build();
        List<JobEvent> all = take(selected.toBuilder().setAfterSequence(UInt64Value.of(0)).build(), 6);
        assertEquals(Set.copyOf(ids), all.stream().map(JobEvent::getJobId).collect(Collectors.toSet()));
        for (String id : ids) {
            assertEquals(List.of(JobEventType.JOB_EVENT_TYPE_STARTED, JobEventType.JOB_EVENT_TYPE_EXITED),
                    all.stream().filter(e -> e.getJobId().equals(id)).map(JobEvent::getType).toList(), "events of " + id);
        }
        JobEvent lastExit = all.stream().filter(e -> e.getType() == JobEventType.JOB_EVENT_TYPE_EXITED).reduce((a, b) -> b).orElseThrow();
        assertTrue(lastExit.getStatus().hasExitCode() && lastExit.getStatus().getLabelsMap().equals(Map.of("run", run)));

        // A watcher that disconnects after 2 events and resumes from the second's sequence.
        List<JobEvent> firstTwo = take(selected.toBuilder().setAfterSequence(UInt64Value.of(0)).build(), 2);
        List<JobEvent> rest = take(selected.toBuilder().setAfterSequence(UInt64Value.of(firstTwo.getLast().getSequence())).build(), 4);
        List<JobEvent> resumed = new ArrayList<>(firstTwo);
        resumed.addAll(rest);
        assertEquals(all, resumed, "no gap, no duplicate");
        for (int i = 1; i < all.size(); i++) {
            assertTrue(all.get(i).getSequence() > all.get(i - 1).getSequence(), "sequences grow");
        }
        // Live: a new job's events reach a watcher that waits for them.
        try (RundClient watcher = rund.client("alice")) {
            Iterator<JobEvent> live = watcher.watch(selected.toBuilder().setAfterSequence(UInt64Value.of(all.getLast().getSequence())).build(),
                    LogReads.HANG_GUARD);
            String later = start(alice, Map.of("run", run), "true");
            JobEvent started = live.next();
            assertEquals(later, started.getJobId());
            assertEquals(JobEventType.JOB_EVENT_TYPE_STARTED, started.getType());
            assertEquals(JobEventType.JOB_EVENT_TYPE_EXITED, live.next().getType());
        }
    }

    @Test
    void eventsOfJobsACallerMayNotSeeNeverReachIt() throws Exception {
        RundClient alice = rund.shared("alice");
        String run = unique();
        String id = start(alice, Map.of("run", run), "true");
        LogReads.awaitEnd(alice, id);
        try (RundClient carol = rund.client("carol")) {
            StatusRuntimeException notFound = LogReads.failure(() -> carol.watch(WatchRequest.newBuilder().setJobId(id).build()).hasNext());
            assertEquals(Status.Code.NOT_FOUND, notFound.getStatus().getCode());
            Iterator<JobEvent> none = carol.watch(WatchRequest.newBuilder().setLabelSelector("run=" + run)
                    .setAfterSequence(UInt64Value.of(0)).build(), Duration.ofSeconds(3));
            StatusRuntimeException ended = LogReads.failure(none::hasNext);
            assertEquals(Status.Code.DEADLINE_EXCEEDED, ended.getStatus().getCode(), "no event of alice's job came first");
        }
        assertFalse(take(WatchRequest.newBuilder().setJobId(id).setAfterSequence(UInt64Value.of(0)).build(), 2).isEmpty());
    }

    /** The first {@code count} events of a new Watch as alice, on a connection closed afterwards (the client leaves). */
    private static List<JobEvent> take(WatchRequest request, int count) throws Exception {
        try (RundClient watcher = rund.client("alice")) {
            Iterator<JobEvent> events = watcher.watch(request, LogReads.HANG_GUARD);
            List<JobEvent> taken = new ArrayList<>();
            while (taken.size() < count) {
                taken.add(events.next());
            }
            return taken;
        }
    }
}
