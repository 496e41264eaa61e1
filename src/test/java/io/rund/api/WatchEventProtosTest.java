package io.rund.api;

import io.rund.job.JobEvent;
import io.rund.job.JobControlState;
import io.rund.job.JobEventType;
import io.rund.job.JobSpec;
import io.rund.job.JobState;
import io.rund.job.JobStatus;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

class WatchEventProtosTest {

    private static final Instant NOW = Instant.parse("2026-12-06T01:00:00Z");
    private static final long SEQUENCE = 1_780_000_000_000_000L;

    private static JobEvent event(long sequence, String jobId) {
        JobSpec spec = JobSpec.of("sleep", "1");
        JobStatus status = new JobStatus(jobId, spec.command(), spec.args(), JobState.FROZEN, null, null, null, null,
                false, false, false, NOW, null, null, null, null, null, JobControlState.NONE, spec.labels());
        return new JobEvent(sequence, JobEventType.FROZEN, jobId, status, NOW, "", Set.of("DNS:alice"));
    }

    @Test
    void everyWatcherOfAnEventGetsOneProtoEqualToItsOwnMapping() {
        WatchEventProtos protos = new WatchEventProtos();
        JobEvent event = event(SEQUENCE, "01M94DR8BYHWP0WZATJKV21MA0");
        io.rund.proto.v1.JobEvent first = protos.toProto(event, "");
        assertEquals(ProtoMapping.toProto(event, ""), first);
        assertSame(first, protos.toProto(event, ""), "a second watcher of the same event shares the first's proto");
    }

    @Test
    void anotherEventInTheSameSlotOrAnotherHostIsMappedAfresh() {
        WatchEventProtos protos = new WatchEventProtos();
        JobEvent event = event(SEQUENCE, "01M94DR8BYHWP0WZATJKV21MA0");
        io.rund.proto.v1.JobEvent local = protos.toProto(event, "");
        io.rund.proto.v1.JobEvent named = protos.toProto(event, "node2");
        assertEquals("node2", named.getHost());
        assertNotSame(local, named);
        // A relayed copy (equal, not the same object) and an event whose sequence shares the slot: each its own.
        JobEvent copy = event(SEQUENCE, "01M94DR8BYHWP0WZATJKV21MA0");
        assertEquals(ProtoMapping.toProto(copy, "node2"), protos.toProto(copy, "node2"));
        JobEvent later = event(SEQUENCE + 256 * 4, "01M94DR8BYHWP0WZATJKV21MA1");
        io.rund.proto.v1.JobEvent laterProto = protos.toProto(later, "node2");
        assertEquals(later.sequence(), laterProto.getSequence());
        assertEquals("01M94DR8BYHWP0WZATJKV21MA1", laterProto.getJobId());
    }
}
