package io.rund.job;

import io.rund.cgroup.Accounting;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Everything a client may learn about one job at one moment. Nullable fields are absent until they are
 * known: {@code pid} and {@code uid} (the user id the job runs as) once running, {@code exitCode} or {@code signal}
 * once exited, {@code usage} at exit.
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
        String failure) {

    public JobStatus {
        args = List.copyOf(args);
    }

    /** Exit code as a shell reports it: the code itself, or 128 + signal for a job killed by a signal. */
    public Optional<Integer> shellExitCode() {
        if (exitCode != null) {
            return Optional.of(exitCode);
        }
        return signal == null ? Optional.empty() : Optional.of(128 + signal);
    }
}
