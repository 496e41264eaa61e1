package io.rund.linux;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Where {@link OutputPump} delivers one job's stdout and stderr. All methods run on the pump
 * thread and must return promptly: the buffer is reused as soon as onOutput returns (and is
 * unreadable from other threads). A slow sink slows the pump, which back-pressures the job.
 * <p>
 * A sink that cannot take output now (its log cannot be written: disk full, quota, I/O error)
 * throws an IOException from onOutput. The job is not harmed: the pump keeps the bytes not yet
 * taken, stops reading the job's pipes (the job blocks once they fill), calls onHeld, and offers
 * the kept bytes again on a timer with back-off; once they are taken it calls onResumed and reads on.
 */
public interface OutputSink {
    int STDOUT = 1;
    int STDERR = 2;

    /**
     * Bytes just read from the job's {@link #STDOUT} or {@link #STDERR} (or kept from an earlier call that
     * failed); {@code data} is read-only. The sink consumes what it takes, moving {@code data}'s position.
     *
     * @throws IOException if it cannot take the rest now: the pump holds it and offers it again later
     */
    void onOutput(int fd, ByteBuffer data) throws IOException;

    /** onOutput failed with {@code why}: the job's output is held until a later offer succeeds. Once per hold. */
    default void onHeld(IOException why) {}

    /** The held output was taken; the pump reads the job's pipes again. */
    default void onResumed() {}

    /**
     * The job's output was held when {@link OutputPump.Pumping#discardUnwritable()} asked to give it up:
     * {@code bytes} bytes (the kept chunk and what was left in the pipes) were read and dropped. Called just
     * before onClosed.
     */
    default void onDiscarded(long bytes, IOException why) {}

    /** Both streams ended (EOF, a read error, a failed sink, or the pump closing); called once, last. */
    void onClosed();
}
