package io.rund.linux;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Where {@link OutputPump} delivers one job's stdout and stderr. The pump says when bytes wait in a job's pipe and
 * how many; the sink moves them out of the pipe itself, straight to where they are kept (a job's log splices them
 * into its file), so that no byte that left a pipe is ever only in rund's memory: a rund killed at any instant
 * leaves every byte of output in the pipe or in the log. All methods run on the pump thread and must return
 * promptly. A slow sink slows the pump, which back-pressures the job.
 * <p>
 * A sink that cannot take output now (its log cannot be written: disk full, quota, I/O error) throws an
 * IOException from onReadable. The job is not harmed: the bytes stay in its pipe, the pump stops reading the
 * job's pipes (the job blocks once they fill), calls onHeld, and offers them again on a timer with back-off; once
 * the sink takes some it calls onResumed and reads on.
 */
public interface OutputSink {
    int STDOUT = 1;
    int STDERR = 2;

    /**
     * {@code available} bytes (at least 1, at most {@link OutputPump#BUFFER_BYTES}) wait in {@code pipeFd}, the
     * non-blocking pipe of the job's {@link #STDOUT} or {@link #STDERR}: the sink moves up to that many out of it.
     * Returns the bytes moved.
     *
     * @throws IOException if it cannot take any now: they stay in the pipe, and the pump offers them again later
     */
    long onReadable(int fd, int pipeFd, int available) throws IOException;

    /** onReadable failed with {@code why}: the job's output is held until a later offer succeeds. Once per hold. */
    default void onHeld(IOException why) {}

    /** The held output was taken; the pump reads the job's pipes again. */
    default void onResumed() {}

    /**
     * The job's output was held when {@link OutputPump.Pumping#discardUnwritable()} asked to give it up:
     * {@code bytes} bytes (what was left in the pipes) were read and dropped. Called just before onClosed.
     */
    default void onDiscarded(long bytes, IOException why) {}

    /** Both streams ended (EOF, a read error or a failed sink); called once, last. */
    void onClosed();

    /**
     * The pump closed (rund stops) while the job's streams were still open: the job may run on with rund-keeper,
     * which keeps its pipes, and the next daemon reads on. Not an end of output, so a sink that marks ends should
     * not; called once, last, instead of onClosed.
     */
    default void onDetached() {
        onClosed();
    }
}
