package io.rund.api;

import io.rund.logs.Deflated;
import io.rund.logs.LogRecord;
import io.rund.logs.LogStream;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Random;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shared records' messages are gzip that inflates to exactly the message, made once; the rest go as they are. */
class SharedCompressionTest {

    private static final Instant AT = Instant.parse("2026-12-06T07:30:00.123456789Z");

    @Test
    void aSharedRecordOfTextIsCompressedOnceToExactlyItsMessage() throws IOException {
        LogRecord record = LogRecord.shared(1_234_567, AT, LogStream.STDERR, text(64 * 1024));
        for (boolean timestamps : new boolean[] {false, true}) {
            SharedCompression.Message message = SharedCompression.of(record, timestamps);
            assertTrue(message.compressed(), "log text compresses");
            assertTrue(message.bytes().size() < record.bytes().length / 2, "to less than half: " + message.bytes().size());
            assertArrayEquals(LogChunkSerializer.INSTANCE.serialize(ProtoMapping.toProto(record, timestamps)).toArray(),
                    gunzip(message.bytes().toArray()), "inflates to the chunk protobuf writes, timestamps " + timestamps);
            assertSame(message, SharedCompression.of(record, timestamps), "made once, then shared");
        }
    }

    @Test
    void outputThatDoesNotCompressGoesAsItIs() {
        byte[] random = new byte[64 * 1024];
        new Random(7).nextBytes(random);
        assertPlain(LogRecord.shared(0, AT, LogStream.STDOUT, random), "random bytes");
        // Compressible only after the first part: given up on the first part, still sent whole and exact.
        byte[] mixed = text(64 * 1024);
        System.arraycopy(random, 0, mixed, 0, 8 * 1024);
        assertPlain(LogRecord.shared(0, AT, LogStream.STDOUT, mixed), "random bytes, then text");
        assertPlain(LogRecord.shared(0, AT, LogStream.STDOUT, text(Deflated.MIN_BYTES - 1)), "a short record");
        assertPlain(new LogRecord(0, AT, LogStream.STDOUT, text(64 * 1024)), "one reader's record");
    }

    @Test
    void aRecordThatCameDeflatedBecomesAGzipMessageOfExactlyItsChunk() throws IOException {
        byte[] text = text(40_000);
        LogRecord arrived = LogRecord.compressed(77, AT, LogStream.STDOUT, Deflated.of(text));
        for (boolean timestamps : new boolean[] {false, true}) {
            SharedCompression.Message message = SharedCompression.of(arrived, timestamps);
            assertTrue(message.compressed());
            LogRecord plain = new LogRecord(77, AT, LogStream.STDOUT, text);
            assertArrayEquals(LogChunkSerializer.INSTANCE.serialize(ProtoMapping.toProto(plain, timestamps)).toArray(),
                    gunzip(message.bytes().toArray()), "inflates to the chunk protobuf writes, timestamps " + timestamps);
        }
    }

    @Test
    void theGzipTrailerCarriesTheCrcAndLengthOfHeaderAndOutputTogether() throws IOException {
        byte[] header = {1, 2, 3, 4, 5};
        for (int length : new int[] {Deflated.MIN_BYTES, 70_000, 200_000}) {
            byte[] output = text(length);
            byte[] whole = new byte[header.length + length];
            System.arraycopy(header, 0, whole, 0, header.length);
            System.arraycopy(output, 0, whole, header.length, length);
            // GZIPInputStream checks both the CRC-32 and the length in the trailer.
            assertArrayEquals(whole, gunzip(SharedCompression.gzip(header, Deflated.of(output)).toArray()), length + " bytes");
        }
    }

    private static void assertPlain(LogRecord record, String what) {
        SharedCompression.Message message = SharedCompression.of(record, false);
        assertFalse(message.compressed(), what);
        assertArrayEquals(LogChunkSerializer.INSTANCE.serialize(ProtoMapping.toProto(record, false)).toArray(),
                message.bytes().toArray(), what);
    }

    /** Numbered log-like lines: as compressible as real logs, not as one repeated byte. */
    private static byte[] text(int bytes) {
        Random random = new Random(bytes);
        StringBuilder text = new StringBuilder();
        for (int line = 0; text.length() < bytes; line++) {
            text.append("2026-12-06T07:30:").append(line % 60).append(" INFO [worker-").append(random.nextInt(8))
                    .append("] step ").append(line).append(" took ").append(random.nextInt(10_000)).append(" ms\n");
        }
        return text.substring(0, bytes).getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] gunzip(byte[] gzipped) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(gzipped))) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        }
    }
}
