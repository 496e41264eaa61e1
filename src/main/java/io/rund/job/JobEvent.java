package io.rund.job;

import java.time.Instant;
import java.util.Set;

/**
 * One change to one job, as a Watch stream delivers it: its place in this daemon's journal ({@code sequence}), what
 * happened, the job's status just after, when, and a detail (empty, or e.g. how many OOM kills). {@code owner} is
 * kept so that each watcher is shown only the events of jobs it may see.
 */
public record JobEvent(long sequence, JobEventType type, String jobId, JobStatus status, Instant time, String detail,
                       Set<String> owner) {

    public JobEvent {
        owner = Set.copyOf(owner);
        detail = detail == null ? "" : detail;
    }
}
