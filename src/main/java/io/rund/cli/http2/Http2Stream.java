package io.rund.cli.http2;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.List;

/**
 * One HTTP/2 stream of a client connection: what the server sent on it (header blocks and data, in order) for
 * the caller to take, and the flow-control bookkeeping. Data the caller takes is credited back to the server in
 * WINDOW_UPDATEs, so a caller that stops reading stops the server (back-pressure); the connection's reader thread
 * never blocks on a stream.
 */
public final class Http2Stream {

    /** What arrived on the stream: a header block or a piece of data; {@code endOfStream} if the server is done. */
    public sealed interface Inbound {
        boolean endOfStream();
    }

    public record Headers(List<Header> headers, boolean endOfStream) implements Inbound {}

    public record Data(byte[] bytes, boolean endOfStream) implements Inbound {}

    /** The caller's deadline passed before anything arrived. */
    public static final class DeadlineExceededException extends IOException {
        DeadlineExceededException(long waitedNanos) {
            super("no answer within " + waitedNanos / 1_000_000 + " ms");
        }
    }

    private final Http2Connection connection;
    private final int id;
    private final ArrayDeque<Inbound> inbound = new ArrayDeque<>();
    /** Guarded by this: set when the stream fails (reset, connection lost); reported after what arrived before. */
    private IOException failure;
    private boolean remoteClosed;
    private boolean released;
    /** Guarded by the connection's flow lock: how much DATA we may still send. */
    long sendWindow;
    /** Guarded by this: bytes taken by the caller and not yet credited back. */
    private int uncredited;

    Http2Stream(Http2Connection connection, int id, long sendWindow) {
        this.connection = connection;
        this.id = id;
        this.sendWindow = sendWindow;
    }

    public int id() {
        return id;
    }

    /** Sends {@code data} as DATA frames within the flow-control windows; {@code endOfStream} closes our side. */
    public void send(byte[] data, boolean endOfStream) throws IOException {
        connection.sendData(this, data, endOfStream);
    }

    /**
     * The next thing the server sent, waiting at most until {@code deadlineNanos} (a System.nanoTime() value).
     * After the item with endOfStream there is nothing more: a further call fails.
     */
    public Inbound next(long deadlineNanos) throws IOException, InterruptedException {
        Inbound item;
        synchronized (this) {
            long begin = System.nanoTime();
            while (inbound.isEmpty()) {
                if (failure != null) {
                    throw failure;
                }
                if (remoteClosed) {
                    throw new IOException("HTTP/2 stream " + id + " has ended");
                }
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    throw new DeadlineExceededException(System.nanoTime() - begin);
                }
                wait(left / 1_000_000, (int) (left % 1_000_000));
            }
            item = inbound.removeFirst();
        }
        if (item instanceof Data data) {
            credit(data.bytes().length);
        }
        if (item.endOfStream()) {
            release();
        }
        return item;
    }

    /** Abandons the stream: RST_STREAM(CANCEL) if the server is not done with it yet. */
    public void cancel() {
        boolean open;
        synchronized (this) {
            open = !remoteClosed && failure == null;
            if (failure == null) {
                failure = new IOException("HTTP/2 stream " + id + " was cancelled");
            }
            notifyAll();
        }
        if (open) {
            connection.resetQuietly(id, Http2Connection.CANCEL);
        }
        release();
    }

    // Called by the connection's reader thread.

    synchronized void received(Inbound item) {
        if (failure != null || remoteClosed) {
            return;
        }
        inbound.addLast(item);
        remoteClosed = item.endOfStream();
        notifyAll();
    }

    synchronized void fail(IOException cause) {
        if (failure == null && !remoteClosed) {
            failure = cause;
            notifyAll();
        }
    }

    synchronized boolean isDone() {
        return remoteClosed || failure != null;
    }

    private void credit(int bytes) {
        int update = 0;
        synchronized (this) {
            if (remoteClosed) {
                return; // the server sends nothing more: no credit needed
            }
            uncredited += bytes;
            if (uncredited >= Http2Connection.STREAM_WINDOW / 2) {
                update = uncredited;
                uncredited = 0;
            }
        }
        if (update > 0) {
            connection.windowUpdateQuietly(id, update);
        }
    }

    private void release() {
        synchronized (this) {
            if (released) {
                return;
            }
            released = true;
        }
        connection.released(this);
    }
}
