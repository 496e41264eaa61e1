package io.rund.logs;

import io.rund.linux.LinuxException;
import io.rund.linux.PositionalFiles;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A job's log file and the one descriptor its writer and all its readers share through positional reads and
 * writes (pread/pwrite: no file position is shared, so nobody waits on anybody, and a thread interrupt cannot
 * close it). It also frees the storage of dropped segments by punching holes, keeping every offset where it is.
 * <p>
 * The descriptor is open only while the file is in use: it is opened by the first call that needs it, and closed
 * when no call is using it and nobody {@linkplain #hold() holds} it (the writer of a running job, the followers
 * of the log) — so a sealed log nobody reads costs no descriptor. Every call counts itself as a user while it
 * works with the descriptor number, and the number is closed only at zero users, so a call can never use a
 * number that was closed and reused for another file. A reopened file must be the one created (same device and
 * inode), so a log never reads another file's bytes.
 */
final class LogFile implements AutoCloseable {

    /** rw------- : the log holds the job's output, for rund's own user only. */
    private static final int OWNER_READ_WRITE = 0600;
    private static final int NO_FD = -1;
    private static final String IDENTITY = "unix:dev,ino";
    /** An open descriptor's own file, whatever its name is now. */
    private static final Path OWN_DESCRIPTORS = Path.of("/proc/self/fd");

    private final Path path;
    /** Device and inode of the file as created. */
    private final List<Object> identity;
    private final Object lock = new Object();
    /** Guarded by lock, like the counts below. */
    private int fd;
    /** Calls working with fd now. */
    private int users;
    /** Holders keeping fd open between calls. */
    private int holders;
    private boolean closed;

    private LogFile(Path path, List<Object> identity, int fd) {
        this.path = path;
        this.identity = identity;
        this.fd = fd;
    }

    /**
     * Creates {@code path} (which must not exist, in an existing directory) with mode 0600 and opens it. The file
     * comes held once, by its creator, who {@linkplain #release() releases} it when done writing its header.
     */
    static LogFile createNew(Path path) throws IOException {
        int fd = PositionalFiles.createNew(path, OWNER_READ_WRITE);
        List<Object> identity;
        try {
            identity = identified(fd, path, "the new log file");
        } catch (IOException failure) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException cleanup) {
                failure.addSuppressed(cleanup);
            }
            throw failure;
        }
        LogFile file = new LogFile(path, identity, fd);
        file.holders = 1;
        return file;
    }

    /**
     * Opens {@code path}, an existing log file (of a job that ended before this daemon started). No one holds it: the
     * descriptor closes once the calls that need it are done, and reopens on the next, as for a sealed log.
     */
    static LogFile openExisting(Path path) throws IOException {
        int fd = PositionalFiles.openExisting(path);
        List<Object> identity = identified(fd, path, "the log file");
        LogFile file = new LogFile(path, identity, fd);
        file.holders = 1;
        return file;
    }

    Path path() {
        return path;
    }

    /** Keeps the descriptor open between calls (once a call has opened it) until {@link #release()}. */
    void hold() {
        synchronized (lock) {
            holders++;
        }
    }

    /** Ends one {@link #hold()}; the last one out closes the descriptor if no call is using it. */
    void release() throws IOException {
        synchronized (lock) {
            if (holders == 0) {
                throw new IllegalStateException("log file " + path + " released more often than held");
            }
            holders--;
            closeIfUnusedLocked();
        }
    }

    /** Writes all of {@code source} at {@code position}; on success the buffer is consumed. */
    void writeFully(ByteBuffer source, long position) throws IOException {
        try (Use use = use("write", position); Arena scratch = source.isDirect() ? null : Arena.ofConfined()) {
            MemorySegment bytes = nativeView(source, scratch);
            long done = 0;
            while (done < bytes.byteSize()) {
                done += PositionalFiles.write(use.fd, bytes.asSlice(done), position + done, path);
            }
            source.position(source.limit());
        } catch (LinuxException e) {
            throw failure("write", position, e);
        }
    }

    /**
     * Reads from {@code position} until {@code target} is full or the file ends; returns the bytes read. A hole
     * punched by a dropped segment reads as zeros.
     */
    int readUpTo(ByteBuffer target, long position) throws IOException {
        try (Use use = use("read", position); Arena scratch = target.isDirect() ? null : Arena.ofConfined()) {
            MemorySegment into = scratch == null
                    ? MemorySegment.ofBuffer(target)
                    : scratch.allocate(Math.max(1, target.remaining())).asSlice(0, target.remaining());
            long done = 0;
            while (done < into.byteSize()) {
                long n = PositionalFiles.read(use.fd, into.asSlice(done), position + done, path);
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
        }
    }

    /** Forces written data (and the file size) to the storage device. */
    void force() throws IOException {
        try (Use use = use("sync", 0)) {
            PositionalFiles.syncData(use.fd, path);
        } catch (LinuxException e) {
            throw failure("sync", 0, e);
        }
    }

    /**
     * Frees the storage of [{@code position}, {@code position + length}); it reads as zeros from now on. Returns
     * false if the file system cannot punch holes (the bytes then stay on disk).
     */
    boolean punchHole(long position, long length) throws IOException {
        try (Use use = use("punch a hole in", position)) {
            return PositionalFiles.punchHole(use.fd, position, length, path);
        } catch (LinuxException e) {
            throw failure("punch a hole in", position, e);
        }
    }

    /**
     * No call may start from now on; the descriptor is closed at once, or by the last call still using it.
     * Holds no longer keep it open. Idempotent.
     */
    @Override
    public void close() throws IOException {
        synchronized (lock) {
            closed = true;
            closeIfUnusedLocked();
        }
    }

    /** One call's use of the descriptor: counted from {@link #use} until closed. */
    private final class Use implements AutoCloseable {
        final int fd;

        Use(int fd) {
            this.fd = fd;
        }

        @Override
        public void close() throws IOException {
            synchronized (lock) {
                users--;
                closeIfUnusedLocked();
            }
        }
    }

    private Use use(String what, long position) throws IOException {
        synchronized (lock) {
            if (closed) {
                throw new IOException("cannot " + what + " log file " + path + " at position " + position
                        + ": the log is closed");
            }
            if (fd == NO_FD) {
                fd = reopen();
            }
            users++;
            return new Use(fd);
        }
    }

    private int reopen() throws IOException {
        int reopened = PositionalFiles.openExisting(path);
        List<Object> found;
        try {
            found = identityOf(reopened);
        } catch (IOException e) {
            closeAfterFailure(reopened, e);
            throw new IOException("cannot identify the reopened log file " + path + ": " + e.getMessage(), e);
        }
        if (!found.equals(identity)) {
            IOException replaced = new IOException("log file " + path + " was replaced: it was created as (dev, ino) "
                    + identity + " and is now " + found);
            closeAfterFailure(reopened, replaced);
            throw replaced;
        }
        return reopened;
    }

    private void closeIfUnusedLocked() throws IOException {
        if (fd == NO_FD || users > 0 || (holders > 0 && !closed)) {
            return;
        }
        int closing = fd;
        fd = NO_FD;
        try {
            PositionalFiles.close(closing);
        } catch (LinuxException e) {
            throw new IOException("cannot close log file " + path + ": " + e.getMessage(), e);
        }
    }

    /** The identity of the file open as {@code fd}; if it cannot be read, {@code fd} is closed and the failure says so. */
    private static List<Object> identified(int fd, Path path, String which) throws IOException {
        try {
            return identityOf(fd);
        } catch (IOException e) {
            IOException failure = new IOException("cannot identify " + which + " " + path + ": " + e.getMessage(), e);
            closeAfterFailure(fd, failure);
            throw failure;
        }
    }

    private static List<Object> identityOf(int fd) throws IOException {
        Map<String, Object> attributes = Files.readAttributes(OWN_DESCRIPTORS.resolve(Integer.toString(fd)), IDENTITY);
        return List.of(attributes.get("dev"), attributes.get("ino"));
    }

    private static void closeAfterFailure(int fd, IOException failure) {
        try {
            PositionalFiles.close(fd);
        } catch (LinuxException e) {
            failure.addSuppressed(e);
        }
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
