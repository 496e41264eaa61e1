package io.rund.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Pipe calls for moving a job's output without it ever being only in rund's memory: how many bytes wait in a pipe
 * (FIONREAD), whether its writers are all gone (POLLHUP), and splice(2) from the pipe straight into a file at a
 * position, which takes from the pipe exactly the bytes it wrote, so a process killed at any instant leaves every
 * byte either in the pipe or in the file.
 */
public final class Pipes {

    private static final long FIONREAD = 0x541B;
    private static final int IOCTL_FIRST_VARIADIC_ARG = 2;
    private static final int SPLICE_F_NONBLOCK = 0x02;
    private static final short POLLHUP = 0x10;
    private static final int POLL_NOW = 0;
    private static final int POLLFD_EVENTS_AT = 4;
    private static final int POLLFD_REVENTS_AT = 6;
    private static final int POLLFD_BYTES = 8;

    private static final MethodHandle IOCTL = Libc.function("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
            Linker.Option.firstVariadicArg(IOCTL_FIRST_VARIADIC_ARG));
    private static final MethodHandle POLL = Libc.function("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle SPLICE = Libc.function("splice",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    /**
     * Where FIONREAD leaves its count and splice reads its file position: one per thread, as the output pump calls
     * these once or twice per record and an allocation each time showed in the cost per record.
     */
    private static final ThreadLocal<MemorySegment> SCRATCH =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(JAVA_LONG));

    private Pipes() {}

    /** The bytes waiting in pipe {@code pipeFd} now (ioctl FIONREAD). */
    public static int available(int pipeFd) throws LinuxException {
        MemorySegment count = SCRATCH.get();
        Libc.call("ioctl(FIONREAD)", pipeFd, state -> (int) IOCTL.invokeExact(state, pipeFd, FIONREAD, count));
        return count.get(JAVA_INT, 0);
    }

    /**
     * True if every writer of pipe {@code pipeFd} is gone (POLLHUP). A pipe that has hung up and then still has
     * no {@linkplain #available bytes} has ended: nobody can write to it any more.
     */
    public static boolean hungUp(int pipeFd) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pollFd = arena.allocate(POLLFD_BYTES);
            pollFd.set(JAVA_INT, 0, pipeFd);
            pollFd.set(JAVA_SHORT, POLLFD_EVENTS_AT, (short) 0); // POLLHUP is reported whatever is asked
            Libc.call("poll", pipeFd, state -> (int) POLL.invokeExact(state, pollFd, 1L, POLL_NOW));
            return (pollFd.get(JAVA_SHORT, POLLFD_REVENTS_AT) & POLLHUP) != 0;
        }
    }

    /**
     * One splice(2) of at most {@code length} bytes from pipe {@code pipeFd} into file {@code fileFd} at
     * {@code position} (the file's own position is not used or moved): the bytes moved, which left the pipe and
     * are in the file; 0 if the pipe is empty now (never blocks on the pipe).
     */
    public static long spliceToFile(int pipeFd, int fileFd, long position, long length, Object target)
            throws LinuxException {
        MemorySegment filePosition = SCRATCH.get();
        filePosition.set(JAVA_LONG, 0, position);
        long moved = Libc.callTolerating(Libc.EAGAIN, "splice", target, state -> (long) SPLICE.invokeExact(
                state, pipeFd, MemorySegment.NULL, fileFd, filePosition, length, SPLICE_F_NONBLOCK));
        return Math.max(moved, 0);
    }
}
