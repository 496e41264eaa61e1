package io.rund.job;

import io.rund.logs.LogRecord;
import io.rund.logs.LogStore;
import io.rund.logs.LogStream;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The daemon's file descriptors per job, counted in /proc/self/fd by what each one points at: a running job holds
 * its pidfd and two pipes (and its log once it has written), a finished job holds nothing, and its log stays
 * fully readable and followable.
 */
class JobDescriptorsTest {

    private static final int ENDED_JOBS = 300;
    private static final int RUNNING_JOBS = 50;
    private static final int FOLLOWED_JOBS = 60;
    /**
     * Descriptors the JVM and the engine may open for good while the test runs, whatever the number of jobs: a
     * jar or a selector opened on first use. A descriptor per job would exceed it many times over.
     */
    private static final int FIRST_USE_ALLOWANCE = 8;
    /** Only guards against a hang; nothing here is a performance claim. */
    private static final Duration HANG_GUARD = Duration.ofMinutes(3);
    private static final Path OWN_DESCRIPTORS = Path.of("/proc/self/fd");

    @TempDir
    Path scratch;

    @Test
    void threeHundredEndedJobsLeaveTheDescriptorCountWhereItWasAndTheirLogsReadable() throws Exception {
        Path state = scratch.resolve("state");
        try (EngineFixture engine = new EngineFixture(state, Duration.ofSeconds(5))) {
            warmUp(engine);
            Census before = Census.now(state);

            Map<String, Integer> jobs = new LinkedHashMap<>();
            for (int i = 0; i < ENDED_JOBS; i++) {
                jobs.put(engine.started(JobSpec.of("sh", "-c", "echo out $0; echo err $0 >&2", Integer.toString(i))), i);
            }
            for (String id : jobs.keySet()) {
                assertEquals(0, engine.awaitEnd(id).exitCode());
            }
            awaitLogsLetGo(state);
            Census after = Census.now(state);
            System.out.printf("%d ended jobs: %d descriptors before, %d after (%.2f per ended job), %d on logs%n",
                    ENDED_JOBS, before.total, after.total, (after.total - before.total) / (double) ENDED_JOBS, after.logs);
            assertEquals(0, after.logs, "an ended job's log holds no descriptor");
            assertTrue(after.total <= before.total + FIRST_USE_ALLOWANCE,
                    "descriptors grew from " + before.total + " to " + after.total + " over " + ENDED_JOBS + " ended jobs");

            for (Map.Entry<String, Integer> job : jobs.entrySet()) {
                assertEquals("out " + job.getValue() + "\n", engine.stdout(job.getKey()));
                assertEquals("err " + job.getValue() + "\n",
                        new String(engine.output(job.getKey(), LogStream.STDERR), StandardCharsets.UTF_8));
            }
            List<CompletionStage<String>> followers = new ArrayList<>();
            List<String> expected = new ArrayList<>();
            List<LogStore> followed = new ArrayList<>();
            for (Map.Entry<String, Integer> job : jobs.entrySet()) {
                if (followers.size() == FOLLOWED_JOBS) {
                    break;
                }
                LogStore log = engine.log(job.getKey());
                followed.add(log);
                for (int twice = 0; twice < 2; twice++) {
                    followers.add(log.follow(0, true).runWith(Sink.fold("", JobDescriptorsTest::appendTagged),
                            engine.testKit.system()));
                    expected.add("[STDOUT]out " + job.getValue() + "\n[STDERR]err " + job.getValue() + "\n");
                }
            }
            for (int f = 0; f < followers.size(); f++) {
                assertEquals(expected.get(f), followers.get(f).toCompletableFuture().get(HANG_GUARD.toMinutes(), TimeUnit.MINUTES));
            }
            awaitCondition(() -> followed.stream().allMatch(log -> log.followerCount() == 0), "the followers left");
            assertEquals(0, Census.now(state).logs, "logs read and followed to the end hold no descriptor");
        }
    }

    @Test
    void aRunningJobHoldsItsPidfdAndTwoPipesAndItsLogOnlyOnceItHasWritten() throws Exception {
        Path state = scratch.resolve("state");
        try (EngineFixture engine = new EngineFixture(state, Duration.ofSeconds(5))) {
            Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxr-xr-x"));
            warmUp(engine);
            Path speak = fifo("speak");
            Path end = fifo("end");
            try (RandomAccessFile speakGate = new RandomAccessFile(speak.toFile(), "rw");
                 RandomAccessFile endGate = new RandomAccessFile(end.toFile(), "rw")) {
                Census before = Census.now(state);
                List<String> ids = new ArrayList<>();
                for (int i = 0; i < RUNNING_JOBS; i++) {
                    ids.add(engine.started(JobSpec.of("sh", "-c", "read l < " + speak + "; echo hi; read l < " + end)));
                }
                Set<String> jobPipes = new HashSet<>();
                for (String id : ids) {
                    Path jobFds = Path.of("/proc", Integer.toString(engine.status(id).pid()), "fd");
                    jobPipes.add(Files.readSymbolicLink(jobFds.resolve("1")).toString());
                    jobPipes.add(Files.readSymbolicLink(jobFds.resolve("2")).toString());
                }
                assertEquals(2 * RUNNING_JOBS, jobPipes.size(), "each job writes to two pipes of its own");
                Census silent = Census.now(state);
                System.out.printf("%d silent running jobs: %s (%.2f descriptors per job)%n", RUNNING_JOBS,
                        silent.minus(before), (silent.total - before.total) / (double) RUNNING_JOBS);
                assertEquals(RUNNING_JOBS, silent.pidfds - before.pidfds, "one pidfd per job");
                assertEquals(2 * RUNNING_JOBS, readEndsOf(jobPipes), "the read ends of each job's stdout and stderr");
                assertEquals(0, silent.logs, "a job that has written nothing holds no log descriptor");

                speakGate.write("go\n".repeat(RUNNING_JOBS).getBytes(StandardCharsets.US_ASCII));
                List<LogStore> logs = ids.stream().map(engine::log).toList();
                awaitCondition(() -> logs.stream().allMatch(log -> log.size() == "hi\n".length()), "every job wrote");
                Census written = Census.now(state);
                System.out.printf("%d running jobs that wrote: %s (%.2f descriptors per job)%n", RUNNING_JOBS,
                        written.minus(before), (written.total - before.total) / (double) RUNNING_JOBS);
                assertEquals(RUNNING_JOBS, written.logs, "each writer keeps its log open until the seal");

                endGate.write("go\n".repeat(RUNNING_JOBS).getBytes(StandardCharsets.US_ASCII));
                for (String id : ids) {
                    assertEquals(0, engine.awaitEnd(id).exitCode());
                    assertEquals("hi\n", engine.stdout(id));
                }
                awaitLogsLetGo(state);
                Census ended = Census.now(state);
                System.out.printf("the same jobs ended: %s%n", ended.minus(before));
                assertEquals(before.pidfds, ended.pidfds);
                assertEquals(0, readEndsOf(jobPipes));
                assertEquals(0, ended.logs);
            }
        }
    }

    /** Runs a job that writes and follows its log, so pools and classes used per job exist before any count. */
    private static void warmUp(EngineFixture engine) throws Exception {
        String id = engine.started(JobSpec.of("sh", "-c", "echo warm; echo up >&2"));
        engine.awaitEnd(id);
        assertEquals("warm\n", engine.stdout(id));
        engine.log(id).follow(0, true).runWith(Sink.ignore(), engine.testKit.system())
                .toCompletableFuture().get(HANG_GUARD.toMinutes(), TimeUnit.MINUTES);
    }

    private Path fifo(String name) throws Exception {
        Path fifo = scratch.resolve(name);
        // inheritIO: no pipes to the child, which the JDK would close at some later moment and blur the census.
        assertEquals(0, new ProcessBuilder("mkfifo", "-m", "666", fifo.toString()).inheritIO().start().waitFor());
        return fifo;
    }

    /** Descriptors of this process open on one of {@code pipes} (link targets such as "pipe:[1234]"). */
    private static long readEndsOf(Set<String> pipes) throws IOException {
        long count = 0;
        try (Stream<Path> fds = Files.list(OWN_DESCRIPTORS)) {
            for (Path fd : fds.toList()) {
                try {
                    if (pipes.contains(Files.readSymbolicLink(fd).toString())) {
                        count++;
                    }
                } catch (IOException closedMeanwhile) {
                    // not open any more: not counted
                }
            }
        }
        return count;
    }

    private static String appendTagged(String all, LogRecord record) {
        return all + "[" + record.stream() + "]" + new String(record.bytes(), StandardCharsets.UTF_8);
    }

    /** A final status is published before the log is forced to disk and let go: wait for that to follow. */
    private static void awaitLogsLetGo(Path state) throws InterruptedException {
        awaitCondition(() -> {
            try {
                return Census.now(state).logs == 0;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, "ended jobs' logs let go of their descriptors");
    }

    private static void awaitCondition(BooleanSupplier condition, String what) throws InterruptedException {
        long giveUp = System.nanoTime() + HANG_GUARD.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < giveUp, what);
            Thread.sleep(10);
        }
    }

    /** This process's open descriptors now: all of them, and those that are pidfds, pipes, and job logs. */
    private record Census(long total, long pidfds, long pipes, long logs) {

        static Census now(Path stateDirectory) throws IOException {
            String logs = stateDirectory.toAbsolutePath().resolve("logs") + "/";
            long total = 0;
            long pidfds = 0;
            long pipes = 0;
            long logFiles = 0;
            try (Stream<Path> fds = Files.list(OWN_DESCRIPTORS)) {
                for (Path fd : fds.toList()) {
                    String target;
                    try {
                        target = Files.readSymbolicLink(fd).toString();
                    } catch (IOException closedMeanwhile) {
                        continue;
                    }
                    total++;
                    if (target.equals("anon_inode:[pidfd]")) {
                        pidfds++;
                    } else if (target.startsWith("pipe:")) {
                        pipes++;
                    } else if (target.startsWith(logs)) {
                        logFiles++;
                    }
                }
            }
            return new Census(total, pidfds, pipes, logFiles);
        }

        String minus(Census before) {
            return String.format("+%d descriptors (+%d pidfds, +%d pipes, +%d logs)", total - before.total,
                    pidfds - before.pidfds, pipes - before.pipes, logs - before.logs);
        }
    }
}
