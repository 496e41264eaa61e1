package io.rund.cluster;

import io.rund.job.JobEvent;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.javadsl.Source;

/**
 * What opening a Watch gives: the events as a source (failing with an
 * {@link io.rund.job.EventWindowExceededException} if they cannot all be delivered), named by the host whose journal
 * they come from (empty standalone); or no such job for the caller.
 */
public sealed interface EventOpening {
    record Opened(Source<JobEvent, NotUsed> events, String host) implements EventOpening {}

    record NotFound(String jobId) implements EventOpening {}
}
