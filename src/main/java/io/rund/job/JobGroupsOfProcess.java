package io.rund.job;

import io.rund.linux.FsCredentials;
import io.rund.linux.ProcessCredentials;

import java.io.IOException;
import java.util.Arrays;

/**
 * The groups a running job has, read from /proc/PID/status: for a job adopted from an earlier daemon whose record
 * does not say them (written before it ran, or by a rund that did not keep groups). Blocking; null if the process
 * is gone or unreadable (its status then shows no groups, as it shows no uid).
 */
final class JobGroupsOfProcess {

    private JobGroupsOfProcess() {}

    static JobGroups read(int pid) {
        try {
            return ProcessCredentials.of(pid).map(JobGroupsOfProcess::of).orElse(null);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static JobGroups of(FsCredentials credentials) {
        return new JobGroups(credentials.gid(), Arrays.stream(credentials.groups()).boxed().toList());
    }
}
