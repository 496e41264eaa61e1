package io.rund.cluster;

import io.rund.job.JobRegistry;
import io.rund.job.JobSpec;
import io.rund.job.JobState;
import io.rund.job.LabelSelector;
import io.rund.logs.LogQuery;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * What the API asks of rund's jobs wherever they run: the local registry, or the owning node's gateway. Standalone
 * rund is the cluster of one ({@link LocalFleet}); in a cluster ({@link ClusteredFleet}) a request for a job on a
 * host this node cannot reach fails with {@link HostUnreachableException}.
 */
public interface Fleet {
    CompletionStage<JobRegistry.StartResult> start(JobSpec spec, Set<String> caller, Optional<String> host);

    CompletionStage<JobRegistry.StatusResult> status(String jobId, Set<String> caller);

    CompletionStage<JobRegistry.StatusResult> stop(String jobId, Set<String> caller);

    CompletionStage<JobRegistry.StatusResult> awaitEnd(String jobId, Set<String> caller, Duration atMost);

    /** One page of the jobs {@code caller} may see in {@code states} (empty: any) whose labels {@code selector} selects. */
    CompletionStage<FleetPage> list(Set<String> caller, Set<JobState> states, Optional<String> after, int pageSize,
                                    LabelSelector selector);

    CompletionStage<JobRegistry.DeleteResult> delete(String jobId, Set<String> caller);

    CompletionStage<LogOpening> follow(String jobId, Set<String> caller, LogQuery query, String follower);

    CompletionStage<List<NodeInfo>> nodes();

    /**
     * The events of job {@code jobId} (absent: of every job the caller may see on the answering host) that
     * {@code selector} selects, after sequence {@code after} (absent: from now on). In a cluster, a job's events come
     * from its host; a watch of all jobs sees the answering node's.
     */
    CompletionStage<EventOpening> watch(Set<String> caller, Optional<String> jobId, LabelSelector selector,
                                        Optional<Long> after);

    /** The name of the host that owns {@code jobId} (a canonical id); empty standalone. */
    String hostOf(String jobId);

    /** Changes a running job's limits ({@link io.rund.cgroup.LimitChange}); answers with those then in force. */
    CompletionStage<JobRegistry.UpdateResult> update(String jobId, Set<String> caller, io.rund.cgroup.LimitChange change);
    /** One sample of the job's live usage, read from its cgroup on its host (off the actors). */
    CompletionStage<StatsReading> stats(String jobId, Set<String> caller);
    /**
     * Job control (signal, pause, resume, stop with a grace period or forced) of the job, on its host; the answer may
     * take {@link io.rund.job.JobControl#extraWait} longer than other requests (a Stop answers once the job ended).
     */
    CompletionStage<JobRegistry.ControlResult> control(String jobId, Set<String> caller, io.rund.job.JobControl control);
}
