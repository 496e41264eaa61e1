package io.rund.job;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The {@code rund.jobs} settings, read once from configuration.
 *
 * @param stateDirectory    where job logs live; created with mode 0700 so jobs cannot read it
 * @param stopGracePeriod   how long Stop waits after SIGTERM before killing the job's whole cgroup
 * @param defaultUser       the account jobs run as when they name none; empty: each such job runs as a user of its
 *                          own ({@link JobIdentities})
 * @param allowedUsers      accounts a job may ask to run as; empty means only the default
 * @param adminSans         certificate SANs that may see and stop every job
 * @param maxActiveJobs     jobs not yet ended that this host accepts at once
 * @param defaultWorkingDirectory where a job starts when it names no directory
 * @param defaultPath       PATH given to a job whose environment has none
 * @param noNewPrivileges   whether jobs run with no_new_privs (setuid binaries cannot raise them)
 * @param tenants           what one client identity may take of the daemon ({@code rund.tenants})
 * @param registry          how long finished jobs are kept, and what one List call may cost
 * @param openFilesSoftLimit the soft RLIMIT_NOFILE a job starts with (never above the hard limit), whatever the
 *                          daemon raised its own to
 * @param onDaemonExit      what SIGTERM of the daemon does to running jobs
 * @param nodeIndex         written into the 16 bits after the timestamp of every job id minted here, so that any
 *                          node of a cluster finds the job's host from its id ({@code rund.cluster.node-index});
 *                          0 standalone: ids fully random
 * @param groups            which groups beyond its user's own a job may ask for, and how many ({@link GroupSettings})
 */
public record JobSettings(
        Path stateDirectory,
        Duration stopGracePeriod,
        String defaultUser,
        Set<String> allowedUsers,
        Set<String> adminSans,
        int maxActiveJobs,
        Path defaultWorkingDirectory,
        String defaultPath,
        boolean noNewPrivileges,
        TenantSettings tenants,
        RegistrySettings registry,
        long openFilesSoftLimit,
        OnDaemonExit onDaemonExit,
        int nodeIndex,
        GroupSettings groups) {

    /** {@code rund.jobs.on-daemon-exit}: stop every job (grace, then kill) and leave nothing, or leave the jobs running
     *  with the keeper for the next daemon (an upgrade). */
    public enum OnDaemonExit { STOP, KEEP }

    public JobSettings {
        allowedUsers = Set.copyOf(allowedUsers);
        adminSans = Set.copyOf(adminSans);
    }

    public static JobSettings fromConfig(Config rund) {
        Config jobs = rund.getConfig("jobs");
        return new JobSettings(
                Path.of(rund.getString("state-directory")),
                jobs.getDuration("stop-grace-period"),
                jobs.getString("default-user"),
                Set.copyOf(stringList(jobs, "allowed-users")),
                Set.copyOf(stringList(rund, "admin-sans")),
                jobs.getInt("max-active"),
                Path.of(jobs.getString("default-working-directory")),
                jobs.getString("default-path"),
                jobs.getBoolean("no-new-privileges"),
                TenantSettings.fromConfig(rund.getConfig("tenants")),
                RegistrySettings.fromConfig(jobs),
                openFilesSoftLimit(jobs),
                onDaemonExit(jobs),
                nodeIndex(rund),
                GroupSettings.fromConfig(rund));
    }

    public JobSettings withStateDirectory(Path dir) {
        return new JobSettings(dir, stopGracePeriod, defaultUser, allowedUsers, adminSans, maxActiveJobs,
                defaultWorkingDirectory, defaultPath, noNewPrivileges, tenants, registry, openFilesSoftLimit, onDaemonExit, nodeIndex, groups);
    }

    public JobSettings withStopGracePeriod(Duration grace) {
        return new JobSettings(stateDirectory, grace, defaultUser, allowedUsers, adminSans, maxActiveJobs,
                defaultWorkingDirectory, defaultPath, noNewPrivileges, tenants, registry, openFilesSoftLimit, onDaemonExit, nodeIndex, groups);
    }

    public JobSettings withAdminSans(Set<String> sans) {
        return new JobSettings(stateDirectory, stopGracePeriod, defaultUser, allowedUsers, sans, maxActiveJobs,
                defaultWorkingDirectory, defaultPath, noNewPrivileges, tenants, registry, openFilesSoftLimit, onDaemonExit, nodeIndex, groups);
    }

    public JobSettings withAllowedUsers(Set<String> users) {
        return new JobSettings(stateDirectory, stopGracePeriod, defaultUser, users, adminSans, maxActiveJobs,
                defaultWorkingDirectory, defaultPath, noNewPrivileges, tenants, registry, openFilesSoftLimit, onDaemonExit, nodeIndex, groups);
    }

    public JobSettings withMaxActiveJobs(int max) {
        return new JobSettings(stateDirectory, stopGracePeriod, defaultUser, allowedUsers, adminSans, max,
                defaultWorkingDirectory, defaultPath, noNewPrivileges, tenants, registry, openFilesSoftLimit, onDaemonExit, nodeIndex, groups);
    }

    public JobSettings withTenants(TenantSettings caps) {
        return new JobSettings(stateDirectory, stopGracePeriod, defaultUser, allowedUsers, adminSans, maxActiveJobs,
                defaultWorkingDirectory, defaultPath, noNewPrivileges, caps, registry, openFilesSoftLimit, onDaemonExit, nodeIndex, groups);
    }

    public JobSettings withRegistry(RegistrySettings settings) {
        return new JobSettings(stateDirectory, stopGracePeriod, defaultUser, allowedUsers, adminSans, maxActiveJobs,
                defaultWorkingDirectory, defaultPath, noNewPrivileges, tenants, settings, openFilesSoftLimit, onDaemonExit, nodeIndex, groups);
    }

    public JobSettings withOnDaemonExit(OnDaemonExit onExit) {
        return new JobSettings(stateDirectory, stopGracePeriod, defaultUser, allowedUsers, adminSans, maxActiveJobs,
                defaultWorkingDirectory, defaultPath, noNewPrivileges, tenants, registry, openFilesSoftLimit, onExit, nodeIndex, groups);
    }

    public JobSettings withGroups(GroupSettings settings) {
        return new JobSettings(stateDirectory, stopGracePeriod, defaultUser, allowedUsers, adminSans, maxActiveJobs,
                defaultWorkingDirectory, defaultPath, noNewPrivileges, tenants, registry, openFilesSoftLimit, onDaemonExit, nodeIndex, settings);
    }

    /**
     * A list setting, or a comma-separated string as an environment variable gives one (RUND_ADMIN_SANS="DNS:a,DNS:b"):
     * items are trimmed, empty ones dropped, so "" is no item.
     */
    static List<String> stringList(Config config, String path) {
        if (config.getValue(path).valueType() == ConfigValueType.STRING) {
            return Arrays.stream(config.getString(path).split(",")).map(String::strip).filter(item -> !item.isEmpty()).toList();
        }
        return config.getStringList(path);
    }

    private static long openFilesSoftLimit(Config jobs) {
        long limit = jobs.getLong("nofile-soft-limit");
        if (limit < 1) {
            throw new IllegalArgumentException("rund.jobs.nofile-soft-limit must be at least 1, got " + limit
                    + " (RUND_JOB_NOFILE_SOFT_LIMIT); the usual default is 1024");
        }
        return limit;
    }

    /** This node's index in a cluster (rund.cluster.node-name set), else 0; ClusterSettings checks its range. */
    private static int nodeIndex(Config rund) {
        return rund.hasPath("cluster.node-name") && !rund.getString("cluster.node-name").isBlank()
                ? rund.getInt("cluster.node-index")
                : 0;
    }

    private static OnDaemonExit onDaemonExit(Config jobs) {
        String value = jobs.getString("on-daemon-exit");
        return switch (value) {
            case "stop" -> OnDaemonExit.STOP;
            case "keep" -> OnDaemonExit.KEEP;
            default -> throw new IllegalArgumentException("rund.jobs.on-daemon-exit (RUND_ON_EXIT) must be \"stop\" or"
                    + " \"keep\", got " + ClientText.quote(value));
        };
    }

    /** Whether a job may ask to run as {@code user}: the default account always, others only when configured. */
    public boolean mayRunAs(String user) {
        return user.equals(defaultUser) || allowedUsers.contains(user);
    }
}
