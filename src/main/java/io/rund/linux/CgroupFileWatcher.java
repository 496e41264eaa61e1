package io.rund.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells when a cgroup's counter files change (memory.events, pids.events: the cgroup v2 docs say they generate
 * "file modified" events), through ONE inotify instance on the exit watcher's epoll thread: a watched file costs an
 * inotify watch (kernel memory, no fd and no thread). Watches are counted against a bound, the lower of the
 * configured one and the host's {@code fs.inotify.max_user_watches} (shared with every process of the daemon's uid);
 * past it, or when the kernel refuses one (ENOSPC), a job is simply not watched, and its caller falls back on what it
 * reads at the job's end. Callbacks run on the loop's thread: keep them cheap (tell an actor).
 */
public final class CgroupFileWatcher implements EpollLoop.Guest {

    /** A watch of one cgroup's files; {@link #cancel} removes it (soon, on the loop's thread). Idempotent. */
    public interface Watch {
        void cancel();
    }

    /** What asking for a watch gives: a watch of the files that exist, or none because the bound is reached. */
    public sealed interface Outcome {}

    /** {@code files}: those watched (a file whose controller is not enabled is not there, so not watched). */
    public record Watching(Watch watch, List<Path> files) implements Outcome {}

    /** No watch: the bound is reached; {@code why} names it and the setting. */
    public record AtLimit(String why) implements Outcome {}

    /** The host's per-uid bound on inotify watches, which the configured bound cannot pass. */
    public static final Path MAX_USER_WATCHES = Path.of("/proc/sys/fs/inotify/max_user_watches");

    private static final Logger log = LoggerFactory.getLogger(CgroupFileWatcher.class);
    private static final int IN_NONBLOCK = 04_000;
    private static final int IN_CLOEXEC = 02_000_000;
    private static final int IN_MODIFY = 0x0000_0002;
    private static final int IN_Q_OVERFLOW = 0x0000_4000;
    private static final int IN_IGNORED = 0x0000_8000;
    private static final int ENOSPC = 28;
    private static final int EINVAL = 22;
    /** struct inotify_event: int wd; uint32_t mask, cookie, len; char name[len]. */
    private static final long EVENT_HEADER_BYTES = 16;
    private static final long MASK_OFFSET = 4;
    private static final long NAME_LENGTH_OFFSET = 12;
    /** A read takes this many bytes of events at most: 256 events of watched files (which carry no name). */
    private static final int READ_BUFFER_BYTES = 4096;

    private static final MethodHandle INOTIFY_INIT1 = Libc.function("inotify_init1", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle INOTIFY_ADD_WATCH = Libc.function("inotify_add_watch",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle INOTIFY_RM_WATCH = Libc.function("inotify_rm_watch",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle READ = Libc.function("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));

    private final class Entry implements Watch {
        final List<Integer> descriptors = new ArrayList<>();
        final Path cgroup;
        final Runnable onModified;

        Entry(Path cgroup, Runnable onModified) {
            this.cgroup = cgroup;
            this.onModified = onModified;
        }

        @Override
        public void cancel() {
            try {
                loop.execute(() -> forget(this));
            } catch (LinuxException e) { // the loop cannot be woken: it is stopping, and closes the inotify fd itself
                log.warn("cannot cancel the watch of {}: {}", cgroup, e.getMessage());
            }
        }
    }

    private final EpollLoop loop;
    private final int fd;
    private final int maxWatches;
    private final String limitSource;
    /** Watches held or being added; never above {@link #maxWatches}. */
    private final AtomicInteger watches = new AtomicInteger();
    /** By watch descriptor: put by callers of {@link #watch}, removed on the loop's thread. */
    private final Map<Integer, Entry> byDescriptor = new ConcurrentHashMap<>();
    /** Loop thread only. */
    private final MemorySegment buffer = Arena.ofAuto().allocate(READ_BUFFER_BYTES, Integer.BYTES);
    /** Whether the last refusal for want of watches was logged; reset once watches are free again. */
    private volatile boolean limitLogged;

    /** Creates the inotify instance and adds it to {@code loop}; at most {@code configuredMax} watches (the host may allow fewer). */
    CgroupFileWatcher(EpollLoop loop, int configuredMax) throws LinuxException {
        if (configuredMax < 0) {
            throw new IllegalArgumentException("the bound on cgroup file watches must be 0 or more, was " + configuredMax);
        }
        this.loop = loop;
        OptionalLong hostMax = hostMaxUserWatches();
        this.maxWatches = (int) Math.min(configuredMax, hostMax.orElse(Long.MAX_VALUE));
        this.limitSource = hostMax.isPresent() && hostMax.getAsLong() < configuredMax
                ? MAX_USER_WATCHES + " (" + hostMax.getAsLong() + ", below rund.events.max-file-watches " + configuredMax + ")"
                : "rund.events.max-file-watches (" + configuredMax + ")";
        this.fd = (int) Libc.call("inotify_init1", "IN_NONBLOCK|IN_CLOEXEC",
                state -> (int) INOTIFY_INIT1.invokeExact(state, IN_NONBLOCK | IN_CLOEXEC));
        try {
            loop.add(fd, Epoll.EPOLLIN, this);
        } catch (LinuxException | RuntimeException e) {
            Fds.closeOwned(fd);
            throw e;
        }
    }

    /**
     * Calls {@code onModified} on the loop's thread whenever one of {@code files} (of the cgroup directory
     * {@code cgroup}) is modified, until cancelled; files that do not exist are left out. Any thread may call it. A
     * change between the watch's start and the caller's next read of the files may or may not be reported: read them
     * once after this returns.
     *
     * @throws LinuxException if inotify refuses a watch for another reason than its bound (the watch is then undone)
     */
    public Outcome watch(Path cgroup, List<String> files, Runnable onModified) throws LinuxException {
        if (!reserve(files.size())) {
            return atLimit();
        }
        Entry entry = new Entry(cgroup, onModified);
        List<Path> watched = new ArrayList<>(files.size());
        int reserved = files.size();  // a watch the kernel drops meanwhile (IN_IGNORED) is given back by the loop
        try {
            for (String name : files) {
                Path file = cgroup.resolve(name);
                int descriptor = addWatch(file);
                if (descriptor == NOT_THERE) {
                    continue;
                }
                if (descriptor == NO_SPACE) {
                    watches.addAndGet(undo(entry) - reserved);
                    return atLimit();
                }
                entry.descriptors.add(descriptor);
                byDescriptor.put(descriptor, entry);
                watched.add(file);
            }
        } catch (LinuxException | RuntimeException e) {
            watches.addAndGet(undo(entry) - reserved);
            throw e;
        }
        watches.addAndGet(entry.descriptors.size() - reserved); // files not there hold no watch
        limitLogged = false;
        return new Watching(entry, List.copyOf(watched));
    }

    /** Watches held now (one per watched file). */
    public int watchCount() {
        return watches.get();
    }

    /** The bound in force: the configured one, or the host's if lower. */
    public int maxWatches() {
        return maxWatches;
    }

    @Override
    public void onReady(int readyFd, int events) {
        List<Entry> modified = new ArrayList<>();
        boolean overflowed = false;
        while (true) {
            long read;
            try {
                read = Libc.callTolerating(Libc.EAGAIN, "read(inotify)", fd,
                        state -> (long) READ.invokeExact(state, fd, buffer, (long) READ_BUFFER_BYTES));
            } catch (LinuxException e) {
                log.error("cannot read the cgroup file watches' events: {}", e.getMessage());
                return;
            }
            if (read <= 0) {
                break;
            }
            for (long at = 0; at + EVENT_HEADER_BYTES <= read; ) {
                int descriptor = buffer.get(JAVA_INT_UNALIGNED, at);
                int mask = buffer.get(JAVA_INT_UNALIGNED, at + MASK_OFFSET);
                int nameLength = buffer.get(JAVA_INT_UNALIGNED, at + NAME_LENGTH_OFFSET);
                at += EVENT_HEADER_BYTES + nameLength;
                if ((mask & IN_Q_OVERFLOW) != 0) {
                    overflowed = true; // events were lost: every watcher reads its files again
                } else if ((mask & IN_IGNORED) != 0) {
                    released(descriptor); // its file went (the cgroup was removed), or the watch was cancelled
                } else {
                    Entry entry = byDescriptor.get(descriptor);
                    if (entry != null && !modified.contains(entry)) {
                        modified.add(entry);
                    }
                }
            }
        }
        if (overflowed) {
            log.warn("the kernel dropped cgroup file events (fs.inotify.max_queued_events); every watched job reads its counters again");
            modified = List.copyOf(new java.util.LinkedHashSet<>(byDescriptor.values()));
        }
        for (Entry entry : modified) {
            try {
                entry.onModified.run();
            } catch (RuntimeException e) {
                log.error("the callback for a change in {} failed", entry.cgroup, e);
            }
        }
    }

    @Override
    public void onStopped() {
        byDescriptor.clear();
        watches.set(0);
        Fds.closeOwned(fd); // closing the instance removes every watch
    }

    private static final int NOT_THERE = -1;
    private static final int NO_SPACE = -2;

    private int addWatch(Path file) throws LinuxException {
        String name = file.toString();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(name);
            MemorySegment callState = Libc.newCallState(arena);
            int descriptor;
            try {
                descriptor = (int) INOTIFY_ADD_WATCH.invokeExact(callState, fd, cPath, IN_MODIFY);
            } catch (Throwable t) {
                throw Libc.rethrow(t);
            }
            if (descriptor >= 0) {
                return descriptor;
            }
            int errno = Libc.errno(callState);
            return switch (errno) {
                case Libc.ENOENT -> NOT_THERE;
                case ENOSPC -> NO_SPACE;
                default -> throw new LinuxException("inotify_add_watch", name, errno);
            };
        }
    }

    private boolean reserve(int count) {
        while (true) {
            int held = watches.get();
            if (held + count > maxWatches) {
                return false;
            }
            if (watches.compareAndSet(held, held + count)) {
                return true;
            }
        }
    }

    private AtLimit atLimit() {
        String why = "no live OOM-kill and pids.max events for this job: " + watches.get() + " cgroup file watches are held"
                + " and the bound is " + limitSource + " (or the kernel refused one: ENOSPC, fs.inotify.max_user_watches is"
                + " shared with every process of this uid); its OOM kills and refused forks are reported when it ends";
        if (!limitLogged) {
            limitLogged = true;
            log.warn("{}; logged once until watches are free again", why);
        }
        return new AtLimit(why);
    }

    /**
     * Removes what a failed {@link #watch} added (on the caller's thread: the entry was never handed out); returns how
     * many of its watches the loop had already given back (their file went).
     */
    private int undo(Entry entry) {
        int givenBack = 0;
        for (int descriptor : entry.descriptors) {
            if (byDescriptor.remove(descriptor, entry)) {
                removeWatch(descriptor);
            } else {
                givenBack++;
            }
        }
        entry.descriptors.clear();
        return givenBack;
    }

    /** On the loop's thread. */
    private void forget(Entry entry) {
        for (int descriptor : entry.descriptors) {
            if (byDescriptor.remove(descriptor, entry)) {
                watches.decrementAndGet();
                removeWatch(descriptor);
            }
        }
    }

    /** On the loop's thread: the kernel removed the watch (IN_IGNORED). */
    private void released(int descriptor) {
        if (byDescriptor.remove(descriptor) != null) {
            watches.decrementAndGet();
        }
    }

    private void removeWatch(int descriptor) {
        try {
            Libc.callTolerating(EINVAL, "inotify_rm_watch", descriptor, // EINVAL: the kernel removed it already
                    state -> (int) INOTIFY_RM_WATCH.invokeExact(state, fd, descriptor));
        } catch (LinuxException e) {
            log.warn("cannot remove inotify watch {}: {}", descriptor, e.getMessage());
        }
    }

    private static OptionalLong hostMaxUserWatches() {
        // One read of a whole buffer: a sysctl read at a later offset is empty, and Files.readString reads a file
        // /proc calls 0 bytes long one byte first (it gave "1" for 192543).
        try (java.io.BufferedReader reader = Files.newBufferedReader(MAX_USER_WATCHES)) {
            String line = reader.readLine();
            return OptionalLong.of(Long.parseLong(line == null ? "" : line.strip()));
        } catch (java.io.IOException | NumberFormatException e) {
            log.warn("cannot read {} ({}); counting cgroup file watches against rund.events.max-file-watches alone",
                    MAX_USER_WATCHES, e.getMessage());
            return OptionalLong.empty();
        }
    }
}
