package io.rund.logs;

import static io.rund.logs.LogFormat.MAX_PAYLOAD_BYTES;
import static io.rund.logs.LogFormat.MAX_RECORD_BYTES;
import static io.rund.logs.LogFormat.RECORD_HEADER_BYTES;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Objects;

/**
 * The one writer of a job's {@link LogStore}: appends output records at its end, then seals it. Readers never wait
 * on it; it publishes each record once it is completely on file. Crash-safe: a record's header goes to the file
 * before its payload, and output from a pipe moves pipe → file inside the kernel ({@link #appendFromPipe}, splice),
 * so whenever the process is killed every byte the job wrote is either still in its pipe or in the file, and the
 * next run's {@link LogRecovery} keeps every byte on file (see docs/LOGS.md).
 * <p>
 * It keeps the file open from its first append to the seal if its {@link LogSpace} has a writer slot free, and
 * otherwise opens and closes it per append. Everything here runs under the log's lock.
 */
public final class LogWriter {

    /**
     * The staging buffer of {@link #append} (header + payload, written with one positional write). Per thread rather
     * than per writer, so idle and sealed logs hold none; in rund only the output pump thread appends.
     */
    private static final ThreadLocal<ByteBuffer> RECORD_BUFFER =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(MAX_RECORD_BYTES));

    private final LogStore log;
    private final LogFile file;
    private final LogSpace space;
    private final Object lock;
    /** Under lock: timestamps never decrease along the log, whatever the wall clock does. */
    private long lastTimestampNanos;
    /** Under lock: the writer holds the file open between appends, on one of its space's writer slots. */
    private boolean holdsFile;

    LogWriter(LogStore log, LogFile file, LogSpace space, long lastTimestampNanos) {
        this.log = log;
        this.file = file;
        this.space = space;
        this.lock = log.lock();
        this.lastTimestampNanos = lastTimestampNanos;
    }

    /**
     * Appends {@code data}'s remaining bytes as output of {@code stream} (as one record, or several if longer
     * than 64 KiB), timestamped now, and consumes the buffer. Costs one positional write per record and never
     * waits on readers. May drop old segments to stay within the caps. An empty buffer appends nothing.
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
            synchronized (lock) {
                long before = log.endPositionLocked();
                try {
                    long timestampNanos = startAppendLocked();
                    boolean perAppend = holdFileLocked();
                    try {
                        while (data.hasRemaining()) {
                            writeRecordLocked(stream, timestampNanos, data);
                        }
                    } finally {
                        releasePerAppend(perAppend);
                    }
                } finally {
                    written = log.endPositionLocked() - before;
                    log.keepWithinJobCapLocked();
                }
            }
        } finally {
            if (written > 0) { // also when a later record failed: the records before it are readers' to see
                log.grew(written);
            }
        }
    }

    private void writeRecordLocked(LogStream stream, long timestampNanos, ByteBuffer data) throws IOException {
        int length = Math.min(data.remaining(), MAX_PAYLOAD_BYTES);
        long offset = log.size();
        long position = log.endPositionLocked();
        ByteBuffer record = RECORD_BUFFER.get().clear();
        LogFormat.putOutputHeader(record, offset, timestampNanos, length, stream);
        record.put(data.slice(data.position(), length)).flip();
        try {
            file.writeFully(record, position);
        } catch (IOException e) {
            cutPartialWrite(position, e);
            throw e;
        }
        data.position(data.position() + length);
        log.committedLocked(offset, position, timestampNanos, length);
    }

    /**
     * Moves up to {@code available} bytes (at most one record's payload, 64 KiB) of {@code stream} from pipe
     * {@code pipeFd} into the log as one record, without them ever being only in this process's memory: the
     * record's header, with length {@code available}, is written first, then the payload is spliced from the pipe
     * to the file behind it. If the splice moves fewer bytes, the header's length is cut to what was moved. A kill
     * at any instant leaves the bytes that left the pipe on file (recovery cuts a torn record's length to them) and
     * the rest in the pipe. Returns the bytes moved, which are published to readers.
     *
     * @throws IOException           if nothing could be moved (the disk is full): the bytes stay in the pipe and
     *                               the log as it was; the caller may try again later
     * @throws IllegalStateException if the log is already sealed
     */
    public long appendFromPipe(LogStream stream, int pipeFd, int available) throws IOException {
        Objects.requireNonNull(stream, "stream");
        int length = Math.min(available, MAX_PAYLOAD_BYTES);
        if (length <= 0) {
            return 0;
        }
        long moved = 0;
        try {
            synchronized (lock) {
                try {
                    moved = spliceRecordLocked(stream, pipeFd, length);
                } finally {
                    log.keepWithinJobCapLocked();
                }
            }
        } finally {
            if (moved > 0) {
                log.grew(RECORD_HEADER_BYTES + moved);
            }
        }
        return moved;
    }

    private long spliceRecordLocked(LogStream stream, int pipeFd, int length) throws IOException {
        long timestampNanos = startAppendLocked();
        boolean perAppend = holdFileLocked();
        try {
            long offset = log.size();
            long position = log.endPositionLocked();
            ByteBuffer header = RECORD_BUFFER.get().clear();
            LogFormat.putOutputHeader(header, offset, timestampNanos, length, stream);
            file.writeFully(header.flip(), position);
            long payloadAt = position + RECORD_HEADER_BYTES;
            long moved = 0;
            IOException failure = null;
            try {
                for (long n; moved < length && (n = file.spliceFrom(pipeFd, payloadAt + moved, length - moved)) > 0; ) {
                    moved += n;
                }
            } catch (IOException e) {
                failure = e; // what moved before it is on file and must be kept
            }
            if (moved == 0) {
                if (failure != null) {
                    cutPartialWrite(position, failure);
                    throw failure;
                }
                return 0; // the header stays beyond the end; the next record or the seal marker overwrites it
            }
            if (moved < length) {
                file.writeFully(LogFormat.lengthField((int) moved), position + LogFormat.LENGTH_FIELD_AT);
            }
            log.committedLocked(offset, position, timestampNanos, (int) moved);
            return moved;
        } finally {
            releasePerAppend(perAppend);
        }
    }

    /**
     * A record write failed after writing part of it: the file is cut back to {@code position}, so that no bytes of
     * it lie beyond the end for a shorter record written there next to leave behind (recovery would then find them
     * where a record header should follow).
     */
    private void cutPartialWrite(long position, IOException failure) {
        try {
            file.truncate(position);
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    /** Checks the log takes appends and returns the timestamp of the next records. */
    private long startAppendLocked() {
        if (log.sealedLocked()) {
            throw new IllegalStateException("log " + file.path() + " is sealed; cannot append");
        }
        lastTimestampNanos = Math.max(LogFormat.epochNanos(Instant.now()), lastTimestampNanos);
        return lastTimestampNanos;
    }

    /**
     * Keeps the file open: until the seal if a writer slot is free (or already taken), else for this append only,
     * which the caller ends with {@link #releasePerAppend} (true returned).
     */
    private boolean holdFileLocked() {
        if (!holdsFile && space.takeWriterSlot()) {
            file.hold();
            holdsFile = true;
        }
        if (holdsFile) {
            return false;
        }
        file.hold();
        return true;
    }

    private void releasePerAppend(boolean perAppend) throws IOException {
        if (perAppend) {
            file.release();
        }
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
     * again) the log ends all the same, as {@link LogStore#close()} does: nothing more can be appended, followers
     * get every record and finish; only the file lacks its marker. The writer then lets go of the file.
     */
    public void end() throws IOException {
        try {
            synchronized (lock) {
                if (log.sealedLocked()) {
                    return;
                }
                try {
                    writeSealMarkerLocked();
                } catch (IOException | RuntimeException e) {
                    releaseFileLocked();
                    throw e;
                } finally {
                    log.markSealedLocked();
                }
            }
        } finally {
            log.newData().ring();
        }
    }

    /**
     * Forces an ended log to disk, then lets go of the writer's hold on the file (closing it unless followers
     * hold it). Separate from {@link #end()} so that a job's final status need not wait for the disk.
     */
    public void persist() throws IOException {
        synchronized (lock) {
            try {
                if (log.sealedLocked()) {
                    file.force();
                }
            } finally {
                releaseFileLocked();
            }
        }
    }

    /**
     * Lets go of the writer's hold on an ended log without forcing it to disk: for a log whose durability comes from
     * a later flush of its whole file system (the final record's group commit, see JobRecords).
     */
    public void letGo() throws IOException {
        synchronized (lock) {
            releaseFileLocked();
        }
    }

    /** The log closes: seals it if needed and lets go of the file; returns what failed, if anything. */
    IOException closeLocked(boolean seal) {
        IOException failure = null;
        if (seal && !log.sealedLocked()) {
            try {
                writeSealMarkerLocked();
                file.force();
            } catch (IOException e) {
                failure = e;
            }
            log.markSealedLocked();
        }
        try {
            releaseFileLocked();
        } catch (IOException e) {
            if (failure == null) {
                failure = e;
            } else {
                failure.addSuppressed(e);
            }
        }
        return failure;
    }

    /** The writer no longer keeps the file open: it gives back its writer slot. */
    private void releaseFileLocked() throws IOException {
        if (holdsFile) {
            holdsFile = false;
            space.returnWriterSlot();
            file.release();
        }
    }

    private void writeSealMarkerLocked() throws IOException {
        long timestampNanos = Math.max(LogFormat.epochNanos(Instant.now()), lastTimestampNanos);
        file.writeFully(LogFormat.sealMarker(log.size(), timestampNanos), log.endPositionLocked());
    }
}
