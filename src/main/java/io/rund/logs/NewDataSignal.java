package io.rund.logs;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A log's "new data" doorbell: followers that have caught up share one pending future, the writer completes it
 * after each append and on seal. No thread per follower and no polling: while nobody waits, a ring costs the
 * writer one volatile read; when followers wait, it costs one task hand-off, because the future is completed on
 * the waiters' executor, never on the writer's (output pump) thread, whatever the number of waiters.
 * <p>
 * Protocol for a waiter: {@link #next} first, then re-check the log, then wait on the future. A ring between
 * the re-check and the wait is not lost: the writer publishes data before it looks for a pending future, and
 * the waiter installs its future before it looks at the data.
 */
final class NewDataSignal {

    private record Pending(CompletableFuture<Void> rung, Executor releaser) {

        void release() {
            try {
                releaser.execute(() -> rung.complete(null));
            } catch (RejectedExecutionException e) {
                // the waiters' executor is shutting down; release them here rather than leave them hanging
                rung.complete(null);
            }
        }
    }

    private final AtomicReference<Pending> pending = new AtomicReference<>();

    /**
     * A future completed at the next {@link #ring()} (shared with every other waiter until then), on
     * {@code releaser} if this call is the one that arms it.
     */
    CompletableFuture<Void> next(Executor releaser) {
        Pending current = pending.get();
        if (current == null) {
            Pending fresh = new Pending(new CompletableFuture<>(), releaser);
            current = pending.compareAndExchange(null, fresh);
            if (current == null) {
                current = fresh;
            }
        }
        return current.rung();
    }

    /** Writer side, after publishing new data or the seal: releases everybody waiting. */
    void ring() {
        if (pending.get() == null) {
            return;
        }
        Pending taken = pending.getAndSet(null);
        if (taken != null) {
            taken.release();
        }
    }
}
