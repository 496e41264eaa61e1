package io.rund.job;

import java.time.Instant;
import java.util.Map;
import java.util.Set;

/**
 * What rund keeps of one job in its state directory ({@link JobRecords}): what was asked (the spec), by whom (the
 * owner's SANs), its labels (none until clients can set them), and its last recorded status. Enough to answer
 * Status, List and Logs for the job after a restart, and for a keeper to adopt it while it runs. {@code stopKillAt}:
 * while a Stop is in progress (SIGTERM sent), when its grace period ends and the job is killed (null otherwise), so
 * that a daemon that adopts the job carries the stop over.
 */
public record JobRecord(JobSpec spec, Set<String> owner, Map<String, String> labels, JobStatus status, Instant stopKillAt) {

    public JobRecord {
        owner = Set.copyOf(owner);
        labels = Map.copyOf(labels);
    }

    /** A record with no Stop in progress. */
    public JobRecord(JobSpec spec, Set<String> owner, Map<String, String> labels, JobStatus status) {
        this(spec, owner, labels, status, null);
    }

    public String id() {
        return status.id();
    }

    JobRecord withStatus(JobStatus newStatus) {
        return new JobRecord(spec, owner, labels, newStatus, null);
    }
}
