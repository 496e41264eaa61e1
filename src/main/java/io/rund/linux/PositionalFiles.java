package io.rund.linux;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Positional I/O on a regular file through its raw descriptor: pread/pwrite (no shared file position, so any
 * number of threads use one descriptor at once, and no thread interrupt can close it), fdatasync, and
 * punching holes, which java.nio cannot do. Used by the job logs, which open a descriptor while they are in use.
 */
public final class PositionalFiles {

    private static final int O_RDWR = 02;
    private static final int O_CREAT = 0100;
    private static final int O_EXCL = 0200;
    private static final int O_CLOEXEC = 02_000_000;
    private static final int NO_MODE = 0;
    private static final int EEXIST = 17;
    private static final int EOPNOTSUPP = 95;
    private static final int FALLOC_FL_KEEP_SIZE = 0x01;
    private static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    /** struct stat on x86_64 (glibc = kernel layout): 144 bytes, st_blocks (512-byte units) at 64. */
    private static final long STAT_SIZE = 144;
    private static final long ST_BLOCKS = 64;
    private static final long STAT_BLOCK_BYTES = 512;
    private static final int SEEK_END = 2;
    private static final MethodHandle FTRUNCATE = Libc.function("ftruncate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle LSEEK = Libc.function("lseek",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));

    private PositionalFiles() {}

    /**
     * Creates {@code path}, which must not exist, with permission bits {@code mode} (before the umask), and opens
     * it for reading and writing (close-on-exec).
     *
     * @throws FileAlreadyExistsException if it exists
     * @throws NoSuchFileException if its directory does not
     */
    public static int createNew(Path path, int mode) throws IOException {
        String name = path.toString();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(name);
            return (int) Libc.call("open", name,
                    state -> (int) Libc.OPEN.invokeExact(state, cPath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode));
        } catch (LinuxException e) {
            throw switch (e.errno()) {
                case EEXIST -> new FileAlreadyExistsException(name);
                case Libc.ENOENT -> new NoSuchFileException(name, null, e.getMessage());
                default -> e;
            };
        }
    }

    /**
     * Opens {@code path}, an existing regular file, for reading and writing (close-on-exec).
     *
     * @throws NoSuchFileException if it does not exist
     */
    public static int openExisting(Path path) throws IOException {
        String name = path.toString();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(name);
            return (int) Libc.call("open", name,
                    state -> (int) Libc.OPEN.invokeExact(state, cPath, O_RDWR | O_CLOEXEC, NO_MODE));
        } catch (LinuxException e) {
            if (e.errno() == Libc.ENOENT) {
                throw new NoSuchFileException(name, null, e.getMessage());
            }
            throw e;
        }
    }

    /** One pread(2) into {@code buffer} (native memory): the bytes read, 0 at end of file. */
    public static long read(int fd, MemorySegment buffer, long position, Object target) throws LinuxException {
        long length = buffer.byteSize();
        return Libc.call("pread", target, state -> (long) Libc.PREAD.invokeExact(state, fd, buffer, length, position));
    }

    /** One pwrite(2) from {@code buffer} (native memory): the bytes written. */
    public static long write(int fd, MemorySegment buffer, long position, Object target) throws LinuxException {
        long length = buffer.byteSize();
        return Libc.call("pwrite", target, state -> (long) Libc.PWRITE.invokeExact(state, fd, buffer, length, position));
    }

    /** fdatasync(2): the file's data, and its size, are on the storage device. */
    public static void syncData(int fd, Object target) throws LinuxException {
        Libc.call("fdatasync", target, state -> (int) Libc.FDATASYNC.invokeExact(state, fd));
    }

    /**
     * Frees the storage of [{@code position}, {@code position + length}) and makes it read as zeros, keeping the
     * file's size (fallocate PUNCH_HOLE | KEEP_SIZE). Returns false, having done nothing, if the file system
     * cannot punch holes.
     */
    public static boolean punchHole(int fd, long position, long length, Object target) throws LinuxException {
        return Libc.callTolerating(EOPNOTSUPP, "fallocate", target, state -> (int) Libc.FALLOCATE.invokeExact(
                state, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, position, length)) != -1;
    }

    /**
     * The bytes of storage {@code path} takes (stat(2)'s st_blocks times 512): less than its size where holes were
     * punched, which {@link java.nio.file.Files#size} cannot tell.
     *
     * @throws NoSuchFileException if it does not exist
     */
    public static long allocatedBytes(Path path) throws IOException {
        String name = path.toString();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(name);
            MemorySegment stat = arena.allocate(STAT_SIZE, Long.BYTES);
            Libc.call("stat", name, state -> (int) Libc.STAT.invokeExact(state, cPath, stat));
            return stat.get(ValueLayout.JAVA_LONG, ST_BLOCKS) * STAT_BLOCK_BYTES;
        } catch (LinuxException e) {
            if (e.errno() == Libc.ENOENT) {
                throw new NoSuchFileException(name, null, e.getMessage());
            }
            throw e;
        }
    }

    /** The file's size in bytes (lseek to its end; positional I/O never uses the file position). */
    public static long size(int fd, Object target) throws LinuxException {
        return Libc.call("lseek", target, state -> (long) LSEEK.invokeExact(state, fd, 0L, SEEK_END));
    }

    /** ftruncate(2): the file ends at {@code size}; bytes beyond are gone. */
    public static void truncate(int fd, long size, Object target) throws LinuxException {
        Libc.call("ftruncate", target, state -> (int) FTRUNCATE.invokeExact(state, fd, size));
    }

    /** Closes {@code fd} (see {@link Fds#close}). */
    public static void close(int fd) throws LinuxException {
        Fds.close(fd);
    }
}
