package io.rund.logs;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Logs kept within their caps on real files: whole segments dropped oldest first (per job, and across logs past the
 * global cap), dropped offsets refused with where the retained output starts, readers racing the drops never
 * given wrong bytes, and start points (last lines, since a time) computed over what is retained.
 */
class LogSegmentsTest {

    private static final long SEGMENT = LogSettings.MIN_SEGMENT_BYTES;
    private static final long JOB_CAP = 4 * SEGMENT;
    private static final int MIB = 1024 * 1024;

    @TempDir
    Path dir;

    private static LogSpace space(long jobCap, long totalCap) {
        return LogSpace.create(new LogSettings(SEGMENT, jobCap, totalCap, totalCap, 0, 10, 10));
    }

    @Test
    void aLogPastItsCapDropsWholeSegmentsOldestFirstAndRefusesWhatItDropped() throws IOException {
        byte[] source = random(4 * MIB, 1);
        try (LogStore store = space(JOB_CAP, Long.MAX_VALUE).createLog(dir.resolve("job.log"))) {
            appendInChunks(store, source, 2);
            long first = store.firstRetainedOffset();
            assertTrue(first > 0, "something was dropped");
            assertTrue(store.retainedBytes() <= JOB_CAP, store.retainedBytes() + " bytes kept, cap " + JOB_CAP);
            assertTrue(store.retainedBytes() > JOB_CAP - SEGMENT - LogFormat.MAX_RECORD_BYTES, "no more than needed dropped");

            OffsetDroppedException refused = assertThrows(OffsetDroppedException.class, () -> store.read(first - 1, 10));
            assertEquals(first - 1, refused.requestedOffset());
            assertEquals(first, refused.firstRetainedOffset());
            assertThrows(OffsetDroppedException.class, () -> store.startOffset(new LogStart.AtOffset(0), LogQuery.BOTH_STREAMS));
            assertEquals(first, store.startOffset(new LogStart.Oldest(), LogQuery.BOTH_STREAMS));
            assertArrayEquals(Arrays.copyOfRange(source, (int) first, source.length), readAll(store, first));
            assertTrue(store.indexEntryCount() <= JOB_CAP / LogStore.INDEX_STRIDE_BYTES + 8,
                    store.indexEntryCount() + " index entries for " + store.retainedBytes() + " bytes kept");
        }
    }

    @Test
    void theDiskBlocksOfDroppedSegmentsAreAllFreedNotOnePerSegment() throws Exception {
        long block = 4096;
        try (LogStore store = space(JOB_CAP, Long.MAX_VALUE).createLog(dir.resolve("long.log"))) {
            appendInChunks(store, random(16 * MIB, 8), 9); // about 60 segments dropped, ending mid-block
            store.writer().seal();
            long allocated = allocatedBytes(store.path());
            assumeTrue(allocated < store.size() / 2, "the file system of " + dir + " cannot punch holes");
            // The header's block, the partial block where the retained output starts and the last one.
            assertTrue(allocated <= store.retainedBytes() + 3 * block,
                    allocated + " bytes allocated for " + store.retainedBytes() + " bytes kept");
        }
    }

    private static long allocatedBytes(Path file) throws IOException, InterruptedException {
        Process stat = new ProcessBuilder("stat", "--format=%b %B", file.toString()).redirectErrorStream(true).start();
        String[] blocks = new String(stat.getInputStream().readAllBytes(), US_ASCII).strip().split(" ");
        assertEquals(0, stat.waitFor(), String.join(" ", blocks));
        return Long.parseLong(blocks[0]) * Long.parseLong(blocks[1]);
    }

    @Test
    void pastTheGlobalCapTheOldestSegmentAnywhereGoesAndASealedLogMayGoEntirely() throws IOException {
        LogSpace space = space(JOB_CAP, JOB_CAP);
        try (LogStore old = space.createLog(dir.resolve("old.log"));
             LogStore young = space.createLog(dir.resolve("young.log"));
             LogStore younger = space.createLog(dir.resolve("younger.log"))) {
            appendInChunks(old, random((int) (SEGMENT * 9 / 10), 2), 3);
            old.writer().seal();
            appendInChunks(young, random((int) (SEGMENT * 5 / 2), 4), 5);
            appendInChunks(younger, random((int) (SEGMENT * 8 / 5), 6), 7);

            assertTrue(space.retainedBytes() <= JOB_CAP, space.retainedBytes() + " bytes kept in all, cap " + JOB_CAP);
            assertEquals(old.size(), old.firstRetainedOffset(), "the sealed, oldest log went entirely");
            assertEquals(0, old.retainedBytes());
            assertEquals(old.size(), old.startOffset(new LogStart.LastLines(10), LogQuery.BOTH_STREAMS));
            assertTrue(young.firstRetainedOffset() > 0, "then the oldest segment of the next oldest log");
            assertEquals(0, younger.firstRetainedOffset(), "the youngest log kept everything");
        }
    }

    @Test
    void readersRacingTheDropsGetTheRightBytesOrBeingToldTheyWereDropped() throws Exception {
        byte[] source = random(16 * MIB, 6);
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        AtomicBoolean writing = new AtomicBoolean(true);
        int[] refusals = new int[1];
        try (LogStore store = space(JOB_CAP, Long.MAX_VALUE).createLog(dir.resolve("job.log"))) {
            List<Thread> readers = new ArrayList<>();
            for (int r = 0; r < 3; r++) {
                int seed = r;
                readers.add(Thread.ofPlatform().name("reader-" + r).start(() -> {
                    SplittableRandom random = new SplittableRandom(seed);
                    while (writing.get()) {
                        long size = store.size();
                        long first = store.firstRetainedOffset();
                        if (size <= first) {
                            continue;
                        }
                        long from = first + random.nextLong(size - first);
                        try {
                            for (LogRecord record : store.read(from, 256 * 1024)) {
                                assertArrayEquals(Arrays.copyOfRange(source, (int) record.offset(), (int) record.endOffset()),
                                        record.bytes(), "bytes at " + record.offset());
                            }
                        } catch (OffsetDroppedException dropped) {
                            synchronized (refusals) {
                                refusals[0]++;
                            }
                        } catch (Throwable e) {
                            failures.add(e);
                            return;
                        }
                    }
                }));
            }
            try {
                appendInChunks(store, source, 7);
            } finally {
                writing.set(false);
                for (Thread reader : readers) {
                    reader.join();
                }
            }
        }
        assertEquals(List.of(), List.copyOf(failures));
        System.out.println("reads refused as dropped while racing the writer: " + refusals[0]);
    }

    @Test
    void lastLinesAndSinceAreFoundOverTheRetainedOutput() throws IOException {
        try (LogStore store = LogStore.create(dir.resolve("job.log"))) {
            StringBuilder text = new StringBuilder();
            for (int line = 1; line <= 20_000; line++) {
                String l = "line " + line + "\n";
                text.append(l);
                store.writer().append(line % 7 == 0 ? LogStream.STDERR : LogStream.STDOUT, ByteBuffer.wrap(l.getBytes(US_ASCII)));
            }
            byte[] all = text.toString().getBytes(US_ASCII);
            long lastThree = store.startOffset(new LogStart.LastLines(3), LogQuery.BOTH_STREAMS);
            assertEquals("line 19998\nline 19999\nline 20000\n", new String(Arrays.copyOfRange(all, (int) lastThree, all.length), US_ASCII));
            long lastErr = store.startOffset(new LogStart.LastLines(1), Set.of(LogStream.STDERR));
            assertEquals(text.indexOf("line 19993\n"), lastErr,
                    "just past the stderr line before the last one (19992): stderr readers then get line 19999 alone");
            assertEquals(0, store.startOffset(new LogStart.LastLines(1_000_000), LogQuery.BOTH_STREAMS));
            assertEquals(all.length, store.startOffset(new LogStart.LastLines(0), LogQuery.BOTH_STREAMS));

            LogRecord middle = store.read(all.length / 2, 1).getFirst();
            long since = store.startOffset(new LogStart.Since(middle.timestamp()), LogQuery.BOTH_STREAMS);
            LogRecord found = store.read(since, 1).getFirst();
            assertTrue(!found.timestamp().isBefore(middle.timestamp()), "found a record at or after the time");
            if (since > 0) {
                assertTrue(store.read(since - 1, 1).getFirst().timestamp().isBefore(middle.timestamp()),
                        "the record before it is earlier");
            }
            assertEquals(0, store.startOffset(new LogStart.Since(Instant.EPOCH), LogQuery.BOTH_STREAMS));
            assertEquals(all.length, store.startOffset(new LogStart.Since(Instant.parse("2999-01-01T00:00:00Z")), LogQuery.BOTH_STREAMS));
        }
    }

    @Test
    void timestampsNeverDecreaseAlongTheLog() throws IOException {
        try (LogStore store = LogStore.create(dir.resolve("job.log"))) {
            for (int i = 0; i < 10_000; i++) {
                store.writer().append(LogStream.STDOUT, ByteBuffer.wrap(new byte[] {(byte) i}));
            }
            Instant previous = Instant.MIN;
            for (LogRecord record : store.read(0, 10_000)) {
                assertTrue(!record.timestamp().isBefore(previous), "record at " + record.offset());
                previous = record.timestamp();
            }
        }
    }

    private static void appendInChunks(LogStore store, byte[] source, long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        for (int at = 0; at < source.length; ) {
            int size = Math.min(source.length - at, random.nextInt(1, 70_000));
            store.writer().append(random.nextBoolean() ? LogStream.STDOUT : LogStream.STDERR, ByteBuffer.wrap(source, at, size));
            at += size;
        }
    }

    private static byte[] readAll(LogStore store, long from) throws IOException {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (long cursor = from; cursor < store.size(); ) {
            for (LogRecord record : store.read(cursor, MIB)) {
                all.writeBytes(record.bytes());
                cursor = record.endOffset();
            }
        }
        return all.toByteArray();
    }

    private static byte[] random(int size, long seed) {
        byte[] bytes = new byte[size];
        new SplittableRandom(seed).nextBytes(bytes);
        return bytes;
    }
}
