package io.rund.job;

import io.rund.linux.OutputSink;
import io.rund.logs.LogStore;
import io.rund.logs.LogStream;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * Joins the output pump to a job's log: each chunk read from the job's stdout or stderr becomes one record,
 * written on the pump thread (so a job can never outrun the disk by more than its pipe buffer); end of output
 * seals the log and tells the job's actor.
 */
final class LogSink implements OutputSink {

    private final LogStore log;
    private final Runnable onEnd;

    LogSink(LogStore log, Runnable onEnd) {
        this.log = log;
        this.onEnd = onEnd;
    }

    @Override
    public void onOutput(int fd, ByteBuffer data) {
        try {
            log.append(LogStream.ofFd(fd), data);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to the job's log", e);
        }
    }

    @Override
    public void onClosed() {
        try {
            log.seal();
        } catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(LogSink.class).error("Cannot seal a job's log: {}", e.getMessage());
        } finally {
            onEnd.run();
        }
    }
}
