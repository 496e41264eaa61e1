package io.rund.logs;

import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;

/**
 * A run of output bytes from one stream of a job, as read back from its log. {@code offset} is the logical
 * position of {@code bytes[0]} in the job's output, counted over both streams together, so consecutive records
 * returned by a read are contiguous. The array belongs to the record: readers must not modify it.
 */
public record LogRecord(long offset, Instant timestamp, LogStream stream, byte[] bytes) {

    public LogRecord {
        if (offset < 0) {
            throw new IllegalArgumentException("offset must be >= 0, was " + offset);
        }
        Objects.requireNonNull(timestamp, "timestamp");
        Objects.requireNonNull(stream, "stream");
        Objects.requireNonNull(bytes, "bytes");
    }

    /** The logical offset just past this record's last byte: where the next record starts. */
    public long endOffset() {
        return offset + bytes.length;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof LogRecord that
                && offset == that.offset
                && timestamp.equals(that.timestamp)
                && stream == that.stream
                && Arrays.equals(bytes, that.bytes);
    }

    @Override
    public int hashCode() {
        return Objects.hash(offset, timestamp, stream, Arrays.hashCode(bytes));
    }

    @Override
    public String toString() {
        return "LogRecord[offset=" + offset + ", timestamp=" + timestamp + ", stream=" + stream
                + ", length=" + bytes.length + "]";
    }
}
