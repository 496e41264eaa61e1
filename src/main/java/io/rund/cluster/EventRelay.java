package io.rund.cluster;

import io.rund.job.EventWindowExceededException;
import io.rund.job.JobEvent;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.RemoteStreamRefActorTerminatedException;
import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamRefs;

/**
 * Carries one watcher's events of one job from the job's host to the node the watcher is connected to, as
 * {@link LogRelay} carries log records: a stream ref with back-pressure end to end, the host's exceeded-window error
 * in-band, and the host's loss as {@link HostUnreachableException} naming it.
 */
public final class EventRelay {

    private static final int MAX_MESSAGE_CHARS = 500;

    private EventRelay() {}

    /** On the job's host: runs {@code events} for one remote watcher. */
    public static SourceRef<EventFrame> offer(Source<JobEvent, NotUsed> events, Materializer clusterMaterializer) {
        return events
                .<EventFrame>map(EventFrame.Event::new)
                .recover(new PFBuilder<Throwable, EventFrame>()
                        .match(EventWindowExceededException.class,
                                e -> new EventFrame.WindowExceeded(bounded(e.getMessage()), e.oldestRetained()))
                        .matchAny(e -> new EventFrame.Failed(bounded(String.valueOf(e.getMessage()))))
                        .build())
                .runWith(StreamRefs.sourceRef(), clusterMaterializer);
    }

    /** On the watcher's node: the events again, failing as the host's stream failed, or naming {@code host} if lost. */
    public static Source<JobEvent, NotUsed> receive(SourceRef<EventFrame> ref, String host) {
        return ref.getSource()
                .map(EventRelay::toEvent)
                .mapError(RemoteStreamRefActorTerminatedException.class, e -> new HostUnreachableException(host,
                        "the job's host " + host + " ended its event stream without an end; watch again with"
                                + " after_sequence set to the last sequence received once it is back"));
    }

    private static JobEvent toEvent(EventFrame frame) {
        return switch (frame) {
            case EventFrame.Event event -> event.event();
            case EventFrame.WindowExceeded exceeded ->
                    throw new EventWindowExceededException(exceeded.message(), exceeded.oldestRetained());
            case EventFrame.Failed failed -> throw new IllegalStateException("the job's host failed its event stream: "
                    + failed.message());
        };
    }

    private static String bounded(String message) {
        return message.length() <= MAX_MESSAGE_CHARS ? message : message.substring(0, MAX_MESSAGE_CHARS) + "...";
    }
}
