package io.rund.job;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Thousands of jobs at once: one exit thread, one pump thread, a fixed dispatcher — the thread count stays flat. */
class ManyJobsTest {

    private static final int JOBS = 2000;
    /** Threads the engine may add for any number of jobs: the two I/O threads plus pools that grow to a fixed size. */
    private static final int THREAD_ALLOWANCE = 24;

    @TempDir
    Path scratch;

    @Test
    void twoThousandConcurrentJobsWithAFlatThreadCountAndNothingLeftBehind() throws Exception {
        try (EngineFixture engine = new EngineFixture(scratch.resolve("state"), Duration.ofSeconds(5))) {
            Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxr-xr-x"));
            var threads = ManagementFactory.getThreadMXBean();
            engine.started(JobSpec.of("/bin/true")); // warm up the pools
            int baseline = threads.getThreadCount();

            // Every job blocks reading one line from a FIFO, so all of them run at once until the test releases them.
            Path gate = scratch.resolve("gate");
            assertEquals(0, new ProcessBuilder("mkfifo", "-m", "666", gate.toString()).start().waitFor());
            try (RandomAccessFile release = new RandomAccessFile(gate.toFile(), "rw")) {
                Map<String, Integer> expected = new HashMap<>();
                for (int i = 0; i < JOBS; i++) {
                    int code = i % 200;
                    String id = engine.started(JobSpec.of("sh", "-c", "read line < " + gate + "; exit " + code));
                    expected.put(id, code);
                }
                long running = engine.list(EngineFixture.ALICE).stream().filter(s -> s.state() == JobState.RUNNING).count();
                int peak = threads.getThreadCount();
                release.write("go\n".repeat(JOBS).getBytes(StandardCharsets.US_ASCII));
                awaitAndCheck(engine, expected, threads, baseline, peak, running);
            }
        }
    }

    private static void awaitAndCheck(EngineFixture engine, Map<String, Integer> expected, ThreadMXBean threads,
                                  int baseline, int peakSoFar, long running) throws Exception {
        int peak = peakSoFar;
        List<JobStatus> ended = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (System.nanoTime() < deadline) {
            ended = engine.list(EngineFixture.ALICE).stream().filter(s -> s.state().isFinal()).toList();
            if (ended.size() == JOBS + 1) {
                break;
            }
            peak = Math.max(peak, threads.getThreadCount());
            Thread.sleep(200);
        }
        System.out.printf("%d jobs: %d running at once, threads %d before, %d at peak%n", JOBS, running, baseline, peak);
        assertEquals(JOBS, running, "all jobs must run at once");
        assertTrue(peak <= baseline + THREAD_ALLOWANCE, "threads grew from " + baseline + " to " + peak);
        assertEquals(JOBS + 1, ended.size(), "every job must end");
        for (JobStatus status : ended) {
            if (expected.containsKey(status.id())) {
                assertEquals(expected.get(status.id()), status.exitCode(), status.toString());
            }
        }
        assertEquals(List.of(), ProcessHandle.current().children().map(ProcessHandle::pid).toList(), "no zombies");
        assertEquals(List.of(), engine.cgroupsLeft(), "no cgroups left");
    }
}
