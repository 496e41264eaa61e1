package io.rund.logs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rund.TestFiles;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A log written by an earlier daemon, opened again read-only: the same bytes at the same offsets, sealed; also when
 * its oldest segments were dropped (a hole at its start), and when its writer was killed mid-record (a torn tail).
 */
class FinishedLogTest {

    private Path dir;

    @BeforeEach
    void directory() throws Exception {
        dir = Files.createTempDirectory("rund-finished-log-");
    }

    @AfterEach
    void remove() throws Exception {
        TestFiles.deleteTree(dir);
    }

    private static byte[] lines(int first, int last) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = first; i <= last; i++) {
            out.writeBytes(("line " + i + "\n").getBytes(StandardCharsets.US_ASCII));
        }
        return out.toByteArray();
    }

    private static byte[] readAll(LogStore log, long from) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long at = from;
        while (at < log.size()) {
            List<LogRecord> records = log.read(at, 1 << 20);
            for (LogRecord record : records) {
                out.writeBytes(record.bytes());
                at = record.endOffset();
            }
        }
        return out.toByteArray();
    }

    private static void appendInChunks(LogStore log, byte[] bytes, int chunk) throws Exception {
        for (int at = 0; at < bytes.length; at += chunk) {
            log.append(at % (2 * chunk) == 0 ? LogStream.STDOUT : LogStream.STDERR,
                    ByteBuffer.wrap(bytes, at, Math.min(chunk, bytes.length - at)));
        }
    }

    @Test
    void aSealedLogReadsBackWithItsOffsets() throws Exception {
        Path file = dir.resolve("job.log");
        byte[] output = lines(1, 50_000);
        try (LogStore log = LogStore.create(file)) {
            appendInChunks(log, output, 1000);
            log.seal();
        }
        LogSpace space = LogSpace.create(LogSettings.unlimited());
        try (LogStore reopened = space.openFinishedLog(file, "DNS:alice")) {
            assertTrue(reopened.sealed());
            assertEquals(output.length, reopened.size());
            assertEquals(0, reopened.firstRetainedOffset());
            assertArrayEquals(output, readAll(reopened, 0));
            assertArrayEquals(java.util.Arrays.copyOfRange(output, 123_457, output.length), readAll(reopened, 123_457));
            assertEquals(LogStream.STDERR, reopened.read(1000, 1).getFirst().stream());
            assertTrue(space.retainedBytes() > output.length, "counted in its space: " + space.retainedBytes());
        }
    }

    @Test
    void aLogWhoseOldestSegmentsWereDroppedStartsWhereItDidAndKeepsItsOffsets() throws Exception {
        Path file = dir.resolve("job.log");
        byte[] output = lines(1, 200_000);
        LogSettings capped = new LogSettings(LogSettings.MIN_SEGMENT_BYTES, 4 * LogSettings.MIN_SEGMENT_BYTES, Long.MAX_VALUE,
                Long.MAX_VALUE, 0, 10, 10);
        long firstRetained;
        try (LogStore log = LogSpace.create(capped).createLog(file)) {
            appendInChunks(log, output, 4096);
            log.seal();
            firstRetained = log.firstRetainedOffset();
        }
        assertTrue(firstRetained > 0, "segments were dropped");
        try (LogStore reopened = LogSpace.create(LogSettings.unlimited()).openFinishedLog(file, null)) {
            assertEquals(output.length, reopened.size());
            assertEquals(firstRetained, reopened.firstRetainedOffset());
            assertArrayEquals(java.util.Arrays.copyOfRange(output, (int) firstRetained, output.length),
                    readAll(reopened, firstRetained));
            assertThrows(OffsetDroppedException.class, () -> reopened.read(firstRetained - 1, 10));
        }
    }

    @Test
    void aTornLastRecordEndsTheLog() throws Exception {
        Path file = dir.resolve("job.log");
        byte[] output = lines(1, 1000);
        try (LogStore log = LogStore.create(file)) {
            appendInChunks(log, output, 500);
            log.seal();
        }
        long sealMarker = LogFormat.RECORD_HEADER_BYTES;
        long cut = Files.size(file) - sealMarker - 100; // the seal marker and the last 100 bytes of the last record go
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.truncate(cut);
        }
        int lastRecord = output.length % 500 == 0 ? 500 : output.length % 500;
        try (LogStore reopened = LogSpace.create(LogSettings.unlimited()).openFinishedLog(file, null)) {
            assertEquals(output.length - lastRecord, reopened.size());
            assertArrayEquals(java.util.Arrays.copyOf(output, output.length - lastRecord), readAll(reopened, 0));
        }
    }
}
