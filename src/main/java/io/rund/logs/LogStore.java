package io.rund.logs;

import static io.rund.logs.LogFormat.MAX_PAYLOAD_BYTES;
import static io.rund.logs.LogFormat.MAX_RECORD_BYTES;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Owns one job's output log: an append-only file of records {offset, timestamp, stream, bytes} (see
 * {@link LogFormat}), one open file handle, a sparse in-memory offset index and the "new data" signal.
 * One writer thread appends until the job's pipes end, then seals; any number of readers and followers read
 * concurrently through positional reads and see only records that are completely written. Closing seals.
 */
public final class LogStore implements AutoCloseable {

    /** File bytes between two index entries: bounds a lookup's scan; costs 16 bytes of memory per stride. */
    static final long INDEX_STRIDE_BYTES = 64 * 1024;

    /**
     * The writer's staging buffer (header + payload, written with one positional write). Per thread rather than
     * per store, so idle and sealed logs hold none; in rund only the output pump thread appends.
     */
    private static final ThreadLocal<ByteBuffer> RECORD_BUFFER =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(MAX_RECORD_BYTES));

    private final LogFile file;
    private final SparseIndex index = new SparseIndex(INDEX_STRIDE_BYTES);
    private final NewDataSignal newData = new NewDataSignal();
    private final Object writerLock = new Object();

    /** Guarded by writerLock: the file position where the next record goes. */
    private long writePosition = LogFormat.FILE_HEADER_BYTES;
    /** Guarded by writerLock. */
    private boolean closed;
    /** Logical bytes of all fully written records; written (by the writer) only after the record is on file. */
    private volatile long committedSize;
    private volatile boolean sealed;

    private LogStore(LogFile file) {
        this.file = file;
    }

    /**
     * Creates a new, empty log at {@code file} with permissions rw------- (0600). The parent directory must
     * exist and the file must not; if the header cannot be written the file is removed again.
     */
    public static LogStore create(Path file) throws IOException {
        LogFile logFile = LogFile.createNew(file);
        try {
            logFile.writeFully(LogFormat.fileHeader(0), 0);
        } catch (IOException e) {
            try {
                logFile.close();
                Files.deleteIfExists(file);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        return new LogStore(logFile);
    }

    public Path path() {
        return file.path();
    }

    /**
     * Appends {@code data}'s remaining bytes as output of {@code stream} (as one record, or several if longer
     * than 64 KiB), timestamped now, and consumes the buffer. For the single writer thread; costs one
     * positional write per record and never waits on readers. An empty buffer appends nothing.
     *
     * @throws IllegalStateException if the log is already sealed
     */
    public void append(LogStream stream, ByteBuffer data) throws IOException {
        Objects.requireNonNull(stream, "stream");
        Objects.requireNonNull(data, "data");
        if (!data.hasRemaining()) {
            return;
        }
        long timestampNanos = LogFormat.epochNanos(Instant.now());
        synchronized (writerLock) {
            if (sealed) {
                throw new IllegalStateException("log " + file.path() + " is sealed; cannot append");
            }
            while (data.hasRemaining()) {
                writeRecord(stream, timestampNanos, data);
            }
        }
        newData.ring();
    }

    private void writeRecord(LogStream stream, long timestampNanos, ByteBuffer data) throws IOException {
        int length = Math.min(data.remaining(), MAX_PAYLOAD_BYTES);
        long offset = committedSize;
        ByteBuffer record = RECORD_BUFFER.get().clear();
        LogFormat.putOutputHeader(record, offset, timestampNanos, length, stream);
        record.put(data.slice(data.position(), length)).flip();
        int recordBytes = record.remaining();
        file.writeFully(record, writePosition);
        data.position(data.position() + length);
        index.recordWritten(offset, writePosition);
        writePosition += recordBytes;
        committedSize = offset + length; // publishes the record to readers
    }

    /** Logical bytes appended so far over both streams: the offset the next appended byte will get. */
    public long size() {
        return committedSize;
    }

    /**
     * The records holding bytes at or after {@code fromOffset}, the first trimmed to start exactly there, in
     * offset order and contiguous, with at most {@code maxBytes} payload in total (the last one cut short if
     * needed; the rest follows from its {@link LogRecord#endOffset()}). Empty when {@code fromOffset} is at or
     * past {@link #size()}. Safe from any thread, concurrently with the writer.
     */
    public List<LogRecord> read(long fromOffset, int maxBytes) throws IOException {
        if (fromOffset < 0) {
            throw new IllegalArgumentException("fromOffset must be >= 0, was " + fromOffset);
        }
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be > 0, was " + maxBytes);
        }
        long end = committedSize; // read before the index: every record below it is indexed and on file
        if (fromOffset >= end) {
            return List.of();
        }
        return new RecordReader(file).read(index.floor(fromOffset), fromOffset, end, maxBytes);
    }

    /**
     * The writer is done (the job's pipes reached EOF): writes the seal marker, forces the file to disk, and
     * wakes all followers so they finish. Idempotent.
     */
    public void seal() throws IOException {
        synchronized (writerLock) {
            if (sealed) {
                return;
            }
            writeSealMarker();
            file.force();
            sealed = true;
        }
        newData.ring();
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
        return LogFollower.source(this, fromOffset, follow);
    }

    /**
     * Seals the log if needed and closes the file. Followers still waiting are released; reads after this
     * fail. Idempotent.
     */
    @Override
    public void close() throws IOException {
        IOException failure = null;
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
