package io.rund.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Locale;
import java.util.Random;
import java.util.zip.Deflater;

/**
 * Output like what jobs print (a build's or a service's log lines: timestamps, levels, threads, classes, paths,
 * numbers, hex ids and digests), generated from a fixed seed so that every run follows the same bytes. The
 * fan-out's burst is this text rather than one repeated byte, which any compressor would reduce to nothing.
 */
final class SampleLogText {

    private static final String[] LEVELS = {"INFO ", "INFO ", "INFO ", "INFO ", "INFO ", "INFO ", "INFO ", "DEBUG", "DEBUG", "WARN "};
    private static final String[] LOGGERS = {"io.example.build.Compiler", "io.example.build.TestRunner",
            "io.example.http.AccessLog", "io.example.cache.RemoteCache", "io.example.deploy.Uploader",
            "io.example.net.ConnectionPool", "io.example.db.Migrations", "io.example.sched.Worker"};
    private static final String[] MODULES = {"core", "api", "cli", "storage", "scheduler", "auth", "metrics", "web"};
    private static final String[] TESTS = {"startsAJob", "followsItsOutput", "resumesAtAnOffset", "refusesAStranger",
            "stopsWithinTheGracePeriod", "keepsTheExitCode", "listsPageByPage", "survivesARestart"};
    private static final int PIECE_BYTES = 64 * 1024;

    /** The size of {@link #file()}: large enough that a job repeating it is not mostly one cached page. */
    static final int FILE_BYTES = 4 * 1024 * 1024;

    /** {@link #file()}'s path, written on first use by this bench process and removed at its exit. */
    private static volatile Path file;

    private SampleLogText() {}

    /** A file of {@link #FILE_BYTES} of the text that jobs can read: a job repeats it to print log lines fast. */
    static synchronized Path file() throws IOException {
        if (file == null) {
            Path made = Path.of("/tmp", "rund-bench-sample-" + java.util.UUID.randomUUID() + ".log");
            write(made, FILE_BYTES);
            made.toFile().deleteOnExit();
            file = made;
        }
        return file;
    }

    /** A shell command printing {@code bytes} of the text (the file, over and over, cut at that length). */
    static String command(long bytes) throws IOException {
        return "while cat " + file() + "; do :; done | head -c " + bytes;
    }

    /** Writes {@code bytes} of the text to {@code file} (readable by every user: a job reads it). */
    static Path write(Path file, int bytes) throws IOException {
        Files.write(file, text(bytes));
        return file;
    }

    static byte[] text(int bytes) {
        Random random = new Random(20261206L);
        StringBuilder out = new StringBuilder(bytes + 256);
        long micros = Instant.parse("2026-12-06T07:00:00Z").toEpochMilli() * 1000;
        while (out.length() < bytes) {
            micros += random.nextInt(40_000);
            Instant at = Instant.ofEpochSecond(micros / 1_000_000, micros % 1_000_000 * 1000);
            out.append(at).append(' ').append(LEVELS[random.nextInt(LEVELS.length)])
                    .append(" [worker-").append(random.nextInt(16)).append("] ")
                    .append(LOGGERS[random.nextInt(LOGGERS.length)]).append(" - ").append(message(random)).append('\n');
        }
        return out.substring(0, bytes).getBytes(StandardCharsets.US_ASCII);
    }

    private static String message(Random random) {
        String module = MODULES[random.nextInt(MODULES.length)];
        return switch (random.nextInt(6)) {
            case 0 -> String.format(Locale.ROOT, "compiled %d sources of module %s in %d ms (%d warnings)",
                    random.nextInt(400), module, random.nextInt(9000), random.nextInt(5));
            case 1 -> String.format(Locale.ROOT, "GET /api/v1/%s/jobs/%s 200 %d bytes in %.1f ms",
                    module, hex(random, 16), random.nextInt(100_000), random.nextDouble() * 50);
            case 2 -> String.format(Locale.ROOT, "cache miss for %s/%s, fetched %d bytes from cache-%d.internal",
                    module, hex(random, 12), random.nextInt(5_000_000), random.nextInt(8));
            case 3 -> String.format(Locale.ROOT, "test %sTest.%s passed in %d ms",
                    Character.toUpperCase(module.charAt(0)) + module.substring(1), TESTS[random.nextInt(TESTS.length)],
                    random.nextInt(3000));
            case 4 -> String.format(Locale.ROOT, "uploaded %s-1.%d.%d.tar.gz (%d bytes, sha256 %s)",
                    module, random.nextInt(20), random.nextInt(100), random.nextInt(50_000_000), hex(random, 64));
            default -> String.format(Locale.ROOT, "connection from 10.%d.%d.%d:%d closed after %d requests",
                    random.nextInt(256), random.nextInt(256), random.nextInt(256), 1024 + random.nextInt(60_000),
                    random.nextInt(500));
        };
    }

    private static String hex(Random random, int digits) {
        StringBuilder hex = new StringBuilder(digits);
        for (int i = 0; i < digits; i++) {
            hex.append(Character.forDigit(random.nextInt(16), 16));
        }
        return hex.toString();
    }

    /** Compressed size over size with deflate's fastest level, each 64 KiB piece alone (as rund compresses records). */
    static double compressedShare(byte[] text) {
        Deflater deflater = new Deflater(Deflater.BEST_SPEED, true);
        byte[] out = new byte[PIECE_BYTES * 2];
        long compressed = 0;
        try {
            for (int at = 0; at < text.length; at += PIECE_BYTES) {
                deflater.reset();
                deflater.setInput(text, at, Math.min(PIECE_BYTES, text.length - at));
                deflater.finish();
                while (!deflater.finished()) {
                    compressed += deflater.deflate(out);
                }
            }
        } finally {
            deflater.end();
        }
        return (double) compressed / text.length;
    }
}
