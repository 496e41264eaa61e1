package io.rund.cluster;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Predicate;

/**
 * The lines one class logs while a test runs (logback's ListAppender on that class's logger), so that a test can
 * assert what an operator would read. {@link #close()} detaches it.
 */
final class LogLines implements AutoCloseable {

    private final Logger logger;
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    LogLines(Class<?> source) {
        logger = (Logger) LoggerFactory.getLogger(source);
        appender.start();
        logger.addAppender(appender);
    }

    /** The formatted messages logged so far. */
    List<String> lines() {
        synchronized (appender.list) {
            return appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        }
    }

    List<String> matching(Predicate<String> which) {
        return lines().stream().filter(which).toList();
    }

    /** The first line matching {@code which}, waiting up to {@code timeout} for it; fails naming what it waited for. */
    String await(String what, Duration timeout, Predicate<String> which) throws InterruptedException {
        Instant until = Instant.now().plus(timeout);
        while (Instant.now().isBefore(until)) {
            List<String> found = matching(which);
            if (!found.isEmpty()) {
                return found.getFirst();
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no log line " + what + " within " + timeout.toSeconds() + "s; lines: " + lines());
    }

    @Override
    public void close() {
        logger.detachAppender(appender);
        appender.stop();
    }
}
