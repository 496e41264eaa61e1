package io.rund.api;

import org.slf4j.LoggerFactory;

import java.time.Duration;

/**
 * The daemon's log of refused requests: one short line each, no stack trace, at most a configured number a minute;
 * past that they are counted and the next line logged says how many were left out ({@link RateLimitedLog}), so that
 * a client sending garbage in a loop cannot flood the log (each line was a 40-line stack trace). Internal errors,
 * which are bugs, keep their stack trace but share the same budget. The lines quote only text already escaped and
 * bounded ({@link ApiErrors}).
 */
final class BadRequestLog {

    private final RateLimitedLog log;

    BadRequestLog(int linesPerMinute) {
        this.log = new RateLimitedLog(LoggerFactory.getLogger(BadRequestLog.class), linesPerMinute, Duration.ofMinutes(1));
    }

    /** A request refused with {@code status}: "Refused Start from DNS:alice: INVALID_ARGUMENT job_id: ...". */
    void refused(String call, String status) {
        log.info("Refused " + call + ": " + status);
    }

    /** A failure rund did not expect while answering {@code call}: a bug, logged with its stack trace. */
    void internalError(String call, Throwable bug) {
        log.error("Internal error answering " + call, bug);
    }
}
