package io.rund.job;

import java.util.Map;
import java.util.Set;

/**
 * What rund keeps of one job in its state directory ({@link JobRecords}): what was asked (the spec), by whom (the
 * owner's SANs), its labels (none until clients can set them), and its last recorded status. Enough to answer
 * Status, List and Logs for the job after a restart, and for a keeper to adopt it while it runs.
 */
public record JobRecord(JobSpec spec, Set<String> owner, Map<String, String> labels, JobStatus status) {

    public JobRecord {
        owner = Set.copyOf(owner);
        labels = Map.copyOf(labels);
    }

    public String id() {
        return status.id();
    }

    JobRecord withStatus(JobStatus newStatus) {
        return new JobRecord(spec, owner, labels, newStatus);
    }
}
