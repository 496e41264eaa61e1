package io.rund.linux;

import java.io.IOException;

/**
 * A failed Linux system call: which call, on which path/fd/pid, and the errno it returned.
 * The message reads like {@code pidfd_open(1234): No such process (errno 3)}.
 */
public final class LinuxException extends IOException {
    private final String call;
    private final String target;
    private final int errno;

    public LinuxException(String call, String target, int errno) {
        super(call + "(" + target + "): " + Libc.strerror(errno) + " (errno " + errno + ")");
        this.call = call;
        this.target = target;
        this.errno = errno;
    }

    /** The name of the failed call, e.g. {@code "pidfd_open"}. */
    public String call() {
        return call;
    }

    /** The path, fd or pid the call concerned. */
    public String target() {
        return target;
    }

    public int errno() {
        return errno;
    }

    /** What went wrong, without the call and its target: {@code No space left on device (errno 28)}. */
    public String reason() {
        return Libc.strerror(errno) + " (errno " + errno + ")";
    }
}
