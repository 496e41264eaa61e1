package io.rund.cluster;

import io.rund.logs.LogRecord;
import io.rund.logs.LogStream;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What a {@link LogRelay} carries from the node that owns a job to the node its follower is connected to: output
 * records (batched: {@link Outputs}), or, as the last frame, the reason the owner's follower ended early. Stream-ref
 * failures cross between nodes only as a string, so the errors a client must act on (a dropped offset, a follower
 * cap) travel as frames.
 */
public sealed interface LogFrame extends NodeMessage {

    /** One output record, as the owner's log holds it (at most 64 KiB of bytes: well under Artery's frame size). */
    record Output(long offset, long timestampNanos, LogStream stream, byte[] bytes) implements LogFrame {
        public Output {
            Objects.requireNonNull(stream, "stream");
            Objects.requireNonNull(bytes, "bytes");
        }

        static Output of(LogRecord record) {
            Instant at = record.timestamp();
            return new Output(record.offset(), Math.addExact(Math.multiplyExact(at.getEpochSecond(), 1_000_000_000L),
                    at.getNano()), record.stream(), record.bytes());
        }

        LogRecord toRecord() {
            Instant at = Instant.ofEpochSecond(Math.floorDiv(timestampNanos, 1_000_000_000L),
                    Math.floorMod(timestampNanos, 1_000_000_000L));
            return new LogRecord(offset, at, stream, bytes);
        }
    }

    /** The follower reached output dropped to keep the log within its caps (OUT_OF_RANGE on the API). */
    record OffsetDropped(long requestedOffset, long firstRetainedOffset) implements LogFrame {}

    /** The owner refused the follower: a follower cap of the job or of the client is reached (RESOURCE_EXHAUSTED). */
    record FollowerRefused(String message) implements LogFrame {}

    /** The owner failed to read its log (an I/O error): the follower ends with this message. */
    record ReadFailed(String message) implements LogFrame {}

    /**
     * Consecutive output records in one frame (up to {@link LogRelay#MAX_FRAME_PAYLOAD_BYTES}, 128 KiB, of bytes, one record
     * if a single one is larger), each kept whole: its offset, stream and time. The per-message costs of crossing
     * (serializer, Artery envelope, stream-ref demand) are paid per frame rather than per record.
     */
    record Outputs(List<Output> records) implements LogFrame {
        public Outputs {
            records = List.copyOf(records);
        }
    }
}
