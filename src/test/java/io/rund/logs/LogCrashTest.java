package io.rund.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 at random moments of a process pumping a job's output into its log, restarted each time on the same log
 * and the same pipes (FIFOs this test holds open, so output waits in them while nobody pumps, as it does in pipes
 * kept by a keeper process): the log ends up holding exactly the bytes written, each once, in order, with
 * continuous offsets. The writers and the pumping process are real separate JVMs; SIGKILL goes to the pump by pid.
 */
class LogCrashTest {

    private static final int ROUNDS = 40;
    private static final long STDOUT_BYTES = 32L * 1024 * 1024;
    private static final long STDERR_BYTES = 16L * 1024 * 1024;
    private static final long STDOUT_SEED = 11;
    private static final long STDERR_SEED = 22;
    /** Every this many rounds the kill comes at a random moment of start-up and recovery, not of pumping. */
    private static final int EARLY_KILL_EVERY = 4;
    private static final int MAX_EARLY_KILL_MILLIS = 600;
    private static final int MAX_PUMPING_KILL_MILLIS = 400;
    /** Not timing thresholds: only keep a broken run from hanging the build. */
    private static final long HANG_GUARD_SECONDS = 300;
    private static final long POLL_MILLIS = 10;
    private static final String PUMPING = "pumping from offset";

    @TempDir
    Path dir;

    @Test
    void aLogPumpedByAProcessKilledFortyTimesHoldsEveryByteWrittenOnceInOrder() throws Exception {
        Path stdoutFifo = fifo("stdout");
        Path stderrFifo = fifo("stderr");
        Path log = dir.resolve("job.log");
        List<Process> started = new ArrayList<>();
        // Held open read-write while the pumps are killed: the FIFOs never end, and output waits in them.
        RandomAccessFile holdStdout = new RandomAccessFile(stdoutFifo.toFile(), "rw");
        RandomAccessFile holdStderr = new RandomAccessFile(stderrFifo.toFile(), "rw");
        try {
            Process stdoutWriter = java(started, "writer-stdout", PseudoRandomStream.class, stdoutFifo.toString(),
                    Long.toString(STDOUT_SEED), Long.toString(STDOUT_BYTES));
            Process stderrWriter = java(started, "writer-stderr", PseudoRandomStream.class, stderrFifo.toString(),
                    Long.toString(STDERR_SEED), Long.toString(STDERR_BYTES));
            SplittableRandom random = new SplittableRandom(7);
            int killsWhileWriting = 0;
            for (int round = 0; round < ROUNDS; round++) {
                Path output = dir.resolve("pump-" + round + ".out");
                Process pump = java(started, "pump-" + round, LogPumpProcess.class, stdoutFifo.toString(),
                        stderrFifo.toString(), log.toString());
                if (round % EARLY_KILL_EVERY == EARLY_KILL_EVERY - 1) {
                    Thread.sleep(random.nextInt(MAX_EARLY_KILL_MILLIS));
                } else {
                    awaitPumping(pump, output);
                    Thread.sleep(random.nextInt(MAX_PUMPING_KILL_MILLIS));
                }
                if (!pump.isAlive()) {
                    fail("pump round " + round + " ended by itself (" + pump.exitValue() + "): "
                            + Files.readString(output));
                }
                if (stdoutWriter.isAlive() || stderrWriter.isAlive()) {
                    killsWhileWriting++;
                }
                pump.destroyForcibly(); // SIGKILL, by pid
                assertTrue(pump.waitFor(HANG_GUARD_SECONDS, TimeUnit.SECONDS), "pump round " + round + " was killed");
            }
            Process last = java(started, "pump-last", LogPumpProcess.class, stdoutFifo.toString(),
                    stderrFifo.toString(), log.toString());
            // It must hold the FIFOs' read ends before the holds below close: a FIFO whose last descriptor closes drops
            // what waits in it, and a read end opened with no writer left never sees the end (no POLLHUP). Writers with
            // less than a pipe's worth left finish without any reader, so without this wait a slow pump start (a loaded
            // CI host) found FIFOs that never ended, and lost their last bytes.
            awaitPumping(last, dir.resolve("pump-last.out"));
            assertTrue(stdoutWriter.waitFor(HANG_GUARD_SECONDS, TimeUnit.SECONDS), "the stdout writer finished");
            assertTrue(stderrWriter.waitFor(HANG_GUARD_SECONDS, TimeUnit.SECONDS), "the stderr writer finished");
            assertEquals(0, stdoutWriter.exitValue(), Files.readString(dir.resolve("writer-stdout.out")));
            assertEquals(0, stderrWriter.exitValue(), Files.readString(dir.resolve("writer-stderr.out")));
            holdStdout.close(); // no writer left: the last pump drains the FIFOs to their end, seals and exits
            holdStderr.close();
            assertTrue(last.waitFor(HANG_GUARD_SECONDS, TimeUnit.SECONDS), "the last pump drained the FIFOs");
            assertEquals(0, last.exitValue(), Files.readString(dir.resolve("pump-last.out")));
            System.out.printf("LogCrashTest: %d SIGKILLs (%d while the writers wrote), %d torn tails repaired%n",
                    ROUNDS, killsWhileWriting, repairsLogged());

            long total = STDOUT_BYTES + STDERR_BYTES;
            LogSpace space = LogSpace.create(LogSettings.unlimited());
            try (LogStore finished = space.openFinishedLog(log, null)) {
                Map<LogStream, MessageDigest> digests = new EnumMap<>(LogStream.class);
                digests.put(LogStream.STDOUT, MessageDigest.getInstance("SHA-256"));
                digests.put(LogStream.STDERR, MessageDigest.getInstance("SHA-256"));
                Map<LogStream, Long> bytes = new EnumMap<>(Map.of(LogStream.STDOUT, 0L, LogStream.STDERR, 0L));
                long cursor = 0;
                while (cursor < finished.size()) {
                    for (LogRecord record : finished.read(cursor, LogStore.MAX_BATCH_BYTES)) {
                        assertEquals(cursor, record.offset(), "offsets are continuous");
                        digests.get(record.stream()).update(record.bytes());
                        bytes.merge(record.stream(), (long) record.bytes().length, Long::sum);
                        cursor = record.endOffset();
                    }
                }
                assertEquals(total, finished.size(), "the log holds every byte written, once");
                assertEquals(STDOUT_BYTES, bytes.get(LogStream.STDOUT));
                assertEquals(STDERR_BYTES, bytes.get(LogStream.STDERR));
                assertEquals(PseudoRandomStream.sha256(STDOUT_SEED, STDOUT_BYTES),
                        HexFormat.of().formatHex(digests.get(LogStream.STDOUT).digest()), "stdout, byte for byte");
                assertEquals(PseudoRandomStream.sha256(STDERR_SEED, STDERR_BYTES),
                        HexFormat.of().formatHex(digests.get(LogStream.STDERR).digest()), "stderr, byte for byte");
            }
        } finally {
            holdStdout.close();
            holdStderr.close();
            for (Process process : started) {
                process.destroyForcibly();
            }
        }
    }

    private Path fifo(String name) throws IOException, InterruptedException {
        Path fifo = dir.resolve(name + ".fifo");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).inheritIO().start();
        assertEquals(0, mkfifo.waitFor(), "mkfifo " + fifo);
        return fifo;
    }

    /** A JVM running {@code main}'s class with this test's class path, its output going to NAME.out. */
    private Process java(List<Process> started, String name, Class<?> main, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".out").toFile()).start();
        started.add(process);
        return process;
    }

    private static void awaitPumping(Process pump, Path output) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_GUARD_SECONDS);
        while (!Files.readString(output, StandardCharsets.ISO_8859_1).contains(PUMPING)) {
            if (!pump.isAlive() || System.nanoTime() > deadline) {
                fail("the pump never started pumping: " + Files.readString(output, StandardCharsets.ISO_8859_1));
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    /** How many of the pumps' recoveries repaired a torn last record (LogStore logs each repair). */
    private long repairsLogged() throws IOException {
        long repairs = 0;
        try (var outputs = Files.newDirectoryStream(dir, "pump-*.out")) {
            for (Path output : outputs) {
                String text = Files.readString(output, StandardCharsets.ISO_8859_1);
                if (text.contains("cut ")) {
                    repairs++;
                }
            }
        }
        return repairs;
    }
}
