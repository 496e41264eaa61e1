package io.rund.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Arrays;
import java.util.List;

/**
 * Starts processes through the native helper (src/main/c/spawn.c): clone3 straight into the
 * target cgroup with a pidfd, privileges dropped, fds 0/1/2 = /dev/null and two fresh pipes,
 * nothing else inherited, then execve. A blocking call of about half a millisecond: keep it off
 * actor and event-loop threads.
 */
public final class Spawner {
    /** Step names by the number spawn.c reports (enum rund_step); keep in sync with the C file. */
    private static final List<String> STEPS = List.of("none", "pipe", "clone3", "setsid", "setgroups",
            "setresgid", "setresuid", "no_new_privs", "chdir", "open_devnull", "dup2", "close_range", "signals",
            "execve", "rlimit", "resctrl");
    private static final int KEEP_GROUPS = -1;
    private static final int CLEAR_GROUPS = 0;

    private static final MethodHandle RUND_SPAWN = Linker.nativeLinker().downcallHandle(
            NativeLibrary.spawnHelper().findOrThrow("rund_spawn"),
            FunctionDescriptor.of(JAVA_INT,
                    ADDRESS, ADDRESS, ADDRESS, ADDRESS,          // path, argv, envp, cwd
                    JAVA_INT, JAVA_INT, JAVA_INT,                // cgroup_fd, uid, gid
                    JAVA_INT, ADDRESS, JAVA_INT,                 // ngroups, groups, no_new_privs
                    JAVA_LONG, JAVA_INT,                         // nofile_soft, rdt_tasks_fd
                    ADDRESS, ADDRESS, ADDRESS, ADDRESS));        // out: pidfd, stdout, stderr, err_step

    private Spawner() {}

    /** Starts the process {@code request} describes; the caller owns the returned fds. */
    public static SpawnedProcess spawn(SpawnRequest request) throws SpawnException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment path = arena.allocateFrom(request.executable());
            MemorySegment argv = nullTerminatedStrings(arena, request.argv());
            MemorySegment envp = nullTerminatedStrings(arena, request.environment());
            MemorySegment cwd = request.workingDirectory() == null ? MemorySegment.NULL
                    : arena.allocateFrom(request.workingDirectory().toString());
            int[] groups = request.supplementaryGroups();
            int groupCount = groupCount(request);
            MemorySegment groupArray = groups == null || groups.length == 0 ? MemorySegment.NULL
                    : arena.allocateFrom(JAVA_INT, groups);
            MemorySegment pidfd = arena.allocate(JAVA_INT);
            MemorySegment stdout = arena.allocate(JAVA_INT);
            MemorySegment stderr = arena.allocate(JAVA_INT);
            MemorySegment step = arena.allocate(JAVA_INT);
            int result;
            try {
                result = (int) RUND_SPAWN.invokeExact(path, argv, envp, cwd, request.cgroupFd(), request.uid(),
                        request.gid(), groupCount, groupArray, request.noNewPrivileges() ? 1 : 0,
                        request.openFilesSoftLimit(), request.rdtTasksFd(), pidfd, stdout, stderr, step);
            } catch (Throwable t) {
                throw Libc.rethrow(t);
            }
            if (result < 0) {
                throw failure(-result, step.get(JAVA_INT, 0), request);
            }
            return new SpawnedProcess(result, pidfd.get(JAVA_INT, 0), stdout.get(JAVA_INT, 0), stderr.get(JAVA_INT, 0));
        }
    }

    /** ngroups for rund_spawn: the groups given, else -1 (keep the spawner's) or 0 (none, when uid or gid change). */
    static int groupCount(SpawnRequest request) {
        int[] groups = request.supplementaryGroups();
        return groups != null ? groups.length
                : request.uid() == SpawnRequest.KEEP_ID && request.gid() == SpawnRequest.KEEP_ID
                        ? KEEP_GROUPS : CLEAR_GROUPS;
    }

    /** The exception for a spawn of {@code request} that failed at {@code step} (enum rund_step) with {@code errno}. */
    static SpawnException failure(int errno, int step, SpawnRequest request) {
        String stepName = stepName(step);
        return new SpawnException(errno, stepName, subject(stepName, request));
    }

    private static MemorySegment nullTerminatedStrings(Arena arena, List<String> strings) {
        MemorySegment array = arena.allocate(ADDRESS, strings.size() + 1L); // zeroed: last entry is NULL
        for (int i = 0; i < strings.size(); i++) {
            array.setAtIndex(ADDRESS, i, arena.allocateFrom(strings.get(i)));
        }
        return array;
    }

    private static String stepName(int step) {
        if (step <= 0 || step >= STEPS.size()) {
            throw new IllegalStateException("rund_spawn failed without a known step: " + step);
        }
        return STEPS.get(step);
    }

    /** What the failed step was working on, for the error message. */
    private static String subject(String step, SpawnRequest request) {
        return switch (step) {
            case "pipe" -> "stdout/stderr pipes for " + request.executable();
            case "clone3" -> request.cgroupFd() >= 0 ? "cgroup fd " + request.cgroupFd() : request.executable();
            case "setgroups" -> "groups " + Arrays.toString(request.supplementaryGroups());
            case "setresgid" -> "gid " + request.gid();
            case "setresuid" -> "uid " + request.uid();
            case "chdir" -> String.valueOf(request.workingDirectory());
            case "open_devnull" -> "/dev/null";
            case "dup2" -> "stdio of " + request.executable();
            case "rlimit" -> "RLIMIT_NOFILE " + request.openFilesSoftLimit();
            case "resctrl" -> "the job's resctrl group (tasks fd " + request.rdtTasksFd() + ")";
            default -> request.executable();
        };
    }
}
