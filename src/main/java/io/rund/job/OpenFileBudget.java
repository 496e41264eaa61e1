package io.rund.job;

import io.rund.logs.LogSpace;

/**
 * How many jobs the daemon's open-file limit can hold at once. A running job keeps {@link #FILES_PER_JOB}
 * descriptors in the daemon (its pidfd and the read ends of its stdout and stderr pipes). Log files are not
 * counted per job: a job's log is open only while it is used, and the writers of running jobs keep at most
 * {@link #LOG_WRITER_FILES} log files open between appends (the others open theirs per append); a finished job's
 * log holds no descriptor unless it is being read. The daemon needs {@link #RESERVED_FILES} for itself (jars,
 * sockets of clients, epoll and eventfds, log files open for a read or followed). Admitting more jobs than fit
 * would fail them later at random places with EMFILE; refusing them up front is clearer.
 */
public final class OpenFileBudget {

    public static final int FILES_PER_JOB = 3;
    public static final int LOG_WRITER_FILES = LogSpace.WRITER_SLOTS;
    public static final int RESERVED_FILES = 1024;

    private OpenFileBudget() {}

    /** Jobs that fit under {@code openFileLimit} (RLIMIT_NOFILE), at least 0. */
    public static int jobsFitting(long openFileLimit) {
        return (int) Math.clamp((openFileLimit - RESERVED_FILES - LOG_WRITER_FILES) / FILES_PER_JOB, 0, Integer.MAX_VALUE);
    }
}
