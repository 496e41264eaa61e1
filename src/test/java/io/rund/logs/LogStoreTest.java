package io.rund.logs;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** LogStore on real files: format, byte-exact round trips, trimming, index size, permissions, interrupts. */
class LogStoreTest {

    private static final int MIB = 1024 * 1024;

    @TempDir
    Path dir;

    @Test
    void fiftyMegabytesInRandomChunksOverBothStreamsComeBackByteExact() throws Exception {
        long total = 50L * MIB;
        SplittableRandom random = new SplittableRandom(42);
        Map<LogStream, MessageDigest> written = digests();
        NavigableMap<Long, LogStream> appends = new TreeMap<>();
        try (LogStore store = LogStore.create(dir.resolve("job.log"))) {
            long offset = 0;
            while (offset < total) {
                byte[] chunk = new byte[(int) Math.min(total - offset, randomChunkSize(random))];
                random.nextBytes(chunk);
                LogStream stream = random.nextBoolean() ? LogStream.STDOUT : LogStream.STDERR;
                ByteBuffer data = random.nextBoolean()
                        ? ByteBuffer.wrap(chunk)
                        : ByteBuffer.allocateDirect(chunk.length).put(chunk).flip();
                store.writer().append(stream, data);
                assertFalse(data.hasRemaining(), "append consumes the buffer");
                written.get(stream).update(chunk);
                appends.put(offset, stream);
                offset += chunk.length;
                assertEquals(offset, store.size());
            }
            store.writer().seal();

            Map<LogStream, MessageDigest> read = digests();
            long cursor = 0;
            while (cursor < total) {
                List<LogRecord> records = store.read(cursor, MIB);
                assertFalse(records.isEmpty(), "read at " + cursor + " below size " + total);
                for (LogRecord record : records) {
                    assertEquals(cursor, record.offset(), "offsets are contiguous");
                    Map.Entry<Long, LogStream> append = appends.floorEntry(record.offset());
                    assertEquals(append.getValue(), record.stream(), "stream of the bytes at " + record.offset());
                    Long nextAppend = appends.higherKey(record.offset());
                    assertTrue(nextAppend == null || record.endOffset() <= nextAppend,
                            "a record never spans two appends: " + record);
                    read.get(record.stream()).update(record.bytes());
                    cursor = record.endOffset();
                }
            }
            assertTrue(store.read(total, MIB).isEmpty());
            for (LogStream stream : LogStream.values()) {
                assertArrayEquals(written.get(stream).digest(), read.get(stream).digest(), "sha256 of " + stream);
            }
        }
    }

    /** Mostly pipe-sized chunks, many tiny ones, and some larger than a record so appends get split. */
    private static int randomChunkSize(SplittableRandom random) {
        return switch (random.nextInt(4)) {
            case 0 -> random.nextInt(1, 100);
            case 1 -> random.nextInt(64 * 1024, 200 * 1024);
            default -> random.nextInt(1, 64 * 1024 + 1);
        };
    }

    @Test
    void readTrimsTheFirstRecordToTheOffsetAndCapsThePayload() throws IOException {
        try (LogStore store = LogStore.create(dir.resolve("job.log"))) {
            append(store, LogStream.STDOUT, "hello");
            append(store, LogStream.STDERR, "world!");

            assertEquals(List.of(text(2, LogStream.STDOUT, "llo"), text(5, LogStream.STDERR, "world!")),
                    texts(store.read(2, 100)));
            assertEquals(List.of(text(7, LogStream.STDERR, "rld!")), texts(store.read(7, 100)));
            assertEquals(List.of(text(10, LogStream.STDERR, "!")), texts(store.read(10, 100)));
            assertEquals(List.of(text(0, LogStream.STDOUT, "hell")), texts(store.read(0, 4)));
            assertEquals(List.of(text(3, LogStream.STDOUT, "lo"), text(5, LogStream.STDERR, "w")),
                    texts(store.read(3, 3)));
            assertTrue(store.read(11, 100).isEmpty(), "at the end");
            assertTrue(store.read(1_000, 100).isEmpty(), "past the end");
            assertThrows(IllegalArgumentException.class, () -> store.read(-1, 100));
            assertThrows(IllegalArgumentException.class, () -> store.read(0, 0));
        }
    }

    @Test
    void theFileIsReadableAndWritableByItsOwnerOnly() throws IOException {
        Path file = dir.resolve("job.log");
        try (LogStore store = LogStore.create(file)) {
            append(store, LogStream.STDOUT, "secret");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        }
    }

    @Test
    void createRefusesAnExistingFileAndAMissingDirectory() throws IOException {
        Path existing = Files.createFile(dir.resolve("taken.log"));
        assertThrows(FileAlreadyExistsException.class, () -> LogStore.create(existing));
        assertThrows(NoSuchFileException.class, () -> LogStore.create(dir.resolve("missing").resolve("job.log")));
    }

    @Test
    void aMillionOneByteRecordsKeepTheIndexSmallAndReadableAnywhere() throws IOException {
        int records = 1_000_000;
        Path file = dir.resolve("tiny.log");
        try (LogStore store = LogStore.create(file)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            for (int offset = 0; offset < records; offset++) {
                store.writer().append(tinyStream(offset), one.clear().put(tinyByte(offset)).flip());
            }
            store.writer().seal();

            long fileBytes = Files.size(file);
            int entries = store.indexEntryCount();
            assertTrue(entries <= fileBytes / LogStore.INDEX_STRIDE_BYTES + 1,
                    entries + " index entries for " + fileBytes + " file bytes");
            assertTrue(entries * 1_000L < records, entries + " index entries for " + records + " records");

            SplittableRandom random = new SplittableRandom(7);
            for (int probe = 0; probe < 500; probe++) {
                long from = random.nextLong(records);
                long cursor = from;
                for (LogRecord record : store.read(from, 300)) {
                    assertEquals(cursor, record.offset());
                    assertEquals(tinyStream(cursor), record.stream());
                    assertArrayEquals(new byte[] {tinyByte(cursor)}, record.bytes());
                    cursor = record.endOffset();
                }
                assertEquals(Math.min(records, from + 300), cursor, "bytes read from " + from);
            }
        }
    }

    private static LogStream tinyStream(long offset) {
        return offset % 3 == 0 ? LogStream.STDERR : LogStream.STDOUT;
    }

    private static byte tinyByte(long offset) {
        return (byte) (offset * 31 + 7);
    }

    @Test
    void theFileHoldsAHeaderRecordsAndASealMarkerAsDocumented() throws IOException {
        Path file = dir.resolve("job.log");
        LogRecord record;
        try (LogStore store = LogStore.create(file)) {
            append(store, LogStream.STDERR, "hi");
            record = store.read(0, 100).getFirst();
            store.writer().seal();
        }
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file));
        int headers = LogFormat.RECORD_HEADER_BYTES;
        assertEquals(LogFormat.FILE_HEADER_BYTES + headers + 2 + headers, bytes.limit());
        assertArrayEquals("RUNDLOG\0".getBytes(US_ASCII), slice(bytes, 0, 8));
        assertEquals(2, bytes.getShort(8), "format version");
        assertEquals(headers, bytes.getShort(10));
        assertEquals(64 * 1024, bytes.getInt(12), "largest payload");
        assertEquals(LogFormat.FILE_HEADER_BYTES, bytes.getLong(16), "first retained record's position");

        LogFormat.RecordHeader output = LogFormat.RecordHeader.decode(bytes.slice(24, headers));
        assertEquals(new LogFormat.RecordHeader(0, LogFormat.epochNanos(record.timestamp()), 2,
                LogFormat.KIND_OUTPUT, (byte) 2), output);
        assertArrayEquals("hi".getBytes(US_ASCII), slice(bytes, 24 + headers, 2));

        LogFormat.RecordHeader seal = LogFormat.RecordHeader.decode(bytes.slice(24 + headers + 2, headers));
        assertEquals(2, seal.offset());
        assertEquals(0, seal.length());
        assertEquals(LogFormat.KIND_SEAL, seal.kind());
    }

    @Test
    void sealEndsAppendingAndCloseSealsAndEndsReading() throws IOException {
        Path file = dir.resolve("job.log");
        LogStore store = LogStore.create(file);
        append(store, LogStream.STDOUT, "a");
        store.writer().seal();
        store.writer().seal();
        assertTrue(store.sealed());
        assertThrows(IllegalStateException.class, () -> append(store, LogStream.STDOUT, "b"));
        assertEquals(1, store.size());
        store.close();
        store.close();
        IOException closed = assertThrows(IOException.class, () -> store.read(0, 10));
        assertTrue(closed.getMessage().contains(file.toString()), closed.getMessage());

        LogStore unsealed = LogStore.create(dir.resolve("other.log"));
        append(unsealed, LogStream.STDERR, "x");
        unsealed.close();
        assertTrue(unsealed.sealed());
    }

    @Test
    void anInterruptedCallerDoesNotBreakTheLogAndKeepsItsInterruptStatus() throws IOException {
        try (LogStore store = LogStore.create(dir.resolve("job.log"))) {
            Thread.currentThread().interrupt();
            try {
                append(store, LogStream.STDOUT, "still");
                assertEquals(List.of(text(0, LogStream.STDOUT, "still")), texts(store.read(0, 100)));
                assertTrue(Thread.currentThread().isInterrupted(), "interrupt status kept");
            } finally {
                Thread.interrupted();
            }
            append(store, LogStream.STDOUT, " works");
            assertEquals(List.of(text(0, LogStream.STDOUT, "still"), text(5, LogStream.STDOUT, " works")),
                    texts(store.read(0, 100)));
        }
    }

    @Test
    void readersAndTheWriterInterruptedMidCallStillSeeEveryByte() throws Exception {
        byte[] source = new byte[8 * MIB];
        new SplittableRandom(3).nextBytes(source);
        int chunk = 4096;
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        AtomicBoolean done = new AtomicBoolean();
        try (LogStore store = LogStore.create(dir.resolve("job.log"))) {
            Thread writer = Thread.ofPlatform().name("writer").start(() -> {
                try {
                    for (int at = 0; at < source.length; at += chunk) {
                        store.writer().append(LogStream.STDOUT, ByteBuffer.wrap(source, at, chunk));
                    }
                    store.writer().seal();
                } catch (Throwable e) {
                    failures.add(e);
                }
            });
            List<Thread> threads = new ArrayList<>(List.of(writer));
            for (int r = 0; r < 2; r++) {
                threads.add(Thread.ofPlatform().name("reader-" + r).start(() -> {
                    try {
                        long cursor = 0;
                        while (cursor < source.length && failures.isEmpty()) {
                            for (LogRecord record : store.read(cursor, 64 * 1024)) {
                                assertArrayEquals(slice(ByteBuffer.wrap(source), (int) cursor, record.bytes().length),
                                        record.bytes(), "bytes at " + cursor);
                                cursor = record.endOffset();
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            Thread interrupter = Thread.ofPlatform().name("interrupter").start(() -> {
                while (!done.get()) {
                    threads.forEach(Thread::interrupt);
                    Thread.yield();
                }
            });
            try {
                for (Thread thread : threads) {
                    thread.join();
                }
            } finally {
                done.set(true);
                interrupter.join();
            }
            assertEquals(List.of(), List.copyOf(failures));
            assertTrue(store.sealed());
            assertEquals(source.length, store.size());
            assertArrayEquals(slice(ByteBuffer.wrap(source), 0, 1000), store.read(0, 1000).getFirst().bytes());
        }
    }

    private static void append(LogStore store, LogStream stream, String text) throws IOException {
        store.writer().append(stream, ByteBuffer.wrap(text.getBytes(US_ASCII)));
    }

    private record Text(long offset, LogStream stream, String text) {}

    private static Text text(long offset, LogStream stream, String text) {
        return new Text(offset, stream, text);
    }

    private static List<Text> texts(List<LogRecord> records) {
        return records.stream().map(r -> new Text(r.offset(), r.stream(), new String(r.bytes(), US_ASCII))).toList();
    }

    private static byte[] slice(ByteBuffer bytes, int at, int length) {
        byte[] out = new byte[length];
        bytes.get(at, out);
        return out;
    }

    private static Map<LogStream, MessageDigest> digests() throws NoSuchAlgorithmException {
        Map<LogStream, MessageDigest> digests = new EnumMap<>(LogStream.class);
        for (LogStream stream : LogStream.values()) {
            digests.put(stream, MessageDigest.getInstance("SHA-256"));
        }
        return digests;
    }
}
