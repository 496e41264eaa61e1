package io.rund.logs;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A run of output bytes from one stream of a job, as read back from its log. {@code offset} is the logical
 * position of {@code bytes[0]} in the job's output, counted over both streams together, so consecutive records
 * returned by a read are contiguous. The array belongs to the record: readers must not modify it.
 * <p>
 * A record read from a log file is <em>shared</em>: the read cache hands the same object to every follower at that
 * point of the log, so what a reader derives from it (the API's compressed message) can be derived once for all of
 * them ({@link #derived}). A record made for one reader (a part of a shared one, a record from another node) is
 * not, and keeps nothing.
 */
public final class LogRecord {

    private static final VarHandle DERIVED;

    static {
        try {
            DERIVED = MethodHandles.lookup().findVarHandle(LogRecord.class, "derived", Object.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long offset;
    private final Instant timestamp;
    private final LogStream stream;
    private final byte[] bytes;
    private final boolean shared;
    @SuppressWarnings("unused") // through DERIVED
    private volatile Object derived;

    /** A record for one reader. */
    public LogRecord(long offset, Instant timestamp, LogStream stream, byte[] bytes) {
        this(offset, timestamp, stream, bytes, false);
    }

    private LogRecord(long offset, Instant timestamp, LogStream stream, byte[] bytes, boolean shared) {
        if (offset < 0) {
            throw new IllegalArgumentException("offset must be >= 0, was " + offset);
        }
        this.offset = offset;
        this.timestamp = Objects.requireNonNull(timestamp, "timestamp");
        this.stream = Objects.requireNonNull(stream, "stream");
        this.bytes = Objects.requireNonNull(bytes, "bytes");
        this.shared = shared;
    }

    /** A record that may reach many readers as one object: as read from a log file into the read cache. */
    public static LogRecord shared(long offset, Instant timestamp, LogStream stream, byte[] bytes) {
        return new LogRecord(offset, timestamp, stream, bytes, true);
    }

    public long offset() {
        return offset;
    }

    public Instant timestamp() {
        return timestamp;
    }

    public LogStream stream() {
        return stream;
    }

    public byte[] bytes() {
        return bytes;
    }

    /** Whether the same object may reach many readers (see the class comment). */
    public boolean shared() {
        return shared;
    }

    /** The logical offset just past this record's last byte: where the next record starts. */
    public long endOffset() {
        return offset + bytes.length;
    }

    /**
     * What {@code derive} makes of this shared record, made by the first reader that asks and kept with the record
     * for the others (a race may make it twice; one of the two is kept and returned to all). Only for shared records:
     * a record of one reader has no others to keep it for.
     */
    @SuppressWarnings("unchecked")
    public <T> T derived(Supplier<T> derive) {
        if (!shared) {
            throw new IllegalStateException("only a shared record keeps what is derived from it");
        }
        Object known = DERIVED.getAcquire(this);
        if (known == null) {
            Object made = Objects.requireNonNull(derive.get(), "derived");
            Object witness = DERIVED.compareAndExchangeRelease(this, null, made);
            known = witness == null ? made : witness;
        }
        return (T) known;
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
