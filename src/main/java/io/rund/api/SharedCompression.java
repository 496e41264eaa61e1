package io.rund.api;

import io.rund.logs.Deflated;
import io.rund.logs.LogRecord;
import org.apache.pekko.util.ByteString;

import java.util.zip.CRC32;

/**
 * Logs messages compressed once for all followers. A record's output is deflated once ({@link LogRecord#deflated}:
 * by the first reader of a shared record, or by the job's node before the record crossed to this one), and a gzip
 * message is that deflated output behind a stored block holding the message's few header bytes: its CRC-32 is
 * combined from theirs ({@link Crc32Combination}), so the output is neither compressed again nor read. A shared
 * record keeps its message too ({@link LogRecord#derived}), so every follower that accepts gzip sends the same bytes:
 * with N followers the output is compressed once, and N times fewer bytes go through HTTP/2, TLS and the network.
 * Compressing each follower's copy instead (what pekko-grpc does when a client accepts gzip) costs CPU per follower
 * and was measured to halve the fan-out. A message is sent as it is when its output is small, when compression saves
 * less than a tenth ({@link Deflated#of}), or when its record is one reader's made here (the part of a record a resume
 * starts inside): gRPC marks compression per message.
 * <p>
 * Each record is compressed on its own (no dictionary across records), so what the size of one compressed message
 * can tell an observer of the encrypted stream is limited to that record's own bytes; `rund.api.log-compression = off`
 * sends everything as it is.
 */
final class SharedCompression {

    static final String GZIP = "gzip";
    /** RFC 1952: magic, deflate, no flags, no time, no extra flags, unknown OS. */
    private static final byte[] GZIP_HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff};
    /** RFC 1951's stored block header: not the last block, type 00, then LEN and NLEN. */
    private static final int STORED_HEADER_BYTES = 5;
    private static final int GZIP_TRAILER_BYTES = 8;

    /** One message's bytes, and whether they are gzip-compressed. */
    record Message(ByteString bytes, boolean compressed) {}

    /** What a shared record keeps: its message without and with its timestamp, each made when first asked for. */
    private static final class Forms {
        private Message plain;
        private Message timed;

        synchronized Message get(LogRecord record, boolean timestamps) {
            if (timestamps) {
                if (timed == null) {
                    timed = make(record, true);
                }
                return timed;
            }
            if (plain == null) {
                plain = make(record, false);
            }
            return plain;
        }
    }

    private SharedCompression() {}

    /** The record's message, compressed if that is worth it, made once for every follower of a shared record. */
    static Message of(LogRecord record, boolean timestamps) {
        if (record.length() < Deflated.MIN_BYTES) {
            return make(record, timestamps);
        }
        return record.shared() ? record.<Forms>derived(Forms::new).get(record, timestamps) : make(record, timestamps);
    }

    private static Message make(LogRecord record, boolean timestamps) {
        Deflated output = record.deflated();
        return output == null
                ? new Message(LogChunkSerializer.INSTANCE.serialize(ProtoMapping.toProto(record, timestamps)), false)
                : new Message(gzip(LogChunkSerializer.dataHeader(ProtoMapping.dataFields(record, timestamps).build(),
                        output.length()), output), true);
    }

    /** The gzip (RFC 1952) of {@code header} followed by {@code output}'s bytes, made without inflating them. */
    static ByteString gzip(byte[] header, Deflated output) {
        if (header.length > 0xffff) {
            throw new IllegalArgumentException("a stored block holds at most 65535 bytes, not " + header.length);
        }
        byte[] head = new byte[GZIP_HEADER.length + STORED_HEADER_BYTES + header.length];
        System.arraycopy(GZIP_HEADER, 0, head, 0, GZIP_HEADER.length);
        int at = GZIP_HEADER.length;
        head[at] = 0; // BFINAL 0, BTYPE 00 (stored), the rest of the byte padding
        head[at + 1] = (byte) header.length;
        head[at + 2] = (byte) (header.length >>> 8);
        head[at + 3] = (byte) ~header.length;
        head[at + 4] = (byte) (~header.length >>> 8);
        System.arraycopy(header, 0, head, at + STORED_HEADER_BYTES, header.length);
        CRC32 headerCrc = new CRC32();
        headerCrc.update(header);
        byte[] trailer = new byte[GZIP_TRAILER_BYTES];
        littleEndian(trailer, 0, Crc32Combination.combine((int) headerCrc.getValue(), output.crc32(), output.length()));
        littleEndian(trailer, 4, header.length + output.length());
        return ByteString.fromArrayUnsafe(head)
                .concat(ByteString.fromArrayUnsafe(output.deflate()))
                .concat(ByteString.fromArrayUnsafe(trailer));
    }

    private static void littleEndian(byte[] out, int at, int value) {
        out[at] = (byte) value;
        out[at + 1] = (byte) (value >>> 8);
        out[at + 2] = (byte) (value >>> 16);
        out[at + 3] = (byte) (value >>> 24);
    }
}
