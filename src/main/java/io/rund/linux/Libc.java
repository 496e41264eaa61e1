package io.rund.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The glibc functions rund calls through FFM, with errno captured per call and EINTR retried.
 * Every handle takes a leading call-state segment (where the linker stores errno); {@link #call}
 * allocates it, runs the call and turns a -1 result into a {@link LinuxException}.
 */
final class Libc {
    static final int ENOENT = 2;
    static final int ESRCH = 3;
    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int EACCES = 13;
    static final int ENOTDIR = 20;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    /** open(2) is variadic: the mode is its first variadic argument. */
    private static final int OPEN_FIRST_VARIADIC_ARG = 2;

    static final MethodHandle CLOSE = function("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    static final MethodHandle READ = function("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    static final MethodHandle WRITE = function("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    static final MethodHandle OPEN = function("open", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(OPEN_FIRST_VARIADIC_ARG));
    static final MethodHandle PIDFD_OPEN = function("pidfd_open", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle PIDFD_SEND_SIGNAL = function("pidfd_send_signal",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle WAITID = function("waitid",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle KILL = function("kill", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle GETRLIMIT = function("getrlimit", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle SETRLIMIT = function("setrlimit", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle SOCKET = function("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle CONNECT = function("connect", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle SENDMSG = function("sendmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle RECVMSG = function("recvmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle SETSOCKOPT = function("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle EPOLL_CREATE1 = function("epoll_create1", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    static final MethodHandle EPOLL_CTL = function("epoll_ctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    static final MethodHandle EPOLL_WAIT = function("epoll_wait",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    static final MethodHandle EVENTFD = function("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle PREAD = function("pread", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    static final MethodHandle PWRITE = function("pwrite", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    static final MethodHandle FDATASYNC = function("fdatasync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    static final MethodHandle SYNCFS = function("syncfs", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    static final MethodHandle FALLOCATE = function("fallocate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    static final MethodHandle STAT = function("stat", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle FACCESSAT = function("faccessat",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    /** syscall(2) with one argument, for the per-thread setfsuid and setfsgid (glibc's wrappers are per-thread too,
     *  but only the raw call is certain not to be broadcast to every thread). */
    static final MethodHandle SYSCALL_1 = function("syscall", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1));
    /** syscall(2) with a count and an array, for the per-thread getgroups and setgroups (glibc's setgroups
     *  wrapper changes every thread of the process). */
    static final MethodHandle SYSCALL_COUNT_ARRAY = function("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(1));
    /** syscall(2) with three arguments, for shmctl, semctl and msgctl (glibc's semctl is variadic). */
    static final MethodHandle SYSCALL_3 = function("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(1));
    /** Thread-safe (unlike strerror), returns NULL for an unknown errno. */
    private static final MethodHandle STRERRORDESC_NP = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("strerrordesc_np"), FunctionDescriptor.of(ADDRESS, JAVA_INT));
    private static final long MAX_MESSAGE_BYTES = 256;

    /** One native call: receives the call-state segment, returns the C result (-1 = failed). */
    @FunctionalInterface
    interface NativeCall {
        long invoke(MemorySegment callState) throws Throwable;
    }

    private Libc() {}

    /** Runs {@code call}, retrying on EINTR; any failure becomes a LinuxException naming call and target. */
    static long call(String name, Object target, NativeCall call) throws LinuxException {
        long result = callTolerating(0, name, target, call);
        if (result < 0) {
            throw new AssertionError(name + " returned " + result + " without errno");
        }
        return result;
    }

    /**
     * Like {@link #call} but returns -1 instead of throwing when errno is {@code toleratedErrno}
     * (checked before EINTR, so EINTR itself may be tolerated, as close(2) needs).
     */
    static long callTolerating(int toleratedErrno, String name, Object target, NativeCall call)
            throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment callState = arena.allocate(CALL_STATE);
            while (true) {
                long result = invoke(call, callState);
                if (result != -1) {
                    return result;
                }
                int errno = (int) ERRNO.get(callState, 0L);
                if (errno == toleratedErrno) {
                    return -1;
                }
                if (errno != EINTR) {
                    throw new LinuxException(name, String.valueOf(target), errno);
                }
            }
        }
    }

    /** A segment where a call made with one of these handles leaves its errno. */
    static MemorySegment newCallState(Arena arena) {
        return arena.allocate(CALL_STATE);
    }

    /** The errno a call left in {@code callState}. */
    static int errno(MemorySegment callState) {
        return (int) ERRNO.get(callState, 0L);
    }

    /** The C library's description of an errno value, e.g. "No such process". */
    static String strerror(int errno) {
        MemorySegment text;
        try {
            text = (MemorySegment) STRERRORDESC_NP.invokeExact(errno);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return text.equals(MemorySegment.NULL) ? "Unknown error " + errno
                : text.reinterpret(MAX_MESSAGE_BYTES).getString(0);
    }

    /** A downcall handles throw only unchecked exceptions; pass them on unchanged. */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException e) {
            return e;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("unexpected checked exception from a native call", t);
    }

    private static long invoke(NativeCall call, MemorySegment callState) {
        try {
            return call.invoke(callState);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static MethodHandle function(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        Linker.Option[] all = new Linker.Option[options.length + 1];
        all[0] = CAPTURE_ERRNO;
        System.arraycopy(options, 0, all, 1, options.length);
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), descriptor, all);
    }
}
