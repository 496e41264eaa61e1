package io.rund.api;

import org.slf4j.Logger;

import java.time.Duration;

/**
 * Log lines about events a peer can cause at will (refused connections, handshakes out of time, dead peers, bad
 * requests), at most so many per window, so that a flood of them cannot flood the log: the lines past that are
 * counted, and the next line logged says how many were left out. Thread-safe; never blocks on I/O.
 */
final class RateLimitedLog {

    private static final int DROPPED = -1;

    private final Logger log;
    private final int linesPerWindow;
    private final long windowNanos;
    private long windowStart = System.nanoTime();
    private int logged;
    private long leftOut;

    RateLimitedLog(Logger log, int linesPerWindow, Duration window) {
        this.log = log;
        this.linesPerWindow = linesPerWindow;
        this.windowNanos = window.toNanos();
    }

    void info(String line) {
        long before = admit();
        if (before != DROPPED) {
            log.info(withLeftOut(line, before));
        }
    }

    void warn(String line) {
        long before = admit();
        if (before != DROPPED) {
            log.warn(withLeftOut(line, before));
        }
    }

    /** For bugs: the line and its stack trace, within the same budget. */
    void error(String line, Throwable bug) {
        long before = admit();
        if (before != DROPPED) {
            log.error(withLeftOut(line, before), bug);
        }
    }

    /** {@link #DROPPED} if this line is over the window's budget, else how many were left out before it. */
    private synchronized long admit() {
        long now = System.nanoTime();
        if (now - windowStart >= windowNanos) {
            windowStart = now;
            logged = 0;
        }
        if (logged >= linesPerWindow) {
            leftOut++;
            return DROPPED;
        }
        logged++;
        long before = leftOut;
        leftOut = 0;
        return before;
    }

    private static String withLeftOut(String line, long leftOut) {
        return leftOut == 0 ? line : line + " (and " + leftOut + " more such lines left out before it)";
    }
}
