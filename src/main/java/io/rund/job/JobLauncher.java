package io.rund.job;

import io.rund.cgroup.Cgroup;
import io.rund.cgroup.CgroupException;
import io.rund.cgroup.InvalidLimitException;
import io.rund.cgroup.MissingControllerException;
import io.rund.linux.Executables;
import io.rund.linux.Fds;
import io.rund.linux.FsCredentials;
import io.rund.linux.LinuxException;
import io.rund.linux.LocalGroups;
import io.rund.linux.SpawnException;
import io.rund.linux.SpawnRequest;
import io.rund.linux.SpawnedProcess;
import io.rund.linux.UserAccount;
import io.rund.logs.LogStore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Brings one job into the world, blocking, on the job dispatcher: gives it its user (an identity of its own from
 * {@link JobIdentities}, or the account it names), resolves its command and io devices as that user would see
 * them, creates its cgroup with its limits and its log, and spawns its process inside the cgroup. Whatever fails
 * becomes a {@link JobError} naming the field at fault, and everything created so far is removed again.
 */
final class JobLauncher {

    /**
     * A job that is running: its cgroup, its log, its process (whose fds now belong to the caller), the uid it
     * runs as, and the identity it was lent, if it runs as one (to be released once its cgroup is empty and removed),
     * and the groups it runs with (null for an adopted job whose record lacks them and whose process is gone).
     */
    record Launch(Cgroup cgroup, LogStore log, SpawnedProcess process, int uid, JobIdentity identity,
                  java.time.Instant startedAt, java.util.Optional<io.rund.linux.ProcessExit> exitedWhileAway,
                  JobGroups groups) {

        /** A job launched now (not adopted): its start time is when it is seen running, and it has not exited. */
        Launch(Cgroup cgroup, LogStore log, SpawnedProcess process, int uid, JobIdentity identity, JobGroups groups) {
            this(cgroup, log, process, uid, identity, null, java.util.Optional.empty(), groups);
        }
    }

    /** Who a job runs as, and what its environment says about it. {@code leased} is null for a named account. */
    private record RunAs(String name, int uid, int gid, int[] groups, String home, JobIdentity leased) {
        FsCredentials credentials() {
            return new FsCredentials(uid, gid, groups);
        }

        java.util.List<Integer> groupList() {
            return java.util.Arrays.stream(groups).boxed().toList();
        }

        /** This user with {@code chosen} as its groups. */
        RunAs with(JobGroups chosen) {
            return new RunAs(name, uid, chosen.gid(), chosen.supplementaryArray(), home, leased);
        }
    }

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

    /** The host's /etc/group, read again only when it changes. */
    private static final LocalGroups LOCAL_GROUPS = LocalGroups.system();

    private final JobRuntime runtime;

    JobLauncher(JobRuntime runtime) {
        this.runtime = runtime;
    }

    /** Launches job {@code jobId} of {@code owner} (the SAN set whose log quota its output counts against). */
    Launch launch(String jobId, JobSpec spec, Set<String> owner) throws LaunchFailed {
        RunAs user = runAs(jobId, spec, runtime.settings());
        try {
            user = withGroups(user, spec);
            return launchAs(jobId, spec, user, owner);
        } catch (LaunchFailed | RuntimeException e) {
            // Nothing of the job runs: its spawn failed (the child was reaped) or never happened.
            if (user.leased() != null) {
                runtime.identities().release(user.leased());
            }
            throw e;
        }
    }

    private Launch launchAs(String jobId, JobSpec spec, RunAs user, Set<String> owner) throws LaunchFailed {
        JobSettings settings = runtime.settings();
        Path cwd = spec.workingDirectory().orElse(settings.defaultWorkingDirectory());
        Map<String, String> env = new TreeMap<>(spec.environment());
        env.putIfAbsent("PATH", settings.defaultPath());
        if (!user.home().isEmpty()) {
            env.putIfAbsent("HOME", user.home());
        }
        env.putIfAbsent("USER", user.name());
        env.putIfAbsent("LOGNAME", user.name());
        FsCredentials credentials = user.credentials();
        Path executable = resolveCommand(spec.command(), env.get("PATH"), cwd, credentials);

        List<String> rdtLines = RdtPlacement.plan(runtime.rdt(), spec.limits());
        Cgroup cgroup = createCgroup(jobId, spec, cwd, credentials);
        LogStore log = null;
        try {
            Optional<Path> rdtTasks = RdtPlacement.create(runtime.rdt(), jobId, rdtLines);
            log = runtime.createLog(jobId, owner);
            SpawnedProcess process = spawn(jobId, executable, spec, env, cwd, cgroup, user, settings, rdtTasks);
            return new Launch(cgroup, log, process, user.uid(), user.leased(), new JobGroups(user.gid(), user.groupList()));
        } catch (LaunchFailed | RuntimeException e) {
            undo(cgroup, log, jobId);
            throw e;
        } catch (IOException e) {
            undo(cgroup, log, jobId);
            throw new LaunchFailed(JobError.unavailable("cannot create the job's log: " + e.getMessage()), e);
        }
    }

    /**
     * The named account if the job names one (or a default user is configured); otherwise an identity of the
     * job's own.
     */
    private RunAs runAs(String jobId, JobSpec spec, JobSettings settings) throws LaunchFailed {
        if (spec.user().isPresent() || !settings.defaultUser().isEmpty()) {
            UserAccount account = account(spec, settings);
            return new RunAs(account.name(), account.uid(), account.gid(), account.groups(), account.home(), null);
        }
        try {
            JobIdentity identity = runtime.identities().lease(jobId);
            return new RunAs(identity.userName(), identity.uid(), identity.gid(), new int[0],
                    identity.home().toString(), identity);
        } catch (IdentityPool.Exhausted e) {
            throw new LaunchFailed(new JobError(JobError.Kind.RESOURCE_EXHAUSTED, "user", e.getMessage()), e);
        } catch (IOException e) {
            throw new LaunchFailed(JobError.unavailable("cannot make the job's home directory: " + e.getMessage()), e);
        }
    }

    /** {@code user} with the groups the job asked for, if it may have them ({@link JobGroupPolicy}). */
    private RunAs withGroups(RunAs user, JobSpec spec) throws LaunchFailed {
        if (!spec.groups().asked()) {
            return user;
        }
        JobGroups own = new JobGroups(user.gid(), user.groupList());
        return user.with(new JobGroupPolicy(runtime.settings().groups(), LOCAL_GROUPS).resolve(spec.groups(), own));
    }

    private static UserAccount account(JobSpec spec, JobSettings settings) throws LaunchFailed {
        String user = spec.user().orElse(settings.defaultUser());
        if (!settings.mayRunAs(user)) {
            throw new LaunchFailed(JobError.precondition("user",
                    "this server does not let jobs run as " + ClientText.quote(user) + " (rund.jobs.allowed-users)")
                    .because(JobError.Reason.PERMISSION_DENIED), null);
        }
        try {
            return UserAccount.lookup(user).orElseThrow(() -> new LaunchFailed(
                    JobError.invalid("user", "no local account " + ClientText.quote(user) + " on this host")
                            .because(JobError.Reason.USER_NOT_FOUND), null));
        } catch (IOException e) {
            throw new LaunchFailed(JobError.unavailable("cannot read the account database: " + e.getMessage()), e);
        }
    }

    private static Path resolveCommand(String command, String path, Path cwd, FsCredentials user) throws LaunchFailed {
        try {
            return Executables.resolve(command, path, cwd, user);
        } catch (SpawnException e) {
            throw new LaunchFailed(JobError.invalid("command", e.getMessage()).because(JobError.Reason.COMMAND_NOT_FOUND), e);
        }
    }

    private Cgroup createCgroup(String jobId, JobSpec spec, Path cwd, FsCredentials user) throws LaunchFailed {
        try {
            return runtime.cgroups().create(jobId, spec.limits(), cwd, user);
        } catch (InvalidLimitException e) {
            throw new LaunchFailed(JobError.invalid(e.field(), e.reason()), e);
        } catch (MissingControllerException e) {
            throw new LaunchFailed(JobError.precondition("limits", e.getMessage()).because(JobError.Reason.MISSING_CONTROLLER), e);
        } catch (CgroupException e) {
            throw new LaunchFailed(JobError.unavailable("cannot create the job's cgroup: " + e.getMessage()), e);
        }
    }

    private SpawnedProcess spawn(String jobId, Path executable, JobSpec spec, Map<String, String> env, Path cwd,
                                 Cgroup cgroup, RunAs user, JobSettings settings, Optional<Path> rdtTasks)
            throws LaunchFailed {
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
        int rdtTasksFd = SpawnRequest.NO_RDT_GROUP;
        try {
            rdtTasksFd = RdtPlacement.openTasks(rdtTasks);
            return runtime.spawner().spawn(jobId, new SpawnRequest(executable.toString(), argv, environment, cwd,
                    cgroupFd, user.uid(), user.gid(), user.groups(), settings.noNewPrivileges(),
                    settings.openFilesSoftLimit(), rdtTasksFd));
        } catch (SpawnException e) {
            throw new LaunchFailed(errorOf(e), e);
        } finally {
            try {
                Fds.close(cgroupFd);
                if (rdtTasksFd != SpawnRequest.NO_RDT_GROUP) {
                    Fds.close(rdtTasksFd);
                }
            } catch (LinuxException e) {
                org.slf4j.LoggerFactory.getLogger(JobLauncher.class).warn("Cannot close {}: {}", cgroup.path(), e.getMessage());
            }
        }
    }

    private static JobError errorOf(SpawnException e) {
        return switch (e.step()) {
            case "chdir" -> JobError.invalid("working-directory", e.getMessage());
            case "execve" -> switch (e.errno()) {
                case ENOENT, EACCES, ENOTDIR -> JobError.invalid("command", e.getMessage()).because(JobError.Reason.COMMAND_NOT_FOUND);
                default -> JobError.precondition("command", e.getMessage());
            };
            case "setgroups", "setresgid", "setresuid" -> JobError.precondition("user", e.getMessage())
                    .because(JobError.Reason.PERMISSION_DENIED);
            case "resctrl" -> JobError.precondition("limits", "the kernel refused to put the job in its"
                    + " resctrl group: " + e.getMessage()).because(JobError.Reason.RDT_UNAVAILABLE);
            default -> switch (e.errno()) {
                case EAGAIN, EMFILE, ENFILE -> new JobError(JobError.Kind.RESOURCE_EXHAUSTED, "", e.getMessage());
                default -> JobError.unavailable(e.getMessage());
            };
        };
    }

    private void undo(Cgroup cgroup, LogStore log, String jobId) {
        RdtPlacement.remove(runtime.rdt(), jobId);
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
