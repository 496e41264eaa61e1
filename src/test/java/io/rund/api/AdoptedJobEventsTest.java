package io.rund.api;

import com.google.protobuf.UInt64Value;
import io.rund.cli.RundClient;
import io.rund.job.JobRegistry;
import io.rund.proto.v1.DeleteRequest;
import io.rund.proto.v1.JobEvent;
import io.rund.proto.v1.JobEventType;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.PauseRequest;
import io.rund.proto.v1.StopRequest;
import io.rund.proto.v1.WatchRequest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Watch across a restart: the daemon that adopts a running job (and a frozen one) publishes STARTED for each exactly
 * once, its detail saying it was adopted (a frozen one then FROZEN), and each job's watch ends after its REMOVED event.
 */
class AdoptedJobEventsTest {

    @Test
    void anAdoptedJobIsStartedOnceSayingSoAndItsWatchEndsAfterItsRemoval() throws Exception {
        try (AdoptingDaemons daemons = AdoptingDaemons.start(Map.of())) {
            String running;
            String paused;
            try (RundClient alice = daemons.current().client("alice")) {
                running = LogReads.start(alice, "sleep 300");
                paused = LogReads.start(alice, "sleep 300");
                LogReads.until(() -> LogReads.status(alice, paused).getState() == JobState.JOB_STATE_RUNNING, "the job runs");
                alice.pause(PauseRequest.newBuilder().setJobId(paused).build());
            }
            DaemonProcess next = daemons.killAndAdopt();

            try (RundClient alice = next.client("alice")) {
                assertEquals(List.of(JobEventType.JOB_EVENT_TYPE_STARTED, JobEventType.JOB_EVENT_TYPE_STOPPING,
                        JobEventType.JOB_EVENT_TYPE_EXITED, JobEventType.JOB_EVENT_TYPE_REMOVED),
                        typesUntilRemoved(alice, running));
                assertEquals(List.of(JobEventType.JOB_EVENT_TYPE_STARTED, JobEventType.JOB_EVENT_TYPE_FROZEN,
                        JobEventType.JOB_EVENT_TYPE_STOPPING, JobEventType.JOB_EVENT_TYPE_EXITED,
                        JobEventType.JOB_EVENT_TYPE_REMOVED), typesUntilRemoved(alice, paused));
            }
        }
    }

    /**
     * Watches the job from the oldest event kept, stops and deletes it once the watch has delivered its first event
     * (so the watch was open before the job went), and reads on to the end of the watch, which must end by itself;
     * checks the STARTED detail on the way.
     */
    private static List<JobEventType> typesUntilRemoved(RundClient alice, String id) {
        Iterator<JobEvent> stream = alice.watch(WatchRequest.newBuilder().setJobId(id)
                .setAfterSequence(UInt64Value.of(0)).build(), LogReads.HANG_GUARD);
        List<JobEvent> events = new ArrayList<>();
        events.add(stream.next());
        alice.stop(StopRequest.newBuilder().setJobId(id).build());
        alice.delete(DeleteRequest.newBuilder().setJobId(id).build());
        stream.forEachRemaining(events::add);
        events.stream().filter(e -> e.getType() == JobEventType.JOB_EVENT_TYPE_STARTED)
                .forEach(e -> assertEquals(JobRegistry.ADOPTED_DETAIL, e.getDetail()));
        return events.stream().map(JobEvent::getType).toList();
    }
}
