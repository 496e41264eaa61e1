package io.rund.api;

import io.rund.logs.LogRecord;
import org.apache.pekko.util.ByteString;

import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Logs messages compressed once for all followers. A shared record's message (see {@link LogRecord#derived}) is
 * gzip-compressed by the first follower that sends it, and every other follower that accepts gzip sends the same
 * compressed bytes: with N followers the output is compressed once, and N times fewer bytes go through HTTP/2, TLS
 * and the network. Compressing each follower's copy instead (what pekko-grpc does when a client accepts gzip) costs
 * CPU per follower and was measured to halve the fan-out. A message is sent as it is when it is small, when
 * compression saves less than a tenth, or when its record is one reader's (a record from another node, the part of
 * a record a resume starts inside): gRPC marks compression per message.
 * <p>
 * Each record is compressed on its own (no dictionary across records), so what the size of one compressed message
 * can tell an observer of the encrypted stream is limited to that record's own bytes; `rund.logs.compression = off`
 * sends everything as it is.
 */
final class SharedCompression {

    static final String GZIP = "gzip";
    /** Below this a message is sent as it is: gzip's header and trailer alone are 18 bytes. */
    static final int MIN_BYTES = 512;
    /** A compressed message is kept only if it is at most this share of the message. */
    private static final double WORTH = 0.9;
    /** The part of a message compressed first, to give up early on output that does not compress. */
    private static final int PROBE_BYTES = 4096;
    private static final int GZIP_HEADER_BYTES = 10;
    private static final int GZIP_TRAILER_BYTES = 8;
    /** RFC 1952: magic, deflate, no flags, no time, no extra flags, unknown OS. */
    private static final byte[] GZIP_HEADER = {0x1f, (byte) 0x8b, 8, 0, 0, 0, 0, 0, 0, (byte) 0xff};
    /** Deflate's fastest level: the work is once per record, but it is on the followers' path. */
    private static final ThreadLocal<Deflater> DEFLATERS = ThreadLocal.withInitial(() -> new Deflater(Deflater.BEST_SPEED, true));

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
        if (!record.shared() || record.bytes().length < MIN_BYTES) {
            return new Message(serialized(record, timestamps), false);
        }
        return record.<Forms>derived(Forms::new).get(record, timestamps);
    }

    /** The record's message as it is. */
    private static ByteString serialized(LogRecord record, boolean timestamps) {
        return LogChunkSerializer.INSTANCE.serialize(ProtoMapping.toProto(record, timestamps));
    }

    private static Message make(LogRecord record, boolean timestamps) {
        ByteString message = serialized(record, timestamps);
        byte[] gzipped = gzip(message.toArrayUnsafe(), (int) (message.size() * WORTH));
        return gzipped == null ? new Message(message, false) : new Message(ByteString.fromArrayUnsafe(gzipped), true);
    }

    /** {@code in} in gzip's format, or null if that takes more than {@code limit} bytes. */
    static byte[] gzip(byte[] in, int limit) {
        if (limit < GZIP_HEADER_BYTES + GZIP_TRAILER_BYTES + 1) {
            return null;
        }
        Deflater deflater = DEFLATERS.get();
        deflater.reset();
        // One byte of slack: zlib may mark the stream finished only on a call that had room left.
        byte[] out = new byte[limit + 1];
        System.arraycopy(GZIP_HEADER, 0, out, 0, GZIP_HEADER_BYTES);
        int at = GZIP_HEADER_BYTES;
        int end = limit + 1 - GZIP_TRAILER_BYTES;
        // A first part, flushed: if it does not compress, the rest (output of a compressor, random bytes) is not tried.
        int probe = Math.min(in.length, PROBE_BYTES);
        deflater.setInput(in, 0, probe);
        at += deflater.deflate(out, at, end - at, Deflater.SYNC_FLUSH);
        if (at >= end || at - GZIP_HEADER_BYTES > probe * WORTH) {
            return null; // (output that filled the space may not all be out: given up as well)
        }
        deflater.setInput(in, probe, in.length - probe);
        deflater.finish();
        while (!deflater.finished()) {
            if (at >= end) {
                return null;
            }
            at += deflater.deflate(out, at, end - at);
        }
        if (at + GZIP_TRAILER_BYTES > limit) {
            return null;
        }
        CRC32 crc = new CRC32();
        crc.update(in);
        littleEndian(out, at, (int) crc.getValue());
        littleEndian(out, at + 4, in.length);
        return Arrays.copyOf(out, at + GZIP_TRAILER_BYTES);
    }

    private static void littleEndian(byte[] out, int at, int value) {
        out[at] = (byte) value;
        out[at + 1] = (byte) (value >>> 8);
        out[at + 2] = (byte) (value >>> 16);
        out[at + 3] = (byte) (value >>> 24);
    }
}
