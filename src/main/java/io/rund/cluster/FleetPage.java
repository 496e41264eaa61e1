package io.rund.cluster;

import io.rund.job.JobStatus;

import java.util.List;
import java.util.Optional;

/**
 * A page of jobs from every reachable host, in id order (that is creation time, across hosts), the id after which
 * the next page starts if there may be more, and the hosts that could not be asked (their jobs are missing).
 */
public record FleetPage(List<JobStatus> jobs, Optional<String> resumeAfter, List<String> unreachableHosts) {
    public FleetPage {
        jobs = List.copyOf(jobs);
        unreachableHosts = List.copyOf(unreachableHosts);
    }
}
