package io.rund.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.IntConsumer;

/**
 * A connected unix stream socket that passes file descriptors (SCM_RIGHTS), which java.nio's unix channels cannot:
 * the keeper's connection. Sends are blocking and whole; receives read at most what they are asked for, so a
 * reader that never reads past a message's end receives exactly that message's descriptors with it.
 */
final class UnixSocket {
    private static final int AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_CLOEXEC = 02_000_000;
    private static final int SOL_SOCKET = 1;
    private static final int SCM_RIGHTS = 1;
    private static final int SO_RCVTIMEO = 20;
    private static final int MSG_DONTWAIT = 0x40;
    private static final int MSG_NOSIGNAL = 0x4000;
    private static final int MSG_CTRUNC = 0x8;
    private static final int MSG_CMSG_CLOEXEC = 0x40000000;
    private static final int EPROTO = 71;
    /** struct sockaddr_un: sa_family_t then char sun_path[108]. */
    private static final int SUN_PATH_OFFSET = 2;
    private static final int SUN_PATH_BYTES = 108;
    private static final int SOCKADDR_UN_BYTES = SUN_PATH_OFFSET + SUN_PATH_BYTES;
    /** struct msghdr on x86_64: name, namelen (+pad), iov, iovlen, control, controllen, flags (+pad). */
    private static final long MSGHDR_BYTES = 56;
    private static final long MSG_IOV = 16;
    private static final long MSG_IOVLEN = 24;
    private static final long MSG_CONTROL = 32;
    private static final long MSG_CONTROLLEN = 40;
    private static final long MSG_FLAGS = 48;
    /** struct iovec: base, len. */
    private static final long IOVEC_BYTES = 16;
    /** struct cmsghdr: size_t len, int level, int type, then the data (8-aligned). */
    private static final long CMSG_HEADER_BYTES = 16;
    private static final long CMSG_LEVEL = 8;
    private static final long CMSG_TYPE = 12;
    /** struct timeval: seconds, microseconds. */
    private static final long TIMEVAL_BYTES = 16;
    private static final long MICROS_PER_SECOND = 1_000_000;

    /** The most descriptors one message carries (the keeper's replies carry three). */
    static final int MAX_FDS = 4;
    private static final long CONTROL_BYTES = CMSG_HEADER_BYTES + alignedToLong(MAX_FDS * Integer.BYTES);

    private UnixSocket() {}

    /** Connects to the socket at {@code path}; the fd is close-on-exec and blocking. */
    static int connect(Path path) throws LinuxException {
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length >= SUN_PATH_BYTES) {
            throw new IllegalArgumentException("unix socket path " + path + " is " + name.length
                    + " bytes; at most " + (SUN_PATH_BYTES - 1) + " fit: choose a shorter rund.state-directory");
        }
        int fd = (int) Libc.call("socket", "AF_UNIX", state -> (int) Libc.SOCKET.invokeExact(state, AF_UNIX,
                SOCK_STREAM | SOCK_CLOEXEC, 0));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment address = arena.allocate(SOCKADDR_UN_BYTES);
            address.set(JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(name, 0, address, JAVA_BYTE, SUN_PATH_OFFSET, name.length);
            Libc.call("connect", path, state -> (int) Libc.CONNECT.invokeExact(state, fd, address, SOCKADDR_UN_BYTES));
            return fd;
        } catch (LinuxException | RuntimeException e) {
            Fds.close(fd);
            throw e;
        }
    }

    /** Blocking receives give up after {@code timeout} (then {@link #receive} reports EAGAIN as "nothing yet"). */
    static void setReceiveTimeout(int fd, Duration timeout) throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(TIMEVAL_BYTES, Long.BYTES);
            value.set(JAVA_LONG, 0, timeout.toSeconds());
            value.set(JAVA_LONG, Long.BYTES, timeout.toMillisPart() * (MICROS_PER_SECOND / 1000));
            Libc.call("setsockopt(SO_RCVTIMEO)", fd, state -> (int) Libc.SETSOCKOPT.invokeExact(state, fd, SOL_SOCKET,
                    SO_RCVTIMEO, value, (int) TIMEVAL_BYTES));
        }
    }

    /** Sends all of {@code data} with {@code fds} attached to its first byte; blocks until it is all sent. */
    static void send(int fd, MemorySegment data, int[] fds) throws LinuxException {
        if (fds.length > MAX_FDS) {
            throw new IllegalArgumentException("at most " + MAX_FDS + " descriptors per message: " + fds.length);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment header = arena.allocate(MSGHDR_BYTES, Long.BYTES);
            MemorySegment iov = arena.allocate(IOVEC_BYTES, Long.BYTES);
            header.set(ADDRESS, MSG_IOV, iov);
            header.set(JAVA_LONG, MSG_IOVLEN, 1);
            MemorySegment control = MemorySegment.NULL;
            if (fds.length > 0) {
                control = arena.allocate(CMSG_HEADER_BYTES + alignedToLong(fds.length * Integer.BYTES), Long.BYTES);
                control.set(JAVA_LONG, 0, CMSG_HEADER_BYTES + (long) fds.length * Integer.BYTES);
                control.set(JAVA_INT, CMSG_LEVEL, SOL_SOCKET);
                control.set(JAVA_INT, CMSG_TYPE, SCM_RIGHTS);
                MemorySegment.copy(fds, 0, control, JAVA_INT, CMSG_HEADER_BYTES, fds.length);
            }
            long sent = 0;
            while (sent < data.byteSize()) {
                iov.set(ADDRESS, 0, data.asSlice(sent));
                iov.set(JAVA_LONG, Long.BYTES, data.byteSize() - sent);
                header.set(ADDRESS, MSG_CONTROL, control);
                header.set(JAVA_LONG, MSG_CONTROLLEN, control.equals(MemorySegment.NULL) ? 0 : control.byteSize());
                sent += Libc.call("sendmsg", "the keeper's socket",
                        state -> (long) Libc.SENDMSG.invokeExact(state, fd, header, MSG_NOSIGNAL));
                control = MemorySegment.NULL; // the descriptors went with the first byte
            }
        }
    }

    /**
     * Reads at most {@code length} bytes into {@code into} at {@code offset}, handing each descriptor that comes
     * with them to {@code fdSink} (close-on-exec). Returns the bytes read, 0 at end of stream, or -1 if nothing is
     * there yet (non-blocking: at once; blocking: after the receive timeout).
     *
     * @throws LinuxException a receive error, or descriptors cut off (more than {@link #MAX_FDS} sent)
     */
    static long receive(int fd, MemorySegment into, long offset, long length, boolean wait, IntConsumer fdSink)
            throws LinuxException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment header = arena.allocate(MSGHDR_BYTES, Long.BYTES);
            MemorySegment iov = arena.allocate(IOVEC_BYTES, Long.BYTES);
            MemorySegment control = arena.allocate(CONTROL_BYTES, Long.BYTES);
            iov.set(ADDRESS, 0, into.asSlice(offset, length));
            iov.set(JAVA_LONG, Long.BYTES, length);
            header.set(ADDRESS, MSG_IOV, iov);
            header.set(JAVA_LONG, MSG_IOVLEN, 1);
            header.set(ADDRESS, MSG_CONTROL, control);
            header.set(JAVA_LONG, MSG_CONTROLLEN, CONTROL_BYTES);
            int flags = MSG_CMSG_CLOEXEC | (wait ? 0 : MSG_DONTWAIT);
            long read = Libc.callTolerating(Libc.EAGAIN, "recvmsg", "the keeper's socket",
                    state -> (long) Libc.RECVMSG.invokeExact(state, fd, header, flags));
            if (read < 0) {
                return -1;
            }
            long controlLength = header.get(JAVA_LONG, MSG_CONTROLLEN);
            if (controlLength >= CMSG_HEADER_BYTES && control.get(JAVA_INT, CMSG_LEVEL) == SOL_SOCKET
                    && control.get(JAVA_INT, CMSG_TYPE) == SCM_RIGHTS) {
                long count = (control.get(JAVA_LONG, 0) - CMSG_HEADER_BYTES) / Integer.BYTES;
                for (long i = 0; i < count; i++) {
                    fdSink.accept(control.get(JAVA_INT, CMSG_HEADER_BYTES + i * Integer.BYTES));
                }
            }
            if ((header.get(JAVA_INT, MSG_FLAGS) & MSG_CTRUNC) != 0) {
                throw new LinuxException("recvmsg", "the keeper's socket: more than " + MAX_FDS + " descriptors", EPROTO);
            }
            return read;
        }
    }

    private static long alignedToLong(long bytes) {
        return (bytes + Long.BYTES - 1) & -Long.BYTES;
    }
}
