package io.rund.linux;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The daemon's own resource limits. Every job costs the daemon three fds (pidfd, two pipe ends),
 * so the open-files soft limit is raised to the hard limit at start-up.
 */
public final class ResourceLimits {
    private static final int RLIMIT_NOFILE = 7;
    /** struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; } */
    private static final long CURRENT_OFFSET = 0;
    private static final long MAXIMUM_OFFSET = 8;
    private static final long RLIMIT_SIZE = 16;

    private ResourceLimits() {}

    /** Sets RLIMIT_NOFILE's soft limit to its hard limit and returns the new soft limit. */
    public static long raiseOpenFilesToHard() throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment limit = arena.allocate(RLIMIT_SIZE, Long.BYTES);
            Libc.call("getrlimit", "RLIMIT_NOFILE", state -> (int) Libc.GETRLIMIT.invokeExact(state, RLIMIT_NOFILE, limit));
            long hard = limit.get(JAVA_LONG, MAXIMUM_OFFSET);
            if (limit.get(JAVA_LONG, CURRENT_OFFSET) != hard) {
                limit.set(JAVA_LONG, CURRENT_OFFSET, hard);
                Libc.call("setrlimit", "RLIMIT_NOFILE=" + hard,
                        state -> (int) Libc.SETRLIMIT.invokeExact(state, RLIMIT_NOFILE, limit));
            }
            return hard;
        }
    }
}
