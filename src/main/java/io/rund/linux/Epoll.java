package io.rund.linux;

import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One epoll instance and the reusable array its ready events land in. Level-triggered.
 * {@link #add}/{@link #remove} may be called from any thread; {@link #await} and the accessors
 * of the ready events belong to the one thread that waits.
 */
public final class Epoll implements AutoCloseable {
    public static final int EPOLLIN = 0x001;
    public static final int EPOLLPRI = 0x002;
    public static final int EPOLLERR = 0x008;
    public static final int EPOLLHUP = 0x010;
    public static final int WAIT_FOREVER = -1;

    private static final int EPOLL_CLOEXEC = 02_000_000;
    private static final int EPOLL_CTL_ADD = 1;
    private static final int EPOLL_CTL_DEL = 2;
    /** struct epoll_event is packed on x86_64: uint32_t events; uint64_t data (at offset 4). */
    private static final long EVENT_SIZE = 12;
    private static final long EVENTS_OFFSET = 0;
    private static final long DATA_OFFSET = 4;

    private final int fd;
    private final int maxEvents;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment ready;

    /** Creates an epoll instance whose {@link #await} reports at most {@code maxEvents} fds per call. */
    public Epoll(int maxEvents) throws LinuxException {
        if (maxEvents <= 0) {
            throw new IllegalArgumentException("maxEvents must be positive: " + maxEvents);
        }
        this.maxEvents = maxEvents;
        this.fd = (int) Libc.call("epoll_create1", "EPOLL_CLOEXEC",
                state -> (int) Libc.EPOLL_CREATE1.invokeExact(state, EPOLL_CLOEXEC));
        this.ready = arena.allocate(EVENT_SIZE * maxEvents, Long.BYTES);
    }

    public int fd() {
        return fd;
    }

    /** Watches {@code watchedFd} for {@code events}; {@code data} comes back with each of its ready events. */
    public void add(int watchedFd, int events, long data) throws LinuxException {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment event = call.allocate(EVENT_SIZE);
            event.set(JAVA_INT_UNALIGNED, EVENTS_OFFSET, events);
            event.set(JAVA_LONG_UNALIGNED, DATA_OFFSET, data);
            Libc.call("epoll_ctl(ADD)", watchedFd,
                    state -> (int) Libc.EPOLL_CTL.invokeExact(state, fd, EPOLL_CTL_ADD, watchedFd, event));
        }
    }

    public void remove(int watchedFd) throws LinuxException {
        Libc.call("epoll_ctl(DEL)", watchedFd,
                state -> (int) Libc.EPOLL_CTL.invokeExact(state, fd, EPOLL_CTL_DEL, watchedFd, MemorySegment.NULL));
    }

    /**
     * Waits until at least one watched fd is ready (or {@code timeoutMillis} passed; a signal
     * restarts the wait) and returns how many ready events {@link #events}/{@link #data} now hold.
     */
    public int await(int timeoutMillis) throws LinuxException {
        return (int) Libc.call("epoll_wait", fd,
                state -> (int) Libc.EPOLL_WAIT.invokeExact(state, fd, ready, maxEvents, timeoutMillis));
    }

    /** The event bits (EPOLLIN, EPOLLHUP, ...) of ready event {@code index} from the last {@link #await}. */
    public int events(int index) {
        return ready.get(JAVA_INT_UNALIGNED, index * EVENT_SIZE + EVENTS_OFFSET);
    }

    /** The data registered with the fd of ready event {@code index} from the last {@link #await}. */
    public long data(int index) {
        return ready.get(JAVA_LONG_UNALIGNED, index * EVENT_SIZE + DATA_OFFSET);
    }

    /** Closes the epoll fd. Fails loudly: a close error here means a double close, a bug. */
    @Override
    public void close() {
        try {
            Fds.closeOwned(fd);
        } finally {
            arena.close();
        }
    }
}
