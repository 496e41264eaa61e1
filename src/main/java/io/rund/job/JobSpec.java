package io.rund.job;

import io.rund.cgroup.InvalidLimitException;
import io.rund.cgroup.Limits;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a client asked to run. {@link #validate()} checks everything that can be checked without touching
 * the host, so that bad input is refused before anything is created.
 */
public record JobSpec(
        String command,
        List<String> args,
        Map<String, String> environment,
        Optional<Path> workingDirectory,
        Optional<String> user,
        Limits limits,
        Duration timeout,
        Map<String, String> labels,
        GroupRequest groups) {

    /** Cap on argv plus environment, in bytes; well under the kernel's ARG_MAX (a quarter of the 8 MiB stack). */
    public static final int MAX_ARGV_ENV_BYTES = 1 << 20;

    public JobSpec {
        args = List.copyOf(args);
        environment = Map.copyOf(environment);
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        groups = groups == null ? GroupRequest.NONE : groups;
    }

    /** A spec asking for no group: the job runs with its user's own. */
    public JobSpec(String command, List<String> args, Map<String, String> environment, Optional<Path> workingDirectory,
                   Optional<String> user, Limits limits, Duration timeout, Map<String, String> labels) {
        this(command, args, environment, workingDirectory, user, limits, timeout, labels, GroupRequest.NONE);
    }

    /** A spec without a timeout or labels. */
    public JobSpec(String command, List<String> args, Map<String, String> environment, Optional<Path> workingDirectory,
                   Optional<String> user, Limits limits) {
        this(command, args, environment, workingDirectory, user, limits, (Duration) null, Map.of());
    }

    /** A spec without labels ({@code timeout} null: the job may run for ever). */
    public JobSpec(String command, List<String> args, Map<String, String> environment, Optional<Path> workingDirectory,
                   Optional<String> user, Limits limits, Duration timeout) {
        this(command, args, environment, workingDirectory, user, limits, timeout, Map.of());
    }

    /** A spec without a timeout. */
    public JobSpec(String command, List<String> args, Map<String, String> environment, Optional<Path> workingDirectory,
                   Optional<String> user, Limits limits, Map<String, String> labels) {
        this(command, args, environment, workingDirectory, user, limits, (Duration) null, labels);
    }

    public static JobSpec of(String command, String... args) {
        return new JobSpec(command, List.of(args), Map.of(), Optional.empty(), Optional.empty(), Limits.none());
    }

    public JobSpec withWorkingDirectory(Path dir) {
        return new JobSpec(command, args, environment, Optional.of(dir), user, limits, timeout, labels, groups);
    }

    public JobSpec withEnvironment(Map<String, String> env) {
        return new JobSpec(command, args, env, workingDirectory, user, limits, timeout, labels, groups);
    }

    public JobSpec withUser(String name) {
        return new JobSpec(command, args, environment, workingDirectory, Optional.of(name), limits, timeout, labels, groups);
    }

    public JobSpec withLimits(Limits newLimits) {
        return new JobSpec(command, args, environment, workingDirectory, user, newLimits, timeout, labels, groups);
    }

    public JobSpec withLabels(Map<String, String> newLabels) {
        return new JobSpec(command, args, environment, workingDirectory, user, limits, timeout, newLabels, groups);
    }

    /** The first problem with this spec, naming the field, or empty when it may be run. */
    public Optional<JobError> validate() {
        if (command == null || command.isEmpty()) {
            return Optional.of(JobError.invalid("command", "must not be empty"));
        }
        if (command.indexOf('\0') >= 0) {
            return Optional.of(JobError.invalid("command", "contains a NUL byte"));
        }
        long bytes = utf8Length(command) + 1;
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.indexOf('\0') >= 0) {
                return Optional.of(JobError.invalid("args[" + i + "]", "contains a NUL byte"));
            }
            bytes += utf8Length(arg) + 1;
        }
        for (Map.Entry<String, String> e : environment.entrySet()) {
            String name = e.getKey();
            if (name.isEmpty() || name.indexOf('=') >= 0 || name.indexOf('\0') >= 0) {
                return Optional.of(JobError.invalid("env", "invalid variable name " + ClientText.quote(name)));
            }
            if (e.getValue().indexOf('\0') >= 0) {
                return Optional.of(JobError.invalid("env[" + ClientText.excerpt(name) + "]", "contains a NUL byte"));
            }
            bytes += utf8Length(name) + utf8Length(e.getValue()) + 2;
        }
        if (bytes > MAX_ARGV_ENV_BYTES) {
            return Optional.of(JobError.invalid("args",
                    "command, arguments and environment take " + bytes + " bytes; the cap is " + MAX_ARGV_ENV_BYTES));
        }
        if (workingDirectory.isPresent() && !workingDirectory.get().isAbsolute()) {
            return Optional.of(JobError.invalid("working-directory", "must be an absolute path: " + ClientText.quote(workingDirectory.get().toString())));
        }
        if (user.isPresent() && user.get().isBlank()) {
            return Optional.of(JobError.invalid("user", "must not be blank"));
        }
        Optional<JobError> badLabel = Labels.validate(labels);
        if (badLabel.isPresent()) {
            return badLabel;
        }
        try {
            // Values only: devices are resolved when the job's cgroup is made.
            limits.validate();
        } catch (InvalidLimitException e) {
            return Optional.of(JobError.invalid(e.field(), e.reason()));
        }
        return Optional.empty();
    }

    private static long utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    /** This spec with {@code newTimeout} (null: none): the job is stopped once it has run that long. */
    public JobSpec withTimeout(Duration newTimeout) {
        return new JobSpec(command, args, environment, workingDirectory, user, limits, newTimeout, labels, groups);
    }

    /** This spec asking for {@code newGroups} (a primary group, supplementary groups). */
    public JobSpec withGroups(GroupRequest newGroups) {
        return new JobSpec(command, args, environment, workingDirectory, user, limits, timeout, labels, newGroups);
    }
}
