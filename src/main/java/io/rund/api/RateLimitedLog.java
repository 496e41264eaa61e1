package io.rund.api;

import org.slf4j.Logger;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/**
 * At most one warning per interval for events a peer can cause at will (refused connections, handshakes out of
 * time, dead peers), so that a flood of them cannot flood the log: each line says how many were left out since
 * the previous one. Thread-safe; never blocks.
 */
final class RateLimitedLog {

    private final Logger log;
    private final long intervalNanos;
    private final AtomicLong nextLineAt = new AtomicLong(Long.MIN_VALUE);
    private final AtomicLong suppressed = new AtomicLong();

    RateLimitedLog(Logger log, Duration interval) {
        this.log = log;
        this.intervalNanos = interval.toNanos();
    }

    /** Logs {@code line} unless a line was logged less than an interval ago (then counts it). */
    void warn(String line) {
        long now = System.nanoTime();
        long next = nextLineAt.get();
        if ((next != Long.MIN_VALUE && now - next < 0) || !nextLineAt.compareAndSet(next, now + intervalNanos)) {
            suppressed.incrementAndGet();
            return;
        }
        long left = suppressed.getAndSet(0);
        log.warn(left == 0 ? line : line + " (and " + left + " more since the last such line)");
    }
}
