package io.rund.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * syncfs(2) on the file system holding a directory: everything written to it (data and metadata, of every file) is on
 * the storage device when it returns. One call for many small files written together is a group commit: it costs
 * about one flush, where an fsync per file costs one flush each.
 */
public final class FileSystemSync {

    private static final int O_RDONLY = 0;
    private static final int O_DIRECTORY = 0200000;
    private static final int O_CLOEXEC = 02_000_000;
    private static final int NO_MODE = 0;

    private FileSystemSync() {}

    /** Forces to disk everything written to the file system of {@code directory}. */
    public static void syncFileSystemOf(Path directory) throws LinuxException {
        String path = directory.toString();
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(path);
            fd = (int) Libc.call("open", path,
                    state -> (int) Libc.OPEN.invokeExact(state, cPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC, NO_MODE));
        }
        try {
            Libc.call("syncfs", path, state -> (int) Libc.SYNCFS.invokeExact(state, fd));
        } finally {
            Fds.close(fd);
        }
    }
}
