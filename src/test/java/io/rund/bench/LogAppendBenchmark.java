package io.rund.bench;

import io.rund.linux.Fds;
import io.rund.linux.Pipes;
import io.rund.linux.PositionalFiles;
import io.rund.logs.LogStore;
import io.rund.logs.LogStream;
import io.rund.logs.LogWriter;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

/**
 * The cost of moving a job's output from its pipe into its log, the two ways: spliced (what rund does: FIONREAD,
 * the record header, splice pipe → file) and copied (what it did before: read into a buffer, then one pwrite of
 * header and payload). A thread keeps a FIFO full; the log is written in records of at most RECORD bytes (64 KiB:
 * bulk output; 512: many small records, where the per-record system calls show). Prints MB/s and µs per record,
 * the two ways alternating, each REPEATS times. {@code java LogAppendBenchmark [MIB_PER_RUN] [REPEATS]}.
 */
public final class LogAppendBenchmark {

    private static final int KIB = 1024;
    private static final int MIB = 1024 * KIB;
    private static final int[] RECORD_SIZES = {64 * KIB, 512};
    private static final int FILL_CHUNK_BYTES = 64 * KIB;
    private static final long EMPTY_PIPE_PARK_NANOS = 10_000;

    private LogAppendBenchmark() {}

    public static void main(String[] args) throws Exception {
        long bytesPerRun = (args.length > 0 ? Long.parseLong(args[0]) : 256) * MIB;
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Path dir = Files.createTempDirectory("rund-log-append-");
        try {
            for (int recordBytes : RECORD_SIZES) {
                for (int repeat = 0; repeat < repeats; repeat++) {
                    for (boolean spliced : new boolean[] {true, false}) {
                        run(dir, spliced, recordBytes, bytesPerRun, repeat);
                    }
                }
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path file : files.toList()) {
                    Files.delete(file);
                }
            }
            Files.delete(dir);
        }
    }

    private static void run(Path dir, boolean spliced, int recordBytes, long total, int repeat) throws Exception {
        Path fifo = dir.resolve("out.fifo");
        Path log = dir.resolve("job.log");
        Files.deleteIfExists(fifo);
        Files.deleteIfExists(log);
        if (new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start().waitFor() != 0) {
            throw new IOException("mkfifo " + fifo + " failed");
        }
        try (RandomAccessFile writeEnd = new RandomAccessFile(fifo.toFile(), "rw");
             LogStore store = LogStore.create(log);
             Arena arena = Arena.ofConfined()) {
            Thread filler = Thread.ofPlatform().name("fifo-filler").start(() -> fill(writeEnd, total));
            int readEnd = PositionalFiles.openExisting(fifo);
            LogWriter writer = store.writer();
            MemorySegment buffer = arena.allocate(recordBytes);
            long records = 0;
            long start = System.nanoTime();
            try {
                for (long moved = 0; moved < total; ) {
                    long took = spliced ? spliceOnce(writer, readEnd, recordBytes) : copyOnce(writer, readEnd, buffer);
                    if (took == 0) {
                        LockSupport.parkNanos(EMPTY_PIPE_PARK_NANOS);
                        continue;
                    }
                    moved += took;
                    records++;
                }
            } finally {
                Fds.close(readEnd);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            filler.join();
            System.out.printf(Locale.ROOT, "%-7s records of up to %6d B, run %d: %8.1f MB/s, %7.2f µs per record (%d records)%n",
                    spliced ? "spliced" : "copied", recordBytes, repeat + 1, total / seconds / 1e6,
                    seconds * 1e6 / records, records);
        }
    }

    /** What the output pump does now: FIONREAD, then the record's header, then splice. */
    private static long spliceOnce(LogWriter writer, int readEnd, int recordBytes) throws IOException {
        int available = Pipes.available(readEnd);
        return available == 0 ? 0 : writer.appendFromPipe(LogStream.STDOUT, readEnd, Math.min(available, recordBytes));
    }

    /** What it did before: read into its buffer, then one pwrite of header and payload. */
    private static long copyOnce(LogWriter writer, int readEnd, MemorySegment buffer) throws IOException {
        int read = Fds.read(readEnd, buffer);
        if (read <= 0) {
            return 0;
        }
        writer.append(LogStream.STDOUT, buffer.asSlice(0, read).asByteBuffer());
        return read;
    }

    private static void fill(RandomAccessFile writeEnd, long total) {
        byte[] chunk = new byte[FILL_CHUNK_BYTES];
        try {
            for (long left = total; left > 0; left -= FILL_CHUNK_BYTES) {
                writeEnd.write(chunk, 0, (int) Math.min(left, FILL_CHUNK_BYTES));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot fill the FIFO", e);
        }
    }
}
