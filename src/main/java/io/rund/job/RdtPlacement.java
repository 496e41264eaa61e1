package io.rund.job;

import io.rund.cgroup.Limits;
import io.rund.linux.Fds;
import io.rund.linux.LinuxException;
import io.rund.linux.SpawnRequest;
import io.rund.resctrl.RdtException;
import io.rund.resctrl.RdtGroups;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A job's Intel RDT group, for {@link JobLauncher}, {@link LimitUpdater} and the job's end: its schemata planned
 * against the host before anything is created, the group made beside the cgroup, its tasks file opened for the
 * spawn helper (whose child writes itself in before exec), and the group removed once the job has ended. Blocking
 * file work: the job dispatcher only.
 */
final class RdtPlacement {

    private RdtPlacement() {}

    /** The schemata lines the job's limits ask for (none for a job without RDT settings), checked against the host. */
    static List<String> plan(RdtGroups rdt, Limits limits) throws JobLauncher.LaunchFailed {
        if (!limits.hasRdt()) {
            return List.of();
        }
        try {
            return rdt.plan(limits.l3CacheMask(), limits.memoryBandwidthPercent());
        } catch (RdtException e) {
            throw new JobLauncher.LaunchFailed(errorOf(e), e);
        }
    }

    /** Makes the job's group with {@code lines}: its tasks file, or empty for a job without RDT settings. */
    static Optional<Path> create(RdtGroups rdt, String jobId, List<String> lines) throws JobLauncher.LaunchFailed {
        if (lines.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(rdt.create(jobId, lines));
        } catch (RdtException e) {
            throw new JobLauncher.LaunchFailed(errorOf(e), e);
        }
    }

    /** The tasks file open for writing, for {@link SpawnRequest#rdtTasksFd()}; the caller closes it after the spawn. */
    static int openTasks(Optional<Path> tasks) throws JobLauncher.LaunchFailed {
        if (tasks.isEmpty()) {
            return SpawnRequest.NO_RDT_GROUP;
        }
        try {
            return Fds.openForWriting(tasks.get());
        } catch (LinuxException e) {
            throw new JobLauncher.LaunchFailed(JobError.unavailable("cannot open the job's resctrl group: "
                    + e.getMessage()), e);
        }
    }

    /** Removes job {@code jobId}'s group if it has one; a failure is logged (the group holds no task any more). */
    static void remove(RdtGroups rdt, String jobId) {
        try {
            rdt.remove(jobId);
        } catch (IOException | RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(RdtPlacement.class).warn("Job {}: cannot remove its resctrl group: {}",
                    jobId, e.getMessage());
        }
    }

    /** The job error of an RDT refusal: the host lacks it (FAILED_PRECONDITION), a bad value, no CLOSID left. */
    static JobError errorOf(RdtException e) {
        return switch (e.kind()) {
            case UNSUPPORTED -> JobError.precondition(e.field(), e.getMessage()).because(JobError.Reason.RDT_UNAVAILABLE);
            case INVALID -> JobError.invalid(e.field(), e.getMessage());
            case EXHAUSTED -> new JobError(JobError.Kind.RESOURCE_EXHAUSTED, e.field(), e.getMessage(),
                    JobError.Reason.RDT_CLOSIDS_EXHAUSTED);
            case IO -> JobError.unavailable(e.getMessage());
        };
    }
}
