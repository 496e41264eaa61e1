package io.rund.linux;

import java.nio.ByteBuffer;

/**
 * Where {@link OutputPump} delivers one job's stdout and stderr. Both methods run on the pump
 * thread and must consume synchronously: the buffer is reused as soon as onOutput returns (and
 * is unreadable from other threads). A slow sink slows the pump, which back-pressures the job.
 */
public interface OutputSink {
    int STDOUT = 1;
    int STDERR = 2;

    /** Bytes just read from the job's {@link #STDOUT} or {@link #STDERR}; {@code data} is read-only. */
    void onOutput(int fd, ByteBuffer data);

    /** Both streams ended (EOF, a read error, a failed sink, or the pump closing); called once, last. */
    void onClosed();
}
