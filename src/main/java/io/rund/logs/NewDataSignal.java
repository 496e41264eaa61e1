package io.rund.logs;

import java.util.Iterator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A log's "new data" doorbell. Followers that have caught up register a waiter; the writer rings after each
 * append and on seal. No thread per follower and no polling: while nobody waits, a ring costs the writer one
 * read of an empty set; when followers wait, it costs one task hand-off, because the waiters are released on
 * their executor, never on the writer's (output pump) thread, whatever their number. A follower that goes away
 * while waiting takes its waiter back, so nothing of it stays behind on a log that stays silent.
 * <p>
 * Protocol for a waiter: {@link #await} first, then re-check the log, then wait. A ring between the re-check and
 * the wait is not lost: the writer publishes data before it looks for waiters, and the waiter registers before it
 * looks at the data. A waiter may be released without new data (it re-checks and waits again).
 */
final class NewDataSignal {

    private final Set<Runnable> waiters = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean releaseScheduled = new AtomicBoolean();
    private volatile Executor releaser = Runnable::run;

    /** Runs {@code waiter} once after the next {@link #ring()}, on {@code releaser}. */
    void await(Runnable waiter, Executor releaser) {
        this.releaser = releaser;
        waiters.add(waiter);
    }

    /** Takes back a waiter that no longer wants to be released (its follower went away). */
    void cancel(Runnable waiter) {
        waiters.remove(waiter);
    }

    /** Writer side, after publishing new data or the seal: releases everybody waiting. */
    void ring() {
        if (waiters.isEmpty() || !releaseScheduled.compareAndSet(false, true)) {
            return;
        }
        try {
            releaser.execute(this::releaseAll);
        } catch (RejectedExecutionException e) {
            // the waiters' executor is shutting down; release them here rather than leave them hanging
            releaseAll();
        }
    }

    int waiterCount() {
        return waiters.size();
    }

    private void releaseAll() {
        releaseScheduled.set(false); // before taking waiters: a later ring schedules another release
        for (Iterator<Runnable> it = waiters.iterator(); it.hasNext(); ) {
            Runnable waiter = it.next();
            it.remove();
            waiter.run();
        }
    }
}
