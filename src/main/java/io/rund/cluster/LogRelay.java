package io.rund.cluster;

import io.rund.logs.FollowerLimitException;
import io.rund.logs.LogRecord;
import io.rund.logs.OffsetDroppedException;
import java.io.IOException;
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
 * at most {@code pekko.stream.materializer.stream-ref.buffer-capacity} records ahead of the consumer. The owner's
 * expected failures travel in-band as {@link LogFrame}s and come back as the same exceptions; the loss of the
 * owner fails the far side at once with {@link HostUnreachableException}. See docs/LOGS.md, "Across nodes".
 */
public final class LogRelay {

    /** How much of an owner's error message crosses at most: it is read on another node, never echoed unbounded. */
    private static final int MAX_MESSAGE_CHARS = 500;

    private LogRelay() {}

    /**
     * On the owner: runs {@code records} (a local follower) for one remote subscriber. The follower starts now (it
     * holds its follower slot from here) and reads nothing until the far side asks; a ref nobody claims within
     * {@code stream-ref.subscription-timeout} is dropped, releasing the follower.
     */
    public static SourceRef<LogFrame> offer(Source<LogRecord, NotUsed> records, Materializer clusterMaterializer) {
        return records
                .<LogFrame>map(LogFrame.Output::of)
                .recover(new PFBuilder<Throwable, LogFrame>()
                        .match(OffsetDroppedException.class,
                                e -> new LogFrame.OffsetDropped(e.requestedOffset(), e.firstRetainedOffset()))
                        .match(FollowerLimitException.class, e -> new LogFrame.FollowerRefused(bounded(e.getMessage())))
                        .matchAny(e -> new LogFrame.ReadFailed(bounded(String.valueOf(e.getMessage()))))
                        .build())
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
                .map(LogRelay::toRecord)
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

    private static LogRecord toRecord(LogFrame frame) throws Exception {
        return switch (frame) {
            case LogFrame.Output output -> output.toRecord();
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
}
