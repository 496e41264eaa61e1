package io.rund.linux;

import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntConsumer;
import java.util.function.IntSupplier;

/**
 * One level-triggered epoll, the eventfd that wakes it and the daemon platform thread that waits
 * on it: the scaffolding under {@link ExitWatcher} and {@link OutputPump}. The thread calls its
 * owner back for each readable fd and each wake-up; when it stops (closed, or failed) it lets the
 * owner release what it owns, then closes the epoll and the eventfd. The thread is a daemon: a
 * forgotten close() must not keep the JVM alive. A {@link Guest} shares the thread with the owner: its fds
 * come back to it rather than to the owner, it may run tasks on the thread, and it is released with the loop
 * (so one thread serves process exits and cgroup events alike).
 */
final class EpollLoop {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(EpollLoop.class);

    /** For an owner that wakes the loop only to stop it. */
    static final Runnable IGNORE_WAKE_UPS = () -> {};

    /** epoll data of the wake-up eventfd; every other key is the watched fd itself, never negative. */
    private static final long WAKE_UP_KEY = -1;

    /** Work a caller hands over under the lifecycle lock; it may throw what its caller throws. */
    @FunctionalInterface
    interface Admission<E extends Exception> {
        void run() throws E;
    }

    /** Watches fds of its own on a loop another owner made; every callback runs on the loop's thread. */
    interface Guest {
        /** {@code fd}, added with {@link #add(int, int, Guest)}, is ready with {@code events}. */
        void onReady(int fd, int events);

        /** The loop has stopped: release what the guest owns (the epoll is still open). */
        void onStopped();
    }

    private final Epoll epoll;
    private final EventFd wakeUp;
    private final IntConsumer onReadable;
    private final Runnable onWakeUp;
    private final Consumer<Exception> onFailure;
    private final Runnable onStopped;
    private final IntSupplier waitMillis;
    private final Runnable afterWait;
    private final Thread thread;
    private final Object lifecycle = new Object();
    /** Guests by the fds they added; an fd not here belongs to the owner. */
    private final Map<Integer, Guest> guestFds = new ConcurrentHashMap<>();
    private final Map<Guest, Boolean> guests = new ConcurrentHashMap<>();
    /** Work handed to the thread by {@link #execute}, run after the next wake-up. */
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private volatile boolean closing;

    /**
     * Creates the epoll and the eventfd; the thread, named {@code threadName}, waits for {@link #start}.
     * The callbacks all run on that thread: {@code onReadable} with an fd given to {@link #add}
     * (level-triggered, so again while it stays readable); {@code onWakeUp} after one or more
     * {@link #wakeUp} calls; {@code onFailure} if the loop breaks, before it stops; {@code onStopped}
     * once the loop refuses new work, to release everything while the epoll is still open.
     */
    EpollLoop(String threadName, int maxEventsPerWait, IntConsumer onReadable, Runnable onWakeUp,
            Consumer<Exception> onFailure, Runnable onStopped) throws LinuxException {
        this(threadName, maxEventsPerWait, onReadable, onWakeUp, onFailure, onStopped,
                () -> Epoll.WAIT_FOREVER, () -> {});
    }

    /**
     * As above, for an owner with timers: each wait lasts at most {@code waitMillis} (asked before each wait;
     * {@link Epoll#WAIT_FOREVER} for no limit), and {@code afterWait} runs on the thread after each wait has
     * returned and its ready fds were handled, whether the wait timed out or not.
     */
    EpollLoop(String threadName, int maxEventsPerWait, IntConsumer onReadable, Runnable onWakeUp,
            Consumer<Exception> onFailure, Runnable onStopped, IntSupplier waitMillis, Runnable afterWait)
            throws LinuxException {
        epoll = new Epoll(maxEventsPerWait);
        try {
            wakeUp = new EventFd();
        } catch (LinuxException | RuntimeException e) {
            epoll.close();
            throw e;
        }
        try {
            epoll.add(wakeUp.fd(), Epoll.EPOLLIN, WAKE_UP_KEY);
        } catch (LinuxException | RuntimeException e) {
            closeFds();
            throw e;
        }
        this.onReadable = onReadable;
        this.onWakeUp = onWakeUp;
        this.onFailure = onFailure;
        this.onStopped = onStopped;
        this.waitMillis = waitMillis;
        this.afterWait = afterWait;
        thread = Thread.ofPlatform().name(threadName).daemon(true).unstarted(this::run);
    }

    /** Starts the thread; call it once the owner has stored this loop, since the callbacks may use it. */
    void start() {
        thread.start();
    }

    /** Watches {@code fd} for input; any thread may call it, even beside a running wait. */
    void add(int fd) throws LinuxException {
        epoll.add(fd, Epoll.EPOLLIN, fd);
    }

    void remove(int fd) throws LinuxException {
        epoll.remove(fd);
    }

    /**
     * Watches {@code fd} for {@code events} (e.g. {@link Epoll#EPOLLPRI}) on behalf of {@code guest}, whose
     * {@link Guest#onReady} hears of it from then on; any thread may call it. The guest is released with the loop.
     */
    void add(int fd, int events, Guest guest) throws LinuxException {
        guests.put(guest, Boolean.TRUE);
        guestFds.put(fd, guest);
        try {
            epoll.add(fd, events, fd);
        } catch (LinuxException | RuntimeException e) {
            guestFds.remove(fd);
            throw e;
        }
    }

    /** Stops watching a guest's fd (the guest still owns it, and closes it). */
    void removeGuestFd(int fd) throws LinuxException {
        guestFds.remove(fd);
        epoll.remove(fd);
    }

    /**
     * Runs {@code task} on the loop's thread soon, after any ready fds of the current round; false, without
     * running it, once the loop is closing.
     */
    boolean execute(Runnable task) throws LinuxException {
        return runIfOpen(() -> {
            tasks.add(task);
            wakeUp.signal();
        });
    }

    /** Whether the calling thread is the loop's own. */
    boolean inLoop() {
        return Thread.currentThread() == thread;
    }

    /**
     * Runs {@code admission} unless the loop is closing, with close() and the loop's own stop held
     * off until it returns, so whatever it hands over is seen by {@code onStopped}.
     * Returns false, without running it, once the loop is closing.
     */
    <E extends Exception> boolean runIfOpen(Admission<E> admission) throws E {
        synchronized (lifecycle) {
            if (closing) {
                return false;
            }
            admission.run();
            return true;
        }
    }

    /** True once close() was called or the loop stopped: the callbacks should start no new work. */
    boolean isClosing() {
        return closing;
    }

    /** Makes the loop thread call {@code onWakeUp} soon. */
    void wakeUp() throws LinuxException {
        wakeUp.signal();
    }

    /**
     * Stops the thread and, unless called on it, waits (uninterruptibly) until it has released
     * everything. Idempotent. If the thread cannot be woken, throws what {@code wakeFailure} makes
     * of the error, without waiting.
     */
    void close(Function<LinuxException, RuntimeException> wakeFailure) {
        synchronized (lifecycle) {
            if (closing) {
                return;
            }
            closing = true;
        }
        try {
            wakeUp.signal();
        } catch (LinuxException e) {
            throw wakeFailure.apply(e);
        }
        if (Thread.currentThread() != thread) {
            joinUninterruptibly();
        }
    }

    private void joinUninterruptibly() {
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true; // the thread is stopping anyway; finish waiting, then re-assert
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        try {
            while (!closing) {
                int ready = epoll.await(waitMillis.getAsInt());
                for (int i = 0; i < ready; i++) {
                    long key = epoll.data(i);
                    if (key == WAKE_UP_KEY) {
                        wakeUp.drain();
                        runTasks();
                        onWakeUp.run();
                    } else {
                        Guest guest = guestFds.get((int) key);
                        if (guest != null) {
                            int events = epoll.events(i);
                            runGuestCode(() -> guest.onReady((int) key, events));
                        } else {
                            onReadable.accept((int) key);
                        }
                    }
                }
                afterWait.run();
            }
        } catch (LinuxException | RuntimeException e) {
            onFailure.accept(e);
        } finally {
            synchronized (lifecycle) {
                closing = true; // a loop that died unexpectedly refuses new work
            }
            try {
                onStopped.run();
            } finally {
                try {
                    releaseGuests();
                } finally {
                    closeFds();
                }
            }
        }
    }

    private void runTasks() {
        for (Runnable task = tasks.poll(); task != null && !closing; task = tasks.poll()) {
            runGuestCode(task);
        }
    }

    /** A guest's failure is its own (a bug, logged): it must not stop the loop the owner's work depends on. */
    private void runGuestCode(Runnable code) {
        try {
            code.run();
        } catch (RuntimeException e) {
            LOG.error("{}: a task or event handler failed", thread.getName(), e);
        }
    }

    private void releaseGuests() {
        tasks.clear();
        for (Guest guest : guests.keySet()) {
            runGuestCode(guest::onStopped);
        }
    }

    private void closeFds() {
        try {
            epoll.close();
        } finally {
            wakeUp.close();
        }
    }
}
