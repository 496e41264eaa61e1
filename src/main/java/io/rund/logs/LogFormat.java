package io.rund.logs;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * The on-disk layout of a job's log file, big-endian throughout. A file starts with one file header:
 * <pre>
 *   0  8  magic "RUNDLOG\0"
 *   8  2  format version (1)
 *  10  2  record header size in bytes (24)
 *  12  4  largest record payload in bytes (65536)
 *  16  8  base offset: logical offset of the first record in this file (0 until logs are split into segments)
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
 * with one fixed-size buffer.
 */
final class LogFormat {

    static final byte[] MAGIC = "RUNDLOG\0".getBytes(StandardCharsets.US_ASCII);
    static final short VERSION = 1;
    static final int FILE_HEADER_BYTES = 24;
    static final int RECORD_HEADER_BYTES = 24;
    static final int MAX_PAYLOAD_BYTES = 64 * 1024;
    static final int MAX_RECORD_BYTES = RECORD_HEADER_BYTES + MAX_PAYLOAD_BYTES;
    static final byte KIND_OUTPUT = 0;
    static final byte KIND_SEAL = 1;
    private static final byte NO_STREAM = 0;
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

    static ByteBuffer fileHeader(long baseOffset) {
        ByteBuffer header = ByteBuffer.allocate(FILE_HEADER_BYTES)
                .put(MAGIC)
                .putShort(VERSION)
                .putShort((short) RECORD_HEADER_BYTES)
                .putInt(MAX_PAYLOAD_BYTES)
                .putLong(baseOffset);
        return header.flip();
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
