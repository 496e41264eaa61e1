package io.rund.logs;

import static io.rund.logs.LogFormat.MAX_RECORD_BYTES;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One job's output log, shared by its one {@link LogWriter} and all its readers: an append-only file of records
 * {offset, timestamp, stream, bytes} (see {@link LogFormat}), a sparse in-memory index, the retained segments and
 * the "new data" signal. The writer appends until the job's pipes end, then seals; any number of readers and
 * followers read concurrently through positional reads on one shared descriptor and see only records that are
 * completely written. A log is created empty for a new job, or reopened from its file after a restart of rund
 * ({@link LogSpace#reopenLog}, {@link LogSpace#openFinishedLog}): {@link LogRecovery} repairs a torn last record
 * and rebuilds the index, and a log still being written gets a writer that continues its offsets; a finished log
 * has no writer at all. The descriptor is open only while the log is used ({@link LogFile}): from the first append
 * to the seal (if its {@link LogSpace} lets the writer keep one; otherwise per append), while followers follow,
 * and for the duration of a read. A sealed log nobody reads,
 * and a running job that has written nothing yet, hold no descriptor.
 * <p>
 * The file is cut into segments of about {@link LogSettings#segmentBytes()} at record boundaries. To stay within
 * its own cap and its {@link LogSpace}'s global cap, the log drops whole segments, oldest first: their storage is
 * freed (a hole is punched; every offset stays where it is) and {@link #firstRetainedOffset()} moves past them. A
 * read of a dropped offset fails with {@link OffsetDroppedException}, never with other bytes. Closing seals.
 */
public final class LogStore implements AutoCloseable {

    /** File bytes between two index entries: bounds a lookup's scan; costs 24 bytes of memory per stride. */
    static final long INDEX_STRIDE_BYTES = 64 * 1024;
    /** Largest batch a follower reads at once: what lies between two index entries. */
    static final int MAX_BATCH_BYTES = (int) (INDEX_STRIDE_BYTES + MAX_RECORD_BYTES);
    /** Bytes scanned per read while looking for a start point (last lines, since a time). */
    private static final int SCAN_BYTES = MAX_BATCH_BYTES;
    private static final byte NEWLINE = '\n';
    private static final Logger LOG = LoggerFactory.getLogger(LogStore.class);
    private static final AtomicBoolean WARNED_NO_HOLES = new AtomicBoolean();
    private static final LogSpace UNLIMITED = LogSpace.create(LogSettings.unlimited());

    /** A run of records dropped as one: first record's offset, file position and timestamp. */
    private record Segment(long offset, long position, long timestampNanos) {}

    private final LogFile file;
    private final LogSpace space;
    /** The owner identity whose quota this log counts against, or null. */
    private final String owner;
    private final long segmentBytes;
    private final long maxJobBytes;
    private final SparseIndex index = new SparseIndex(INDEX_STRIDE_BYTES);
    private final NewDataSignal newData = new NewDataSignal();
    /** Guards the segments, the end position and the writer's state: taken by the writer and by drops. */
    private final Object lock = new Object();
    private final AtomicInteger followers = new AtomicInteger();
    /** The one writer, set once when the log is made; null for a log opened finished (or found sealed). */
    private LogWriter writer;

    /** Guarded by lock: retained segments, oldest first; the last one is being written. */
    private final Deque<Segment> segments = new ArrayDeque<>();
    /** Guarded by lock: the file position just past the last committed record, where the next record goes. */
    private long endPosition = LogFormat.FILE_HEADER_BYTES;
    /** Guarded by lock. */
    private boolean closed;
    /** Logical bytes of all fully written records; raised (by the writer) only once the record is on file. */
    private volatile long committedSize;
    private volatile boolean sealed;
    /** Offsets below this were dropped; raised before their bytes are freed. */
    private volatile long firstRetainedOffset;

    private LogStore(LogFile file, LogSpace space, String owner) {
        this.file = file;
        this.space = space;
        this.owner = owner;
        this.segmentBytes = space.settings().segmentBytes();
        this.maxJobBytes = space.settings().maxJobBytes();
    }

    /**
     * Creates a new, empty log at {@code file} with permissions rw------- (0600) and no caps. The parent directory
     * must exist and the file must not; if the header cannot be written the file is removed again.
     */
    public static LogStore create(Path file) throws IOException {
        return UNLIMITED.createLog(file);
    }

    /** A new, empty log at {@code file}, which must not exist. */
    static LogStore open(Path file, LogSpace space, String owner) throws IOException {
        LogFile logFile = LogFile.createNew(file);
        try {
            logFile.writeFully(LogFormat.fileHeader(), 0);
            logFile.release(); // the creator's hold: the first append opens the file again
        } catch (IOException e) {
            try {
                logFile.close();
                Files.deleteIfExists(file);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        long now = LogFormat.epochNanos(Instant.now());
        LogStore log = new LogStore(logFile, space, owner);
        log.writer = new LogWriter(log, logFile, space, now);
        log.segments.add(new Segment(0, LogFormat.FILE_HEADER_BYTES, now));
        space.grew(log, LogFormat.FILE_HEADER_BYTES);
        return log;
    }

    /**
     * The log an earlier run of rund left at {@code file}: recovered ({@link LogRecovery}: a torn last record is cut
     * to the bytes on file, the index rebuilt), with a writer that continues its offsets unless it was sealed.
     * {@code finished}: the job's output has ended for good, so an unsealed log is sealed now and gets no writer.
     */
    static LogStore reopen(Path file, LogSpace space, String owner, boolean finished) throws IOException {
        LogFile logFile = LogFile.openExisting(file);
        try {
            LogStore log = recover(logFile, space, owner, finished);
            logFile.release(); // the opener's hold: the writer or a reader opens the file again
            return log;
        } catch (IOException | RuntimeException e) {
            try {
                logFile.close();
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    private static LogStore recover(LogFile logFile, LogSpace space, String owner, boolean finished)
            throws IOException {
        LogStore log = new LogStore(logFile, space, owner);
        LogRecovery.Tail tail;
        synchronized (log.lock) {
            tail = LogRecovery.recover(logFile, (offset, position, timestampNanos, length) -> {
                if (log.segments.isEmpty()) {
                    log.segments.add(new Segment(offset, position, timestampNanos));
                    log.firstRetainedOffset = offset;
                }
                log.committedLocked(offset, position, timestampNanos, length);
            });
            long lastTimestampNanos = tail.lastTimestampNanos() > 0 ? tail.lastTimestampNanos()
                    : LogFormat.epochNanos(Instant.now());
            if (log.segments.isEmpty()) { // every record was dropped, or none was written
                log.segments.add(new Segment(tail.endOffset(), tail.endPosition(), lastTimestampNanos));
                log.firstRetainedOffset = tail.endOffset();
            }
            log.endPosition = tail.endPosition();
            log.committedSize = tail.endOffset();
            if (tail.sealed()) {
                log.sealed = true;
            } else if (finished) {
                long now = Math.max(LogFormat.epochNanos(Instant.now()), lastTimestampNanos);
                logFile.writeFully(LogFormat.sealMarker(tail.endOffset(), now), tail.endPosition());
                log.sealed = true;
            } else {
                log.writer = new LogWriter(log, logFile, space, lastTimestampNanos);
            }
        }
        tail.repair().ifPresent(repair -> LOG.info("Log {}: {}", logFile.path(), repair));
        log.freeBefore(tail.firstPosition()); // a drop whose hole was not punched before the crash
        space.grew(log, LogFormat.FILE_HEADER_BYTES + log.retainedBytes());
        return log;
    }

    public Path path() {
        return file.path();
    }

    /**
     * The log's one writer: appends until the job's output ends, then seals.
     *
     * @throws IllegalStateException if the log was opened finished: it has no writer
     */
    public LogWriter writer() {
        if (writer == null) {
            throw new IllegalStateException("log " + file.path() + " was opened finished: it has no writer");
        }
        return writer;
    }

    /** Logical bytes appended so far over both streams: the offset the next appended byte will get. */
    public long size() {
        return committedSize;
    }

    /** The owner identity whose quota this log counts against, or null if it counts against none. */
    String owner() {
        return owner;
    }

    /** The oldest offset the log still holds; everything below it was dropped to stay within the caps. */
    public long firstRetainedOffset() {
        return firstRetainedOffset;
    }

    /** File bytes the log keeps now (headers included): what its caps measure. */
    public long retainedBytes() {
        synchronized (lock) {
            return retainedBytesLocked();
        }
    }

    private long retainedBytesLocked() {
        return segments.isEmpty() ? 0 : endPosition - segments.getFirst().position();
    }

    // ---- for the writer, under lock ----

    Object lock() {
        return lock;
    }

    /** Under lock: where the next record goes. */
    long endPositionLocked() {
        return endPosition;
    }

    /** Under lock: true once the log is sealed (or closed); nothing may be appended. */
    boolean sealedLocked() {
        return sealed;
    }

    /**
     * Under lock: the record of {@code length} payload bytes at file {@code position} is completely on file; it is
     * indexed, starts a segment if the last one is full, and is published to readers (size() moves past it).
     */
    void committedLocked(long offset, long position, long timestampNanos, int length) {
        boolean newSegment = !segments.isEmpty() && position - segments.getLast().position() >= segmentBytes;
        if (newSegment) {
            segments.addLast(new Segment(offset, position, timestampNanos));
        }
        index.recordWritten(offset, position, timestampNanos, newSegment);
        endPosition = position + LogFormat.RECORD_HEADER_BYTES + length;
        committedSize = offset + length; // publishes the record to readers
    }

    /** Under lock: drops the oldest segments while the log keeps more than its own cap. */
    void keepWithinJobCapLocked() {
        while (retainedBytesLocked() > maxJobBytes && segments.size() > 1) {
            dropOldestSegmentLocked();
        }
    }

    /** Under lock: the writer wrote its seal marker (or gave up on it): nothing more is appended. */
    void markSealedLocked() {
        sealed = true;
    }

    /** The writer wrote {@code bytes} more file bytes: followers wake, the caps count them (outside the lock). */
    void grew(long bytes) {
        newData.ring();
        space.grew(this, bytes);
    }

    /**
     * The records holding bytes at or after {@code fromOffset}, the first trimmed to start exactly there, in
     * offset order and contiguous, with at most {@code maxBytes} payload in total (the last one cut short if
     * needed; the rest follows from its {@link LogRecord#endOffset()}). Empty when {@code fromOffset} is at or
     * past {@link #size()}. Safe from any thread, concurrently with the writer.
     *
     * @throws OffsetDroppedException if {@code fromOffset} is below the first retained offset, or was dropped
     *                                while it was being read
     */
    public List<LogRecord> read(long fromOffset, int maxBytes) throws IOException {
        if (fromOffset < 0) {
            throw new IllegalArgumentException("fromOffset must be >= 0, was " + fromOffset);
        }
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be > 0, was " + maxBytes);
        }
        long end = committedSize; // read before the index: every record below it is indexed and on file
        requireRetained(fromOffset);
        if (fromOffset >= end) {
            return List.of();
        }
        List<LogRecord> records;
        try {
            records = new RecordReader(file).read(index.floor(fromOffset), fromOffset, end, maxBytes);
        } catch (IOException | IllegalArgumentException e) {
            requireRetained(fromOffset); // a drop during the read explains the failure
            throw e;
        }
        requireRetained(fromOffset); // a drop during the read may have zeroed what was read
        return records;
    }

    /** The records from {@code fromOffset} up to the next index entry (or the current end): a follower's batch. */
    List<LogRecord> readBatch(long fromOffset) throws IOException {
        long end = Math.min(committedSize, index.nextOffsetAfter(fromOffset));
        return read(fromOffset, (int) Math.min(MAX_BATCH_BYTES, Math.max(1, end - fromOffset)));
    }

    private void requireRetained(long offset) throws OffsetDroppedException {
        long first = firstRetainedOffset;
        if (offset < first) {
            throw new OffsetDroppedException(offset, first);
        }
    }

    /**
     * Where a reader asking for {@code start} of {@code streams} begins: blocking (it may scan the log backwards
     * for line ends, or forwards for a time). Never below the first retained offset, never past the current end.
     *
     * @throws OffsetDroppedException if {@code start} is an offset that was dropped
     */
    public long startOffset(LogStart start, Set<LogStream> streams) throws IOException {
        return switch (start) {
            case LogStart.AtOffset at -> {
                requireRetained(at.offset());
                yield at.offset();
            }
            case LogStart.Oldest oldest -> firstRetainedOffset;
            case LogStart.LastLines last -> startOfLastLines(last.lines(), streams);
            case LogStart.Since since -> firstAtOrAfter(LogFormat.epochNanosSaturated(since.time()));
        };
    }

    /** Scans back from the end, window by window between index entries, counting line ends of the streams. */
    private long startOfLastLines(long lines, Set<LogStream> streams) throws IOException {
        long end = committedSize;
        if (lines == 0) {
            return end;
        }
        long newlinesToPass = lines;
        boolean atFinalByte = true;
        long windowEnd = end;
        try {
            while (windowEnd > firstRetainedOffset) {
                long windowStart = Math.max(index.floor(windowEnd - 1).offset(), firstRetainedOffset);
                List<LogRecord> window = readAll(windowStart, windowEnd);
                for (int r = window.size() - 1; r >= 0; r--) {
                    LogRecord record = window.get(r);
                    if (!streams.contains(record.stream())) {
                        continue;
                    }
                    byte[] bytes = record.bytes();
                    for (int i = bytes.length - 1; i >= 0; i--) {
                        boolean newline = bytes[i] == NEWLINE;
                        if (atFinalByte) {
                            atFinalByte = false;
                            if (newline) {
                                continue; // ends the last line; it separates nothing
                            }
                        }
                        if (newline && --newlinesToPass == 0) {
                            return record.offset() + i + 1;
                        }
                    }
                }
                windowEnd = windowStart;
            }
        } catch (OffsetDroppedException | IllegalArgumentException e) {
            return firstRetainedOffset; // dropped while scanning: every retained line is among the last N
        }
        return firstRetainedOffset;
    }

    /** The offset of the first record stamped at or after {@code nanos}, or the current end if there is none. */
    private long firstAtOrAfter(long nanos) throws IOException {
        long end = committedSize;
        long first = firstRetainedOffset;
        if (first >= end) {
            return end;
        }
        try {
            long cursor = Math.max(index.lastBefore(nanos).offset(), first);
            while (cursor < end) {
                List<LogRecord> records = read(cursor, (int) Math.min(SCAN_BYTES, end - cursor));
                for (LogRecord record : records) {
                    if (LogFormat.epochNanos(record.timestamp()) >= nanos) {
                        return record.offset();
                    }
                }
                cursor = records.getLast().endOffset();
            }
        } catch (OffsetDroppedException | IllegalArgumentException e) {
            return firstAtOrAfter(nanos); // dropped while scanning: look again from the new oldest output
        }
        return end;
    }

    private List<LogRecord> readAll(long from, long to) throws IOException {
        List<LogRecord> records = new ArrayList<>();
        for (long cursor = from; cursor < to; ) {
            List<LogRecord> batch = read(cursor, (int) Math.min(SCAN_BYTES, to - cursor));
            records.addAll(batch);
            cursor = batch.getLast().endOffset();
        }
        return records;
    }


    public boolean sealed() {
        return sealed;
    }

    /**
     * The records from {@code fromOffset} as a back-pressured stream that reads a bounded batch per demand.
     * With {@code follow}, it then waits for new records (holding no thread) and completes once everything is
     * delivered and the log is sealed; without, it completes at the end the log had when the stream started.
     */
    public Source<LogRecord, NotUsed> follow(long fromOffset, boolean follow) {
        return follow(LogQuery.from(fromOffset, follow));
    }

    /** The records {@code query} asks for, as {@link #follow(long, boolean)} describes; not counted against caps. */
    public Source<LogRecord, NotUsed> follow(LogQuery query) {
        return Source.fromGraph(new LogFollowerStage(this, query, null));
    }

    /**
     * The records {@code query} asks for, for a client {@code identity}: the stream fails with
     * {@link FollowerLimitException} when it starts if this job or this identity already has the configured
     * maximum of followers, and with {@link OffsetDroppedException} when it reaches an offset that was dropped.
     * Whatever it held is released when it ends, fails or is cancelled.
     */
    public Source<LogRecord, NotUsed> follow(LogQuery query, String identity) {
        return Source.fromGraph(new LogFollowerStage(this, query, Objects.requireNonNull(identity, "identity")));
    }

    /** Followers streaming from this log now. */
    public int followerCount() {
        return followers.get();
    }

    /** Counts one more follower, if fewer than {@code max} follow now; while it follows, it holds the file open. */
    boolean followerJoined(int max) {
        while (true) {
            int current = followers.get();
            if (current >= max) {
                return false;
            }
            if (followers.compareAndSet(current, current + 1)) {
                file.hold();
                return true;
            }
        }
    }

    /** A follower that {@link #followerJoined joined} left; the last one out closes the file if it is sealed. */
    void followerLeft() {
        followers.decrementAndGet();
        try {
            file.release();
        } catch (IOException e) {
            LOG.warn("A follower of {} left, but its file could not be closed: {}", file.path(), e.getMessage());
        }
    }


    LogSpace space() {
        return space;
    }

    /** When the oldest segment that may be dropped now was started, or Long.MAX_VALUE if none may be. */
    long oldestDroppableSegmentNanos() {
        synchronized (lock) {
            return droppableLocked() ? segments.getFirst().timestampNanos() : Long.MAX_VALUE;
        }
    }

    /** Drops the oldest segment if one may be dropped: any but the one being written (all of a sealed log). */
    boolean dropOldestSegment() {
        synchronized (lock) {
            if (!droppableLocked()) {
                return false;
            }
            dropOldestSegmentLocked();
            return true;
        }
    }

    private boolean droppableLocked() {
        return !closed && (segments.size() > 1 || (sealed && !segments.isEmpty() && committedSize > segments.getFirst().offset()));
    }

    private void dropOldestSegmentLocked() {
        Segment oldest = segments.removeFirst();
        Segment next = segments.peekFirst();
        long endOffset = next != null ? next.offset() : committedSize;
        long retainedFrom = next != null ? next.position() : endPosition;
        if (next == null) {
            segments.add(new Segment(endOffset, retainedFrom, oldest.timestampNanos())); // where records resume
        }
        firstRetainedOffset = endOffset; // before the bytes go: readers check it after reading
        index.dropBefore(endOffset);
        space.released(this, retainedFrom - oldest.position());
        try {
            // The file header says where retained records start before their predecessors are freed (and read as
            // zeros), so that a reopening reader never mistakes a hole for records.
            file.writeFully(LogFormat.firstRecordField(retainedFrom), LogFormat.FIRST_RECORD_FIELD_AT);
        } catch (IOException e) {
            LOG.warn("Cannot record in {} that its records now start at position {}, so the dropped output stays on"
                    + " disk: {}", file.path(), retainedFrom, e.getMessage());
            return;
        }
        freeBefore(retainedFrom);
    }

    /**
     * Frees the storage before file position {@code retainedFrom}. From the end of the file header, not from the
     * dropped segment's start: segments don't end on block boundaries, so the block a dropped segment shares with
     * the one dropped before it is freed only by a punch covering both (punching from the segment's start left one
     * block per dropped segment allocated: 0.1% of all the output a long job ever wrote, beyond the cap).
     * Re-punching the holes already made costs next to nothing.
     */
    private void freeBefore(long retainedFrom) {
        long from = LogFormat.FILE_HEADER_BYTES;
        if (retainedFrom <= from) {
            return;
        }
        try {
            if (!file.punchHole(from, retainedFrom - from) && WARNED_NO_HOLES.compareAndSet(false, true)) {
                LOG.warn("The file system of {} cannot punch holes: dropped log segments stay on disk", file.path());
            }
        } catch (IOException e) {
            LOG.warn("Cannot free the dropped output before position {} of {}: {}", retainedFrom, file.path(),
                    e.getMessage());
        }
    }

    /**
     * Seals the log if needed and closes the file. Followers still waiting are released; reads after this
     * fail. Idempotent.
     */
    @Override
    public void close() throws IOException {
        close(true);
    }

    /**
     * Closes the log of a job that goes on running while no daemon reads it (rund.jobs.on-daemon-exit = keep): no
     * seal marker, so the next daemon reopens it for appending ({@link LogSpace#reopenLog}) and continues its offsets.
     */
    public void closeUnsealed() throws IOException {
        close(false);
    }

    private void close(boolean seal) throws IOException {
        IOException failure = null;
        long kept;
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            if (writer != null) {
                failure = writer.closeLocked(seal);
            }
            sealed = true; // even if the marker failed: no more appends, and followers must end
            kept = retainedBytesLocked();
            try {
                file.close();
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        space.closed(this, kept + LogFormat.FILE_HEADER_BYTES);
        newData.ring();
        if (failure != null) {
            throw failure;
        }
    }

    NewDataSignal newData() {
        return newData;
    }

    int indexEntryCount() {
        return index.entryCount();
    }

    @Override
    public String toString() {
        return "LogStore[" + file.path() + ", size=" + committedSize + (sealed ? ", sealed]" : "]");
    }
}
