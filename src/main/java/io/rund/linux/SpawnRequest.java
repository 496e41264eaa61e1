package io.rund.linux;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Everything {@link Spawner} needs to start one process, checked on construction (strings reach C
 * as NUL-terminated, so none may contain NUL).
 *
 * @param executable absolute path handed to execve (see {@link Executables#resolve} for PATH search)
 * @param argv the arguments including argv[0]; not empty
 * @param environment the complete environment, entries "KEY=VALUE"
 * @param workingDirectory the child's cwd, entered after dropping privileges; null keeps the daemon's
 * @param cgroupFd an O_PATH fd of the cgroup v2 directory to start in ({@link Fds#openDirectoryPath}), or -1
 * @param uid user id to switch to, or -1 to keep
 * @param gid group id to switch to, or -1 to keep
 * @param supplementaryGroups the child's supplementary groups; null keeps the daemon's when uid and gid
 *     are kept and means "none" when either is switched (a job must never inherit root's groups)
 * @param noNewPrivileges set PR_SET_NO_NEW_PRIVS: setuid binaries and file capabilities stop working
 * @param openFilesSoftLimit the child's soft RLIMIT_NOFILE (capped at the hard limit), or {@link #KEEP_LIMIT} to
 *     inherit the spawner's (which the daemon raised to its hard limit)
 * @param rdtTasksFd the job's resctrl group's tasks file, open for writing (the child writes itself into it before it
 *     drops privileges and execs), or {@link #NO_RDT_GROUP}
 */
public record SpawnRequest(String executable, List<String> argv, List<String> environment, Path workingDirectory,
        int cgroupFd, int uid, int gid, int[] supplementaryGroups, boolean noNewPrivileges, long openFilesSoftLimit,
        int rdtTasksFd) {
    public static final int NO_CGROUP = -1;
    public static final int KEEP_ID = -1;
    public static final long KEEP_LIMIT = -1;
    public static final int NO_RDT_GROUP = -1;

    /** A request that leaves the child in the spawner's resctrl group. */
    public SpawnRequest(String executable, List<String> argv, List<String> environment, Path workingDirectory,
            int cgroupFd, int uid, int gid, int[] supplementaryGroups, boolean noNewPrivileges, long openFilesSoftLimit) {
        this(executable, argv, environment, workingDirectory, cgroupFd, uid, gid, supplementaryGroups, noNewPrivileges,
                openFilesSoftLimit, NO_RDT_GROUP);
    }

    /** A request that keeps the spawner's open-file limits. */
    public SpawnRequest(String executable, List<String> argv, List<String> environment, Path workingDirectory,
            int cgroupFd, int uid, int gid, int[] supplementaryGroups, boolean noNewPrivileges) {
        this(executable, argv, environment, workingDirectory, cgroupFd, uid, gid, supplementaryGroups, noNewPrivileges,
                KEEP_LIMIT);
    }

    public SpawnRequest {
        Objects.requireNonNull(executable, "executable");
        requireNoNul("executable", executable);
        if (!executable.startsWith("/")) {
            throw new IllegalArgumentException("executable must be an absolute path: " + executable);
        }
        argv = List.copyOf(argv);
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("argv must hold at least argv[0] for " + executable);
        }
        for (int i = 0; i < argv.size(); i++) {
            requireNoNul("argv[" + i + "]", argv.get(i));
        }
        environment = List.copyOf(environment);
        for (int i = 0; i < environment.size(); i++) {
            requireNoNul("environment[" + i + "]", environment.get(i));
        }
        if (workingDirectory != null) {
            requireNoNul("workingDirectory", workingDirectory.toString());
        }
        if (cgroupFd < NO_CGROUP || uid < KEEP_ID || gid < KEEP_ID) {
            throw new IllegalArgumentException("cgroupFd, uid and gid must be >= -1, got cgroupFd=" + cgroupFd
                    + " uid=" + uid + " gid=" + gid);
        }
        if (rdtTasksFd < NO_RDT_GROUP || rdtTasksFd >= 0 && cgroupFd < 0) {
            throw new IllegalArgumentException("rdtTasksFd must be >= -1, and given only with a cgroupFd, got "
                    + rdtTasksFd + " with cgroupFd " + cgroupFd);
        }
        if (openFilesSoftLimit < KEEP_LIMIT) {
            throw new IllegalArgumentException("openFilesSoftLimit must be >= 0 or KEEP_LIMIT, got " + openFilesSoftLimit);
        }
        if (supplementaryGroups != null) {
            supplementaryGroups = supplementaryGroups.clone();
            for (int group : supplementaryGroups) {
                if (group < 0) {
                    throw new IllegalArgumentException("negative supplementary group " + group);
                }
            }
        }
    }

    /** A copy: the record's array is not shared with callers. */
    @Override
    public int[] supplementaryGroups() {
        return supplementaryGroups == null ? null : supplementaryGroups.clone();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof SpawnRequest that && executable.equals(that.executable) && argv.equals(that.argv)
                && environment.equals(that.environment) && Objects.equals(workingDirectory, that.workingDirectory)
                && cgroupFd == that.cgroupFd && uid == that.uid && gid == that.gid
                && Arrays.equals(supplementaryGroups, that.supplementaryGroups)
                && noNewPrivileges == that.noNewPrivileges && openFilesSoftLimit == that.openFilesSoftLimit
                && rdtTasksFd == that.rdtTasksFd;
    }

    @Override
    public int hashCode() {
        return Objects.hash(executable, argv, environment, workingDirectory, cgroupFd, uid, gid,
                Arrays.hashCode(supplementaryGroups), noNewPrivileges, openFilesSoftLimit, rdtTasksFd);
    }

    @Override
    public String toString() {
        return "SpawnRequest[executable=" + executable + ", argv=" + argv + ", environment=" + environment.size()
                + " entries, workingDirectory=" + workingDirectory + ", cgroupFd=" + cgroupFd + ", uid=" + uid
                + ", gid=" + gid + ", supplementaryGroups=" + Arrays.toString(supplementaryGroups)
                + ", noNewPrivileges=" + noNewPrivileges + ", openFilesSoftLimit=" + openFilesSoftLimit
                + ", rdtTasksFd=" + rdtTasksFd + "]";
    }

    private static void requireNoNul(String what, String value) {
        Objects.requireNonNull(value, what);
        int nul = value.indexOf('\0');
        if (nul >= 0) {
            throw new IllegalArgumentException(what + " contains a NUL byte at index " + nul);
        }
    }
}
