package io.rund.job;

import io.rund.linux.LinuxException;
import io.rund.linux.OutputSink;
import io.rund.logs.LogStore;
import io.rund.logs.LogStream;
import io.rund.logs.LogWriter;

import java.io.IOException;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Joins the output pump to a job's log: what waits in the job's stdout or stderr pipe is spliced into one record
 * by the log's writer, on the pump thread (so a job can never outrun the disk by more than its pipe buffer, and no
 * byte that left the pipe is only in memory should rund be killed). A log that cannot be written holds the job's
 * output (the pump stops reading its pipes and retries; see {@link OutputSink}): the
 * job's actor hears of it, and of the resumption, and one line each is logged. End of output ends the log (its
 * followers finish), tells the job's actor, and only then forces the log to disk: the job's final status does not
 * wait for the disk. Where the job's final record is group-committed on the log's file system ({@code forcedLater}),
 * the log is not forced here at all: that commit's first syncfs comes after the end marker was written (the final
 * record is only queued once the actor heard OutputClosed), so it makes the log durable before the record says ended. All of that runs on the blocking executor, never on the pump thread, whose every millisecond
 * is every job's output latency.
 */
final class LogSink implements OutputSink {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(LogSink.class);

    private final String jobId;
    private final LogStore log;
    private final LogWriter writer;
    private final Executor sealer;
    private final ActorRef<JobActor.Command> job;
    /** Whether the final record's group commit forces this log's file system, so the end need not force the log. */
    private final boolean forcedLater;
    /** Pump thread only: when the current hold began (System.nanoTime), for the resumption's log line. */
    private long heldSinceNanos;

    LogSink(String jobId, LogStore log, Executor sealer, ActorRef<JobActor.Command> job, boolean forcedLater) {
        this.jobId = jobId;
        this.forcedLater = forcedLater;
        this.log = log;
        this.writer = log.writer();
        this.sealer = sealer;
        this.job = job;
    }

    @Override
    public long onReadable(int fd, int pipeFd, int available) throws IOException {
        return writer.appendFromPipe(LogStream.ofFd(fd), pipeFd, available);
    }

    @Override
    public void onHeld(IOException why) {
        heldSinceNanos = System.nanoTime();
        String reason = reasonOf(why);
        LOG.warn("Job {}: output held: cannot write its log {}: {}. Its pipes are not read (the job blocks once they"
                + " fill) until the log can be written again; retrying", jobId, log.path(), reason);
        job.tell(new JobActor.OutputHeld("cannot write the job's log: " + reason
                + "; reading its output resumes by itself once the log can be written"));
    }

    @Override
    public void onResumed() {
        long heldMillis = (System.nanoTime() - heldSinceNanos) / 1_000_000;
        LOG.info("Job {}: output resumed: its log {} can be written again (held {} ms)", jobId, log.path(), heldMillis);
        job.tell(new JobActor.OutputResumed());
    }

    @Override
    public void onDiscarded(long bytes, IOException why) {
        String reason = reasonOf(why);
        LOG.warn("Job {}: stopped while its output was held: {} bytes that could not be written to its log {} were"
                + " discarded ({})", jobId, bytes, log.path(), reason);
        job.tell(new JobActor.OutputDiscarded("the job was stopped while its output was held: " + bytes
                + " bytes of output that could not be written to its log were discarded (" + reason + ")"));
    }

    @Override
    public void onClosed() {
        sealer.execute(() -> {
            try {
                writer.end();
            } catch (IOException e) {
                LOG.error("Job {}: cannot write the end of its log {}: {}", jobId, log.path(), e.getMessage());
            } finally {
                job.tell(new JobActor.OutputClosed());
            }
            try {
                if (forcedLater) {
                    writer.letGo();
                } else {
                    writer.persist();
                }
            } catch (IOException e) {
                LOG.error("Job {}: cannot force its log {} to disk: {}", jobId, log.path(), e.getMessage());
            }
        });
    }

    /**
     * rund stops while the job runs on (with rund-keeper): its log stays unsealed, for the next daemon to append to,
     * and what is in it is forced to disk now. The job's actor closes the log without a seal when it stops.
     */
    @Override
    public void onDetached() {
        try {
            writer.persist();
        } catch (IOException e) {
            LOG.error("Job {}: cannot force its log {} to disk: {}", jobId, log.path(), e.getMessage());
        }
    }

    /** The errno's words where the failure was a system call (the log's path stays in rund's own log). */
    private static String reasonOf(IOException why) {
        for (Throwable cause = why; cause != null; cause = cause.getCause()) {
            if (cause instanceof LinuxException linux) {
                return linux.reason();
            }
        }
        return why.getMessage();
    }
}
