package io.rund.job;

import io.rund.cgroup.CgroupManager;
import io.rund.linux.CgroupEventWatcher;
import io.rund.linux.CgroupFileWatcher;
import io.rund.linux.ExitWatcher;
import io.rund.linux.OutputPump;
import io.rund.linux.ProcessSpawner;
import io.rund.logs.LogSpace;
import io.rund.logs.LogStore;
import io.rund.resctrl.RdtGroups;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Set;
import java.util.concurrent.Executor;

/**
 * What every job actor shares: settings, the cgroup subtree, the one exit-watcher thread (exits and cgroup-empty
 * events), the one output-pump
 * thread, the space all job logs share (their caps, read cache and follower counts), the identities jobs are
 * lent, what spawns their processes (the keeper, in a daemon), the durable job records, and the dispatcher on which
 * blocking work (cgroup files, spawning, log files) runs; and the host's Intel RDT groups (resctrl), for jobs that ask.
 */
public record JobRuntime(
        JobSettings settings,
        CgroupManager cgroups,
        ExitWatcher exits,
        OutputPump output,
        LogSpace logs,
        JobIdentities identities,
        ProcessSpawner spawner,
        JobRecords records,
        Executor blocking,
        Clock clock,
        RdtGroups rdt) {

    /** A runtime with this host's resctrl, as found now (absent on most hosts: then RDT requests are refused). */
    public JobRuntime(JobSettings settings, CgroupManager cgroups, ExitWatcher exits, OutputPump output, LogSpace logs,
                      JobIdentities identities, ProcessSpawner spawner, JobRecords records, Executor blocking, Clock clock) {
        this(settings, cgroups, exits, output, logs, identities, spawner, records, blocking, clock, RdtGroups.ofThisHost());
    }

    /** Jobs' cgroups becoming empty, as events on the exit watcher's thread. */
    public CgroupEventWatcher cgroupEvents() {
        return exits.cgroupEvents();
    }

    /** Directory of the job logs, beneath the 0700 state directory. */
    public Path logDirectory() {
        return StateDirectory.logs(settings.stateDirectory());
    }

    /** The log file of job {@code jobId}. */
    public Path logFileOf(String jobId) {
        return StateDirectory.logOf(logDirectory(), jobId);
    }

    /** The log of job {@code jobId}, adopted from an earlier daemon, reopened for appending (its offsets continue). */
    LogStore reopenLog(String jobId, Set<String> owner) throws IOException {
        return logs.reopenLog(logFileOf(jobId), LogSpace.identityOf(owner));
    }

    /** A new log for job {@code jobId}, counted against the log quota of its {@code owner} (the SAN set). */
    LogStore createLog(String jobId, Set<String> owner) throws IOException {
        return logs.createLog(logFileOf(jobId), LogSpace.identityOf(owner));
    }

    /** Changes of jobs' cgroup counter files (OOM kills, pids.max refusals), as events on the exit watcher's thread. */
    public CgroupFileWatcher cgroupFiles() {
        return exits.cgroupFiles();
    }
}
