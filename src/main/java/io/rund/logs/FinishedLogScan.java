package io.rund.logs;

import static io.rund.logs.LogFormat.FILE_HEADER_BYTES;
import static io.rund.logs.LogFormat.KIND_OUTPUT;
import static io.rund.logs.LogFormat.KIND_SEAL;
import static io.rund.logs.LogFormat.MAX_PAYLOAD_BYTES;
import static io.rund.logs.LogFormat.RECORD_HEADER_BYTES;

import io.rund.logs.LogFormat.RecordHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Finds the records of a log file written by an earlier daemon, so that its log can be served again with the
 * offsets it had ({@link LogStore#openFinished}). Segments dropped to stay within the caps were freed by punching a
 * hole from the end of the file header, so they read as zeros: the scan skips them and looks for the first record
 * just past them. It ends at the seal marker, or at the first record that is incomplete or does not follow on (the
 * tail of a daemon killed while writing). Read-only; the smallest piece part R needs until the log reader of part W
 * (issue 11) opens finished logs itself.
 */
final class FinishedLogScan {

    /** Bytes read per positional read while scanning. */
    private static final int WINDOW_BYTES = 1 << 20;
    /** A record header's first non-zero byte lies at most this far into it: the offset's low bytes or the timestamp. */
    private static final int LEADING_ZERO_SPAN = 16;

    /** Told of each record found, in order, and of the end. */
    interface Visitor {
        void record(long offset, long position, long timestampNanos, int length);

        /** The log ends at {@code endOffset}, with its seal marker or torn off at {@code endPosition}. */
        void end(long endOffset, long endPosition);
    }

    private final LogFile file;
    private final long size;
    private final ByteBuffer window = ByteBuffer.allocateDirect(WINDOW_BYTES);
    private long windowStart;
    private int windowLength;

    private FinishedLogScan(LogFile file, long size) {
        this.file = file;
        this.size = size;
    }

    static void scan(LogFile file, long size, Visitor visitor) throws IOException {
        new FinishedLogScan(file, size).scan(visitor);
    }

    private void scan(Visitor visitor) throws IOException {
        if (size < FILE_HEADER_BYTES) {
            throw new IOException("log file " + file.path() + " is " + size + " bytes long, shorter than its header");
        }
        byte[] magic = new byte[LogFormat.MAGIC.length];
        bytesAt(0, FILE_HEADER_BYTES).get(magic);
        if (!Arrays.equals(magic, LogFormat.MAGIC)) {
            throw new IOException("log file " + file.path() + " does not start with rund's log magic");
        }
        long position = firstRecordPosition();
        long expected = -1;
        while (position >= 0 && position + RECORD_HEADER_BYTES <= size) {
            RecordHeader header = RecordHeader.decode(bytesAt(position, RECORD_HEADER_BYTES));
            boolean follows = expected < 0 || header.offset() == expected;
            if (follows && isSeal(header)) {
                visitor.end(header.offset(), position);
                return;
            }
            if (!follows || !isOutput(header) || position + RECORD_HEADER_BYTES + header.length() > size) {
                break; // torn or garbage: the log ends before it
            }
            visitor.record(header.offset(), position, header.timestampNanos(), header.length());
            expected = header.offset() + header.length();
            position += RECORD_HEADER_BYTES + header.length();
        }
        visitor.end(Math.max(expected, 0), position < 0 ? FILE_HEADER_BYTES : position);
    }

    /**
     * Where the first retained record starts: right after the file header, or just past the zeros of the dropped
     * segments. -1 if the file holds nothing but zeros after its header.
     */
    private long firstRecordPosition() throws IOException {
        if (startsChain(FILE_HEADER_BYTES, true)) {
            return FILE_HEADER_BYTES; // nothing was dropped
        }
        long firstNonZero = FILE_HEADER_BYTES;
        while (firstNonZero < size) {
            ByteBuffer bytes = bytesAt(firstNonZero, (int) Math.min(WINDOW_BYTES, size - firstNonZero));
            int at = 0;
            while (at < bytes.remaining() && bytes.get(bytes.position() + at) == 0) {
                at++;
            }
            firstNonZero += at;
            if (at < bytes.remaining()) {
                break;
            }
        }
        if (firstNonZero >= size) {
            return -1;
        }
        for (long candidate = Math.max(FILE_HEADER_BYTES, firstNonZero - LEADING_ZERO_SPAN); candidate <= firstNonZero; candidate++) {
            if (startsChain(candidate, false)) {
                return candidate;
            }
        }
        return -1;
    }

    /**
     * A record (or the seal) starts at {@code position}, and the next one, if the file holds it, follows on. Only the
     * first record of the file ({@code atStart}) may have offset 0: past dropped segments the offset is higher.
     */
    private boolean startsChain(long position, boolean atStart) throws IOException {
        if (position + RECORD_HEADER_BYTES > size) {
            return false;
        }
        RecordHeader header = RecordHeader.decode(bytesAt(position, RECORD_HEADER_BYTES));
        if (isSeal(header)) {
            return true;
        }
        if (!isOutput(header) || (atStart ? header.offset() != 0 : header.offset() <= 0)) {
            return false;
        }
        long next = position + RECORD_HEADER_BYTES + header.length();
        if (next > size) {
            return false;
        }
        if (next + RECORD_HEADER_BYTES > size) {
            return true;
        }
        RecordHeader following = RecordHeader.decode(bytesAt(next, RECORD_HEADER_BYTES));
        return following.offset() == header.offset() + header.length() && (isOutput(following) || isSeal(following));
    }

    private static boolean isOutput(RecordHeader header) {
        return header.kind() == KIND_OUTPUT && header.length() > 0 && header.length() <= MAX_PAYLOAD_BYTES
                && (header.fd() == LogStream.STDOUT.fd() || header.fd() == LogStream.STDERR.fd());
    }

    private static boolean isSeal(RecordHeader header) {
        return header.kind() == KIND_SEAL && header.length() == 0 && header.fd() == 0 && header.offset() >= 0;
    }

    /** The file's bytes [position, position + length), length at most a window, as a buffer positioned on them. */
    private ByteBuffer bytesAt(long position, int length) throws IOException {
        if (position < windowStart || position + length > windowStart + windowLength) {
            window.clear();
            windowStart = position;
            windowLength = file.readUpTo(window, position);
            if (windowLength < length) {
                throw new IOException("log file " + file.path() + " ends at " + (position + windowLength)
                        + " while " + length + " bytes were read at " + position);
            }
        }
        return window.duplicate().position((int) (position - windowStart)).limit((int) (position - windowStart) + length);
    }
}
