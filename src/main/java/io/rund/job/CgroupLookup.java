package io.rund.job;

import io.rund.cgroup.Cgroup;

/**
 * Where a job's live usage can be read, as the registry answers it after authorizing the caller: the job's cgroup
 * while the job lives, its status once it has ended (its final usage is there), or not found. The reading itself is
 * blocking file IO, done by the asker off the actors.
 */
public sealed interface CgroupLookup {

    /** The job has not ended: its cgroup (which may vanish at any moment if the job ends now). */
    record Live(JobStatus status, Cgroup cgroup) implements CgroupLookup {}

    /** The job has ended: nothing live to read. */
    record Ended(JobStatus status) implements CgroupLookup {}

    /** No such job, or one the caller may not see (indistinguishable on purpose). */
    record NotFound(String jobId) implements CgroupLookup {}
}
