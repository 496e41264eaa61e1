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
    /** starttime is /proc/PID/stat's field 22: the 20th after the state field that follows the command. */
    private static final int STARTTIME_AFTER_COMMAND = 19;


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
    /** A process as Signal finds it again: its pid, and its start time in clock ticks after boot. */
    record MainProcess(int pid, long startTicks) {}

    /** The main process of job {@code jobId}, read while it cannot have been reaped; null (logged) if unreadable. */
    static MainProcess mainProcess(int pid, String jobId) {
        try {
            return new MainProcess(pid, startTicks(pid));
        } catch (IOException | RuntimeException e) {
            LOG.warn("Job {}: cannot read the start time of its process {} ({}); Signal to it will be refused", jobId,
                    pid, e.getMessage());
            return null;
        }
    }

    /**
     * Sends {@code signal} to the main process through a pidfd opened now; false if it is gone: reaped (ESRCH), or its
     * pid already another process's (a different start time once the pidfd pins whichever process holds it).
     */
    static boolean signalMain(MainProcess main, int signal) throws LinuxException {
        if (main == null) {
            return false;
        }
        int pidfd;
        try {
            pidfd = Pidfd.open(main.pid());
        } catch (LinuxException e) {
            return false; // ESRCH: no process has this pid now
        }
        try {
            if (startTicksOrMinusOne(main.pid()) != main.startTicks()) {
                return false;
            }
            return Pidfd.sendSignal(pidfd, signal);
        } finally {
            closeQuietly(pidfd);
        }
    }

    /** Field 22 of /proc/PID/stat (starttime), counted after the command's closing parenthesis. */
    static long startTicks(int pid) throws IOException {
        String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Integer.toString(pid), "stat"));
        String[] afterCommand = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(afterCommand[STARTTIME_AFTER_COMMAND]);
    }

    private static long startTicksOrMinusOne(int pid) {
        try {
            return startTicks(pid);
        } catch (IOException | RuntimeException e) {
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
