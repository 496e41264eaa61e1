package io.rund.logs;

import static io.rund.logs.LogFormat.MAX_PAYLOAD_BYTES;
import static io.rund.logs.LogFormat.MAX_RECORD_BYTES;

import java.io.IOException;
import java.nio.ByteBuffer;
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
 * Owns one job's output log: an append-only file of records {offset, timestamp, stream, bytes} (see
 * {@link LogFormat}), a sparse in-memory index and the "new data" signal. One writer thread appends until the
 * job's pipes end, then seals; any number of readers and followers read concurrently through positional reads on
 * one shared descriptor and see only records that are completely written. The descriptor is open only while the
 * log is used ({@link LogFile}): from the first append to the seal (if its {@link LogSpace} lets the writer keep
 * one; otherwise per append), while followers follow, and for the duration of a read. A sealed log nobody reads,
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

    /**
     * The writer's staging buffer (header + payload, written with one positional write). Per thread rather than
     * per store, so idle and sealed logs hold none; in rund only the output pump thread appends.
     */
    private static final ThreadLocal<ByteBuffer> RECORD_BUFFER =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(MAX_RECORD_BYTES));

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
    private final Object writerLock = new Object();
    private final AtomicInteger followers = new AtomicInteger();

    /** Guarded by writerLock: retained segments, oldest first; the last one is being written. */
    private final Deque<Segment> segments = new ArrayDeque<>();
    /** Guarded by writerLock: the file position where the next record goes. */
    private long writePosition = LogFormat.FILE_HEADER_BYTES;
    /** Guarded by writerLock: timestamps never decrease along the log, whatever the wall clock does. */
    private long lastTimestampNanos;
    /** Guarded by writerLock. */
    private boolean closed;
    /** Guarded by writerLock: the writer holds the file open between appends, on one of its space's writer slots. */
    private boolean writerHolds;
    /** Logical bytes of all fully written records; written (by the writer) only after the record is on file. */
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
        this.segments.add(new Segment(0, LogFormat.FILE_HEADER_BYTES, LogFormat.epochNanos(Instant.now())));
    }

    /**
     * Creates a new, empty log at {@code file} with permissions rw------- (0600) and no caps. The parent directory
     * must exist and the file must not; if the header cannot be written the file is removed again.
     */
    public static LogStore create(Path file) throws IOException {
        return UNLIMITED.createLog(file);
    }

    static LogStore open(Path file, LogSpace space, String owner) throws IOException {
        LogFile logFile = LogFile.createNew(file);
        try {
            logFile.writeFully(LogFormat.fileHeader(0), 0);
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
        LogStore log = new LogStore(logFile, space, owner);
        space.grew(log, LogFormat.FILE_HEADER_BYTES);
        return log;
    }

    /**
     * Opens the log of a job that ended before this daemon started: sealed (no writer), with the offsets it had,
     * counted in {@code space} like any log. A tail torn off by a daemon killed while writing ends it.
     */
    static LogStore openFinished(Path path, LogSpace space, String owner) throws IOException {
        LogFile logFile = LogFile.openExisting(path);
        LogStore log = new LogStore(logFile, space, owner);
        try {
            FinishedLogScan.scan(logFile, java.nio.file.Files.size(path), log.new Reopening());
            logFile.release();
        } catch (IOException | RuntimeException e) {
            try {
                logFile.close();
            } catch (IOException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
        space.grew(log, LogFormat.FILE_HEADER_BYTES + log.retainedBytes());
        return log;
    }

    /** Rebuilds segments, index and size from the records of a finished log, as its writer had them. */
    private final class Reopening implements FinishedLogScan.Visitor {
        private boolean first = true;

        @Override
        public void record(long offset, long position, long timestampNanos, int length) {
            synchronized (writerLock) {
                boolean newSegment = first || position - segments.getLast().position() >= segmentBytes;
                if (first) {
                    segments.clear();
                    firstRetainedOffset = offset;
                    first = false;
                }
                if (newSegment) {
                    segments.addLast(new Segment(offset, position, timestampNanos));
                }
                index.recordWritten(offset, position, timestampNanos, newSegment);
                lastTimestampNanos = timestampNanos;
                writePosition = position + LogFormat.RECORD_HEADER_BYTES + length;
                committedSize = offset + length;
            }
        }

        @Override
        public void end(long endOffset, long endPosition) {
            synchronized (writerLock) {
                if (first) { // nothing retained: every record was dropped, or the job wrote nothing
                    segments.clear();
                    segments.add(new Segment(endOffset, endPosition, lastTimestampNanos));
                    writePosition = endPosition;
                    committedSize = endOffset;
                    firstRetainedOffset = endOffset;
                }
                sealed = true;
            }
        }
    }

    public Path path() {
        return file.path();
    }

    /**
     * Appends {@code data}'s remaining bytes as output of {@code stream} (as one record, or several if longer
     * than 64 KiB), timestamped now, and consumes the buffer. For the single writer thread; costs one
     * positional write per record and never waits on readers. May drop old segments to stay within the caps.
     * An empty buffer appends nothing. The first append opens the file and keeps it open until the seal, if a
     * writer slot of the space is free; otherwise each append opens and closes it.
     * <p>
     * If a write fails (the disk is full), the records written before it stay (readers see them) and {@code data}'s
     * position is just past them: the caller may offer the rest again later, and nothing is lost or repeated.
     *
     * @throws IOException           if a record cannot be written; the log stays as it was before that record
     * @throws IllegalStateException if the log is already sealed
     */
    public void append(LogStream stream, ByteBuffer data) throws IOException {
        Objects.requireNonNull(stream, "stream");
        Objects.requireNonNull(data, "data");
        if (!data.hasRemaining()) {
            return;
        }
        long written = 0;
        try {
            synchronized (writerLock) {
                long before = writePosition;
                try {
                    writeRecordsLocked(stream, data);
                } finally {
                    written = writePosition - before;
                    while (retainedBytesLocked() > maxJobBytes && segments.size() > 1) {
                        dropOldestSegmentLocked();
                    }
                }
            }
        } finally {
            if (written > 0) { // also when a later record failed: the records before it are readers' to see
                newData.ring();
                space.grew(this, written);
            }
        }
    }

    private void writeRecordsLocked(LogStream stream, ByteBuffer data) throws IOException {
        if (sealed) {
            throw new IllegalStateException("log " + file.path() + " is sealed; cannot append");
        }
        long timestampNanos = Math.max(LogFormat.epochNanos(Instant.now()), lastTimestampNanos);
        lastTimestampNanos = timestampNanos;
        if (!writerHolds && space.takeWriterSlot()) {
            file.hold();
            writerHolds = true;
        }
        boolean heldForThisAppend = !writerHolds;
        if (heldForThisAppend) {
            file.hold(); // one open for all the records of this append
        }
        try {
            while (data.hasRemaining()) {
                writeRecord(stream, timestampNanos, data);
            }
        } finally {
            if (heldForThisAppend) {
                file.release();
            }
        }
    }

    private void writeRecord(LogStream stream, long timestampNanos, ByteBuffer data) throws IOException {
        int length = Math.min(data.remaining(), MAX_PAYLOAD_BYTES);
        long offset = committedSize;
        boolean newSegment = writePosition - segments.getLast().position() >= segmentBytes;
        ByteBuffer record = RECORD_BUFFER.get().clear();
        LogFormat.putOutputHeader(record, offset, timestampNanos, length, stream);
        record.put(data.slice(data.position(), length)).flip();
        int recordBytes = record.remaining();
        file.writeFully(record, writePosition);
        data.position(data.position() + length);
        if (newSegment) {
            segments.addLast(new Segment(offset, writePosition, timestampNanos));
        }
        index.recordWritten(offset, writePosition, timestampNanos, newSegment);
        writePosition += recordBytes;
        committedSize = offset + length; // publishes the record to readers
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
        synchronized (writerLock) {
            return retainedBytesLocked();
        }
    }

    private long retainedBytesLocked() {
        return segments.isEmpty() ? 0 : writePosition - segments.getFirst().position();
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

    /**
     * The writer is done (the job's pipes reached EOF): {@link #end()}, then {@link #persist()}. Idempotent.
     */
    public void seal() throws IOException {
        end();
        persist();
    }

    /**
     * Writes the seal marker and wakes all followers so they finish: the log's content is complete and
     * readable, though not yet forced to disk. Idempotent. If the marker cannot be written (the disk is full
     * again) the log ends all the same, as {@link #close()} does: nothing more can be appended, followers get
     * every record and finish; only the file lacks its marker. The writer then lets go of the file.
     */
    public void end() throws IOException {
        try {
            synchronized (writerLock) {
                if (sealed) {
                    return;
                }
                try {
                    writeSealMarker();
                } catch (IOException | RuntimeException e) {
                    releaseWriterLocked();
                    throw e;
                } finally {
                    sealed = true;
                }
            }
        } finally {
            newData.ring();
        }
    }

    /**
     * Forces an ended log to disk, then lets go of the writer's hold on the file (closing it unless followers
     * hold it). Separate from {@link #end()} so that a job's final status need not wait for the disk.
     */
    public void persist() throws IOException {
        synchronized (writerLock) {
            try {
                if (sealed) {
                    file.force();
                }
            } finally {
                releaseWriterLocked();
            }
        }
    }

    /** The writer no longer keeps the file open: it gives back its writer slot. */
    private void releaseWriterLocked() throws IOException {
        if (writerHolds) {
            writerHolds = false;
            space.returnWriterSlot();
            file.release();
        }
    }

    private void writeSealMarker() throws IOException {
        file.writeFully(LogFormat.sealMarker(committedSize, LogFormat.epochNanos(Instant.now())), writePosition);
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
        synchronized (writerLock) {
            return droppableLocked() ? segments.getFirst().timestampNanos() : Long.MAX_VALUE;
        }
    }

    /** Drops the oldest segment if one may be dropped: any but the one being written (all of a sealed log). */
    boolean dropOldestSegment() {
        synchronized (writerLock) {
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
        long endPosition = next != null ? next.position() : writePosition;
        firstRetainedOffset = endOffset; // before the bytes go: readers check it after reading
        index.dropBefore(endOffset);
        long bytes = endPosition - oldest.position();
        // From the end of the file header, not from this segment's start: segments don't end on block boundaries,
        // so the block a dropped segment shares with the one dropped before it is freed only by a punch covering
        // both (punching from the segment's start left one block per dropped segment allocated: 0.1% of all the
        // output a long job ever wrote, beyond the cap). Re-punching the holes already made costs next to nothing.
        try {
            long from = LogFormat.FILE_HEADER_BYTES;
            if (!file.punchHole(from, endPosition - from) && WARNED_NO_HOLES.compareAndSet(false, true)) {
                LOG.warn("The file system of {} cannot punch holes: dropped log segments stay on disk", file.path());
            }
        } catch (IOException e) {
            LOG.warn("Cannot free dropped segment [{}, {}) of {}: {}", oldest.offset(), endOffset, file.path(),
                    e.getMessage());
        }
        space.released(this, bytes);
    }

    /**
     * Seals the log if needed and closes the file. Followers still waiting are released; reads after this
     * fail. Idempotent.
     */
    @Override
    public void close() throws IOException {
        IOException failure = null;
        long kept;
        synchronized (writerLock) {
            if (closed) {
                return;
            }
            closed = true;
            if (!sealed) {
                try {
                    writeSealMarker();
                    file.force();
                } catch (IOException e) {
                    failure = e;
                }
                sealed = true; // even if the marker failed: no more appends, and followers must end
            }
            kept = retainedBytesLocked();
            try {
                releaseWriterLocked();
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
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
