package io.rund.cluster;

import io.rund.logs.FollowerLimitException;
import io.rund.logs.LogRecord;
import io.rund.logs.OffsetDroppedException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.RemoteStreamRefActorTerminatedException;
import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamRefs;

/**
 * Carries one follower's log records from the node that owns the job to the node the follower is connected to.
 * The owner runs its local follower into a stream ref ({@link #offer}); the follower's node reads it back
 * ({@link #receive}). Back-pressure holds end to end: the owner's follower reads only what the far side asked for,
 * at most {@code pekko.stream.materializer.stream-ref.buffer-capacity} frames ahead of the consumer. The owner's
 * expected failures travel in-band as {@link LogFrame}s and come back as the same exceptions; the loss of the
 * owner fails the far side at once with {@link HostUnreachableException}. See docs/LOGS.md, "Across nodes".
 */
public final class LogRelay {

    /** How much of an owner's error message crosses at most: it is read on another node, never echoed unbounded. */
    private static final int MAX_MESSAGE_CHARS = 500;

    /**
     * Output bytes one {@link LogFrame.Outputs} carries at most (records of up to 64 KiB each): large enough that the
     * per-frame costs fade, small enough that a stalled follower holds little (buffer-capacity frames, 8 x 128 KiB,
     * on the follower's node, one batch on the owner's) and far below Artery's maximum-frame-size (4 MiB).
     */
    static final int MAX_FRAME_PAYLOAD_BYTES = 128 * 1024;

    private LogRelay() {}

    /**
     * On the owner: runs {@code records} (a local follower) for one remote subscriber; {@code compressed}: the
     * follower's node takes output deflated ({@link LogFrame.Output}), as compressed once for every follower here. The follower starts now (it
     * holds its follower slot from here) and reads nothing until the far side asks; a ref nobody claims within
     * {@code stream-ref.subscription-timeout} is dropped, releasing the follower.
     */
    public static SourceRef<LogFrame> offer(Source<LogRecord, NotUsed> records, boolean compressed,
                                            Materializer clusterMaterializer) {
        return records
                .<LogFrame>map(record -> LogFrame.Output.of(record, compressed))
                .recover(new PFBuilder<Throwable, LogFrame>()
                        .match(OffsetDroppedException.class,
                                e -> new LogFrame.OffsetDropped(e.requestedOffset(), e.firstRetainedOffset()))
                        .match(FollowerLimitException.class, e -> new LogFrame.FollowerRefused(bounded(e.getMessage())))
                        .matchAny(e -> new LogFrame.ReadFailed(bounded(String.valueOf(e.getMessage()))))
                        .build())
                // Batches only while the far side has not asked yet: a follower that keeps up gets each record at
                // once, a busy one frames of up to MAX_FRAME_PAYLOAD_BYTES. The error frame, if any, joins the batch
                // before it so nothing read ahead of an error is lost.
                .batchWeighted(MAX_FRAME_PAYLOAD_BYTES, LogRelay::payloadBytes, FrameBatch::new, FrameBatch::add)
                .mapConcat(FrameBatch::frames)
                .runWith(StreamRefs.sourceRef(), clusterMaterializer);
    }

    /**
     * On the follower's node: the records again; the owner's OffsetDroppedException / FollowerLimitException come
     * back as the same exceptions (with their fields: retained-from offset, message); when {@code ownerLost}
     * completes (with the host name) the source fails with HostUnreachableException. If the owner's side ends without
     * a clean end (its cluster system stopped) the source fails too: with HostUnreachableException if ownerLost has
     * completed by then, else with Pekko's RemoteStreamRefActorTerminatedException.
     */
    public static Source<LogRecord, NotUsed> receive(SourceRef<LogFrame> ref, CompletionStage<String> ownerLost) {
        return ref.getSource()
                .mapConcat(LogRelay::toRecords)
                // The owner's stream stage died without a clean end (its node left or was removed): by then the
                // membership layer has usually reported the loss, which names the host.
                .mapError(RemoteStreamRefActorTerminatedException.class, e -> {
                    String host = ownerLost.toCompletableFuture().getNow(null);
                    return host == null ? e : unreachable(host);
                })
                .viaMat(KillSwitches.single(), Keep.right())
                .watchTermination((killSwitch, done) -> {
                    // The callback stays on ownerLost after the stream ends: it then holds only an emptied reference.
                    AtomicReference<UniqueKillSwitch> live = new AtomicReference<>(killSwitch);
                    done.whenComplete((ignored, failure) -> live.set(null));
                    ownerLost.thenAccept(host -> {
                        UniqueKillSwitch running = live.getAndSet(null);
                        if (running != null) {
                            running.abort(unreachable(host));
                        }
                    });
                    return NotUsed.notUsed();
                });
    }

    private static HostUnreachableException unreachable(String host) {
        return new HostUnreachableException(host, "the job's host " + host
                + " is unreachable from this node; its log stream ended (resume from the last offset when it is back)");
    }

    private static List<LogRecord> toRecords(LogFrame frame) throws Exception {
        return switch (frame) {
            case LogFrame.Outputs outputs -> outputs.records().stream().map(LogFrame.Output::toRecord).toList();
            case LogFrame.Output output -> List.of(output.toRecord());
            case LogFrame.OffsetDropped dropped ->
                    throw new OffsetDroppedException(dropped.requestedOffset(), dropped.firstRetainedOffset());
            case LogFrame.FollowerRefused refused -> throw new FollowerLimitException(refused.message());
            case LogFrame.ReadFailed failed ->
                    throw new IOException("the job's host failed to read its log: " + failed.message());
        };
    }

    private static String bounded(String message) {
        return message.length() <= MAX_MESSAGE_CHARS ? message : message.substring(0, MAX_MESSAGE_CHARS) + "...";
    }

    private static long payloadBytes(LogFrame frame) {
        return frame instanceof LogFrame.Output output ? output.wireBytes() : 0;
    }

    /** Consecutive output frames gathered while the far side has not asked, and the error frame that may end them. */
    private static final class FrameBatch {
        private final List<LogFrame.Output> outputs = new ArrayList<>();
        private LogFrame ending;

        FrameBatch(LogFrame first) {
            add(first);
        }

        FrameBatch add(LogFrame frame) {
            if (frame instanceof LogFrame.Output output) {
                outputs.add(output);
            } else {
                ending = frame;
            }
            return this;
        }

        List<LogFrame> frames() {
            List<LogFrame> frames = new ArrayList<>(2);
            if (!outputs.isEmpty()) {
                frames.add(new LogFrame.Outputs(outputs));
            }
            if (ending != null) {
                frames.add(ending);
            }
            return frames;
        }
    }
}
