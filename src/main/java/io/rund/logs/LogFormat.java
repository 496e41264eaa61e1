package io.rund.logs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;

/**
 * The on-disk layout of a job's log file, big-endian throughout. A file starts with one file header:
 * <pre>
 *   0  8  magic "RUNDLOG\0"
 *   8  2  format version (2)
 *  10  2  record header size in bytes (24)
 *  12  4  largest record payload in bytes (65536)
 *  16  8  file position of the first retained record: 24 until output is dropped; rewritten before the storage of
 *         dropped records is freed (their bytes then read as zeros), so a reopening reader knows where records start
 * </pre>
 * followed by records back to back, each a 24-byte header and its payload:
 * <pre>
 *   0  8  logical offset of the first payload byte, over both streams
 *   8  8  timestamp, nanoseconds since the epoch (UTC)
 *  16  4  payload length (1..65536 for output, 0 for the seal marker)
 *  20  1  kind: 0 output, 1 seal marker (the writer finished; nothing follows)
 *  21  1  stream: the job-side fd, 1 stdout, 2 stderr (0 for the seal marker)
 *  22  2  reserved, 0
 * </pre>
 * The offset in every header makes a record verifiable on its own; the bounded payload lets a reader scan
 * with one fixed-size buffer. A record's header is written before its payload, so a writer killed at any instant
 * leaves at most the last record torn: a partial header, or a header whose length runs past the end of the file.
 * {@link LogRecovery} repairs that tail (see docs/LOGS.md).
 */
final class LogFormat {

    static final byte[] MAGIC = "RUNDLOG\0".getBytes(StandardCharsets.US_ASCII);
    static final short VERSION = 2;
    static final int FILE_HEADER_BYTES = 24;
    static final int RECORD_HEADER_BYTES = 24;
    static final int MAX_PAYLOAD_BYTES = 64 * 1024;
    static final int MAX_RECORD_BYTES = RECORD_HEADER_BYTES + MAX_PAYLOAD_BYTES;
    static final byte KIND_OUTPUT = 0;
    static final byte KIND_SEAL = 1;
    private static final byte NO_STREAM = 0;
    /** Where the file header keeps the first retained record's position. */
    static final int FIRST_RECORD_FIELD_AT = 16;
    /** Where a record header keeps its payload length. */
    static final int LENGTH_FIELD_AT = 16;
    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private LogFormat() {}

    /** A decoded record header; {@code fd} is the raw stream tag, checked by the reader. */
    record RecordHeader(long offset, long timestampNanos, int length, byte kind, byte fd) {

        static RecordHeader decode(ByteBuffer header) {
            int at = header.position();
            return new RecordHeader(
                    header.getLong(at),
                    header.getLong(at + 8),
                    header.getInt(at + 16),
                    header.get(at + 20),
                    header.get(at + 21));
        }
    }

    /** A new file's header: records start right after it. */
    static ByteBuffer fileHeader() {
        ByteBuffer header = ByteBuffer.allocate(FILE_HEADER_BYTES)
                .put(MAGIC)
                .putShort(VERSION)
                .putShort((short) RECORD_HEADER_BYTES)
                .putInt(MAX_PAYLOAD_BYTES)
                .putLong(FILE_HEADER_BYTES);
        return header.flip();
    }

    /**
     * The first retained record's file position from a file header, checking that the header is one this code
     * wrote; the message names what differs.
     */
    static long firstRecordPosition(ByteBuffer header, Object file) throws IOException {
        byte[] magic = new byte[MAGIC.length];
        header.get(0, magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new IOException(file + " is not a rund log file (no RUNDLOG magic); move it out of the log"
                    + " directory");
        }
        short version = header.getShort(MAGIC.length);
        int recordHeaderBytes = header.getShort(MAGIC.length + 2);
        int maxPayload = header.getInt(MAGIC.length + 4);
        if (version != VERSION || recordHeaderBytes != RECORD_HEADER_BYTES || maxPayload != MAX_PAYLOAD_BYTES) {
            throw new IOException("log file " + file + " has format version " + version + " (record header "
                    + recordHeaderBytes + " bytes, payload up to " + maxPayload + "); this rund reads version " + VERSION
                    + " only");
        }
        long first = header.getLong(FIRST_RECORD_FIELD_AT);
        if (first < FILE_HEADER_BYTES) {
            throw new IOException("log file " + file + " says its records start at position " + first
                    + ", inside its header");
        }
        return first;
    }

    /** The file header's first-record field, to write at {@link #FIRST_RECORD_FIELD_AT}. */
    static ByteBuffer firstRecordField(long position) {
        return ByteBuffer.allocate(Long.BYTES).putLong(0, position);
    }

    /** A record header's length field, to write at its {@link #LENGTH_FIELD_AT}. */
    static ByteBuffer lengthField(int length) {
        return ByteBuffer.allocate(Integer.BYTES).putInt(0, length);
    }

    static void putOutputHeader(ByteBuffer record, long offset, long timestampNanos, int length, LogStream stream) {
        putRecordHeader(record, offset, timestampNanos, length, KIND_OUTPUT, (byte) stream.fd());
    }

    static ByteBuffer sealMarker(long offset, long timestampNanos) {
        ByteBuffer marker = ByteBuffer.allocate(RECORD_HEADER_BYTES);
        putRecordHeader(marker, offset, timestampNanos, 0, KIND_SEAL, NO_STREAM);
        return marker.flip();
    }

    private static void putRecordHeader(ByteBuffer record, long offset, long timestampNanos, int length,
                                        byte kind, byte fd) {
        record.putLong(offset)
                .putLong(timestampNanos)
                .putInt(length)
                .put(kind)
                .put(fd)
                .putShort((short) 0);
    }

    static long epochNanos(Instant instant) {
        return Math.addExact(Math.multiplyExact(instant.getEpochSecond(), NANOS_PER_SECOND), instant.getNano());
    }

    /** Like {@link #epochNanos} for a point to compare with: times past 2262 or before 1677 saturate. */
    static long epochNanosSaturated(Instant instant) {
        try {
            return epochNanos(instant);
        } catch (ArithmeticException beyondRange) {
            return instant.isAfter(Instant.EPOCH) ? Long.MAX_VALUE : Long.MIN_VALUE + 1;
        }
    }

    static Instant instantOfEpochNanos(long nanos) {
        return Instant.ofEpochSecond(Math.floorDiv(nanos, NANOS_PER_SECOND), Math.floorMod(nanos, NANOS_PER_SECOND));
    }
}
