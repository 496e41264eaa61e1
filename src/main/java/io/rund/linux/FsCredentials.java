package io.rund.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The file-system identity of a job's user, for the checks rund makes on a job's behalf before it runs (PATH
 * search, io device paths, the working directory's disk): each answer is what that user could learn, never what
 * root can see, so a client cannot probe the host's files through rund. Each check switches the calling thread's
 * fsuid, fsgid and supplementary groups around one native call and back (raw syscalls: they change this thread
 * only, while glibc's setgroups changes every thread of the daemon). With an fsuid other than 0 the kernel also
 * drops the thread's file capabilities (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, ...) for that call.
 *
 * @param uid    the fsuid to check as, or {@link #KEEP} for the daemon's own
 * @param gid    the fsgid to check as
 * @param groups the supplementary groups to check with
 */
public record FsCredentials(int uid, int gid, int[] groups) {

    /** The daemon's own identity: no switch. */
    public static final int KEEP = -1;
    public static final FsCredentials DAEMON = new FsCredentials(KEEP, KEEP, new int[0]);

    private static final long SYS_GETGROUPS = 115;
    private static final long SYS_SETGROUPS = 116;
    private static final long SYS_SETFSUID = 122;
    private static final long SYS_SETFSGID = 123;
    /** setfsuid(-1) changes nothing and returns the current fsuid. */
    private static final long QUERY = -1;
    private static final int AT_FDCWD = -100;
    private static final int AT_EACCESS = 0x200;
    private static final int X_OK = 1;
    /** struct stat on x86_64 (glibc = kernel layout): 144 bytes, st_dev at 0, st_mode at 24, st_rdev at 40. */
    private static final long STAT_SIZE = 144;
    private static final long ST_DEV = 0;
    private static final long ST_MODE = 24;
    private static final long ST_RDEV = 40;
    /** NGROUPS_MAX on Linux. */
    private static final int MAX_GROUPS = 65536;

    public FsCredentials {
        groups = groups.clone();
    }

    /** A copy: the record's array is not shared. */
    @Override
    public int[] groups() {
        return groups.clone();
    }

    /** stat(2) of {@code path} (symlinks followed) as this identity. */
    public FileStat stat(Path path) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(path.toString());
            MemorySegment buffer = arena.allocate(STAT_SIZE, Long.BYTES);
            int errno = asThisIdentity(arena, callState -> (int) Libc.STAT.invokeExact(callState, cPath, buffer));
            if (errno != 0) {
                throw new LinuxException("stat", path.toString(), errno);
            }
            return new FileStat(buffer.get(ValueLayout.JAVA_INT, ST_MODE), buffer.get(ValueLayout.JAVA_LONG, ST_DEV),
                    buffer.get(ValueLayout.JAVA_LONG, ST_RDEV));
        }
    }

    /** Whether this identity may execute {@code path} (faccessat with AT_EACCESS: the fs ids, not the real ones). */
    public boolean mayExecute(Path path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(path.toString());
            return asThisIdentity(arena,
                    callState -> (int) Libc.FACCESSAT.invokeExact(callState, AT_FDCWD, cPath, X_OK, AT_EACCESS)) == 0;
        }
    }

    @FunctionalInterface
    private interface Check {
        int invoke(MemorySegment callState) throws Throwable;
    }

    /**
     * Runs one native call as this identity; returns 0 or the errno it failed with. Between the switch and the
     * switch back only native code runs (no class is loaded from a file this identity may not read); exceptions
     * are made by the caller, afterwards.
     */
    private int asThisIdentity(Arena arena, Check check) {
        MemorySegment callState = Libc.newCallState(arena);
        if (uid == KEEP) {
            return invoke(check, callState);
        }
        MemorySegment saved = arena.allocate(ValueLayout.JAVA_INT, MAX_GROUPS);
        long savedCount = syscall(arena, SYS_GETGROUPS, MAX_GROUPS, saved, "getgroups");
        MemorySegment wanted = arena.allocateFrom(ValueLayout.JAVA_INT, groups);
        syscall(arena, SYS_SETGROUPS, groups.length, wanted, "setgroups");
        long savedGid = fsId(SYS_SETFSGID, gid);
        long savedUid = fsId(SYS_SETFSUID, uid);
        try {
            return invoke(check, callState);
        } finally {
            fsId(SYS_SETFSUID, savedUid);
            fsId(SYS_SETFSGID, savedGid);
            syscall(arena, SYS_SETGROUPS, savedCount, saved, "setgroups");
            if (fsId(SYS_SETFSUID, QUERY) != savedUid || fsId(SYS_SETFSGID, QUERY) != savedGid) {
                // The thread would go on with a job's identity: nothing may run on it.
                throw new IllegalStateException("cannot restore the daemon's fsuid/fsgid on " + Thread.currentThread());
            }
        }
    }

    private static int invoke(Check check, MemorySegment callState) {
        try {
            while (true) {
                if (check.invoke(callState) == 0) {
                    return 0;
                }
                int errno = Libc.errno(callState);
                if (errno != Libc.EINTR) {
                    return errno;
                }
            }
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** setfsuid/setfsgid: always "succeeds" and returns the previous id (the id is unchanged if not allowed). */
    private static long fsId(long call, long id) {
        try (Arena arena = Arena.ofConfined()) {
            return (long) Libc.SYSCALL_1.invokeExact(Libc.newCallState(arena), call, id);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    private static long syscall(Arena arena, long call, long count, MemorySegment array, String name) {
        MemorySegment callState = Libc.newCallState(arena);
        long result;
        try {
            result = (long) Libc.SYSCALL_COUNT_ARRAY.invokeExact(callState, call, count, array);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (result < 0) {
            // rund runs as root: switching groups cannot fail but for a bug (a bad count or array).
            throw new IllegalStateException(name + " failed: " + Libc.strerror(Libc.errno(callState)));
        }
        return result;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof FsCredentials that && uid == that.uid && gid == that.gid
                && Arrays.equals(groups, that.groups);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * uid + gid) + Arrays.hashCode(groups);
    }

    @Override
    public String toString() {
        return uid == KEEP ? "FsCredentials[daemon]"
                : "FsCredentials[uid=" + uid + ", gid=" + gid + ", groups=" + Arrays.toString(groups) + "]";
    }

    /** The few fields of a stat(2) answer rund uses. */
    public record FileStat(int mode, long device, long rdev) {
        private static final int TYPE_MASK = 0170000;
        private static final int REGULAR = 0100000;

        public boolean isRegularFile() {
            return (mode & TYPE_MASK) == REGULAR;
        }
    }
}
