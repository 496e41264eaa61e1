package io.rund.logs;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A log holds a file descriptor only while it is used: counted in /proc/self/fd by what each descriptor points
 * at, so nothing else the JVM opens or closes meanwhile can blur the count. Real files, real followers.
 */
class LogDescriptorsTest {

    /** Only guards against a hang; nothing here is a performance claim. */
    private static final long HANG_GUARD_MINUTES = 5;
    private static final Path OWN_DESCRIPTORS = Path.of("/proc/self/fd");

    private static ActorTestKit testKit;

    @TempDir
    Path dir;

    @BeforeAll
    static void startActorSystem() {
        testKit = ActorTestKit.create();
    }

    @AfterAll
    static void stopActorSystem() {
        testKit.shutdownTestKit();
    }

    @Test
    void aLogHoldsADescriptorFromItsFirstAppendToItsSealOnly() throws Exception {
        Path path = dir.resolve("job.log");
        try (LogStore log = LogStore.create(path)) {
            assertEquals(0, descriptorsOf(path), "created, nothing written yet");
            append(log, LogStream.STDOUT, "one ");
            assertEquals(1, descriptorsOf(path), "written: the writer keeps its file open");
            append(log, LogStream.STDERR, "two");
            assertEquals(1, descriptorsOf(path), "one descriptor for all appends");
            log.writer().seal();
            assertEquals(0, descriptorsOf(path), "sealed");
            assertEquals("one two", readAll(log));
            assertEquals(0, descriptorsOf(path), "a read of a sealed log opens the file for the read only");
        }
        assertEquals(0, descriptorsOf(path), "closed");
    }

    @Test
    void aSilentLogThatIsSealedAndClosedNeverHeldADescriptorAfterItsHeader() throws Exception {
        Path path = dir.resolve("job.log");
        LogStore log = LogStore.create(path);
        assertEquals(0, descriptorsOf(path));
        log.writer().seal();
        assertEquals(0, descriptorsOf(path));
        assertEquals("", readAll(log));
        log.close();
        assertEquals(0, descriptorsOf(path));
        assertTrue(Files.size(path) > LogFormat.FILE_HEADER_BYTES, "the seal marker was written");
    }

    @Test
    void manyFollowersOfASealedLogShareOneDescriptorUntilTheLastLeaves() throws Exception {
        int followers = 200;
        Path path = dir.resolve("job.log");
        byte[] output = randomBytes(3 * LogStore.MAX_BATCH_BYTES + 123, 7);
        try (LogStore log = LogStore.create(path)) {
            log.writer().append(LogStream.STDOUT, ByteBuffer.wrap(output));
            log.writer().seal();
            assertEquals(0, descriptorsOf(path));

            List<ManualSubscriber<LogRecord>> subscribers = new ArrayList<>();
            for (int f = 0; f < followers; f++) {
                ManualSubscriber<LogRecord> subscriber = subscribe(log.follow(0, true));
                subscriber.request(1);
                subscribers.add(subscriber);
            }
            List<ByteArrayOutputStream> received = new ArrayList<>();
            for (ManualSubscriber<LogRecord> subscriber : subscribers) {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream();
                bytes.write(((LogRecord) subscriber.next()).bytes());
                received.add(bytes);
            }
            assertEquals(followers, log.followerCount());
            assertEquals(1, descriptorsOf(path), followers + " followers, each past its first record");

            for (int f = 0; f < followers; f++) {
                ManualSubscriber<LogRecord> subscriber = subscribers.get(f);
                subscriber.request(Long.MAX_VALUE);
                for (Object event; (event = subscriber.next()) != null; ) {
                    if (event instanceof Throwable failure) {
                        throw new AssertionError("follower " + f + " failed", failure);
                    }
                    received.get(f).write(((LogRecord) event).bytes());
                }
                assertArrayEquals(output, received.get(f).toByteArray(), "follower " + f);
            }
            awaitCondition(() -> log.followerCount() == 0, "all followers left");
            assertEquals(0, descriptorsOf(path), "the last follower out closed the file");
        }
    }

    @Test
    void followersAttachedWhileTheJobRunsContinueAcrossTheSealToTheEnd() throws Exception {
        Path path = dir.resolve("job.log");
        byte[] output = randomBytes(4 * LogStore.MAX_BATCH_BYTES + 99, 3);
        int half = output.length / 2;
        try (LogStore log = LogStore.create(path)) {
            log.writer().append(LogStream.STDOUT, ByteBuffer.wrap(output, 0, half));
            List<CompletionStage<ByteString>> early = new ArrayList<>();
            for (int f = 0; f < 20; f++) {
                early.add(bytes(log.follow(0, true)));
            }
            ManualSubscriber<LogRecord> caughtUp = subscribe(log.follow(half, true));
            caughtUp.request(1);
            awaitCondition(() -> log.newData().waiterCount() >= 1, "a follower waits at the end for more");
            log.writer().append(LogStream.STDERR, ByteBuffer.wrap(output, half, output.length - half));
            log.writer().seal();

            for (CompletionStage<ByteString> follower : early) {
                assertArrayEquals(output, await(follower).toArray());
            }
            ByteArrayOutputStream rest = new ByteArrayOutputStream();
            rest.write(((LogRecord) caughtUp.next()).bytes());
            caughtUp.request(Long.MAX_VALUE);
            for (Object event; (event = caughtUp.next()) != null; ) {
                rest.write(((LogRecord) event).bytes());
            }
            assertArrayEquals(Arrays.copyOfRange(output, half, output.length), rest.toByteArray());
            awaitCondition(() -> log.followerCount() == 0, "all followers left");
            assertEquals(0, descriptorsOf(path));
        }
    }

    @Test
    void closingALogClosesItsDescriptorEvenWhileAFollowerIsAttached() throws Exception {
        Path path = dir.resolve("job.log");
        LogStore log = LogStore.create(path);
        append(log, LogStream.STDOUT, "line\n");
        ManualSubscriber<LogRecord> follower = subscribe(log.follow(0, true));
        follower.request(2);
        assertEquals("line\n", new String(((LogRecord) follower.next()).bytes(), US_ASCII));
        log.close();
        assertEquals(0, descriptorsOf(path), "closed with a follower attached");
        assertEquals(null, follower.next(), "the follower completes");
    }

    @Test
    void writersBeyondTheSpacesSlotsOpenTheirFilePerAppend() throws Exception {
        LogSpace space = LogSpace.create(LogSettings.unlimited(), 1);
        Path first = dir.resolve("first.log");
        Path second = dir.resolve("second.log");
        try (LogStore a = space.createLog(first); LogStore b = space.createLog(second)) {
            append(a, LogStream.STDOUT, "a1 ");
            append(b, LogStream.STDOUT, "b1 ");
            assertEquals(1, descriptorsOf(first), "the first writer took the one slot");
            assertEquals(0, descriptorsOf(second), "the second opened and closed its file for its append");
            assertEquals(1, space.writerSlotsTaken());
            a.writer().seal();
            assertEquals(0, space.writerSlotsTaken(), "the seal gave the slot back");
            append(b, LogStream.STDERR, "b2");
            assertEquals(1, descriptorsOf(second), "the next append took the free slot");
            b.writer().seal();
            assertEquals(0, descriptorsOf(first) + descriptorsOf(second));
            assertEquals(0, space.writerSlotsTaken());
            assertEquals("a1 ", readAll(a));
            assertEquals("b1 b2", readAll(b));
        }
    }

    @Test
    void aClosedLogGivesItsWriterSlotBack() throws Exception {
        LogSpace space = LogSpace.create(LogSettings.unlimited(), 1);
        LogStore log = space.createLog(dir.resolve("job.log"));
        append(log, LogStream.STDOUT, "x");
        assertEquals(1, space.writerSlotsTaken());
        log.close();
        assertEquals(0, space.writerSlotsTaken());
    }

    @Test
    void readsAfterTheDescriptorNumberWasReusedStillReadTheirOwnFile() throws Exception {
        Path path = dir.resolve("job.log");
        Path other = Files.write(dir.resolve("other"), new byte[64 * 1024]);
        byte[] output = randomBytes(LogStore.MAX_BATCH_BYTES, 13);
        try (LogStore log = LogStore.create(path)) {
            log.writer().append(LogStream.STDOUT, ByteBuffer.wrap(output));
            log.writer().seal();
            int readers = 8;
            int readsEach = 300;
            ExecutorService pool = Executors.newFixedThreadPool(readers);
            try {
                List<Future<?>> reads = new ArrayList<>();
                for (int r = 0; r < readers; r++) {
                    reads.add(pool.submit(() -> {
                        for (int i = 0; i < readsEach; i++) {
                            int at = i * 97 % output.length;
                            byte[] got = log.read(at, output.length).getFirst().bytes();
                            assertArrayEquals(Arrays.copyOfRange(output, at, at + got.length), got, "read at " + at);
                        }
                        return null;
                    }));
                }
                // Meanwhile, descriptor numbers the reads just closed are taken by another file, again and again.
                while (!reads.stream().allMatch(Future::isDone)) {
                    try (FileChannel squatter = FileChannel.open(other, StandardOpenOption.READ)) {
                        squatter.size();
                    }
                }
                for (Future<?> read : reads) {
                    read.get(HANG_GUARD_MINUTES, TimeUnit.MINUTES);
                }
            } finally {
                pool.shutdownNow();
            }
            assertEquals(0, descriptorsOf(path));
        }
    }

    @Test
    void aLogWhoseFileWasReplacedRefusesToReadTheReplacement() throws Exception {
        Path path = dir.resolve("job.log");
        try (LogStore log = LogStore.create(path)) {
            append(log, LogStream.STDOUT, "mine");
            log.writer().seal();
            Path impostor = dir.resolve("impostor");
            Files.copy(path, impostor);
            Files.move(impostor, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            IOException refused = assertThrows(IOException.class, () -> log.read(0, 10));
            assertTrue(refused.getMessage().contains("was replaced"), refused.getMessage());
            Files.delete(path);
            assertThrows(NoSuchFileException.class, () -> log.read(0, 10));
            assertEquals(0, descriptorsOf(path));
        }
    }

    /** Descriptors of this process open on {@code file} now. */
    static long descriptorsOf(Path file) throws IOException {
        Path target = file.toAbsolutePath();
        try (Stream<Path> fds = Files.list(OWN_DESCRIPTORS)) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(target);
                } catch (IOException closedMeanwhile) {
                    return false;
                }
            }).count();
        }
    }

    private static byte[] randomBytes(int length, long seed) {
        byte[] bytes = new byte[length];
        new SplittableRandom(seed).nextBytes(bytes);
        return bytes;
    }

    private static String readAll(LogStore log) throws IOException {
        StringBuilder text = new StringBuilder();
        for (long offset = 0; offset < log.size(); ) {
            for (LogRecord record : log.read(offset, LogStore.MAX_BATCH_BYTES)) {
                text.append(new String(record.bytes(), US_ASCII));
                offset = record.endOffset();
            }
        }
        return text.toString();
    }

    private static void append(LogStore log, LogStream stream, String text) throws IOException {
        log.writer().append(stream, ByteBuffer.wrap(text.getBytes(US_ASCII)));
    }

    private static ManualSubscriber<LogRecord> subscribe(org.apache.pekko.stream.javadsl.Source<LogRecord, ?> source) {
        ManualSubscriber<LogRecord> subscriber = new ManualSubscriber<>();
        source.runWith(Sink.fromSubscriber(subscriber), testKit.system());
        return subscriber;
    }

    private static CompletionStage<ByteString> bytes(org.apache.pekko.stream.javadsl.Source<LogRecord, ?> source) {
        return source.runWith(
                Sink.fold(ByteString.emptyByteString(), (all, record) -> all.concat(ByteString.fromArray(record.bytes()))),
                testKit.system());
    }

    private static void awaitCondition(BooleanSupplier condition, String what) throws InterruptedException {
        long giveUp = System.nanoTime() + TimeUnit.MINUTES.toNanos(HANG_GUARD_MINUTES);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < giveUp, what);
            Thread.sleep(10);
        }
    }

    private static <T> T await(CompletionStage<T> stage) throws Exception {
        return stage.toCompletableFuture().get(HANG_GUARD_MINUTES, TimeUnit.MINUTES);
    }
}
