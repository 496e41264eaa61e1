package io.rund.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells when a cgroup has emptied, as an event on the exit watcher's one epoll thread: the kernel wakes every
 * poller of a cgroup's {@code cgroup.events} with EPOLLPRI when its content changes (kernfs notification, the
 * "file modified event" of the cgroup v2 docs), so "populated 0" arrives beside the pidfds' exits. A watch costs
 * one open fd until it fires or is cancelled, and no thread: a cgroup that never empties (a process stuck in D
 * state) is one more fd in the epoll set. The file is read only on the loop's thread.
 */
public final class CgroupEventWatcher implements EpollLoop.Guest {

    /** A cgroup being watched; {@link #cancel} stops the watch and closes its fd (soon, on the loop's thread). */
    public interface Watch {
        void cancel();
    }

    private static final Logger log = LoggerFactory.getLogger(CgroupEventWatcher.class);
    private static final String EVENTS_FILE = "cgroup.events";
    private static final String POPULATED_KEY = "populated ";
    /** cgroup.events is two short lines ("populated N", "frozen N"); room to spare. */
    private static final int READ_BUFFER_BYTES = 256;
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 02_000_000;
    private static final int NO_MODE = 0;

    private final class Entry implements Watch {
        final int fd;
        final Path file;
        final Runnable onEmpty;
        /** Loop thread only: delivered or cancelled, its fd closed. */
        boolean over;

        Entry(int fd, Path file, Runnable onEmpty) {
            this.fd = fd;
            this.file = file;
            this.onEmpty = onEmpty;
        }

        @Override
        public void cancel() {
            try {
                loop.execute(() -> forget(this));
            } catch (LinuxException e) { // the loop cannot be woken: it is stopping, and releases the fd itself
                log.warn("cannot cancel the watch of {}: {}", file, e.getMessage());
            }
        }
    }

    private final EpollLoop loop;
    /** By fd: added by callers of {@link #whenEmpty}, removed on the loop's thread. */
    private final Map<Integer, Entry> watches = new ConcurrentHashMap<>();
    /** Loop thread only. */
    private final MemorySegment buffer = Arena.ofAuto().allocate(READ_BUFFER_BYTES);

    CgroupEventWatcher(EpollLoop loop) {
        this.loop = loop;
    }

    /**
     * Calls {@code onEmpty} once, on the loop's thread (keep it cheap), when no process is left in the cgroup
     * directory {@code cgroup} or below it: at once if none is now. Any thread may call it.
     *
     * @throws LinuxException if its cgroup.events cannot be opened or watched (e.g. EMFILE, or no such cgroup)
     * @throws IllegalStateException if the watcher's loop is closed
     */
    public Watch whenEmpty(Path cgroup, Runnable onEmpty) throws LinuxException {
        Path file = cgroup.resolve(EVENTS_FILE);
        int fd = openReadOnly(file);
        Entry entry = new Entry(fd, file, onEmpty);
        boolean accepted;
        try {
            accepted = loop.runIfOpen(() -> {
                watches.put(fd, entry);
                loop.add(fd, Epoll.EPOLLPRI, this);
                // kernfs reports changes after the fd's last read: what the file says now is read once, on the loop.
                loop.execute(() -> check(entry));
            });
        } catch (LinuxException | RuntimeException e) {
            entry.over = true;
            watches.remove(fd);
            stopWatchingQuietly(entry);
            closeQuietly(entry);
            throw e;
        }
        if (!accepted) {
            closeQuietly(entry);
            throw new IllegalStateException("the cgroup event watcher is closed; cannot watch " + file);
        }
        return entry;
    }

    /** Cgroups being watched (each holds one fd). */
    public int watchedCount() {
        return watches.size();
    }

    @Override
    public void onReady(int fd, int events) {
        Entry entry = watches.get(fd);
        if (entry != null) {
            check(entry);
        }
    }

    @Override
    public void onStopped() {
        for (Entry entry : watches.values()) {
            watches.remove(entry.fd);
            entry.over = true;
            closeQuietly(entry);
        }
    }

    private void check(Entry entry) {
        if (entry.over) {
            return;
        }
        boolean empty;
        try {
            long read = PositionalFiles.read(entry.fd, buffer, 0, entry.file);
            empty = !populated(buffer.asSlice(0, read).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        } catch (LinuxException e) {
            // ENODEV: the cgroup was removed, which the kernel allows only once it is empty.
            log.debug("cannot read {} ({}); its cgroup is gone, so empty", entry.file, e.getMessage());
            empty = true;
        }
        if (!empty) {
            return; // reading the file re-armed it: the next change wakes the loop again
        }
        forget(entry);
        try {
            entry.onEmpty.run();
        } catch (RuntimeException e) {
            log.error("the callback for {} becoming empty failed", entry.file, e);
        }
    }

    private void forget(Entry entry) {
        if (entry.over) {
            return;
        }
        entry.over = true;
        watches.remove(entry.fd);
        stopWatchingQuietly(entry);
        closeQuietly(entry);
    }

    private static boolean populated(byte[] content) {
        for (String line : new String(content, StandardCharsets.US_ASCII).split("\n")) {
            if (line.startsWith(POPULATED_KEY)) {
                return !line.substring(POPULATED_KEY.length()).strip().equals("0");
            }
        }
        return true; // no such line: assume the worst and wait for the next change
    }

    private void stopWatchingQuietly(Entry entry) {
        try {
            loop.removeGuestFd(entry.fd);
        } catch (LinuxException e) {
            log.debug("{} was not in the epoll set: {}", entry.file, e.getMessage());
        }
    }

    private static void closeQuietly(Entry entry) {
        try {
            Fds.close(entry.fd);
        } catch (LinuxException e) {
            log.error("cannot close {} (fd {})", entry.file, entry.fd, e);
        }
    }

    private static int openReadOnly(Path file) throws LinuxException {
        String name = file.toString();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(name);
            return (int) Libc.call("open", name,
                    state -> (int) Libc.OPEN.invokeExact(state, cPath, O_RDONLY | O_CLOEXEC, NO_MODE));
        }
    }
}
