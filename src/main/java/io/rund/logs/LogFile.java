package io.rund.logs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The one open file handle of a job's log, shared by its writer and all its readers through positional reads
 * and writes (no file position is shared, so nobody waits on anybody).
 * <p>
 * A {@link FileChannel} closes itself when a thread blocked in it is interrupted, which would let one
 * interrupted follower break the log for the job and every other follower. So each operation runs with the
 * caller's interrupt status cleared (and restored afterwards), and should an interrupt still land mid-call,
 * the handle is reopened and the operation repeated; only {@link #close()} really closes it.
 */
final class LogFile implements AutoCloseable {

    private static final FileAttribute<Set<PosixFilePermission>> OWNER_READ_WRITE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

    private final Path path;
    private final Object reopenLock = new Object();
    private volatile FileChannel channel;
    private volatile boolean closed;

    private LogFile(Path path, FileChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    /** Creates {@code path} (which must not exist, in an existing directory) with mode 0600 and opens it. */
    static LogFile createNew(Path path) throws IOException {
        FileChannel channel = FileChannel.open(path,
                Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE),
                OWNER_READ_WRITE);
        return new LogFile(path, channel);
    }

    Path path() {
        return path;
    }

    /** Writes all of {@code source} at {@code position}; on success the buffer is consumed. */
    void writeFully(ByteBuffer source, long position) throws IOException {
        int start = source.position();
        run("write", position, ch -> {
            source.position(start);
            long at = position;
            while (source.hasRemaining()) {
                at += ch.write(source, at);
            }
            return null;
        });
    }

    /**
     * Reads from {@code position} until {@code target} is full or the file ends; returns the bytes read.
     */
    int readUpTo(ByteBuffer target, long position) throws IOException {
        int start = target.position();
        return run("read", position, ch -> {
            target.position(start);
            long at = position;
            while (target.hasRemaining()) {
                int n = ch.read(target, at);
                if (n < 0) {
                    break;
                }
                at += n;
            }
            return target.position() - start;
        });
    }

    /** Forces written data (and the file size) to the storage device. */
    void force() throws IOException {
        run("force", 0, ch -> {
            ch.force(false);
            return null;
        });
    }

    @Override
    public void close() throws IOException {
        synchronized (reopenLock) {
            closed = true;
            channel.close();
        }
    }

    private interface ChannelCall<T> {
        T on(FileChannel channel) throws IOException;
    }

    private <T> T run(String what, long position, ChannelCall<T> call) throws IOException {
        boolean interrupted = Thread.interrupted();
        try {
            while (true) {
                FileChannel current = channel;
                try {
                    return call.on(current);
                } catch (ClosedChannelException e) {
                    interrupted |= Thread.interrupted();
                    reopenUnlessClosed(current, what, e);
                } catch (IOException e) {
                    throw new IOException("cannot " + what + " log file " + path + " at position " + position
                            + ": " + e.getMessage(), e);
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void reopenUnlessClosed(FileChannel failed, String what, ClosedChannelException cause)
            throws IOException {
        synchronized (reopenLock) {
            if (closed) {
                throw new IOException("cannot " + what + " log file " + path + ": the log is closed", cause);
            }
            if (channel == failed) {
                try {
                    channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
                } catch (IOException e) {
                    e.addSuppressed(cause);
                    throw new IOException("cannot reopen log file " + path + " after an interrupt closed it: "
                            + e.getMessage(), e);
                }
            }
        }
    }
}
