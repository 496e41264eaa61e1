package io.rund.cluster;

import io.rund.logs.FollowerLimitException;
import io.rund.logs.LogRecord;
import io.rund.logs.OffsetDroppedException;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.StreamRefs;

import java.util.concurrent.CompletionStage;

/**
 * Carries a job's log from its owner to the node a follower called, as a stream ref over the cluster system:
 * back-pressure end to end (the ref's demand reaches the owner's follower stage), the owner's expected failures in
 * band, and the loss of the owner ending the stream with {@link HostUnreachableException} at once. The smallest
 * version, for the cluster core; helper L's LogRelay (bounded buffers, measured) takes its place at merge.
 */
public final class LogRelay {

    private LogRelay() {}

    /** On the owner: {@code records} offered to one remote follower. */
    public static SourceRef<LogFrame> offer(Source<LogRecord, NotUsed> records, Materializer clusterMaterializer) {
        return records.map(LogFrame::of)
                .recover(new PFBuilder<Throwable, LogFrame>()
                        .match(OffsetDroppedException.class, e -> LogFrame.failure(LogFrame.OUT_OF_RANGE, e.getMessage(),
                                e.firstRetainedOffset(), e.requestedOffset()))
                        .match(FollowerLimitException.class, e -> LogFrame.failure(LogFrame.RESOURCE_EXHAUSTED, e.getMessage(), 0, 0))
                        .build())
                .runWith(StreamRefs.sourceRef(), clusterMaterializer);
    }

    /** On the follower's node: the records, failing as on the owner, or at once once {@code ownerLost} names it. */
    public static Source<LogRecord, NotUsed> receive(SourceRef<LogFrame> ref, CompletionStage<String> ownerLost) {
        Source<LogRecord, NotUsed> records = ref.getSource().map(LogRelay::recordOf);
        Source<LogRecord, NotUsed> lost = Source.completionStage(ownerLost)
                .flatMapConcat(host -> Source.<LogRecord>failed(new HostUnreachableException(host,
                        "the host " + host + " that runs the job cannot be reached now: follow again from the last offset once it is back")));
        return records.merge(lost, true);
    }

    private static LogRecord recordOf(LogFrame frame) throws Exception {
        if (frame.error() == null) {
            return frame.record();
        }
        if (LogFrame.OUT_OF_RANGE.equals(frame.error())) {
            throw new OffsetDroppedException(frame.requestedOffset(), frame.retainedFrom());
        }
        throw new FollowerLimitException(frame.message());
    }
}
