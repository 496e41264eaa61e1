package io.rund.job;

/**
 * How many jobs the daemon's open-file limit can hold at once. A running job keeps {@link #FILES_PER_JOB}
 * descriptors in the daemon (its pidfd, the read ends of its stdout and stderr pipes, its log file), and the
 * daemon needs {@link #RESERVED_FILES} for itself (jars, sockets of clients, epoll and eventfds). Admitting more
 * jobs than fit would fail them later at random places with EMFILE; refusing them up front is clearer.
 */
public final class OpenFileBudget {

    public static final int FILES_PER_JOB = 4;
    public static final int RESERVED_FILES = 1024;

    private OpenFileBudget() {}

    /** Jobs that fit under {@code openFileLimit} (RLIMIT_NOFILE), at least 0. */
    public static int jobsFitting(long openFileLimit) {
        return (int) Math.clamp((openFileLimit - RESERVED_FILES) / FILES_PER_JOB, 0, Integer.MAX_VALUE);
    }
}
