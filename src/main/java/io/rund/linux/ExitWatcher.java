package io.rund.linux;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Learns of every job's exit on ONE platform thread ("rund-exit-watcher"): an epoll over the
 * pidfds it was given, which it owns from then on. When one becomes readable the thread reaps
 * the child with waitid(P_PIDFD), closes the pidfd and calls the callback exactly once. Thread
 * count stays flat however many jobs run. {@link #close} stops the thread and closes what it owns.
 * The same thread serves {@link #cgroupEvents()}: cgroups becoming empty arrive there as events too.
 *
 * <p>Jobs spawned by the {@link Keeper} are its children, not ours: once {@link #attach attached}, the keeper's
 * socket is watched on the same thread, and their exits (reaped and stamped by the keeper) reach the same
 * {@code watch} callbacks; after delivering one the watcher closes its pidfd and releases the job from the keeper.
 *
 * <p>The thread is a daemon thread: it holds nothing that must be flushed, and a forgotten
 * close() must not keep the JVM alive (children of a dead daemon are re-parented and reaped).
 */
public final class ExitWatcher implements AutoCloseable {
    public static final String THREAD_NAME = "rund-exit-watcher";
    private static final Logger log = LoggerFactory.getLogger(ExitWatcher.class);
    private static final int MAX_EVENTS_PER_WAIT = 256;

    private record Watched(int pid, int pidfd, Consumer<ProcessExit> onExit) {}

    /** Keyed by pidfd. Entries are added by {@link #watch} callers, removed by the watcher thread. */
    private final Map<Integer, Watched> watched = new ConcurrentHashMap<>();
    /** The keeper's children being watched, by pid, and exits the keeper reported before their watch came; guarded
     *  by themselves together (synchronized on keptWatched). */
    private final Map<Integer, Watched> keptWatched = new HashMap<>();
    private final Map<Integer, ProcessExit> earlyExits = new HashMap<>();
    private final EpollLoop loop;
    private final CgroupEventWatcher cgroupEvents;
    private final CgroupFileWatcher cgroupFiles;
    private volatile Keeper keeper;

    /** With the bound on cgroup file watches reference.conf sets ({@link #DEFAULT_MAX_FILE_WATCHES}). */
    public ExitWatcher() throws LinuxException {
        this(DEFAULT_MAX_FILE_WATCHES);
    }

    /** {@code maxFileWatches}: at most this many cgroup files watched for changes at once ({@link #cgroupFiles()}). */
    public ExitWatcher(int maxFileWatches) throws LinuxException {
        loop = new EpollLoop(THREAD_NAME, MAX_EVENTS_PER_WAIT,
                this::reapIfExited, EpollLoop.IGNORE_WAKE_UPS, this::logFailure, this::releaseAll);
        cgroupEvents = new CgroupEventWatcher(loop);
        try {
            cgroupFiles = new CgroupFileWatcher(loop, maxFileWatches);
        } catch (LinuxException | RuntimeException e) {
            loop.start();
            close();
            throw e;
        }
        loop.start();
    }

    /** rund.events.max-file-watches in reference.conf, for watchers built without a configuration (tests). */
    public static final int DEFAULT_MAX_FILE_WATCHES = 20_000;

    /** Cgroups becoming empty, as events on this watcher's thread (closed with it). */
    public CgroupEventWatcher cgroupEvents() {
        return cgroupEvents;
    }

    /** Changes of cgroup counter files (memory.events, pids.events), as events on this watcher's thread (closed with it). */
    public CgroupFileWatcher cgroupFiles() {
        return cgroupFiles;
    }

    /**
     * Hands {@code pidfd} (of child {@code pid}) to the watcher, which from now on owns it: it
     * reaps the child, closes the pidfd and calls {@code onExit} once, on the watcher thread (keep
     * it cheap; exceptions are logged). On an exception the caller still owns the pidfd.
     *
     * @throws IllegalStateException if the watcher is closed
     * @throws LinuxException if epoll cannot watch the pidfd (e.g. it is not an open fd)
     */
    public void watch(int pid, int pidfd, Consumer<ProcessExit> onExit) throws LinuxException {
        Watched entry = new Watched(pid, pidfd, onExit);
        Keeper current = keeper;
        if (current != null && current.isKeeperChild(pid)) {
            watchKeeperChild(current, entry);
            return;
        }
        // close() cannot slip in between the check and the registration
        if (!loop.runIfOpen(() -> register(entry))) {
            throw new IllegalStateException("exit watcher is closed; cannot watch pid " + pid);
        }
    }

    private void register(Watched entry) throws LinuxException {
        // In the map before epoll can report it; epoll_ctl is safe beside a running epoll_wait.
        if (watched.putIfAbsent(entry.pidfd(), entry) != null) {
            throw new IllegalArgumentException("pidfd " + entry.pidfd() + " (pid " + entry.pid()
                    + ") is already watched");
        }
        try {
            loop.add(entry.pidfd());
        } catch (LinuxException | RuntimeException e) {
            watched.remove(entry.pidfd());
            throw e;
        }
    }

    /**
     * Reads {@code keeper}'s socket on this watcher's thread from now on: replies to its spawns, and the exits of
     * the jobs it spawned, which reach their {@link #watch} callbacks. The caller keeps owning the keeper.
     */
    public void attach(Keeper keeper) throws LinuxException {
        if (!loop.runIfOpen(() -> {
            keeper.onExit(this::keeperReported);
            this.keeper = keeper;
            loop.add(keeper.fd());
        })) {
            throw new IllegalStateException("exit watcher is closed; cannot read the keeper");
        }
    }

    /** Processes whose exit has not been delivered yet. */
    public int watchedCount() {
        synchronized (keptWatched) {
            return watched.size() + keptWatched.size();
        }
    }

    private void watchKeeperChild(Keeper current, Watched entry) {
        ProcessExit early;
        synchronized (keptWatched) {
            if (loop.isClosing()) {
                throw new IllegalStateException("exit watcher is closed; cannot watch pid " + entry.pid());
            }
            early = earlyExits.remove(entry.pid());
            if (early == null) {
                keptWatched.put(entry.pid(), entry);
            }
        }
        if (early != null) { // it ended before its watch came: deliver it now, on the caller's thread
            deliverKept(current, entry, early);
        }
    }

    /** On the watcher thread: the keeper reaped {@code exit.pid()} of job {@code jobId}. */
    private void keeperReported(String jobId, ProcessExit exit) {
        Watched entry;
        synchronized (keptWatched) {
            entry = keptWatched.remove(exit.pid());
            if (entry == null) {
                earlyExits.put(exit.pid(), exit);
                return;
            }
        }
        deliverKept(keeper, entry, exit);
    }

    private void deliverKept(Keeper current, Watched entry, ProcessExit exit) {
        closePidfd(entry);
        current.delivered(entry.pid());
        try {
            entry.onExit().accept(exit);
        } catch (RuntimeException e) {
            log.error("exit callback for pid {} failed", entry.pid(), e);
        }
    }

    /** Stops the thread and closes the pidfds it still owns (their exits are not reported). Idempotent. */
    @Override
    public void close() {
        loop.close(e -> new IllegalStateException("cannot wake the exit watcher to stop it", e));
    }

    private void reapIfExited(int pidfd) {
        if (loop.isClosing()) {
            return; // asked to close: report no more exits, even those ready in this round
        }
        Keeper current = keeper;
        if (current != null && pidfd == current.fd()) {
            if (!current.readAvailable()) {
                detachKeeper(current);
            }
            return;
        }
        Watched entry = watched.get(pidfd);
        if (entry == null) {
            return; // already delivered earlier in this round
        }
        ProcessExit exit;
        try {
            exit = Pidfd.pollExit(pidfd).orElse(null);
        } catch (LinuxException e) {
            // ECHILD: someone else reaped it (rund must never waitpid(-1)); the status is lost.
            log.error("cannot reap pid {}: its exit cannot be reported", entry.pid(), e);
            forget(entry);
            return;
        }
        if (exit == null) {
            return; // readable before the exit became reapable; level-triggered epoll asks again
        }
        forget(entry);
        try {
            entry.onExit().accept(exit);
        } catch (RuntimeException e) {
            log.error("exit callback for pid {} failed", entry.pid(), e);
        }
    }

    private void forget(Watched entry) {
        watched.remove(entry.pidfd());
        try {
            loop.remove(entry.pidfd());
        } catch (LinuxException e) {
            log.error("cannot stop watching pidfd {} of pid {}", entry.pidfd(), entry.pid(), e);
        }
        closePidfd(entry);
    }

    private void logFailure(Exception failure) {
        log.error("exit watcher failed; exits of {} watched processes will not be reported", watched.size(), failure);
    }

    private void detachKeeper(Keeper current) {
        keeper = null;
        try {
            loop.remove(current.fd());
        } catch (LinuxException e) {
            log.debug("keeper socket already out of the epoll: {}", e.getMessage());
        }
    }

    private void releaseAll() {
        Keeper current = keeper;
        if (current != null) {
            detachKeeper(current); // the owner decides whether the keeper is shut down or left with the jobs
        }
        synchronized (keptWatched) {
            for (Watched entry : keptWatched.values()) {
                closePidfd(entry);
            }
            keptWatched.clear();
            earlyExits.clear();
        }
        for (Watched entry : watched.values()) {
            log.warn("exit watcher closing: pid {} still running, its exit will not be reported", entry.pid());
            watched.remove(entry.pidfd());
            closePidfd(entry);
        }
    }

    private static void closePidfd(Watched entry) {
        try {
            Fds.close(entry.pidfd());
        } catch (LinuxException e) {
            log.error("cannot close pidfd {} of pid {}", entry.pidfd(), entry.pid(), e);
        }
    }
}
