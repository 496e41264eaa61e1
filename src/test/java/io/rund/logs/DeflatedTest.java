package io.rund.logs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.zip.Inflater;
import org.junit.jupiter.api.Test;

/** Output is deflated only when that is worth it, inflates back exactly, and a damaged form is refused. */
class DeflatedTest {

    private static final Instant AT = Instant.parse("2026-12-06T10:00:00Z");

    @Test
    void textDeflatesToAFinishedStreamThatInflatesToExactlyIt() throws Exception {
        byte[] text = text(64 * 1024);
        Deflated deflated = Deflated.of(text);
        assertNotNull(deflated);
        assertTrue(deflated.deflate().length < text.length / 2, deflated.toString());
        assertEquals(text.length, deflated.length());
        assertArrayEquals(text, deflated.inflate());
        // A raw deflate stream that ends with its final block: what may follow other blocks in a gzip message.
        Inflater inflater = new Inflater(true);
        byte[] out = new byte[text.length + 1];
        inflater.setInput(deflated.deflate());
        assertEquals(text.length, inflater.inflate(out));
        assertTrue(inflater.finished());
        inflater.end();
    }

    @Test
    void outputThatIsShortOrDoesNotShrinkByATenthIsNotDeflated() {
        byte[] random = new byte[64 * 1024];
        new SplittableRandom(1).nextBytes(random);
        assertNull(Deflated.of(random), "random bytes");
        byte[] mixed = text(64 * 1024);
        System.arraycopy(random, 0, mixed, 0, 8 * 1024);
        assertNull(Deflated.of(mixed), "random first: given up after the first part");
        assertNull(Deflated.of(text(Deflated.MIN_BYTES - 1)), "too short");
        assertNotNull(Deflated.of(text(Deflated.MIN_BYTES)));
    }

    @Test
    void aDamagedFormIsRefusedRatherThanInflatedToOtherBytes() {
        byte[] text = text(10_000);
        Deflated deflated = Deflated.of(text);
        assertThrows(IllegalStateException.class, () -> new Deflated(deflated.deflate(), deflated.crc32() ^ 1, deflated.length()).inflate());
        assertThrows(IllegalStateException.class, () -> new Deflated(deflated.deflate(), deflated.crc32(), deflated.length() - 1).inflate());
        assertThrows(IllegalStateException.class, () -> new Deflated(deflated.deflate(), deflated.crc32(), deflated.length() + 1).inflate());
        assertThrows(IllegalStateException.class, () -> new Deflated(Arrays.copyOf(deflated.deflate(), 20), deflated.crc32(), deflated.length()).inflate());
    }

    @Test
    void aSharedRecordDeflatesOnceAndARecordThatCameDeflatedInflatesOnlyWhenAsked() {
        byte[] text = text(20_000);
        LogRecord shared = LogRecord.shared(5, AT, LogStream.STDOUT, text);
        Deflated once = shared.deflated();
        assertSame(once, shared.deflated(), "kept for every reader");
        assertNull(new LogRecord(5, AT, LogStream.STDOUT, text).deflated(), "one reader's record: not worth the work");

        LogRecord arrived = LogRecord.compressed(5, AT, LogStream.STDOUT, once);
        assertEquals(text.length, arrived.length());
        assertEquals(5 + text.length, arrived.endOffset());
        assertSame(once, arrived.deflated());
        assertArrayEquals(text, arrived.bytes());
        assertSame(arrived.bytes(), arrived.bytes(), "inflated once");
        assertEquals(shared, arrived);
    }

    private static byte[] text(int bytes) {
        SplittableRandom random = new SplittableRandom(bytes);
        StringBuilder text = new StringBuilder();
        for (int line = 0; text.length() < bytes; line++) {
            text.append("2026-12-06T10:00:").append(line % 60).append(" WARN [pool-").append(random.nextInt(4))
                    .append("] request ").append(line).append(" answered in ").append(random.nextInt(5_000)).append(" us\n");
        }
        return text.substring(0, bytes).getBytes(StandardCharsets.US_ASCII);
    }
}
