package io.rund.job;

import java.time.Duration;
import java.time.Instant;

/**
 * One job-control request for a job that runs: a signal (to its main process, or with {@code all} to every process of
 * its cgroup), Pause, Resume, a Stop with its own grace period or forced, or a new deadline. A flat record, not a
 * hierarchy, so that it crosses between cluster nodes as plain data (Jackson CBOR) with no type annotations.
 * Validated by the API before it is made: {@code signal} is 1-64, {@code grace} within the configured maximum.
 */
public record JobControl(Kind kind, int signal, boolean all, Duration grace, boolean force, Instant deadline) {

    public enum Kind {
        SIGNAL,
        PAUSE,
        RESUME,
        /** Stop with {@code grace} (null: the configured one) or, {@code force}, SIGKILL at once. */
        STOP,
        /** Set the deadline to {@code deadline} (null: none). */
        SET_DEADLINE
    }

    public static JobControl signal(int signal, boolean all) {
        return new JobControl(Kind.SIGNAL, signal, all, null, false, null);
    }

    public static JobControl pause() {
        return new JobControl(Kind.PAUSE, 0, false, null, false, null);
    }

    public static JobControl resume() {
        return new JobControl(Kind.RESUME, 0, false, null, false, null);
    }

    public static JobControl stop(Duration grace, boolean force) {
        return new JobControl(Kind.STOP, 0, false, grace, force, null);
    }

    public static JobControl setDeadline(Instant deadline) {
        return new JobControl(Kind.SET_DEADLINE, 0, false, null, false, deadline);
    }

    /** How much longer than a plain request its answer may take: a Stop answers once the job has ended. */
    public Duration extraWait() {
        return kind == Kind.STOP && grace != null ? grace : Duration.ZERO;
    }
}
