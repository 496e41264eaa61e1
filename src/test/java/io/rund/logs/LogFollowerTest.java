package io.rund.logs;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Followers of a LogStore as Pekko streams, against a real file and a real writer thread. */
class LogFollowerTest {

    /** Only guards against a hang; nothing here is a performance claim. */
    private static final long HANG_GUARD_MINUTES = 5;
    private static final int MIB = 1024 * 1024;

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

    private static ActorSystem<Void> system() {
        return testKit.system();
    }

    @Test
    void fiftyFollowersOfALiveLogEachReceiveEveryByteAndCompleteAfterSeal() throws Exception {
        int followers = 50;
        byte[] source = new byte[20 * MIB];
        SplittableRandom random = new SplittableRandom(11);
        random.nextBytes(source);
        NavigableMap<Long, LogStream> appends = new TreeMap<>();
        List<Integer> chunks = new ArrayList<>();
        for (long at = 0; at < source.length; ) {
            int size = (int) Math.min(source.length - at, random.nextInt(1, 64 * 1024 + 1));
            appends.put(at, random.nextBoolean() ? LogStream.STDOUT : LogStream.STDERR);
            chunks.add(size);
            at += size;
        }

        try (LogStore store = LogStore.create(dir.resolve("job.log"))) {
            List<CompletionStage<Tally>> results = new ArrayList<>();
            for (int f = 0; f < followers / 2; f++) {
                results.add(tally(store, source, appends));
            }
            CountDownLatch halfWritten = new CountDownLatch(1);
            CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
                try {
                    long at = 0;
                    for (int size : chunks) {
                        store.writer().append(appends.get(at), ByteBuffer.wrap(source, (int) at, size));
                        at += size;
                        if (at >= source.length / 2) {
                            halfWritten.countDown();
                        }
                    }
                    store.writer().seal();
                } catch (IOException e) {
                    throw new RuntimeException(e);
                } finally {
                    halfWritten.countDown();
                }
            }, Thread.ofPlatform().name("pump")::start);
            assertTrue(halfWritten.await(HANG_GUARD_MINUTES, TimeUnit.MINUTES));
            for (int f = followers / 2; f < followers; f++) {
                results.add(tally(store, source, appends));
            }
            writer.get(HANG_GUARD_MINUTES, TimeUnit.MINUTES);

            for (CompletionStage<Tally> result : results) {
                Tally tally = await(result);
                assertEquals(List.of(), tally.problems);
                assertEquals(source.length, tally.next, "bytes received");
            }
        }
    }

    /** Follows the store from 0 and checks every record against the bytes and stream written at its offset. */
    private static CompletionStage<Tally> tally(LogStore store, byte[] source, NavigableMap<Long, LogStream> appends) {
        return store.follow(0, true).runWith(Sink.fold(new Tally(), (tally, record) -> {
            tally.check(record, source, appends);
            return tally;
        }), system());
    }

    /** What one follower saw: how far it got contiguously, and anything that was wrong. */
    private static final class Tally {
        long next;
        final List<String> problems = new ArrayList<>();

        void check(LogRecord record, byte[] source, NavigableMap<Long, LogStream> appends) {
            int at = (int) record.offset();
            byte[] bytes = record.bytes();
            Map.Entry<Long, LogStream> append = appends.floorEntry(record.offset());
            if (record.offset() != next) {
                problems.add("record at " + record.offset() + ", expected " + next);
            } else if (append.getValue() != record.stream()) {
                problems.add("record at " + at + " is " + record.stream() + ", was written as " + append.getValue());
            } else if (!Arrays.equals(bytes, 0, bytes.length, source, at, at + bytes.length)) {
                problems.add("bytes differ in record " + record);
            }
            next = record.endOffset();
        }
    }

    @Test
    void withoutFollowAStreamOfALiveLogCompletesAtItsCurrentEnd() throws Exception {
        try (LogStore store = LogStore.create(dir.resolve("job.log"))) {
            append(store, LogStream.STDOUT, "first ");
            append(store, LogStream.STDERR, "second");

            assertEquals("first second", collect(store, 0, false));
            assertEquals("cond", collect(store, 8, false));
            assertEquals("", collect(store, 12, false));
            assertEquals("", collect(store, 100, false));
            assertFalse(store.sealed());

            append(store, LogStream.STDOUT, " third");
            assertEquals("first second third", collect(store, 0, false));
        }
    }

    @Test
    void aFollowerOfASealedLogReplaysEverythingAndCompletes() throws Exception {
        try (LogStore store = LogStore.create(dir.resolve("job.log"))) {
            byte[] big = new byte[3 * LogStore.MAX_BATCH_BYTES + 17];
            new SplittableRandom(5).nextBytes(big);
            store.writer().append(LogStream.STDOUT, ByteBuffer.wrap(big));
            append(store, LogStream.STDERR, "bye");
            store.writer().seal();

            ByteString all = collectBytes(store, 0, true);
            assertEquals(ByteString.fromArray(big).concat(ByteString.fromString("bye")), all);
            assertEquals("ye", collect(store, big.length + 1, true));
            assertEquals("", collect(store, big.length + 3, true));
        }
    }

    @Test
    void followersWaitingOnASilentLogGetWhatComesAndEndWhenItIsSealed() throws Exception {
        try (LogStore store = LogStore.create(dir.resolve("job.log"))) {
            CompletionStage<ByteString> follower = bytes(store, 0, true);
            CompletionStage<ByteString> pastTheEnd = bytes(store, 3, true);
            append(store, LogStream.STDOUT, "one");
            append(store, LogStream.STDERR, "two");
            store.writer().seal();

            assertEquals("onetwo", await(follower).utf8String());
            assertEquals("two", await(pastTheEnd).utf8String());
        }
    }

    @Test
    void closingALogReleasesFollowersThatHaveSeenEverything() throws Exception {
        LogStore store = LogStore.create(dir.resolve("job.log"));
        CompletionStage<ByteString> follower = bytes(store, 0, true);
        store.close();
        assertEquals(ByteString.emptyByteString(), await(follower));
    }

    @Test
    void aFollowerThatFallsBehindADropIsToldSoAndNeverSkipsAhead() throws Exception {
        LogSpace space = LogSpace.create(new LogSettings(LogSettings.MIN_SEGMENT_BYTES, 2 * LogSettings.MIN_SEGMENT_BYTES,
                Long.MAX_VALUE, Long.MAX_VALUE, 0, 10, 10));
        try (LogStore store = space.createLog(dir.resolve("job.log"))) {
            append(store, LogStream.STDOUT, "first");
            ManualSubscriber<LogRecord> probe = subscribe(store.follow(0, true));
            probe.request(1);
            assertEquals("first", new String(((LogRecord) probe.next()).bytes(), US_ASCII));
            byte[] chunk = new byte[64 * 1024];
            for (int i = 0; i < 16; i++) {
                store.writer().append(LogStream.STDOUT, ByteBuffer.wrap(chunk));
            }
            assertTrue(store.firstRetainedOffset() > 5, "the follower's next offset was dropped");
            probe.request(1);
            OffsetDroppedException dropped = assertInstanceOf(OffsetDroppedException.class, probe.next());
            assertEquals(5, dropped.requestedOffset());
            assertEquals(store.firstRetainedOffset(), dropped.firstRetainedOffset());
            awaitCondition(() -> store.followerCount() == 0, "the failed follower left");
        }
    }

    @Test
    void aFollowerCancelledWhileWaitingLeavesNothingBehind() throws Exception {
        try (LogStore store = LogStore.create(dir.resolve("job.log"))) {
            append(store, LogStream.STDOUT, "only line\n");
            ManualSubscriber<LogRecord> probe = subscribe(store.follow(0, true));
            probe.request(2);
            probe.next();
            awaitCondition(() -> store.newData().waiterCount() == 1, "the follower waits for new data");
            assertEquals(1, store.followerCount());
            probe.cancel();
            awaitCondition(() -> store.newData().waiterCount() == 0 && store.followerCount() == 0, "it left");
        }
    }

    @Test
    void followerCapsPerJobAndPerIdentityRefuseAtStartAndFreeOnEnd() throws Exception {
        LogSpace space = LogSpace.create(new LogSettings(LogSettings.MIN_SEGMENT_BYTES, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, 0, 2, 3));
        try (LogStore a = space.createLog(dir.resolve("a.log")); LogStore b = space.createLog(dir.resolve("b.log"))) {
            ManualSubscriber<LogRecord> a1 = subscribe(a.follow(LogQuery.from(0, true), "alice"));
            ManualSubscriber<LogRecord> a2 = subscribe(a.follow(LogQuery.from(0, true), "alice"));
            a1.request(1);
            a2.request(1);
            awaitCondition(() -> a.followerCount() == 2, "two followers of a");
            ManualSubscriber<LogRecord> refusedByJob = subscribe(a.follow(LogQuery.from(0, true), "bob"));
            assertInstanceOf(FollowerLimitException.class, refusedByJob.next());
            ManualSubscriber<LogRecord> b1 = subscribe(b.follow(LogQuery.from(0, true), "alice"));
            b1.request(1);
            awaitCondition(() -> space.followersOf("alice") == 3, "alice follows three times");
            ManualSubscriber<LogRecord> refusedByIdentity = subscribe(b.follow(LogQuery.from(0, true), "alice"));
            assertInstanceOf(FollowerLimitException.class, refusedByIdentity.next());
            a1.cancel();
            a2.cancel();
            b1.cancel();
            awaitCondition(() -> space.followersOf("alice") == 0 && a.followerCount() == 0 && b.followerCount() == 0, "all left");
        }
    }

    @Test
    void oneStreamAndSinceFilterWhatAFollowerGets() throws Exception {
        try (LogStore store = LogStore.create(dir.resolve("job.log"))) {
            append(store, LogStream.STDOUT, "o1\n");
            append(store, LogStream.STDERR, "e1\n");
            append(store, LogStream.STDOUT, "o2\n");
            store.writer().seal();
            assertEquals("o1\no2\n", text(store.follow(new LogQuery(new LogStart.Oldest(), true, java.util.Set.of(LogStream.STDOUT)))));
            assertEquals("e1\n", text(store.follow(new LogQuery(new LogStart.Oldest(), true, java.util.Set.of(LogStream.STDERR)))));
            java.time.Instant future = java.time.Instant.now().plusSeconds(3600);
            assertEquals("", text(store.follow(new LogQuery(new LogStart.Since(future), true, LogQuery.BOTH_STREAMS))));
            assertEquals("o2\n", text(store.follow(new LogQuery(new LogStart.LastLines(1), true, java.util.Set.of(LogStream.STDOUT)))));
        }
    }

    private static ManualSubscriber<LogRecord> subscribe(org.apache.pekko.stream.javadsl.Source<LogRecord, ?> source) {
        ManualSubscriber<LogRecord> subscriber = new ManualSubscriber<>();
        source.runWith(Sink.fromSubscriber(subscriber), system());
        return subscriber;
    }

    private static String text(org.apache.pekko.stream.javadsl.Source<LogRecord, ?> source) throws Exception {
        return await(source.runWith(Sink.fold("", (all, r) -> all + new String(r.bytes(), US_ASCII)), system()));
    }

    private static void awaitCondition(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long giveUp = System.nanoTime() + TimeUnit.MINUTES.toNanos(HANG_GUARD_MINUTES);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < giveUp, what);
            Thread.sleep(10);
        }
    }

    private static <T> T await(CompletionStage<T> stage) throws Exception {
        return stage.toCompletableFuture().get(HANG_GUARD_MINUTES, TimeUnit.MINUTES);
    }

    private static void append(LogStore store, LogStream stream, String text) throws IOException {
        store.writer().append(stream, ByteBuffer.wrap(text.getBytes(US_ASCII)));
    }

    private static String collect(LogStore store, long from, boolean follow) throws Exception {
        return collectBytes(store, from, follow).utf8String();
    }

    private static ByteString collectBytes(LogStore store, long from, boolean follow) throws Exception {
        return await(bytes(store, from, follow));
    }

    private static CompletionStage<ByteString> bytes(LogStore store, long from, boolean follow) {
        return store.follow(from, follow).runWith(
                Sink.fold(ByteString.emptyByteString(), (all, record) -> all.concat(ByteString.fromArray(record.bytes()))),
                system());
    }
}
