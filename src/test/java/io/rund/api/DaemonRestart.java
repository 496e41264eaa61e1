package io.rund.api;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Two runs of rund on one state directory and cgroup root, as a restart on the same host would have them: the first
 * daemon, then (once it has exited, however the test ended it) the next. For tests of what a daemon finds that an
 * earlier one left: job records, logs, jobs held by rund-keeper. {@link #close()} closes whichever ran last, which
 * stops it and removes what both left.
 */
final class DaemonRestart implements AutoCloseable {

    private final DaemonProcess first;
    private DaemonProcess next;

    private DaemonRestart(DaemonProcess first) {
        this.first = first;
    }

    /** {@code rund serve} with {@code env} added to its environment, serving. */
    static DaemonRestart start(Map<String, String> env) throws Exception {
        return new DaemonRestart(DaemonProcess.start(env));
    }

    /** A first daemon the test started another way ({@link DaemonProcess#startMain}). */
    static DaemonRestart of(DaemonProcess first) {
        return new DaemonRestart(first);
    }

    DaemonProcess first() {
        return first;
    }

    /** The next {@code rund serve} on the first one's state and cgroups; the first must have exited. */
    DaemonProcess restart(Map<String, String> env) throws Exception {
        if (next != null) {
            throw new IllegalStateException("the next daemon runs already");
        }
        next = DaemonProcess.restartAfter(first, env);
        return next;
    }

    /** The record file of job {@code jobId} in the shared state directory. */
    Path record(String jobId) {
        return first.stateDirectory().resolve("jobs").resolve(jobId);
    }

    /** The job logs' directory in the shared state directory. */
    Path logs() {
        return first.stateDirectory().resolve("logs");
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (next != null) {
            next.close();
        } else {
            first.close();
        }
    }
}
