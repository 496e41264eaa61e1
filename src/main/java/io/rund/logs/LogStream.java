package io.rund.logs;

/**
 * Which of a job's output pipes a chunk of bytes came from. The file descriptor number is also how the
 * stream is tagged on disk, so the numbering here is part of the log format.
 */
public enum LogStream {
    STDOUT(1),
    STDERR(2);

    private final int fd;

    LogStream(int fd) {
        this.fd = fd;
    }

    /** The job-side file descriptor of this stream: 1 for stdout, 2 for stderr. */
    public int fd() {
        return fd;
    }

    /** The stream written through job-side file descriptor {@code fd} (1 or 2). */
    public static LogStream ofFd(int fd) {
        for (LogStream stream : values()) {
            if (stream.fd == fd) {
                return stream;
            }
        }
        throw new IllegalArgumentException("not an output stream fd (expected 1 or 2): " + fd);
    }
}
