package io.rund.job;

import io.rund.cgroup.Accounting;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Everything a client may learn about one job at one moment. Nullable fields are absent until they are
 * known: {@code pid} and {@code uid} (the user id the job runs as) once running, {@code exitCode} or {@code signal}
 * once exited, {@code usage} at exit. {@code outputHeld} says why rund has stopped reading the job's output (its log
 * cannot be written; the job blocks once its pipes fill) and is null while output flows; in a final status it says
 * what output was discarded because the job was stopped while its output was held. {@code groups} (its gid and
 * supplementary groups) are known once running, as {@code uid}.
 */
public record JobStatus(
        String id,
        String command,
        List<String> args,
        JobState state,
        Integer pid,
        Integer uid,
        Integer exitCode,
        Integer signal,
        boolean coreDumped,
        boolean oomKilled,
        boolean stoppedByRequest,
        Instant createdAt,
        Instant startedAt,
        Instant endedAt,
        Accounting usage,
        String failure,
        String outputHeld,
        JobControlState control,
        Map<String, String> labels,
        JobGroups groups) {

    public JobStatus {
        args = List.copyOf(args);
        if (control == null) {
            control = JobControlState.NONE;
        }
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }

    /** A status whose groups are not known (yet). */
    public JobStatus(String id, String command, List<String> args, JobState state, Integer pid, Integer uid,
                     Integer exitCode, Integer signal, boolean coreDumped, boolean oomKilled, boolean stoppedByRequest,
                     Instant createdAt, Instant startedAt, Instant endedAt, Accounting usage, String failure,
                     String outputHeld, JobControlState control, Map<String, String> labels) {
        this(id, command, args, state, pid, uid, exitCode, signal, coreDumped, oomKilled, stoppedByRequest, createdAt,
                startedAt, endedAt, usage, failure, outputHeld, control, labels, null);
    }

    /** A status with no deadline, never frozen ({@link JobControlState#NONE}), without labels. */
    public JobStatus(String id, String command, List<String> args, JobState state, Integer pid, Integer uid,
                     Integer exitCode, Integer signal, boolean coreDumped, boolean oomKilled, boolean stoppedByRequest,
                     Instant createdAt, Instant startedAt, Instant endedAt, Accounting usage, String failure,
                     String outputHeld) {
        this(id, command, args, state, pid, uid, exitCode, signal, coreDumped, oomKilled, stoppedByRequest, createdAt,
                startedAt, endedAt, usage, failure, outputHeld, JobControlState.NONE, Map.of());
    }

    /** A status without labels. */
    public JobStatus(String id, String command, List<String> args, JobState state, Integer pid, Integer uid,
                     Integer exitCode, Integer signal, boolean coreDumped, boolean oomKilled, boolean stoppedByRequest,
                     Instant createdAt, Instant startedAt, Instant endedAt, Accounting usage, String failure,
                     String outputHeld, JobControlState control) {
        this(id, command, args, state, pid, uid, exitCode, signal, coreDumped, oomKilled, stoppedByRequest, createdAt,
                startedAt, endedAt, usage, failure, outputHeld, control, Map.of());
    }

    /** A status with no deadline, never frozen. */
    public JobStatus(String id, String command, List<String> args, JobState state, Integer pid, Integer uid,
                     Integer exitCode, Integer signal, boolean coreDumped, boolean oomKilled, boolean stoppedByRequest,
                     Instant createdAt, Instant startedAt, Instant endedAt, Accounting usage, String failure,
                     String outputHeld, Map<String, String> labels) {
        this(id, command, args, state, pid, uid, exitCode, signal, coreDumped, oomKilled, stoppedByRequest, createdAt,
                startedAt, endedAt, usage, failure, outputHeld, JobControlState.NONE, labels);
    }

    /** This status with {@code newLabels} (the job's, from its spec; they never change). */
    public JobStatus withLabels(Map<String, String> newLabels) {
        return new JobStatus(id, command, args, state, pid, uid, exitCode, signal, coreDumped, oomKilled, stoppedByRequest,
                createdAt, startedAt, endedAt, usage, failure, outputHeld, control, newLabels, groups);
    }

    /** This status with {@code outputHeld} (null: output flows). */
    public JobStatus withOutputHeld(String why) {
        return new JobStatus(id, command, args, state, pid, uid, exitCode, signal, coreDumped, oomKilled, stoppedByRequest,
                createdAt, startedAt, endedAt, usage, failure, why, control, labels, groups);
    }

    /** This status with {@code newArgs} as its arguments (a finished job's are kept in its record, not in memory). */
    public JobStatus withArgs(List<String> newArgs) {
        return new JobStatus(id, command, newArgs, state, pid, uid, exitCode, signal, coreDumped, oomKilled, stoppedByRequest,
                createdAt, startedAt, endedAt, usage, failure, outputHeld, control, labels, groups);
    }

    /** Exit code as a shell reports it: the code itself, or 128 + signal for a job killed by a signal. */
    public Optional<Integer> shellExitCode() {
        if (exitCode != null) {
            return Optional.of(exitCode);
        }
        return signal == null ? Optional.empty() : Optional.of(128 + signal);
    }

    /** This status with {@code newControl} (its deadline, time frozen, whether the deadline ended it). */
    public JobStatus withControl(JobControlState newControl) {
        return new JobStatus(id, command, args, state, pid, uid, exitCode, signal, coreDumped, oomKilled, stoppedByRequest,
                createdAt, startedAt, endedAt, usage, failure, outputHeld, newControl, labels, groups);
    }

    /** This status in {@code newState}, everything else kept (FROZEN and back). */
    public JobStatus withState(JobState newState) {
        return new JobStatus(id, command, args, newState, pid, uid, exitCode, signal, coreDumped, oomKilled,
                stoppedByRequest, createdAt, startedAt, endedAt, usage, failure, outputHeld, control, labels, groups);
    }

    /** This status with {@code newGroups} (the job's gid and supplementary groups, once it runs). */
    public JobStatus withGroups(JobGroups newGroups) {
        return new JobStatus(id, command, args, state, pid, uid, exitCode, signal, coreDumped, oomKilled, stoppedByRequest,
                createdAt, startedAt, endedAt, usage, failure, outputHeld, control, labels, newGroups);
    }
}
