package io.rund.api;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;

/**
 * The daemon's log of refused requests: one short line each, no stack trace, at most a configured number a minute;
 * past that they are counted and the count is logged once the minute is over, so that a client sending garbage in a
 * loop cannot flood the log (each line was a 40-line stack trace). Internal errors, which are bugs, keep their stack
 * trace but share the same budget. The lines quote only text already escaped and bounded ({@link ApiErrors}).
 */
final class BadRequestLog {

    private static final Logger LOG = LoggerFactory.getLogger(BadRequestLog.class);
    private static final long WINDOW_NANOS = Duration.ofMinutes(1).toNanos();

    private final int linesPerWindow;
    private long windowStart = System.nanoTime();
    private int logged;
    private long suppressed;

    BadRequestLog(int linesPerMinute) {
        this.linesPerWindow = linesPerMinute;
    }

    /** A request refused with {@code status}: "Refused Start from DNS:alice: INVALID_ARGUMENT job_id: ...". */
    void refused(String call, String status) {
        if (mayLog()) {
            LOG.info("Refused {}: {}", call, status);
        }
    }

    /** A failure rund did not expect while answering {@code call}: a bug, logged with its stack trace. */
    void internalError(String call, Throwable bug) {
        if (mayLog()) {
            LOG.error("Internal error answering {}", call, bug);
        }
    }

    private synchronized boolean mayLog() {
        long now = System.nanoTime();
        if (now - windowStart >= WINDOW_NANOS) {
            if (suppressed > 0) {
                LOG.info("{} more refused requests in the last minute were not logged (rund.api.bad-request-logs-per-minute = {})",
                        suppressed, linesPerWindow);
            }
            windowStart = now;
            logged = 0;
            suppressed = 0;
        }
        if (logged < linesPerWindow) {
            logged++;
            return true;
        }
        suppressed++;
        return false;
    }
}
