package io.rund.job;

import io.rund.cgroup.Cgroup;
import io.rund.cgroup.CgroupException;
import io.rund.cgroup.InvalidLimitException;
import io.rund.cgroup.MissingControllerException;
import io.rund.linux.Executables;
import io.rund.linux.Fds;
import io.rund.linux.LinuxException;
import io.rund.linux.SpawnException;
import io.rund.linux.SpawnRequest;
import io.rund.linux.SpawnedProcess;
import io.rund.linux.Spawner;
import io.rund.linux.UserAccount;
import io.rund.logs.LogStore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Brings one job into the world, blocking, on the job dispatcher: resolves its user, command and directory,
 * creates its cgroup with its limits and its log, and spawns its process inside the cgroup. Whatever fails
 * becomes a {@link JobError} naming the field at fault, and everything created so far is removed again.
 */
final class JobLauncher {

    /** A job that is running: its cgroup, its log and its process (whose fds now belong to the caller). */
    record Launch(Cgroup cgroup, LogStore log, SpawnedProcess process) {}

    /** A launch that failed; nothing it created is left behind. */
    static final class LaunchFailed extends Exception {
        private final JobError error;

        LaunchFailed(JobError error, Throwable cause) {
            super(error.toString(), cause, false, false);
            this.error = error;
        }

        JobError error() {
            return error;
        }
    }

    private static final int ENOENT = 2;
    private static final int EACCES = 13;
    private static final int ENOTDIR = 20;
    private static final int EAGAIN = 11;
    private static final int EMFILE = 24;
    private static final int ENFILE = 23;

    private final JobRuntime runtime;

    JobLauncher(JobRuntime runtime) {
        this.runtime = runtime;
    }

    /** Launches job {@code jobId} of {@code owner} (the SAN set whose log quota its output counts against). */
    Launch launch(String jobId, JobSpec spec, Set<String> owner) throws LaunchFailed {
        JobSettings settings = runtime.settings();
        UserAccount account = account(spec, settings);
        Path cwd = spec.workingDirectory().orElse(settings.defaultWorkingDirectory());
        Map<String, String> env = new TreeMap<>(spec.environment());
        env.putIfAbsent("PATH", settings.defaultPath());
        Path executable = resolveCommand(spec.command(), env.get("PATH"), cwd);

        Cgroup cgroup = createCgroup(jobId, spec, cwd);
        LogStore log = null;
        try {
            log = runtime.createLog(jobId, owner);
            SpawnedProcess process = spawn(executable, spec, env, cwd, cgroup, account, settings.noNewPrivileges());
            return new Launch(cgroup, log, process);
        } catch (LaunchFailed | RuntimeException e) {
            undo(cgroup, log, jobId);
            throw e;
        } catch (IOException e) {
            undo(cgroup, log, jobId);
            throw new LaunchFailed(JobError.unavailable("cannot create the job's log: " + e.getMessage()), e);
        }
    }

    private static UserAccount account(JobSpec spec, JobSettings settings) throws LaunchFailed {
        String user = spec.user().orElse(settings.defaultUser());
        if (!settings.mayRunAs(user)) {
            throw new LaunchFailed(JobError.precondition("user",
                    "this server does not let jobs run as " + ClientText.quote(user) + " (rund.jobs.allowed-users)"), null);
        }
        try {
            return UserAccount.lookup(user).orElseThrow(() -> new LaunchFailed(
                    JobError.invalid("user", "no local account " + ClientText.quote(user) + " on this host"), null));
        } catch (IOException e) {
            throw new LaunchFailed(JobError.unavailable("cannot read the account database: " + e.getMessage()), e);
        }
    }

    private static Path resolveCommand(String command, String path, Path cwd) throws LaunchFailed {
        try {
            return Executables.resolve(command, path, cwd);
        } catch (SpawnException e) {
            throw new LaunchFailed(JobError.invalid("command", e.getMessage()), e);
        }
    }

    private Cgroup createCgroup(String jobId, JobSpec spec, Path cwd) throws LaunchFailed {
        try {
            return runtime.cgroups().create(jobId, spec.limits(), cwd);
        } catch (InvalidLimitException e) {
            throw new LaunchFailed(JobError.invalid(e.field(), e.reason()), e);
        } catch (MissingControllerException e) {
            throw new LaunchFailed(JobError.precondition("limits", e.getMessage()), e);
        } catch (CgroupException e) {
            throw new LaunchFailed(JobError.unavailable("cannot create the job's cgroup: " + e.getMessage()), e);
        }
    }

    private static SpawnedProcess spawn(Path executable, JobSpec spec, Map<String, String> env, Path cwd,
                                        Cgroup cgroup, UserAccount account, boolean noNewPrivileges) throws LaunchFailed {
        List<String> argv = new ArrayList<>(spec.args().size() + 1);
        argv.add(spec.command());
        argv.addAll(spec.args());
        List<String> environment = env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
        int cgroupFd;
        try {
            cgroupFd = Fds.openDirectoryPath(cgroup.path());
        } catch (LinuxException e) {
            throw new LaunchFailed(JobError.unavailable("cannot open the job's cgroup: " + e.getMessage()), e);
        }
        try {
            return Spawner.spawn(new SpawnRequest(executable.toString(), argv, environment, cwd, cgroupFd,
                    account.uid(), account.gid(), account.groups(), noNewPrivileges));
        } catch (SpawnException e) {
            throw new LaunchFailed(errorOf(e), e);
        } finally {
            try {
                Fds.close(cgroupFd);
            } catch (LinuxException e) {
                org.slf4j.LoggerFactory.getLogger(JobLauncher.class).warn("Cannot close {}: {}", cgroup.path(), e.getMessage());
            }
        }
    }

    private static JobError errorOf(SpawnException e) {
        return switch (e.step()) {
            case "chdir" -> JobError.invalid("working-directory", e.getMessage());
            case "execve" -> switch (e.errno()) {
                case ENOENT, EACCES, ENOTDIR -> JobError.invalid("command", e.getMessage());
                default -> JobError.precondition("command", e.getMessage());
            };
            case "setgroups", "setresgid", "setresuid" -> JobError.precondition("user", e.getMessage());
            default -> switch (e.errno()) {
                case EAGAIN, EMFILE, ENFILE -> new JobError(JobError.Kind.RESOURCE_EXHAUSTED, "", e.getMessage());
                default -> JobError.unavailable(e.getMessage());
            };
        };
    }

    private static void undo(Cgroup cgroup, LogStore log, String jobId) {
        try {
            cgroup.remove();
        } catch (CgroupException e) {
            org.slf4j.LoggerFactory.getLogger(JobLauncher.class)
                    .warn("Job {} failed to start and its cgroup could not be removed: {}", jobId, e.getMessage());
        }
        if (log != null) {
            try {
                log.close();
                Files.deleteIfExists(log.path());
            } catch (IOException ignored) {
                // the log was empty and is in rund's private directory; nothing to lose
            }
        }
    }
}
