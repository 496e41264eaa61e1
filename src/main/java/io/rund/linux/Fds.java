package io.rund.linux;

import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/** File-descriptor calls rund needs beyond what java.nio offers: raw close, non-blocking read, O_PATH open. */
public final class Fds {
    /** read(2) found no data on a non-blocking fd. */
    public static final int WOULD_BLOCK = -1;

    private static final int O_DIRECTORY = 0_200_000;
    private static final int O_CLOEXEC = 02_000_000;
    private static final int O_PATH = 010_000_000;
    private static final int O_WRONLY = 01;
    private static final int NO_MODE = 0;

    private Fds() {}

    /** Closes {@code fd}. EINTR counts as closed: Linux releases the fd before it can report EINTR. */
    public static void close(int fd) throws LinuxException {
        Libc.callTolerating(Libc.EINTR, "close", fd, state -> (int) Libc.CLOSE.invokeExact(state, fd));
    }

    /**
     * Closes an fd its caller created and owns alone, such as an epoll or an eventfd. Fails loudly,
     * unchecked: a close error there means a double close, a bug.
     */
    static void closeOwned(int fd) {
        try {
            close(fd);
        } catch (LinuxException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * One read(2) of at most {@code buffer.byteSize()} bytes (capped at Integer.MAX_VALUE) from a
     * non-blocking fd: the byte count, 0 at end of file, or {@link #WOULD_BLOCK} when no data is ready.
     */
    public static int read(int fd, MemorySegment buffer) throws LinuxException {
        long length = Math.min(buffer.byteSize(), Integer.MAX_VALUE);
        return (int) Libc.callTolerating(Libc.EAGAIN, "read", fd,
                state -> (long) Libc.READ.invokeExact(state, fd, buffer, length));
    }

    /**
     * Opens {@code directory} with O_PATH | O_DIRECTORY | O_CLOEXEC: a handle naming the directory
     * without reading it, as clone3(CLONE_INTO_CGROUP) wants for the target cgroup.
     */
    public static int openDirectoryPath(Path directory) throws LinuxException {
        String path = directory.toString();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(path);
            return (int) Libc.call("open", path,
                    state -> (int) Libc.OPEN.invokeExact(state, cPath, O_PATH | O_DIRECTORY | O_CLOEXEC, NO_MODE));
        }
    }

    /** Opens {@code file} with O_WRONLY | O_CLOEXEC (a control file handed to a child to write, such as resctrl's tasks). */
    public static int openForWriting(Path file) throws LinuxException {
        String path = file.toString();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(path);
            return (int) Libc.call("open", path,
                    state -> (int) Libc.OPEN.invokeExact(state, cPath, O_WRONLY | O_CLOEXEC, NO_MODE));
        }
    }
}
