package io.rund.cluster;

import io.rund.logs.Deflated;
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

    /**
     * One output record, as the owner's log holds it (at most 64 KiB of bytes: well under Artery's frame size): its
     * {@code bytes}, or, when the follower's node asked for it and the output compresses, {@code deflated} with the
     * {@code crc32} and {@code length} of the bytes (see {@link Deflated}), which the follower's node sends on as its
     * clients' gzip messages without inflating them. A frame from a node that predates compression has bytes only.
     */
    record Output(long offset, long timestampNanos, LogStream stream, byte[] bytes, byte[] deflated, int crc32, int length)
            implements LogFrame {
        public Output {
            Objects.requireNonNull(stream, "stream");
            if ((bytes == null) == (deflated == null)) {
                throw new IllegalArgumentException("an output frame carries its bytes or their deflated form, one of the two");
            }
            if (bytes != null) {
                crc32 = 0;
                length = bytes.length;
            }
        }

        /** The record as it crosses: deflated if {@code compressed} and that is worth it, else its bytes. */
        static Output of(LogRecord record, boolean compressed) {
            Instant at = record.timestamp();
            long nanos = Math.addExact(Math.multiplyExact(at.getEpochSecond(), 1_000_000_000L), at.getNano());
            Deflated output = compressed ? record.deflated() : null;
            return output == null
                    ? new Output(record.offset(), nanos, record.stream(), record.bytes(), null, 0, 0)
                    : new Output(record.offset(), nanos, record.stream(), null, output.deflate(), output.crc32(), output.length());
        }

        LogRecord toRecord() {
            Instant at = Instant.ofEpochSecond(Math.floorDiv(timestampNanos, 1_000_000_000L),
                    Math.floorMod(timestampNanos, 1_000_000_000L));
            return bytes != null ? new LogRecord(offset, at, stream, bytes)
                    : LogRecord.compressed(offset, at, stream, new Deflated(deflated, crc32, length));
        }

        /** The bytes this frame carries across: the deflated form's if it has one. */
        int wireBytes() {
            return bytes != null ? bytes.length : deflated.length;
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
