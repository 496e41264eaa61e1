package io.rund.linux;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drains the stdout/stderr pipes of all jobs on ONE platform thread ("rund-output-pump") with
 * one level-triggered epoll. For each ready pipe it asks how many bytes wait (FIONREAD) and lets
 * the job's sink move at most 64 KiB of them out of the pipe itself (into the log, by splice), so
 * output never passes through rund's memory and no byte is lost if rund is killed at any instant.
 * At most 64 KiB per ready fd per round: a noisy job cannot starve the others, and a slow sink leaves
 * data in the pipe, so the writing job blocks (back-pressure). A pipe has ended when its writers are
 * gone (POLLHUP) and it is empty. The pump owns the fds it is given and closes them at EOF, on error,
 * or when it closes.
 * <p>
 * A sink that cannot write (its log's disk is full) holds its job, never kills it: the bytes stay in the pipe,
 * the job's pipes leave the epoll (the job blocks once they fill, nothing is lost), and the pipe is offered again
 * on the pump thread with back-off, from {@link #FIRST_RETRY} doubling up to {@link #LAST_RETRY}, as the epoll
 * wait's timeout: no thread sleeps, no other job waits. Once the sink takes some, the pipes are read again.
 */
public final class OutputPump implements AutoCloseable {
    public static final String THREAD_NAME = "rund-output-pump";
    /** The most a sink is offered from one pipe at once (and the buffer that drains pipes being discarded). */
    public static final int BUFFER_BYTES = 64 * 1024;
    private static final Logger log = LoggerFactory.getLogger(OutputPump.class);
    private static final int MAX_EVENTS_PER_WAIT = 256;
    private static final int CLOSED = -1;
    private static final long NANOS_PER_MILLI = 1_000_000;
    /** The first retry of held output: soon, as space often returns quickly (a log dropped, a file deleted). */
    public static final Duration FIRST_RETRY = Duration.ofMillis(100);
    /** The longest pause between retries: how long held output may wait after space has returned. */
    public static final Duration LAST_RETRY = Duration.ofSeconds(2);

    /** A job handed to {@link #pump}: what its owner may still ask of the pump. */
    public interface Pumping {
        /**
         * From now on, output this job's sink cannot take is discarded rather than held, and output held now is
         * offered once more and then discarded: for a job whose processes are all gone (stopped), so that its end
         * does not wait for disk space. The sink hears {@link OutputSink#onDiscarded} and then onClosed.
         */
        void discardUnwritable();
    }

    /** One job's pipes; touched only by the pump thread once registered. */
    private final class Job implements Pumping {
        final OutputSink sink;
        final int[] fds; // index 0: stdout, 1: stderr; CLOSED once closed
        /** The sink could not take output: the pipe of heldStream is offered again first; false while it flows. */
        boolean held;
        int heldStream;
        long retryAtNanos;
        long retryDelayNanos;
        boolean discardUnwritable;
        /** Its open fds are in the epoll: true but while its output is held. */
        boolean polling = true;
        boolean closed;

        Job(int stdoutFd, int stderrFd, OutputSink sink) {
            this.sink = sink;
            this.fds = new int[] {stdoutFd, stderrFd};
        }

        @Override
        public void discardUnwritable() {
            try {
                loop.runIfOpen(() -> {
                    discarding.add(this);
                    loop.wakeUp();
                });
            } catch (LinuxException e) {
                throw new UncheckedIOException("cannot wake the output pump", e);
            }
        }
    }

    /** One open pipe of a job: which job, and which of its streams (OutputSink.STDOUT/STDERR). */
    private record Stream(Job job, int streamNo) {}

    private final Queue<Job> incoming = new ConcurrentLinkedQueue<>();
    private final Queue<Job> discarding = new ConcurrentLinkedQueue<>();
    private final Map<Integer, Stream> streams = new HashMap<>(); // keyed by fd; pump thread only
    /** Jobs whose output is held, waiting for their retry; pump thread only. */
    private final List<Job> heldJobs = new ArrayList<>();
    /** The buffer that drains discarded output, used by the pump thread only; the GC frees it with the pump. */
    private final MemorySegment buffer = Arena.ofAuto().allocate(BUFFER_BYTES);
    private final EpollLoop loop;
    /** Set by {@link #close}: the jobs still pumped then are let go of (detached), not ended. */
    private volatile boolean closing;

    public OutputPump() throws LinuxException {
        loop = new EpollLoop(THREAD_NAME, MAX_EVENTS_PER_WAIT,
                this::readOnce, this::registerIncoming, this::logFailure, this::releaseAll,
                this::millisToNextRetry, this::retryDue);
        loop.start();
    }

    /**
     * Pumps a job's pipe read ends (non-blocking, as {@link Spawner} makes them) into {@code sink}.
     * The pump owns both fds from now on; {@code sink.onClosed()} is called exactly once.
     *
     * @throws IllegalStateException if the pump is closed (the caller keeps the fds)
     */
    public Pumping pump(int stdoutFd, int stderrFd, OutputSink sink) {
        Job job = new Job(stdoutFd, stderrFd, sink);
        // Under the loop's lock: close() cannot slip in between the check, the hand-over and the wake-up
        // (which would otherwise signal an eventfd that close() may already have closed).
        boolean accepted;
        try {
            accepted = loop.runIfOpen(() -> {
                incoming.add(job);
                loop.wakeUp();
            });
        } catch (LinuxException e) {
            throw new UncheckedIOException("cannot wake the output pump", e);
        }
        if (!accepted) {
            throw new IllegalStateException("output pump is closed; cannot pump fds " + stdoutFd
                    + " and " + stderrFd);
        }
        return job;
    }

    /** Stops the thread; every job still pumped has its fds closed and gets onDetached. Idempotent. */
    @Override
    public void close() {
        closing = true;
        loop.close(e -> new UncheckedIOException("cannot wake the output pump", e));
    }

    private void registerIncoming() {
        for (Job job; (job = incoming.poll()) != null; ) {
            for (int index = 0; index < job.fds.length; index++) {
                int fd = job.fds[index];
                try {
                    loop.add(fd);
                    streams.put(fd, new Stream(job, index + 1));
                } catch (LinuxException e) {
                    log.error("cannot pump fd {}; closing the job's pipes", fd, e);
                    closeJob(job);
                    break;
                }
            }
        }
        for (Job job; (job = discarding.poll()) != null; ) {
            job.discardUnwritable = true;
            if (job.held && !job.closed) {
                offerHeld(job);
            }
        }
    }

    /** One offer of at most one buffer's worth: the fairness rule of the pump. */
    private void readOnce(int fd) {
        Stream stream = streams.get(fd);
        if (stream == null) {
            return; // its job was closed earlier in this round
        }
        Job job = stream.job();
        if (job.held) {
            return; // held earlier in this round: its pipes wait until the sink takes output again
        }
        int available;
        try {
            available = Pipes.available(fd);
            if (available == 0) {
                // Hung up first, then still empty: nobody can write any more, so it has ended.
                if (Pipes.hungUp(fd) && Pipes.available(fd) == 0) {
                    closeStream(job, stream.streamNo() - 1);
                    if (job.fds[0] == CLOSED && job.fds[1] == CLOSED) {
                        notifyClosed(job);
                    }
                }
                return;
            }
        } catch (LinuxException e) {
            log.error("reading the output of a job failed; closing its pipes", e);
            closeJob(job);
            return;
        }
        try {
            job.sink.onReadable(stream.streamNo(), fd, Math.min(available, BUFFER_BYTES));
        } catch (IOException e) {
            hold(job, stream.streamNo(), e);
        } catch (RuntimeException e) {
            log.error("output sink failed; closing the job's pipes", e);
            closeJob(job);
        }
    }

    /**
     * The sink could not take output from the pipe of {@code streamNo}: stops reading the job's pipes (the bytes
     * wait there) and schedules the first retry, or discards it all if the job's owner asked for that.
     */
    private void hold(Job job, int streamNo, IOException why) {
        job.held = true;
        job.heldStream = streamNo;
        job.polling = false;
        for (int fd : job.fds) {
            if (fd != CLOSED) {
                try {
                    loop.remove(fd);
                } catch (LinuxException e) {
                    log.error("cannot stop polling fd {}", fd, e);
                }
            }
        }
        if (job.discardUnwritable) {
            discard(job, why);
            return;
        }
        job.retryDelayNanos = FIRST_RETRY.toNanos();
        job.retryAtNanos = System.nanoTime() + job.retryDelayNanos;
        heldJobs.add(job);
        try {
            job.sink.onHeld(why);
        } catch (RuntimeException e) {
            log.error("output sink failed when its output was held", e);
        }
    }

    /** The epoll wait's timeout: until the earliest retry of held output, or forever if none is held. */
    private int millisToNextRetry() {
        if (heldJobs.isEmpty()) {
            return Epoll.WAIT_FOREVER;
        }
        long earliest = Long.MAX_VALUE;
        for (Job job : heldJobs) {
            earliest = Math.min(earliest, job.retryAtNanos - System.nanoTime());
        }
        return (int) Math.max(0, Math.ceilDiv(earliest, NANOS_PER_MILLI));
    }

    /** Offers their held chunk again to the jobs whose retry is due. */
    private void retryDue() {
        if (heldJobs.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        for (Job job : List.copyOf(heldJobs)) {
            if (job.retryAtNanos - now <= 0 && !job.closed) {
                offerHeld(job);
            }
        }
    }

    /** One more offer of a held job's pipe: resumes the job if the sink takes some, else backs off (or discards). */
    private void offerHeld(Job job) {
        int fd = job.fds[job.heldStream - 1];
        try {
            int available = fd == CLOSED ? 0 : Pipes.available(fd);
            if (available > 0) {
                job.sink.onReadable(job.heldStream, fd, Math.min(available, BUFFER_BYTES));
            }
            resume(job);
        } catch (IOException e) {
            if (job.discardUnwritable) {
                heldJobs.remove(job);
                discard(job, e);
                return;
            }
            job.retryDelayNanos = Math.min(job.retryDelayNanos * 2, LAST_RETRY.toNanos());
            job.retryAtNanos = System.nanoTime() + job.retryDelayNanos;
        } catch (RuntimeException e) {
            log.error("output sink failed; closing the job's pipes", e);
            heldJobs.remove(job);
            closeJob(job);
        }
    }

    private void resume(Job job) {
        job.held = false;
        heldJobs.remove(job);
        job.polling = true;
        for (int fd : job.fds) {
            if (fd != CLOSED) {
                try {
                    loop.add(fd);
                } catch (LinuxException e) {
                    log.error("cannot poll fd {} again; closing the job's pipes", fd, e);
                    closeJob(job);
                    return;
                }
            }
        }
        try {
            job.sink.onResumed();
        } catch (RuntimeException e) {
            log.error("output sink failed when its output resumed", e);
        }
    }

    /**
     * Drops whatever is left in a held job's pipes (whose writers are gone, so they end at EOF or hold at most a
     * pipe's capacity), tells the sink how much was dropped, and closes the job.
     */
    private void discard(Job job, IOException why) {
        long dropped = 0;
        job.held = false;
        for (int fd : job.fds) {
            if (fd == CLOSED) {
                continue;
            }
            try {
                for (int count; (count = Fds.read(fd, buffer)) > 0; ) {
                    dropped += count;
                }
            } catch (LinuxException e) {
                log.warn("cannot read what is left in pipe fd {} of a job whose output is discarded: {}", fd,
                        e.getMessage());
            }
        }
        try {
            job.sink.onDiscarded(dropped, why);
        } catch (RuntimeException e) {
            log.error("output sink failed when its output was discarded", e);
        }
        closeJob(job);
    }

    private void closeJob(Job job) {
        closeFds(job);
        notifyClosed(job);
    }

    /** The pump closes while {@code job}'s streams are open: our copies of its pipes close, the keeper's stay. */
    private void detachJob(Job job) {
        closeFds(job);
        try {
            job.sink.onDetached();
        } catch (RuntimeException e) {
            log.error("output sink failed when the pump let go of its streams", e);
        }
    }

    private void closeFds(Job job) {
        job.closed = true;
        for (int index = 0; index < job.fds.length; index++) {
            closeStream(job, index);
        }
    }

    private void closeStream(Job job, int index) {
        int fd = job.fds[index];
        if (fd == CLOSED) {
            return;
        }
        job.fds[index] = CLOSED;
        if (streams.remove(fd) != null && job.polling) {
            try {
                loop.remove(fd);
            } catch (LinuxException e) {
                log.error("cannot stop polling fd {}", fd, e);
            }
        }
        try {
            Fds.close(fd);
        } catch (LinuxException e) {
            log.error("cannot close pipe fd {}", fd, e);
        }
    }

    private static void notifyClosed(Job job) {
        try {
            job.sink.onClosed();
        } catch (RuntimeException e) {
            log.error("output sink failed when its streams closed", e);
        }
    }

    private void logFailure(Exception failure) {
        log.error("output pump failed; closing the pipes of all {} pumped streams", streams.size(), failure);
    }

    private void releaseAll() {
        List<Job> jobs = new ArrayList<>(incoming);
        incoming.clear();
        discarding.clear();
        heldJobs.clear(); // their output stays in their pipes, which close: the pump closes only when rund stops
        for (Stream stream : List.copyOf(streams.values())) {
            if (!jobs.contains(stream.job())) {
                jobs.add(stream.job());
            }
        }
        jobs.forEach(closing ? this::detachJob : this::closeJob); // a failed pump ends what it pumped
    }
}
