package io.rund.job;

import io.rund.linux.OutputSink;
import io.rund.logs.LogStore;
import io.rund.logs.LogStream;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.Executor;

/**
 * Joins the output pump to a job's log: each chunk read from the job's stdout or stderr becomes one record,
 * written on the pump thread (so a job can never outrun the disk by more than its pipe buffer). End of output
 * ends the log (its followers finish), tells the job's actor, and only then forces the log to disk: the job's
 * final status does not wait for the disk. All of that runs on the blocking executor, never on the pump
 * thread, whose every millisecond is every job's output latency.
 */
final class LogSink implements OutputSink {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LogSink.class);

    private final LogStore log;
    private final Executor sealer;
    private final Runnable onEnd;

    LogSink(LogStore log, Executor sealer, Runnable onEnd) {
        this.log = log;
        this.sealer = sealer;
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
        sealer.execute(() -> {
            try {
                log.end();
            } catch (IOException e) {
                LOG.error("Cannot seal a job's log {}: {}", log, e.getMessage());
            } finally {
                onEnd.run();
            }
            try {
                log.persist();
            } catch (IOException e) {
                LOG.error("Cannot force a job's log {} to disk: {}", log, e.getMessage());
            }
        });
    }
}
