package io.rund.job;

import io.rund.cgroup.Cgroup;
import io.rund.cgroup.CgroupException;
import io.rund.linux.Fds;
import io.rund.linux.LinuxException;
import io.rund.linux.Pidfd;
import io.rund.linux.Signals;

import java.io.IOException;

/**
 * The blocking halves of job control, run by a {@link JobActor} on the job dispatcher one after another: signals to
 * the main process (through a pidfd, never a bare pid that may be reused) or to every process of a frozen cgroup, and
 * the freeze state of an adopted job.
 */
final class JobControlOps {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(JobControlOps.class);
    private static final String FREEZE_FILE = "cgroup.freeze";

    private JobControlOps() {}

    /** Whether {@code cgroup} is set frozen (cgroup.freeze 1): a daemon before this one paused the job. */
    static boolean frozen(Cgroup cgroup) {
        try {
            return cgroup.exists() && cgroup.read(FREEZE_FILE).strip().equals("1");
        } catch (CgroupException e) {
            LOG.warn("Cannot read {} of {}: {}; taking the job as not frozen", FREEZE_FILE, cgroup.path(), e.getMessage());
            return false;
        }
    }

    /** A pidfd of {@code pid}, which must not have been reaped yet; -1 (and a warning) if it cannot be opened. */
    static int openPidfd(int pid, String jobId) {
        try {
            return Pidfd.open(pid);
        } catch (LinuxException e) {
            LOG.warn("Job {}: cannot open a pidfd of its process {} ({}); Signal to it will be refused", jobId, pid,
                    e.getMessage());
            return -1;
        }
    }

    static void closeQuietly(int pidfd) {
        try {
            Fds.close(pidfd);
        } catch (LinuxException e) {
            LOG.warn("Cannot close pidfd {}: {}", pidfd, e.getMessage());
        }
    }

    /** Sends {@code signal} to the main process; false if it is gone (reaped, or no pidfd of it). */
    static boolean signalMain(int pidfd, int signal) throws LinuxException {
        return pidfd >= 0 && Pidfd.sendSignal(pidfd, signal);
    }

    /**
     * Sends {@code signal} to every process of {@code cgroup}: frozen first (unless {@code paused} says it is frozen
     * already) so that no listed pid can exit and be reused before it is signalled, then thawed again unless it was
     * paused (a paused job's processes receive the signal once resumed). Returns how many processes were signalled.
     */
    static int signalEvery(Cgroup cgroup, int signal, boolean paused) throws IOException {
        if (!paused) {
            cgroup.freeze();
        }
        int sent = 0;
        try {
            for (int pid : cgroup.pids()) {
                if (Signals.kill(pid, signal)) {
                    sent++;
                }
            }
        } finally {
            if (!paused) {
                try {
                    cgroup.thaw();
                } catch (CgroupException e) {
                    if (cgroup.exists()) { // gone: the signal ended the job meanwhile, nothing to thaw
                        throw e;
                    }
                }
            }
        }
        return sent;
    }
}
