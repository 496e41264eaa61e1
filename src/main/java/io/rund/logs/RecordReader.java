package io.rund.logs;

import static io.rund.logs.LogFormat.KIND_OUTPUT;
import static io.rund.logs.LogFormat.MAX_PAYLOAD_BYTES;
import static io.rund.logs.LogFormat.MAX_RECORD_BYTES;
import static io.rund.logs.LogFormat.RECORD_HEADER_BYTES;

import io.rund.logs.LogFormat.RecordHeader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * One read of a log: scans records forward from an indexed record through a buffer that holds a whole record,
 * so a scan costs one positional read per buffer-full rather than one per record, and copies out the payloads
 * that overlap the requested range. Used by one thread, for one call; it only looks at committed records.
 */
final class RecordReader {

    /**
     * The scan buffer, native so that a positional read fills it directly; one per reading thread (a reader is
     * used by one thread for one call, and never within another read), so reads allocate no buffer.
     */
    private static final ThreadLocal<ByteBuffer> BLOCK =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(MAX_RECORD_BYTES));

    private final LogFile file;
    private final ByteBuffer block = BLOCK.get();
    private long blockStart;
    private int blockLength;

    RecordReader(LogFile file) {
        this.file = file;
        this.block.clear();
    }

    /**
     * The records overlapping [{@code from}, {@code committedEnd}), the first trimmed to start at {@code from},
     * with at most {@code maxBytes} payload in total; scanning starts at the record {@code start} points to.
     */
    List<LogRecord> read(SparseIndex.Entry start, long from, long committedEnd, int maxBytes) throws IOException {
        List<LogRecord> records = new ArrayList<>();
        long position = start.position();
        long offset = start.offset();
        long cursor = from;
        int budget = maxBytes;
        while (offset < committedEnd && budget > 0) {
            RecordHeader header = RecordHeader.decode(window(position, RECORD_HEADER_BYTES));
            LogStream stream = checked(header, offset, position);
            long end = offset + header.length();
            if (end > cursor) {
                int skip = (int) (cursor - offset);
                int take = Math.min(header.length() - skip, budget);
                byte[] bytes = new byte[take];
                window(position + RECORD_HEADER_BYTES + skip, take).get(bytes);
                records.add(LogRecord.shared(cursor, LogFormat.instantOfEpochNanos(header.timestampNanos()), stream, bytes));
                cursor += take;
                budget -= take;
            }
            position += RECORD_HEADER_BYTES + header.length();
            offset = end;
        }
        return records;
    }

    private LogStream checked(RecordHeader header, long expectedOffset, long position) throws IOException {
        boolean knownStream = header.fd() == LogStream.STDOUT.fd() || header.fd() == LogStream.STDERR.fd();
        if (header.offset() == expectedOffset && header.kind() == KIND_OUTPUT && knownStream
                && header.length() > 0 && header.length() <= MAX_PAYLOAD_BYTES) {
            return LogStream.ofFd(header.fd());
        }
        throw new IOException("corrupt record at position " + position + " of log file " + file.path() + ": "
                + header + ", expected an output record at offset " + expectedOffset);
    }

    /** The file's bytes [position, position + length), length at most one record; refills the buffer if needed. */
    private ByteBuffer window(long position, int length) throws IOException {
        if (position < blockStart || position + length > blockStart + blockLength) {
            block.clear();
            int read = file.readUpTo(block, position);
            if (read < length) {
                throw new IOException("log file " + file.path() + " ends early: wanted " + length
                        + " bytes at position " + position + ", found " + read);
            }
            blockStart = position;
            blockLength = read;
        }
        return block.slice((int) (position - blockStart), length);
    }
}
