package io.rund.cluster;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rund.logs.FollowerLimitException;
import io.rund.logs.LogQuery;
import io.rund.logs.LogRecord;
import io.rund.logs.LogSettings;
import io.rund.logs.LogSpace;
import io.rund.logs.LogStore;
import io.rund.logs.LogStream;
import io.rund.logs.LogWriter;
import io.rund.logs.OffsetDroppedException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.jackson.JacksonCborSerializer;
import org.apache.pekko.stream.RemoteStreamRefActorTerminatedException;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.AsPublisher;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/**
 * LogRelay between two cluster ActorSystems in one JVM ({@link RelayNodes}), with every message serialized
 * (serialize-messages = on): a real LogStore written by the real LogWriter on the owner ("node B"), the relayed
 * Source consumed on the follower's node ("node A").
 */
class LogRelayTest {

    private static final Duration HANG_GUARD = RelayNodes.HANG_GUARD;
    private static final int MIB = 1024 * 1024;
    private static final int MAX_RECORD = 64 * 1024;
    private static final String FOLLOWER = RelayNodes.FOLLOWER;

    @TempDir
    Path dir;

    private RelayNodes nodes;
    private ActorSystem<Void> nodeA;
    private ActorSystem<Void> nodeB;

    @BeforeEach
    void formCluster() throws Exception {
        nodes = new RelayNodes(true);
        nodeA = nodes.nodeA;
        nodeB = nodes.nodeB;
    }

    @AfterEach
    void stopNodes() throws Exception {
        nodes.close();
    }

    @Test
    void logFramesCrossAsJacksonCborBoundToNodeMessage() throws Exception {
        LogFrame.Output frame = new LogFrame.Output(7, 1_733_000_000_123_456_789L, LogStream.STDERR, new byte[] {0, 1, -1},
                null, 0, 0);
        Serialization serialization = SerializationExtension.get(nodeA);
        assertInstanceOf(JacksonCborSerializer.class, serialization.findSerializerFor(frame));
        LogFrame.Output back = roundTrip(serialization, frame);
        assertEquals(frame.offset(), back.offset());
        assertEquals(frame.toRecord(), back.toRecord());

        // Text from a shared record crosses deflated, and comes back as the same record, its bytes inflated on demand.
        byte[] text = new byte[MAX_RECORD];
        fillText(text, text.length, new SplittableRandom(3));
        LogRecord shared = LogRecord.shared(99, java.time.Instant.parse("2026-12-06T10:00:00.000000001Z"), LogStream.STDOUT, text);
        LogFrame.Output deflated = LogFrame.Output.of(shared, true);
        assertEquals(null, deflated.bytes(), "text goes deflated");
        assertTrue(deflated.wireBytes() < text.length / 2, deflated.wireBytes() + " bytes for " + text.length);
        LogRecord arrived = roundTrip(serialization, deflated).toRecord();
        assertEquals(shared.deflated(), arrived.deflated(), "the owner's deflated form, to be sent on as it is");
        assertEquals(text.length, arrived.length());
        assertArrayEquals(text, arrived.bytes());
        assertEquals(shared, arrived);
        // To a node from before compression (it does not ask), the same record goes as bytes.
        assertArrayEquals(text, LogFrame.Output.of(shared, false).bytes());
    }

    private static LogFrame.Output roundTrip(Serialization serialization, LogFrame.Output frame) {
        byte[] bytes = serialization.serialize(frame).get();
        return (LogFrame.Output) serialization.deserialize(bytes,
                serialization.findSerializerFor(frame).identifier(), LogFrame.Output.class.getName()).get();
    }

    @Test
    void theLargestBatchedFrameStaysFarBelowArterysMaximumFrameSize() throws Exception {
        List<LogFrame.Output> records = new ArrayList<>();
        for (int i = 0; i < LogRelay.MAX_FRAME_PAYLOAD_BYTES / MAX_RECORD; i++) {
            records.add(new LogFrame.Output((long) i * MAX_RECORD, 1_733_000_000_123_456_789L, LogStream.STDOUT,
                    new byte[MAX_RECORD], null, 0, 0));
        }
        LogFrame.Outputs frame = new LogFrame.Outputs(records);
        Serialization serialization = SerializationExtension.get(nodeA);
        byte[] bytes = serialization.serialize(frame).get();
        long maximumFrameSize = nodeA.settings().config().getBytes("pekko.remote.artery.advanced.maximum-frame-size");
        assertTrue(bytes.length < maximumFrameSize / 2, bytes.length + " bytes against " + maximumFrameSize);
        LogFrame.Outputs back = (LogFrame.Outputs) serialization.deserialize(bytes,
                serialization.findSerializerFor(frame).identifier(), LogFrame.Outputs.class.getName()).get();
        assertEquals(records.size(), back.records().size());
        assertEquals(records.getLast().toRecord(), back.records().getLast().toRecord());
    }

    // ---- 1. byte-exact, resume, completion -------------------------------------------------------------------

    @Test
    void aHundredMegabytesArriveByteExactWithTheirOffsetsAndTheFinishedLogCompletesTheStream() throws Exception {
        LogStore log = LogSpace.create(LogSettings.unlimited()).createLog(dir.resolve("job.log"));
        SplittableRandom random = new SplittableRandom(42);
        long half = writeMixed(log.writer(), 50L * MIB, random);
        // Followed live: half written before it starts, half while it runs; the seal ends it.
        CompletionStage<Tally> relayed = relay(log, 0, true).runWith(Tally.sink(), nodeA);
        long total = half + writeMixed(log.writer(), 50L * MIB, random);
        log.writer().seal();
        Tally remote = relayed.toCompletableFuture().get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
        Tally local = log.follow(LogQuery.from(0, false)).runWith(Tally.sink(), nodeB)
                .toCompletableFuture().get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);

        assertEquals(total, local.bytes, "the local follow reads everything written");
        assertEquals(local, remote, "the relay delivers the same records (offsets, streams, times, bytes)");
        assertEquals(0, remote.firstOffset);
        assertEquals(total, remote.endOffset);
        assertTrue(remote.arrivedDeflated > 0 && remote.arrivedDeflated < remote.count,
                "text crossed deflated, random bytes as they are: " + remote.arrivedDeflated + " of " + remote.count);

        // Resume in the middle, inside a record: the same bytes from that exact offset as a local follow.
        long middle = total / 2 + 7;
        Tally resumedRemote = relay(log, middle, true).runWith(Tally.sink(), nodeA)
                .toCompletableFuture().get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
        Tally resumedLocal = log.follow(LogQuery.from(middle, true)).runWith(Tally.sink(), nodeB)
                .toCompletableFuture().get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
        assertEquals(middle, resumedRemote.firstOffset);
        assertEquals(total - middle, resumedRemote.bytes);
        assertEquals(resumedLocal, resumedRemote);
        awaitFollowers(log, 0);
    }

    @Test
    void aNodeThatDoesNotAskForDeflatedOutputGetsBytesExactly() throws Exception {
        LogStore log = LogSpace.create(LogSettings.unlimited()).createLog(dir.resolve("older-node.log"));
        long total = writeMixed(log.writer(), 4 * MIB, new SplittableRandom(11));
        log.writer().seal();
        nodes.compressedOutput = false;
        Tally remote = relay(log, 0, true).runWith(Tally.sink(), nodeA)
                .toCompletableFuture().get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
        Tally local = log.follow(LogQuery.from(0, false)).runWith(Tally.sink(), nodeB)
                .toCompletableFuture().get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
        assertEquals(total, remote.bytes);
        assertEquals(local, remote);
        assertEquals(0, remote.arrivedDeflated, "as a node from before compression reads them: bytes only");
    }

    // ---- 2. errors in-band ---------------------------------------------------------------------------------

    @Test
    void aDroppedOffsetArrivesAsOffsetDroppedExceptionWithTheRetainedStart() throws Exception {
        long segment = LogSettings.MIN_SEGMENT_BYTES;
        LogSettings caps = new LogSettings(segment, 2 * segment, Long.MAX_VALUE, Long.MAX_VALUE, MIB, 10, 10);
        LogStore log = LogSpace.create(caps).createLog(dir.resolve("capped.log"));
        writeMixed(log.writer(), 2 * MIB, new SplittableRandom(7));
        log.writer().seal();
        assertTrue(log.firstRetainedOffset() > 0, "the caps dropped the oldest output");

        Throwable remote = failureOf(relay(log, 0, true));
        Throwable local = failureOf(log.follow(LogQuery.from(0, true), FOLLOWER));
        OffsetDroppedException dropped = assertInstanceOf(OffsetDroppedException.class, remote);
        OffsetDroppedException expected = assertInstanceOf(OffsetDroppedException.class, local);
        assertEquals(log.firstRetainedOffset(), dropped.firstRetainedOffset());
        assertEquals(expected.requestedOffset(), dropped.requestedOffset());
        assertEquals(expected.getMessage(), dropped.getMessage());
        awaitFollowers(log, 0);
    }

    @Test
    void aFollowerCapOnTheOwnerArrivesAsFollowerLimitExceptionWithItsMessage() throws Exception {
        long segment = LogSettings.MIN_SEGMENT_BYTES;
        LogSettings oneFollower = new LogSettings(segment, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, MIB, 1, 10);
        LogStore log = LogSpace.create(oneFollower).createLog(dir.resolve("busy.log"));
        writeMixed(log.writer(), MIB, new SplittableRandom(3));
        // The one allowed follower: a relay that stays open on the live log.
        CompletionStage<Tally> first = relay(log, 0, true).runWith(Tally.sink(), nodeA);
        awaitFollowers(log, 1);

        Throwable refused = failureOf(relay(log, 0, true));
        FollowerLimitException limit = assertInstanceOf(FollowerLimitException.class, refused);
        assertTrue(limit.getMessage().contains("rund.logs.max-followers-per-job"), limit.getMessage());

        log.writer().seal();
        assertEquals(MIB, first.toCompletableFuture().get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS).bytes);
        awaitFollowers(log, 0);
    }

    // ---- 3. back-pressure, bounded memory, the writer never waits -----------------------------------------

    @Test
    void aStalledRemoteFollowerHoldsAFewRecordsWhileTheWriterAndAFastFollowerGoOn() throws Exception {
        int bufferCapacity = nodeA.settings().config().getInt("pekko.stream.materializer.stream-ref.buffer-capacity");
        long toWrite = 200L * MIB;
        LogStore log = LogSpace.create(LogSettings.unlimited()).createLog(dir.resolve("growing.log"));
        AtomicLong emittedRecords = new AtomicLong();
        AtomicLong emittedBytes = new AtomicLong();
        Source<LogRecord, NotUsed> stalledSource = relay(log, 0, true, records -> records.map(record -> {
            emittedRecords.incrementAndGet();
            emittedBytes.addAndGet(record.bytes().length);
            return record;
        }));
        StallingSubscriber stalled = new StallingSubscriber(3);
        stalledSource.runWith(Sink.asPublisher(AsPublisher.WITHOUT_FANOUT), nodeA)
                .subscribe(stalled);
        CompletionStage<Tally> fast = relay(log, 0, true).runWith(Tally.sink(), nodeA);

        MessageDigest written = MessageDigest.getInstance("SHA-256");
        long total = writeMixed(log.writer(), toWrite, new SplittableRandom(5), written);
        log.writer().seal();
        Tally fastTally = fast.toCompletableFuture().get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);

        assertEquals(total, fastTally.bytes, "the fast follower got every byte");
        assertArrayEquals(written.digest(), fastTally.payloadDigest(), "and exactly the bytes written");
        assertEquals(3, stalled.taken.get(), "the stalled consumer took only what it asked for");
        long inFlight = emittedRecords.get() - stalled.taken.get();
        long inFlightBytes = emittedBytes.get() - stalled.takenBytes.get();
        System.out.printf("stalled follower: owner emitted %d records (%d bytes), consumer took %d (%d bytes); in flight"
                        + " %d records (%d bytes) with buffer-capacity %d, while %d bytes were written%n",
                emittedRecords.get(), emittedBytes.get(), stalled.taken.get(), stalled.takenBytes.get(), inFlight,
                inFlightBytes, bufferCapacity, total);
        // Everything the owner read for it beyond what it took sits in the far side's buffer of frames (or on the
        // wire), in the owner's batch being gathered, in the frame the far side is unpacking, and in
        // Sink.asPublisher's one-element input buffer (a record).
        assertTrue(bufferCapacity <= 8, "a small stream-ref buffer, not Pekko's eager 32: " + bufferCapacity);
        long bound = (bufferCapacity + 2L) * LogRelay.MAX_FRAME_PAYLOAD_BYTES + MAX_RECORD;
        assertTrue(inFlightBytes <= bound, "bytes in flight: " + inFlightBytes + ", bound " + bound);
        assertEquals(1, log.followerCount(), "the stalled follower is still there");

        stalled.cancel();
        awaitFollowers(log, 0);
    }

    // ---- 4. follower slots are released ---------------------------------------------------------------------

    @Test
    void anUnclaimedRefReleasesTheOwnersFollowerAfterTheSubscriptionTimeout() throws Exception {
        assertEquals(Duration.ofSeconds(5),
                nodeB.settings().config().getDuration("pekko.stream.materializer.stream-ref.subscription-timeout"));
        LogStore log = LogSpace.create(LogSettings.unlimited()).createLog(dir.resolve("unclaimed.log"));
        writeMixed(log.writer(), MIB, new SplittableRandom(1));
        nodes.offered(log, 0, true, UnaryOperator.identity());
        assertEquals(1, log.followerCount(), "an offered ref holds its follower until claimed");
        awaitFollowers(log, 0);
    }

    @Test
    void aConsumerThatCancelsReleasesTheOwnersFollower() throws Exception {
        LogStore log = LogSpace.create(LogSettings.unlimited()).createLog(dir.resolve("cancelled.log"));
        writeMixed(log.writer(), MIB, new SplittableRandom(2));
        List<LogRecord> firstTwo = relay(log, 0, true).take(2).runWith(Sink.seq(), nodeA)
                .toCompletableFuture().get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
        assertEquals(2, firstTwo.size());
        assertEquals(0, firstTwo.getFirst().offset());
        assertEquals(firstTwo.get(0).endOffset(), firstTwo.get(1).offset());
        awaitFollowers(log, 0);
    }

    // ---- 5. loss of the owner -------------------------------------------------------------------------------

    @Test
    void whenTheOwnerIsLostTheStreamFailsWithHostUnreachableAtOnce() throws Exception {
        LogStore log = LogSpace.create(LogSettings.unlimited()).createLog(dir.resolve("lost.log"));
        writeMixed(log.writer(), MIB, new SplittableRandom(4));
        CompletableFuture<String> ownerLost = new CompletableFuture<>();
        CompletableFuture<Long> received = new CompletableFuture<>();
        AtomicLong bytes = new AtomicLong();
        CompletionStage<?> done = relay(log, 0, true, UnaryOperator.identity(), ownerLost)
                .runForeach(record -> {
                    if (bytes.addAndGet(record.bytes().length) == MIB) {
                        received.complete(bytes.get());
                    }
                }, nodeA);
        received.get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
        // The live log is open-ended: only the loss can end this stream.
        ownerLost.complete("node2");
        HostUnreachableException lost = assertInstanceOf(HostUnreachableException.class, failureOf(done));
        assertEquals("node2", lost.host());

        // Lost before it even started: fails at once too.
        Throwable early = failureOf(relay(log, 0, true, UnaryOperator.identity(),
                CompletableFuture.completedFuture("node3")));
        assertEquals("node3", assertInstanceOf(HostUnreachableException.class, early).host());
        log.writer().seal();
    }

    @Test
    void whenTheOwnersClusterSystemTerminatesMidStreamTheFarSideFails() throws Exception {
        LogStore log = LogSpace.create(LogSettings.unlimited()).createLog(dir.resolve("owner-gone.log"));
        writeMixed(log.writer(), MIB, new SplittableRandom(6));
        CompletableFuture<Long> received = new CompletableFuture<>();
        AtomicLong bytes = new AtomicLong();
        CompletionStage<?> done = relay(log, 0, true).runForeach(record -> {
            if (bytes.addAndGet(record.bytes().length) == MIB) {
                received.complete(bytes.get());
            }
        }, nodeA);
        received.get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
        nodeB.terminate();
        Throwable failure = failureOf(done);
        // Without a clean end from the owner, the far side's stream-ref stage fails once the owner's stage actor is
        // known dead (a graceful stop leaves the cluster, so death watch fires); the caller names the host.
        assertInstanceOf(RemoteStreamRefActorTerminatedException.class, failure);
        awaitFollowers(log, 0);
        log.writer().seal();
    }

    @Test
    void whenTheOwnerLeavesTheClusterMidStreamTheFarSideFailsWithHostUnreachable() throws Exception {
        LogStore log = LogSpace.create(LogSettings.unlimited()).createLog(dir.resolve("owner-left.log"));
        writeMixed(log.writer(), MIB, new SplittableRandom(8));
        // As the membership layer does: the owner is lost once A sees it removed.
        CompletableFuture<String> ownerLost = new CompletableFuture<>();
        Address owner = Cluster.get(nodeB).selfMember().address();
        ActorRef<ClusterEvent.MemberRemoved> watcher = nodeA.systemActorOf(
                Behaviors.receiveMessage(removed -> {
                    if (removed.member().address().equals(owner)) {
                        ownerLost.complete("node-b");
                    }
                    return Behaviors.same();
                }), "removal-watcher", Props.empty());
        Cluster.get(nodeA).subscriptions().tell(Subscribe.create(watcher, ClusterEvent.MemberRemoved.class));
        CompletableFuture<Long> received = new CompletableFuture<>();
        AtomicLong bytes = new AtomicLong();
        CompletionStage<?> done = relay(log, 0, true, UnaryOperator.identity(), ownerLost).runForeach(record -> {
            if (bytes.addAndGet(record.bytes().length) == MIB) {
                received.complete(bytes.get());
            }
        }, nodeA);
        received.get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
        nodeB.terminate();
        HostUnreachableException lost = assertInstanceOf(HostUnreachableException.class, failureOf(done));
        assertEquals("node-b", lost.host());
        log.writer().seal();
    }

    // ---- helpers --------------------------------------------------------------------------------------------

    private Source<LogRecord, NotUsed> relay(LogStore log, long from, boolean follow) throws Exception {
        return nodes.relay(log, from, follow);
    }

    private Source<LogRecord, NotUsed> relay(LogStore log, long from, boolean follow,
                                             UnaryOperator<Source<LogRecord, NotUsed>> tap) throws Exception {
        return nodes.relay(log, from, follow, tap, new CompletableFuture<>());
    }

    private Source<LogRecord, NotUsed> relay(LogStore log, long from, boolean follow,
                                             UnaryOperator<Source<LogRecord, NotUsed>> tap,
                                             CompletionStage<String> ownerLost) throws Exception {
        return nodes.relay(log, from, follow, tap, ownerLost);
    }

    private Throwable failureOf(Source<LogRecord, NotUsed> source) throws Exception {
        return failureOf(source.runWith(Sink.ignore(), nodeA));
    }

    private static Throwable failureOf(CompletionStage<?> done) throws Exception {
        try {
            done.toCompletableFuture().get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause() instanceof CompletionException c ? c.getCause() : e.getCause();
        }
        throw new AssertionError("the stream completed instead of failing");
    }

    /** Appends about {@code bytes} of pseudo-random output in records of 1..64 KiB, on both streams. */
    /** Log-like lines in {@code chunk[0, size)}: output that compresses, as real logs do. */
    static void fillText(byte[] chunk, int size, SplittableRandom random) {
        int at = 0;
        for (int line = 0; at < size; line++) {
            byte[] text = ("2026-12-06T10:" + line % 60 + " INFO [worker-" + random.nextInt(8) + "] step " + line
                    + " took " + random.nextInt(10_000) + " ms\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            int n = Math.min(text.length, size - at);
            System.arraycopy(text, 0, chunk, at, n);
            at += n;
        }
    }

    static long writeMixed(LogWriter writer, long bytes, SplittableRandom random) throws Exception {
        return writeMixed(writer, bytes, random, null);
    }

    static long writeMixed(LogWriter writer, long bytes, SplittableRandom random, MessageDigest digest)
            throws Exception {
        byte[] chunk = new byte[MAX_RECORD];
        long written = 0;
        while (written < bytes) {
            int size = (int) Math.min(bytes - written, random.nextInt(1, MAX_RECORD + 1));
            if (random.nextBoolean()) {
                random.nextBytes(chunk);
            } else {
                fillText(chunk, size, random); // compresses: crosses deflated
            }
            if (digest != null) {
                digest.update(chunk, 0, size);
            }
            writer.append(random.nextBoolean() ? LogStream.STDOUT : LogStream.STDERR, ByteBuffer.wrap(chunk, 0, size));
            written += size;
        }
        return written;
    }

    private static void awaitFollowers(LogStore log, int count) throws InterruptedException {
        await("the log has " + count + " followers (has " + log.followerCount() + ")",
                () -> log.followerCount() == count);
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        RelayNodes.await(what, condition);
    }

    /** Requests {@code wanted} elements, then nothing more: a client that stopped reading. */
    static final class StallingSubscriber implements Subscriber<LogRecord> {
        private final long wanted;
        final AtomicLong taken = new AtomicLong();
        final AtomicLong takenBytes = new AtomicLong();
        private final AtomicReference<Subscription> subscription = new AtomicReference<>();

        StallingSubscriber(long wanted) {
            this.wanted = wanted;
        }

        @Override
        public void onSubscribe(Subscription s) {
            subscription.set(s);
            s.request(wanted);
        }

        @Override
        public void onNext(LogRecord record) {
            taken.incrementAndGet();
            takenBytes.addAndGet(record.bytes().length);
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onComplete() {}

        void cancel() {
            subscription.get().cancel();
        }
    }

    /** What a reader saw: digests over every record (offset, stream, time, bytes) and over the payload alone. */
    static final class Tally {
        final MessageDigest records = sha256();
        final MessageDigest payload = sha256();
        long firstOffset = -1;
        long endOffset = -1;
        long bytes;
        /** Records that arrived deflated from another node (not compared: a local follow's records have none). */
        long arrivedDeflated;
        long count;
        private byte[] recordsDigest;
        private byte[] payloadDigest;

        static Sink<LogRecord, CompletionStage<Tally>> sink() {
            return Sink.<Tally, LogRecord>fold(new Tally(), Tally::add).mapMaterializedValue(
                    done -> done.thenApply(Tally::finish));
        }

        private Tally add(LogRecord record) {
            if (firstOffset < 0) {
                firstOffset = record.offset();
            } else if (record.offset() != endOffset) {
                throw new AssertionError("offsets not contiguous: " + endOffset + " then " + record.offset());
            }
            endOffset = record.endOffset();
            count++;
            if (!record.shared() && record.deflated() != null) {
                arrivedDeflated++;
            }
            bytes += record.bytes().length;
            ByteBuffer header = ByteBuffer.allocate(24).putLong(record.offset())
                    .putLong(record.timestamp().getEpochSecond() * 1_000_000_000L + record.timestamp().getNano())
                    .putInt(record.stream().ordinal()).putInt(record.bytes().length);
            records.update(header.array());
            records.update(record.bytes());
            payload.update(record.bytes());
            return this;
        }

        private Tally finish() {
            recordsDigest = records.digest();
            payloadDigest = payload.digest();
            return this;
        }

        byte[] payloadDigest() {
            return payloadDigest;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Tally that && firstOffset == that.firstOffset && endOffset == that.endOffset
                    && bytes == that.bytes && Arrays.equals(recordsDigest, that.recordsDigest);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(recordsDigest);
        }

        @Override
        public String toString() {
            return "Tally[" + firstOffset + ".." + endOffset + ", " + bytes + " bytes, sha256 "
                    + HexFormat.of().formatHex(recordsDigest) + "]";
        }

        private static MessageDigest sha256() {
            try {
                return MessageDigest.getInstance("SHA-256");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
