package io.rund.cluster;

import io.rund.job.JobEvent;

/**
 * What an {@link EventRelay} carries from a job's host to the node its watcher is connected to: events, or, as the
 * last frame, why the host's stream ended (stream-ref failures cross only as a string, so the one a client must act
 * on, an exceeded window with its oldest retained sequence, travels as a frame).
 */
public sealed interface EventFrame extends NodeMessage {

    record Event(JobEvent event) implements EventFrame {}

    record WindowExceeded(String message, long oldestRetained) implements EventFrame {}

    record Failed(String message) implements EventFrame {}
}
