package io.rund.linux;

import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntConsumer;
import java.util.function.IntSupplier;

/**
 * One level-triggered epoll, the eventfd that wakes it and the daemon platform thread that waits
 * on it: the scaffolding under {@link ExitWatcher} and {@link OutputPump}. The thread calls its
 * owner back for each readable fd and each wake-up; when it stops (closed, or failed) it lets the
 * owner release what it owns, then closes the epoll and the eventfd. The thread is a daemon: a
 * forgotten close() must not keep the JVM alive.
 */
final class EpollLoop {
    /** For an owner that wakes the loop only to stop it. */
    static final Runnable IGNORE_WAKE_UPS = () -> {};

    /** epoll data of the wake-up eventfd; every other key is the watched fd itself, never negative. */
    private static final long WAKE_UP_KEY = -1;

    /** Work a caller hands over under the lifecycle lock; it may throw what its caller throws. */
    @FunctionalInterface
    interface Admission<E extends Exception> {
        void run() throws E;
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
                        onWakeUp.run();
                    } else {
                        onReadable.accept((int) key);
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
                closeFds();
            }
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
