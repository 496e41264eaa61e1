package io.rund.cluster;

import io.rund.cgroup.UsageSample;
import io.rund.job.JobStatus;

/**
 * One live-usage reading of a job as the fleet answers it: a sample of its cgroup (with the status it had), the
 * job has ended (nothing live to read: its final usage is in its status), or no such job for this caller.
 */
public sealed interface StatsReading {

    record Sampled(JobStatus status, UsageSample sample) implements StatsReading {}

    record Ended(JobStatus status) implements StatsReading {}

    record NotFound(String jobId) implements StatsReading {}
}
