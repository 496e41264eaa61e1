package io.rund.cli;

import com.google.protobuf.Timestamp;
import io.rund.linux.Signals;
import io.rund.proto.v1.Accounting;
import io.rund.proto.v1.JobStatus;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * A job status as people read it: list's table rows (plain and wide) and status's "Field: value" view. States are
 * spelled as in JSON ({@link JobStatusJson#state}), signals by name (SIGTERM, not 143 or 15), times in UTC to the
 * second. Only the JSON form is promised to scripts; this one may gain fields.
 */
final class JobStatusText {

    private static final String ROW = "%-26s  %-15s  %-7s  %s";
    private static final String WIDE_ROW = "%-26s  %-15s  %-7s  %-7s  %-6s  %-20s  %-20s  %-12s  %s";
    private static final String FIELD = "%-14s %s";
    private static final String NONE = "-";
    private static final long MICROS_PER_SECOND = 1_000_000;

    private JobStatusText() {}

    static String header(boolean wide) {
        return wide ? WIDE_ROW.formatted("ID", "STATE", "EXIT", "PID", "UID", "STARTED", "ENDED", "HOST", "COMMAND")
                : ROW.formatted("ID", "STATE", "EXIT", "COMMAND");
    }

    static String row(JobStatus job, boolean wide) {
        String state = JobStatusJson.state(job.getState());
        if (!wide) {
            return ROW.formatted(job.getId(), state, ending(job), commandLine(job));
        }
        return WIDE_ROW.formatted(job.getId(), state, ending(job),
                job.hasPid() ? Integer.toString(job.getPid().getValue()) : NONE,
                job.hasUid() ? Integer.toString(job.getUid().getValue()) : NONE,
                job.hasStartedAt() ? time(job.getStartedAt()) : NONE,
                job.hasEndedAt() ? time(job.getEndedAt()) : NONE,
                job.getHost().isEmpty() ? NONE : job.getHost(),
                commandLine(job));
    }

    /** The exit code, the name of the signal that ended the job, or "-" while it has neither. */
    static String ending(JobStatus job) {
        if (job.hasExitCode()) {
            return Integer.toString(job.getExitCode().getValue());
        }
        return job.hasSignal() ? Signals.name(job.getSignal().getValue()) : NONE;
    }

    /** status's view: one aligned "Field: value" line each, fields without a value left out. */
    static List<String> fields(JobStatus job, boolean wide) {
        List<String> lines = new ArrayList<>();
        field(lines, "ID", job.getId());
        if (!job.getHost().isEmpty()) {
            field(lines, "Host", job.getHost());
        }
        field(lines, "State", JobStatusJson.state(job.getState()));
        field(lines, "Command", commandLine(job));
        field(lines, "UID", job.hasUid() ? Integer.toString(job.getUid().getValue()) : null);
        field(lines, "GID", job.hasGid() ? Integer.toString(job.getGid().getValue()) : null);
        field(lines, "Groups", job.hasGid() ? groups(job) : null);
        field(lines, "PID", job.hasPid() ? Integer.toString(job.getPid().getValue()) : null);
        if (wide) {
            field(lines, "Created", job.hasCreatedAt() ? time(job.getCreatedAt()) : null);
        }
        field(lines, "Started", job.hasStartedAt() ? time(job.getStartedAt()) : null);
        field(lines, "Ended", job.hasEndedAt() ? time(job.getEndedAt()) : null);
        field(lines, "Exit code", job.hasExitCode() ? Integer.toString(job.getExitCode().getValue()) : null);
        field(lines, "Signal", job.hasSignal() ? signal(job) : null);
        field(lines, "Failure", job.getFailure().isEmpty() ? null : job.getFailure());
        field(lines, "Deadline", job.hasDeadline() ? time(job.getDeadline())
                + (job.getEndedByDeadline() ? " (ended the job)" : "") : null);
        field(lines, "Frozen for", job.hasFrozenFor() ? DurationText.format(java.time.Duration.ofSeconds(
                job.getFrozenFor().getSeconds(), job.getFrozenFor().getNanos())) : null);
        if (wide && job.hasUsage()) {
            Accounting usage = job.getUsage();
            field(lines, "CPU", "%.3f s (user %.3f s, system %.3f s)".formatted(seconds(usage.getCpuUsageMicros()),
                    seconds(usage.getCpuUserMicros()), seconds(usage.getCpuSystemMicros())));
            field(lines, "Memory peak", usage.hasMemoryPeakBytes() ? bytes(usage.getMemoryPeakBytes().getValue()) : null);
            field(lines, "Memory now", usage.hasMemoryCurrentBytes() ? bytes(usage.getMemoryCurrentBytes().getValue()) : null);
            field(lines, "IO read", usage.hasIoReadBytes() ? bytes(usage.getIoReadBytes().getValue()) : null);
            field(lines, "IO written", usage.hasIoWriteBytes() ? bytes(usage.getIoWriteBytes().getValue()) : null);
            field(lines, "Processes", usage.hasPidsCurrent() ? Long.toString(usage.getPidsCurrent().getValue()) : null);
        }
        if (wide) {
            field(lines, "Output held", job.getOutputHeld().isEmpty() ? null : job.getOutputHeld());
        }
        return lines;
    }

    /** The supplementary groups, space-separated as id(1) and /proc say them; "-" for none. */
    private static String groups(JobStatus job) {
        return job.getGroupsCount() == 0 ? NONE
                : String.join(" ", job.getGroupsList().stream().map(String::valueOf).toList());
    }

    private static String signal(JobStatus job) {
        StringBuilder signal = new StringBuilder(Signals.name(job.getSignal().getValue()));
        if (job.getStoppedByRequest()) {
            signal.append(", stopped by request");
        }
        if (job.getOomKilled()) {
            signal.append(", out of memory");
        }
        if (job.getCoreDumped()) {
            signal.append(", core dumped");
        }
        return signal.toString();
    }

    private static void field(List<String> lines, String name, String value) {
        if (value != null) {
            lines.add(FIELD.formatted(name + ":", value));
        }
    }

    private static String commandLine(JobStatus job) {
        return String.join(" ", job.getCommand(), String.join(" ", job.getArgsList())).strip();
    }

    private static String time(Timestamp t) {
        return Instant.ofEpochSecond(t.getSeconds()).truncatedTo(ChronoUnit.SECONDS).toString();
    }

    private static double seconds(long micros) {
        return (double) micros / MICROS_PER_SECOND;
    }

    private static String bytes(long count) {
        return count + " bytes";
    }
}
