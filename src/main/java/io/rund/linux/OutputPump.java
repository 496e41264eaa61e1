package io.rund.linux;

import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
 * one level-triggered epoll and one reusable 64 KiB buffer, so memory is bounded however fast
 * jobs write. Each epoll round reads at most one buffer per ready fd: a noisy job cannot starve
 * the others, and a slow sink leaves data in the pipe, so the writing job blocks (back-pressure).
 * The pump owns the fds it is given and closes them at EOF, on error, or when it closes.
 */
public final class OutputPump implements AutoCloseable {
    public static final String THREAD_NAME = "rund-output-pump";
    public static final int BUFFER_BYTES = 64 * 1024;
    private static final Logger log = LoggerFactory.getLogger(OutputPump.class);
    private static final int MAX_EVENTS_PER_WAIT = 256;
    private static final int CLOSED = -1;

    /** One job's pipes; touched only by the pump thread once registered. */
    private static final class Job {
        final OutputSink sink;
        final int[] fds; // index 0: stdout, 1: stderr; CLOSED once closed

        Job(int stdoutFd, int stderrFd, OutputSink sink) {
            this.sink = sink;
            this.fds = new int[] {stdoutFd, stderrFd};
        }
    }

    /** One open pipe of a job: which job, and which of its streams (OutputSink.STDOUT/STDERR). */
    private record Stream(Job job, int streamNo) {}

    private final Queue<Job> incoming = new ConcurrentLinkedQueue<>();
    private final Map<Integer, Stream> streams = new HashMap<>(); // keyed by fd; pump thread only
    /** The one read buffer, used by the pump thread only; the GC frees it with the pump. */
    private final MemorySegment buffer = Arena.ofAuto().allocate(BUFFER_BYTES);
    private final EpollLoop loop;

    public OutputPump() throws LinuxException {
        loop = new EpollLoop(THREAD_NAME, MAX_EVENTS_PER_WAIT,
                this::readOnce, this::registerIncoming, this::logFailure, this::releaseAll);
        loop.start();
    }

    /**
     * Pumps a job's pipe read ends (non-blocking, as {@link Spawner} makes them) into {@code sink}.
     * The pump owns both fds from now on; {@code sink.onClosed()} is called exactly once.
     *
     * @throws IllegalStateException if the pump is closed (the caller keeps the fds)
     */
    public void pump(int stdoutFd, int stderrFd, OutputSink sink) {
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
    }

    /** Stops the thread; every job still pumped has its fds closed and gets onClosed. Idempotent. */
    @Override
    public void close() {
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
    }

    /** One read of at most one buffer: the fairness rule of the pump. */
    private void readOnce(int fd) {
        Stream stream = streams.get(fd);
        if (stream == null) {
            return; // its job was closed earlier in this round
        }
        Job job = stream.job();
        int count;
        try {
            count = Fds.read(fd, buffer);
        } catch (LinuxException e) {
            log.error("reading the output of a job failed; closing its pipes", e);
            closeJob(job);
            return;
        }
        if (count == Fds.WOULD_BLOCK) {
            return;
        }
        if (count == 0) {
            closeStream(job, stream.streamNo() - 1);
            if (job.fds[0] == CLOSED && job.fds[1] == CLOSED) {
                notifyClosed(job);
            }
            return;
        }
        try {
            job.sink.onOutput(stream.streamNo(), buffer.asSlice(0, count).asByteBuffer().asReadOnlyBuffer());
        } catch (RuntimeException e) {
            log.error("output sink failed; closing the job's pipes", e);
            closeJob(job);
        }
    }

    private void closeJob(Job job) {
        for (int index = 0; index < job.fds.length; index++) {
            closeStream(job, index);
        }
        notifyClosed(job);
    }

    private void closeStream(Job job, int index) {
        int fd = job.fds[index];
        if (fd == CLOSED) {
            return;
        }
        job.fds[index] = CLOSED;
        if (streams.remove(fd) != null) {
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
        for (Stream stream : List.copyOf(streams.values())) {
            if (!jobs.contains(stream.job())) {
                jobs.add(stream.job());
            }
        }
        jobs.forEach(this::closeJob);
    }
}
