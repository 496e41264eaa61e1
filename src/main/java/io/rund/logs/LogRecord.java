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
 * point of the log, so what readers derive from it (its output {@link #deflated}, the API's compressed message) is
 * derived once for all of them ({@link #derived}). A record made for one reader (a part of a shared one) is not, and
 * keeps nothing. A record that crossed from another node came compressed ({@link #compressed}): its bytes are
 * inflated only if a reader asks for them.
 */
public final class LogRecord {

    private static final VarHandle DERIVED;

    /** What {@link #deflated} keeps when the output is not worth compressing. */
    private static final Object NOT_DEFLATED = new Object();

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
    private final int length;
    /** The output; for a record that came compressed, null until a reader asks for it. */
    private volatile byte[] bytes;
    private final boolean shared;
    /** Deflated, NOT_DEFLATED, or null: not known yet (a shared record) or not to be made (a record of one reader). */
    private volatile Object deflated;
    @SuppressWarnings("unused") // through DERIVED
    private volatile Object derived;

    /** A record for one reader. */
    public LogRecord(long offset, Instant timestamp, LogStream stream, byte[] bytes) {
        this(offset, timestamp, stream, Objects.requireNonNull(bytes, "bytes").length, bytes, null, false);
    }

    private LogRecord(long offset, Instant timestamp, LogStream stream, int length, byte[] bytes, Deflated deflated,
                      boolean shared) {
        if (offset < 0) {
            throw new IllegalArgumentException("offset must be >= 0, was " + offset);
        }
        this.offset = offset;
        this.timestamp = Objects.requireNonNull(timestamp, "timestamp");
        this.stream = Objects.requireNonNull(stream, "stream");
        this.length = length;
        this.bytes = bytes;
        this.deflated = deflated;
        this.shared = shared;
    }

    /** A record that may reach many readers as one object: as read from a log file into the read cache. */
    public static LogRecord shared(long offset, Instant timestamp, LogStream stream, byte[] bytes) {
        return new LogRecord(offset, timestamp, stream, Objects.requireNonNull(bytes, "bytes").length, bytes, null, true);
    }

    /** A record for one reader that arrived compressed (from another node): its bytes are inflated when asked for. */
    public static LogRecord compressed(long offset, Instant timestamp, LogStream stream, Deflated output) {
        return new LogRecord(offset, timestamp, stream, output.length(), null, output, false);
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

    /** The output (inflated on the first call for a record that came compressed). */
    public byte[] bytes() {
        byte[] known = bytes;
        if (known == null) {
            known = ((Deflated) deflated).inflate();
            bytes = known;
        }
        return known;
    }

    /** How many bytes of output the record holds. */
    public int length() {
        return length;
    }

    /**
     * The output deflated, or null when it is not worth it. A shared record compresses its bytes on the first call
     * and keeps the result for every reader; a record that came compressed has it already; any other record, made for
     * one reader, answers null (compressing it would be work for one message only).
     */
    public Deflated deflated() {
        Object known = deflated;
        if (known == null && shared) {
            Deflated made = Deflated.of(bytes);
            known = made == null ? NOT_DEFLATED : made;
            deflated = known;
        }
        return known instanceof Deflated output ? output : null;
    }

    /** Whether the same object may reach many readers (see the class comment). */
    public boolean shared() {
        return shared;
    }

    /** The logical offset just past this record's last byte: where the next record starts. */
    public long endOffset() {
        return offset + length;
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
                && Arrays.equals(bytes(), that.bytes());
    }

    @Override
    public int hashCode() {
        return Objects.hash(offset, timestamp, stream, Arrays.hashCode(bytes()));
    }

    @Override
    public String toString() {
        return "LogRecord[offset=" + offset + ", timestamp=" + timestamp + ", stream=" + stream
                + ", length=" + length + "]";
    }
}
