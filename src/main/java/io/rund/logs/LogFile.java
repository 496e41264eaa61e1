package io.rund.logs;

import io.rund.linux.LinuxException;
import io.rund.linux.PositionalFiles;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.locks.StampedLock;

/**
 * The one open file descriptor of a job's log, shared by its writer and all its readers through positional reads
 * and writes (pread/pwrite: no file position is shared, so nobody waits on anybody, and a thread interrupt
 * cannot close it). It also frees the storage of dropped segments by punching holes, keeping every offset where
 * it is. Every call holds a shared lock that {@link #close()} takes exclusively, so the descriptor number can
 * never be closed, and reused by another file, under a call still using it.
 */
final class LogFile implements AutoCloseable {

    /** rw------- : the log holds the job's output, for rund's own user only. */
    private static final int OWNER_READ_WRITE = 0600;

    private final Path path;
    private final int fd;
    private final StampedLock use = new StampedLock();
    private boolean closed; // guarded by use (written under the write lock)

    private LogFile(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    /** Creates {@code path} (which must not exist, in an existing directory) with mode 0600 and opens it. */
    static LogFile createNew(Path path) throws IOException {
        return new LogFile(path, PositionalFiles.createNew(path, OWNER_READ_WRITE));
    }

    Path path() {
        return path;
    }

    /** Writes all of {@code source} at {@code position}; on success the buffer is consumed. */
    void writeFully(ByteBuffer source, long position) throws IOException {
        long stamp = enter("write", position);
        try (Arena scratch = source.isDirect() ? null : Arena.ofConfined()) {
            MemorySegment bytes = nativeView(source, scratch);
            long done = 0;
            while (done < bytes.byteSize()) {
                done += PositionalFiles.write(fd, bytes.asSlice(done), position + done, path);
            }
            source.position(source.limit());
        } catch (LinuxException e) {
            throw failure("write", position, e);
        } finally {
            use.unlockRead(stamp);
        }
    }

    /**
     * Reads from {@code position} until {@code target} is full or the file ends; returns the bytes read. A hole
     * punched by a dropped segment reads as zeros.
     */
    int readUpTo(ByteBuffer target, long position) throws IOException {
        long stamp = enter("read", position);
        try (Arena scratch = target.isDirect() ? null : Arena.ofConfined()) {
            MemorySegment into = scratch == null
                    ? MemorySegment.ofBuffer(target)
                    : scratch.allocate(Math.max(1, target.remaining())).asSlice(0, target.remaining());
            long done = 0;
            while (done < into.byteSize()) {
                long n = PositionalFiles.read(fd, into.asSlice(done), position + done, path);
                if (n == 0) {
                    break;
                }
                done += n;
            }
            if (scratch != null) {
                target.put(target.position(), into.asSlice(0, done).asByteBuffer(), 0, (int) done);
            }
            target.position(target.position() + (int) done);
            return (int) done;
        } catch (LinuxException e) {
            throw failure("read", position, e);
        } finally {
            use.unlockRead(stamp);
        }
    }

    /** Forces written data (and the file size) to the storage device. */
    void force() throws IOException {
        long stamp = enter("sync", 0);
        try {
            PositionalFiles.syncData(fd, path);
        } catch (LinuxException e) {
            throw failure("sync", 0, e);
        } finally {
            use.unlockRead(stamp);
        }
    }

    /**
     * Frees the storage of [{@code position}, {@code position + length}); it reads as zeros from now on. Returns
     * false if the file system cannot punch holes (the bytes then stay on disk).
     */
    boolean punchHole(long position, long length) throws IOException {
        long stamp = enter("punch a hole in", position);
        try {
            return PositionalFiles.punchHole(fd, position, length, path);
        } catch (LinuxException e) {
            throw failure("punch a hole in", position, e);
        } finally {
            use.unlockRead(stamp);
        }
    }

    /** Closes the descriptor once no call uses it any more. Idempotent. */
    @Override
    public void close() throws IOException {
        long stamp = use.writeLock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            PositionalFiles.close(fd);
        } catch (LinuxException e) {
            throw new IOException("cannot close log file " + path + ": " + e.getMessage(), e);
        } finally {
            use.unlockWrite(stamp);
        }
    }

    private long enter(String what, long position) throws IOException {
        long stamp = use.readLock();
        if (closed) {
            use.unlockRead(stamp);
            throw new IOException("cannot " + what + " log file " + path + " at position " + position
                    + ": the log is closed");
        }
        return stamp;
    }

    private static MemorySegment nativeView(ByteBuffer buffer, Arena scratch) {
        if (scratch == null) {
            return MemorySegment.ofBuffer(buffer);
        }
        MemorySegment copy = scratch.allocate(Math.max(1, buffer.remaining())).asSlice(0, buffer.remaining());
        copy.copyFrom(MemorySegment.ofBuffer(buffer));
        return copy;
    }

    private IOException failure(String what, long position, LinuxException e) {
        return new IOException("cannot " + what + " log file " + path + " at position " + position + ": "
                + e.getMessage(), e);
    }
}
