package io.rund.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * What a process costs the host, read from /proc: its threads, resident memory and open file descriptors; and what a
 * daemon keeps in a directory of its state (records, logs). The scale figures of {@link ScaleBench} (a daemon process
 * of its own), the VM's scale proof (the engine in the proof's own JVM), the soak ({@link SoakBench}) and the tests'
 * daemons (io.rund.api.DaemonProcess, the soak invariants) are all read the same way.
 */
public final class ProcessFigures {

    private static final long KIB = 1024;

    private ProcessFigures() {}

    /** /proc/PID/status Threads. */
    public static int threads(long pid) throws IOException {
        return (int) statusField(pid, "Threads");
    }

    /** /proc/PID/status VmRSS, in bytes. */
    public static long rssBytes(long pid) throws IOException {
        return statusField(pid, "VmRSS") * KIB;
    }

    /** Entries of /proc/PID/fd (for the calling process, including the one this listing holds open). */
    public static int openFiles(long pid) throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            return (int) fds.count();
        }
    }

    /** Regular files directly in a directory, and their bytes together. */
    public record DirectoryFiles(long files, long bytes) {}

    /** The regular files directly in {@code dir} (none if it does not exist; a file removed while counting is skipped). */
    public static DirectoryFiles files(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return new DirectoryFiles(0, 0);
        }
        long files = 0;
        long bytes = 0;
        try (Stream<Path> children = Files.list(dir)) {
            for (Path child : (Iterable<Path>) children::iterator) {
                try {
                    if (Files.isRegularFile(child)) {
                        bytes += Files.size(child);
                        files++;
                    }
                } catch (IOException gone) {
                    // removed by retention meanwhile
                }
            }
        }
        return new DirectoryFiles(files, bytes);
    }

    private static long statusField(long pid, String field) throws IOException {
        Path status = Path.of("/proc", Long.toString(pid), "status");
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").strip());
            }
        }
        throw new IOException(status + " has no " + field);
    }
}
