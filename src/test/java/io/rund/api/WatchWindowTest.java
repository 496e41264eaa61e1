package io.rund.api;

import com.google.protobuf.UInt64Value;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobEvent;
import io.rund.proto.v1.WatchRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.Iterator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Watch resuming from a sequence its host no longer keeps is refused with OUT_OF_RANGE and the oldest sequence kept
 * in the trailing metadata, never silently continued with a gap; so is a sequence that is not this daemon's.
 */
class WatchWindowTest {

    private static final int RING = 4;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture("rund.events.ring-size = " + RING + "\nrund.events.batch = 2");

    @Test
    void aResumePastTheRingIsOutOfRangeWithTheOldestKept() throws Exception {
        RundClient alice = rund.shared("alice");
        long first;
        try (RundClient watcher = rund.client("alice")) {
            Iterator<JobEvent> events = watcher.watch(WatchRequest.newBuilder().build(), LogReads.HANG_GUARD);
            String id = LogReads.start(alice, "true");
            first = events.next().getSequence();
            LogReads.awaitEnd(alice, id);
        }
        for (int i = 0; i < RING; i++) {
            LogReads.awaitEnd(alice, LogReads.start(alice, "true")); // 2 events each: the ring moves past `first`
        }
        long oldest;
        try (RundClient watcher = rund.client("alice")) {
            oldest = watcher.watch(WatchRequest.newBuilder().setAfterSequence(UInt64Value.of(0)).build(), LogReads.HANG_GUARD)
                    .next().getSequence();
        }
        assertTrue(oldest > first + 1, "the ring moved on: " + first + " -> " + oldest);

        try (RundClient watcher = rund.client("alice")) {
            StatusRuntimeException gone = LogReads.failure(() -> watcher.watch(WatchRequest.newBuilder()
                    .setAfterSequence(UInt64Value.of(first)).build(), LogReads.HANG_GUARD).hasNext());
            assertEquals(Status.Code.OUT_OF_RANGE, gone.getStatus().getCode());
            assertEquals(Long.toString(oldest), gone.getTrailers().get(
                    Metadata.Key.of(JobServiceImpl.RETAINED_FROM_KEY, Metadata.ASCII_STRING_MARSHALLER)));
            assertTrue(gone.getStatus().getDescription().contains("rund.events.ring-size"), gone.getStatus().getDescription());

            StatusRuntimeException ahead = LogReads.failure(() -> watcher.watch(WatchRequest.newBuilder()
                    .setAfterSequence(UInt64Value.of(oldest + 1_000_000)).build(), LogReads.HANG_GUARD).hasNext());
            assertEquals(Status.Code.OUT_OF_RANGE, ahead.getStatus().getCode());
            assertTrue(ahead.getStatus().getDescription().contains("another daemon"), ahead.getStatus().getDescription());
        }
    }
}
