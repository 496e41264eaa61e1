package io.rund.linux;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A non-blocking eventfd: the way another thread wakes a thread sleeping in {@link Epoll#await}.
 * {@link #signal} adds one to the counter (the fd becomes readable), {@link #drain} resets it.
 */
public final class EventFd implements AutoCloseable {
    private static final int EFD_NONBLOCK = 04_000;
    private static final int EFD_CLOEXEC = 02_000_000;
    private static final int INITIAL_VALUE = 0;

    private final int fd;

    public EventFd() throws LinuxException {
        this.fd = (int) Libc.call("eventfd", "EFD_NONBLOCK|EFD_CLOEXEC",
                state -> (int) Libc.EVENTFD.invokeExact(state, INITIAL_VALUE, EFD_NONBLOCK | EFD_CLOEXEC));
    }

    public int fd() {
        return fd;
    }

    /** Makes the fd readable. A counter already at its maximum (EAGAIN) is readable anyway. */
    public void signal() throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocate(JAVA_LONG);
            one.set(JAVA_LONG, 0, 1L);
            Libc.callTolerating(Libc.EAGAIN, "write(eventfd)", fd,
                    state -> (long) Libc.WRITE.invokeExact(state, fd, one, JAVA_LONG.byteSize()));
        }
    }

    /** Resets the counter; returns how many signals it held (0 if none). */
    public long drain() throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment counter = arena.allocate(JAVA_LONG);
            long read = Libc.callTolerating(Libc.EAGAIN, "read(eventfd)", fd,
                    state -> (long) Libc.READ.invokeExact(state, fd, counter, JAVA_LONG.byteSize()));
            return read < 0 ? 0 : counter.get(JAVA_LONG, 0);
        }
    }

    /** Closes the eventfd. Fails loudly: a close error here means a double close, a bug. */
    @Override
    public void close() {
        Fds.closeOwned(fd);
    }
}
