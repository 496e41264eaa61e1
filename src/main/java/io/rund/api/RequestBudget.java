package io.rund.api;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The bytes of request messages that all calls together may hold while they are being read
 * ({@code rund.api.max-buffered-request-bytes}): each message reserves its announced size when its length prefix
 * arrives, before any of it is buffered, and gives it back once its call has been answered. Without it, one client
 * opening many streams, each sending a message just under the per-message limit, could still fill the heap.
 */
final class RequestBudget {

    static final String SETTING = "rund.api.max-buffered-request-bytes";

    private final long capacity;
    private final AtomicLong reserved = new AtomicLong();

    RequestBudget(long capacity) {
        this.capacity = capacity;
    }

    /** Reserves {@code bytes}, or returns false (reserving nothing) if that would pass the capacity. */
    boolean tryReserve(long bytes) {
        while (true) {
            long now = reserved.get();
            if (now + bytes > capacity) {
                return false;
            }
            if (reserved.compareAndSet(now, now + bytes)) {
                return true;
            }
        }
    }

    void release(long bytes) {
        reserved.addAndGet(-bytes);
    }

    long capacity() {
        return capacity;
    }
}
