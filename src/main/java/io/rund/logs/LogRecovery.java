package io.rund.logs;

import static io.rund.logs.LogFormat.FILE_HEADER_BYTES;
import static io.rund.logs.LogFormat.KIND_OUTPUT;
import static io.rund.logs.LogFormat.KIND_SEAL;
import static io.rund.logs.LogFormat.MAX_PAYLOAD_BYTES;
import static io.rund.logs.LogFormat.RECORD_HEADER_BYTES;

import io.rund.logs.LogFormat.RecordHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * Reads back a log file an earlier run of rund left, record by record from the first retained one, and repairs
 * the one kind of damage a writer killed at any instant can leave: a torn last record. A partial header, or a
 * header with no payload behind it, is cut off (its bytes never left a pipe: the header is written first); a
 * header whose length runs past the end of the file is cut to the payload bytes on file, which did leave the
 * pipe. Anything else that does not chain (an offset that does not follow on, an unknown kind) is corruption and
 * fails, naming the file and position, rather than be guessed at.
 */
final class LogRecovery {

    /** Bytes of the file read at once while walking the record headers. */
    private static final int BLOCK_BYTES = 1024 * 1024;

    /** Each complete record, in file order. */
    @FunctionalInterface
    interface Records {
        void record(long offset, long position, long timestampNanos, int length);
    }

    /**
     * What the file holds after recovery: where its first retained record is, where the next record goes, the
     * offset it gets, whether the log was sealed, the last timestamp written (0 if none), and the repair made.
     */
    record Tail(long firstPosition, long endPosition, long endOffset, boolean sealed, long lastTimestampNanos,
                Optional<String> repair) {}

    private final LogFile file;
    private final ByteBuffer block = ByteBuffer.allocateDirect(BLOCK_BYTES);
    private long blockStart;
    private int blockLength;

    private LogRecovery(LogFile file) {
        this.file = file;
    }

    /** Walks {@code file}'s records, handing each complete one to {@code records}, and repairs its tail. */
    static Tail recover(LogFile file, Records records) throws IOException {
        return new LogRecovery(file).walk(records);
    }

    private Tail walk(Records records) throws IOException {
        long size = file.size();
        if (size < FILE_HEADER_BYTES) { // killed while creating it: no record was ever written
            file.truncate(0);
            file.writeFully(LogFormat.fileHeader(), 0);
            return new Tail(FILE_HEADER_BYTES, FILE_HEADER_BYTES, 0, false, 0,
                    Optional.of("its header was torn (" + size + " bytes); rewrote it"));
        }
        long first = LogFormat.firstRecordPosition(read(0, FILE_HEADER_BYTES, size), file.path());
        if (first > size) {
            throw corrupt(first, "its header says records start there, past its end at " + size);
        }
        long position = first;
        long offset = -1; // known once the first record is read
        long lastTimestampNanos = 0;
        while (true) {
            long left = size - position;
            if (left == 0) {
                return new Tail(first, position, Math.max(offset, 0), false, lastTimestampNanos, Optional.empty());
            }
            if (left < RECORD_HEADER_BYTES) {
                file.truncate(position);
                return new Tail(first, position, Math.max(offset, 0), false, lastTimestampNanos,
                        Optional.of("cut a torn record header of " + left + " bytes at position " + position));
            }
            RecordHeader header = RecordHeader.decode(read(position, RECORD_HEADER_BYTES, size));
            long expected = offset >= 0 ? offset : first == FILE_HEADER_BYTES ? 0 : header.offset();
            if (header.offset() != expected) {
                throw corrupt(position, "a record at offset " + header.offset() + " where offset " + expected
                        + " follows");
            }
            if (header.kind() == KIND_SEAL && header.length() == 0 && header.fd() == 0) {
                return new Tail(first, position, expected, true,
                        Math.max(lastTimestampNanos, header.timestampNanos()), Optional.empty());
            }
            boolean output = header.kind() == KIND_OUTPUT && header.length() > 0 && header.length() <= MAX_PAYLOAD_BYTES
                    && (header.fd() == LogStream.STDOUT.fd() || header.fd() == LogStream.STDERR.fd());
            if (!output) {
                throw corrupt(position, "a record header that is neither output nor the seal: " + header);
            }
            long onFile = left - RECORD_HEADER_BYTES;
            if (onFile == 0) {
                file.truncate(position);
                return new Tail(first, position, expected, false, lastTimestampNanos,
                        Optional.of("cut a record header with no payload behind it at position " + position));
            }
            if (onFile < header.length()) {
                file.writeFully(LogFormat.lengthField((int) onFile), position + LogFormat.LENGTH_FIELD_AT);
                records.record(expected, position, header.timestampNanos(), (int) onFile);
                return new Tail(first, size, expected + onFile, false, header.timestampNanos(),
                        Optional.of("cut the last record (offset " + expected + ") from " + header.length()
                                + " to the " + onFile + " payload bytes on file"));
            }
            records.record(expected, position, header.timestampNanos(), header.length());
            lastTimestampNanos = header.timestampNanos();
            offset = expected + header.length();
            position += RECORD_HEADER_BYTES + header.length();
        }
    }

    /** The file's bytes [position, position + length), from the block read last if it holds them. */
    private ByteBuffer read(long position, int length, long size) throws IOException {
        if (position < blockStart || position + length > blockStart + blockLength) {
            block.clear();
            int read = file.readUpTo(block, position);
            if (read < length) {
                throw corrupt(position, "it ends early (" + size + " bytes when recovery began)");
            }
            blockStart = position;
            blockLength = read;
        }
        return block.slice((int) (position - blockStart), length);
    }

    private IOException corrupt(long position, String what) {
        return new IOException("log file " + file.path() + " is corrupt at position " + position + ": " + what
                + "; rund cannot reopen it (move it away to start the job's log afresh)");
    }
}
