package io.rund.logs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rund.linux.Fds;
import io.rund.linux.PositionalFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reopening a log an earlier process left, on real files: a torn last record (partial header, header without its
 * payload, payload shorter than its header says) is repaired keeping every payload byte on file, offsets continue,
 * sealed and dropped logs read back as they were, and what does not chain is refused rather than guessed at.
 */
class LogRecoveryTest {

    private static final byte[] FIRST = bytes(100, 1);
    private static final byte[] SECOND = bytes(200, 2);

    @TempDir
    Path dir;

    @Test
    void aTornRecordHeaderIsCutAndTheReopenedWriterContinuesTheOffsets() throws Exception {
        Path file = unsealedLog();
        long intact = Files.size(file);
        Files.write(file, new byte[LogFormat.RECORD_HEADER_BYTES - 7], StandardOpenOption.APPEND);
        try (LogStore log = reopen(file)) {
            assertEquals(300, log.size());
            assertEquals(intact, Files.size(file), "the partial header is gone");
            log.writer().append(LogStream.STDOUT, ByteBuffer.wrap(bytes(50, 3)));
            assertContent(log, FIRST, SECOND, bytes(50, 3));
        }
    }

    @Test
    void aHeaderWithNoPayloadBehindItIsCut() throws Exception {
        Path file = unsealedLog();
        long intact = Files.size(file);
        Files.write(file, header(300, 4000, LogStream.STDERR), StandardOpenOption.APPEND);
        try (LogStore log = reopen(file)) {
            assertEquals(300, log.size());
            assertEquals(intact, Files.size(file));
            assertContent(log, FIRST, SECOND);
        }
    }

    @Test
    void aRecordWhosePayloadWasCutShortKeepsEveryPayloadByteOnFile() throws Exception {
        Path file = unsealedLog();
        byte[] partial = bytes(400, 5);
        Files.write(file, header(300, 1000, LogStream.STDERR), StandardOpenOption.APPEND);
        Files.write(file, partial, StandardOpenOption.APPEND);
        try (LogStore log = reopen(file)) {
            assertEquals(700, log.size(), "the 400 bytes that left the pipe are kept");
            List<LogRecord> records = log.read(300, 1000);
            assertEquals(LogStream.STDERR, records.getFirst().stream());
            log.writer().append(LogStream.STDOUT, ByteBuffer.wrap(bytes(10, 6)));
            assertContent(log, FIRST, SECOND, partial, bytes(10, 6));
        }
        try (LogStore again = reopen(file)) {
            assertEquals(710, again.size(), "the repaired length was written to the file");
        }
    }

    @Test
    void aFileCutInsideItsHeaderStartsAfresh() throws Exception {
        Path file = dir.resolve("job.log");
        Files.write(file, new byte[] {'R', 'U', 'N'});
        try (LogStore log = reopen(file)) {
            assertEquals(0, log.size());
            log.writer().append(LogStream.STDOUT, ByteBuffer.wrap(FIRST));
            assertContent(log, FIRST);
        }
    }

    @Test
    void aSealedLogReopensSealedWithNoWriter() throws Exception {
        Path file = dir.resolve("job.log");
        try (LogStore log = LogStore.create(file)) {
            log.writer().append(LogStream.STDOUT, ByteBuffer.wrap(FIRST));
            log.writer().seal();
        }
        try (LogStore log = reopen(file)) {
            assertTrue(log.sealed());
            assertThrows(IllegalStateException.class, log::writer);
            assertContent(log, FIRST);
        }
    }

    @Test
    void aFinishedLogThatWasNeverSealedIsSealedSoFollowersEnd() throws Exception {
        Path file = unsealedLog();
        ActorSystem system = ActorSystem.create("log-recovery-test");
        try (LogStore log = LogSpace.create(LogSettings.unlimited()).openFinishedLog(file, null)) {
            assertTrue(log.sealed());
            assertThrows(IllegalStateException.class, log::writer);
            List<LogRecord> followed = log.follow(0, true).runWith(Sink.seq(), system)
                    .toCompletableFuture().get(60, TimeUnit.SECONDS);
            assertArrayEquals(concat(FIRST, SECOND), concat(followed));
        } finally {
            system.terminate();
        }
        try (LogStore again = reopen(file)) {
            assertTrue(again.sealed(), "the seal marker is on file");
        }
    }

    @Test
    void aRecordThatDoesNotChainIsRefusedNamingTheFileAndPosition() throws Exception {
        Path file = unsealedLog();
        long position = Files.size(file);
        Files.write(file, header(299, 10, LogStream.STDOUT), StandardOpenOption.APPEND);
        Files.write(file, bytes(10, 7), StandardOpenOption.APPEND);
        IOException refused = assertThrows(IOException.class, () -> reopen(file));
        assertTrue(refused.getMessage().contains(file.toString()) && refused.getMessage().contains("position " + position),
                refused.getMessage());
    }

    @Test
    void aLogWithDroppedSegmentsReopensAtItsFirstRetainedRecord() throws Exception {
        Path file = dir.resolve("job.log");
        long segment = LogSettings.MIN_SEGMENT_BYTES;
        LogSettings capped = new LogSettings(segment, 3 * segment, Long.MAX_VALUE, Long.MAX_VALUE, 0, 10, 10);
        SplittableRandom random = new SplittableRandom(3);
        ByteArrayOutputStream written = new ByteArrayOutputStream();
        long firstRetained;
        LogStore log = LogSpace.create(capped).createLog(file);
        for (int i = 0; i < 400; i++) {
            byte[] chunk = new byte[random.nextInt(1, 8000)];
            random.nextBytes(chunk);
            log.writer().append(random.nextBoolean() ? LogStream.STDOUT : LogStream.STDERR, ByteBuffer.wrap(chunk));
            written.writeBytes(chunk);
        }
        firstRetained = log.firstRetainedOffset();
        assertTrue(firstRetained > 0, "segments were dropped");
        // Left unclosed, as a killed writer leaves it.
        try (LogStore reopened = LogSpace.create(capped).reopenLog(file, null)) {
            assertEquals(firstRetained, reopened.firstRetainedOffset());
            assertEquals(written.size(), reopened.size());
            byte[] all = written.toByteArray();
            byte[] retained = java.util.Arrays.copyOfRange(all, (int) firstRetained, all.length);
            assertArrayEquals(retained, concat(readAll(reopened, firstRetained)));
            assertThrows(OffsetDroppedException.class, () -> reopened.read(0, 10));
        } finally {
            log.close();
        }
    }

    @Test
    void outputSplicedFromAPipeIsOneRecordAndAShortSpliceCutsTheHeaderToWhatMoved() throws Exception {
        Path fifo = dir.resolve("out.fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor());
        Path file = dir.resolve("job.log");
        byte[] output = bytes(1000, 8);
        try (RandomAccessFile writeEnd = new RandomAccessFile(fifo.toFile(), "rw")) {
            int readEnd = PositionalFiles.openExisting(fifo);
            try {
                LogStore log = LogStore.create(file);
                writeEnd.write(output);
                // Offered more than waits in the pipe: the record holds what moved, and says so on file.
                assertEquals(1000, log.writer().appendFromPipe(LogStream.STDERR, readEnd, 4000));
                assertEquals(1000, log.size());
                List<LogRecord> records = log.read(0, 5000);
                assertEquals(1, records.size());
                assertEquals(LogStream.STDERR, records.getFirst().stream());
                assertArrayEquals(output, records.getFirst().bytes());
                try (LogStore reopened = reopen(file)) { // as after a kill: the file alone must say 1000
                    assertEquals(1000, reopened.size());
                    assertContent(reopened, output);
                }
                log.close();
            } finally {
                Fds.close(readEnd);
            }
        }
    }

    /** A log with FIRST (stdout) and SECOND (stderr), left unsealed and unclosed as a killed writer leaves it. */
    private Path unsealedLog() throws IOException {
        Path file = dir.resolve("job.log");
        LogStore log = LogSpace.create(LogSettings.unlimited()).createLog(file);
        log.writer().append(LogStream.STDOUT, ByteBuffer.wrap(FIRST));
        log.writer().append(LogStream.STDERR, ByteBuffer.wrap(SECOND));
        return file;
    }

    private static LogStore reopen(Path file) throws IOException {
        return LogSpace.create(LogSettings.unlimited()).reopenLog(file, null);
    }

    private static byte[] header(long offset, int length, LogStream stream) {
        ByteBuffer header = ByteBuffer.allocate(LogFormat.RECORD_HEADER_BYTES);
        LogFormat.putOutputHeader(header, offset, LogFormat.epochNanos(Instant.now()), length, stream);
        return header.array();
    }

    private static void assertContent(LogStore log, byte[]... parts) throws IOException {
        byte[] expected = concat(parts);
        assertEquals(expected.length, log.size());
        assertArrayEquals(expected, concat(readAll(log, 0)));
        assertFalse(log.read(log.size(), 1).iterator().hasNext());
    }

    private static List<LogRecord> readAll(LogStore log, long from) throws IOException {
        List<LogRecord> records = new java.util.ArrayList<>();
        for (long cursor = from; cursor < log.size(); ) {
            List<LogRecord> batch = log.read(cursor, LogStore.MAX_BATCH_BYTES);
            for (LogRecord record : batch) {
                assertEquals(cursor, record.offset(), "offsets are continuous");
                cursor = record.endOffset();
            }
            records.addAll(batch);
        }
        return records;
    }

    private static byte[] concat(List<LogRecord> records) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        records.forEach(record -> all.writeBytes(record.bytes()));
        return all.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            all.writeBytes(part);
        }
        return all.toByteArray();
    }

    private static byte[] bytes(int length, int seed) {
        byte[] bytes = new byte[length];
        new SplittableRandom(seed).nextBytes(bytes);
        return bytes;
    }
}
