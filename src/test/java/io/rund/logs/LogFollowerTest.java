package io.rund.logs;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
                        store.append(appends.get(at), ByteBuffer.wrap(source, (int) at, size));
                        at += size;
                        if (at >= source.length / 2) {
                            halfWritten.countDown();
                        }
                    }
                    store.seal();
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
            store.append(LogStream.STDOUT, ByteBuffer.wrap(big));
            append(store, LogStream.STDERR, "bye");
            store.seal();

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
            store.seal();

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

    private static <T> T await(CompletionStage<T> stage) throws Exception {
        return stage.toCompletableFuture().get(HANG_GUARD_MINUTES, TimeUnit.MINUTES);
    }

    private static void append(LogStore store, LogStream stream, String text) throws IOException {
        store.append(stream, ByteBuffer.wrap(text.getBytes(US_ASCII)));
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
