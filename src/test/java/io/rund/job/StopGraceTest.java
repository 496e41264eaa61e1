package io.rund.job;

import io.rund.logs.LogRecord;
import io.rund.logs.LogStream;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stop's grace period, through the real engine: it is counted from when SIGTERM was actually sent, and jobs sitting
 * in it cost no thread. The jobs ignore or survive SIGTERM, so only the kill after the grace period ends them.
 */
class StopGraceTest {

    private static final int JOBS = 1_000;
    /** Threads a daemon may add however many jobs sit in their grace period: a few, never one per job. */
    private static final int THREAD_ALLOWANCE = 4;
    private static final Duration GRACE = Duration.ofSeconds(10);
    /** How long the job dispatcher is kept busy before the stop's SIGTERM can go out (as in a storm of stops). */
    private static final Duration DISPATCHER_BUSY = Duration.ofSeconds(3);
    /** Not timing thresholds: bounds that keep a broken engine from hanging the build. */
    private static final Duration STOP_WAIT = Duration.ofMinutes(3);
    private static final Duration OUTPUT_WAIT = Duration.ofSeconds(30);
    private static final Duration SAMPLE_INTERVAL = Duration.ofMillis(20);

    @TempDir
    Path scratch;

    /**
     * The job says when it got SIGTERM, then lives on for grace - 1 s and says so: it can only say so if the kill
     * came at least that long after SIGTERM reached it. The job dispatcher is busy for a while when Stop arrives, so
     * SIGTERM goes out late; a grace period counted from the Stop request would kill the job before it could speak.
     */
    @Test
    void theGracePeriodCountsFromWhenSigtermWasSent() throws Exception {
        Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (EngineFixture engine = new EngineFixture(scratch.resolve("state"), GRACE)) {
            long aliveAfterSeconds = GRACE.toSeconds() - 1;
            String id = engine.started(JobSpec.of("sh", "-c", "trap 'echo term' TERM; sleep 1000 & echo ready; wait; "
                    + "sleep " + aliveAfterSeconds + "; echo alive; sleep 1000"));
            awaitOutput(engine, id, "ready\n");

            occupyJobDispatcher(engine, DISPATCHER_BUSY);
            JobStatus stopped = engine.stop(id, STOP_WAIT);

            assertEquals(JobState.EXITED, stopped.state());
            assertEquals(9, stopped.signal(), "killed after the grace period: " + stopped);
            assertTrue(stopped.stoppedByRequest());
            assertEquals("ready\nterm\nalive\n", engine.stdout(id),
                    "the job lived " + aliveAfterSeconds + " s after it got SIGTERM");
            Instant termSeen = recordOf(engine, id, "term\n").timestamp();
            System.out.printf("SIGTERM seen by the job -> its exit: %d ms (grace %s, dispatcher busy %s before SIGTERM)%n",
                    Duration.between(termSeen, stopped.endedAt()).toMillis(), GRACE, DISPATCHER_BUSY);
        }
    }

    @Test
    void aThousandJobsInTheirGracePeriodCostNoThreadEach() throws Exception {
        Files.setPosixFilePermissions(scratch, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (EngineFixture engine = new EngineFixture(scratch.resolve("state"), GRACE)) {
            var threads = ManagementFactory.getThreadMXBean();
            JobSpec ignoresTerm = JobSpec.of("sh", "-c", "trap '' TERM; sleep 1000");
            AtomicInteger peak = new AtomicInteger();
            AtomicBoolean sampling = new AtomicBoolean(true);
            // The test's own sampler starts before the idle count is taken, so it is part of it.
            Thread sampler = Thread.ofPlatform().name("thread-count-sampler").daemon(true).start(() -> {
                while (sampling.get()) {
                    peak.accumulateAndGet(threads.getThreadCount(), Math::max);
                    LockSupport.parkNanos(SAMPLE_INTERVAL.toNanos());
                }
            });
            warmUp(engine, ignoresTerm);
            int idle = threads.getThreadCount();
            peak.set(idle);

            List<String> ids = new ArrayList<>();
            for (int i = 0; i < JOBS; i++) {
                ids.add(engine.started(ignoresTerm));
            }
            TestProbe<JobRegistry.StatusResult> stops = engine.testKit.createTestProbe();
            for (String id : ids) { // all at once: nobody waits for an answer before the next Stop
                engine.registry.tell(new JobRegistry.StopJob(id, EngineFixture.ALICE, stops.ref()));
            }
            List<JobStatus> ended = new ArrayList<>();
            for (int i = 0; i < JOBS; i++) { // the first answer comes once the grace period is over
                ended.add(assertInstanceOf(JobRegistry.StatusReport.class, stops.receiveMessage(STOP_WAIT)).status());
            }
            sampling.set(false);
            sampler.join();
            System.out.printf("%d jobs in their grace period: threads %d idle, %d at peak%n", JOBS, idle, peak.get());
            assertEquals(JOBS, ended.size(), "every stopped job ends");
            Set<String> endedIds = new HashSet<>();
            for (JobStatus status : ended) {
                assertEquals(JobState.EXITED, status.state());
                assertEquals(9, status.signal(), "SIGTERM was ignored: only the kill after the grace ends it: " + status);
                assertTrue(status.stoppedByRequest());
                endedIds.add(status.id());
            }
            assertEquals(new HashSet<>(ids), endedIds);
            assertTrue(peak.get() <= idle + THREAD_ALLOWANCE, "threads grew from " + idle + " to " + peak.get());
            assertEquals(List.of(), engine.cgroupsLeft(), "every job's cgroup is removed");
        }
    }

    /** Starts and stops a few jobs the same way, so the pools have all the threads they will ever start. */
    private static void warmUp(EngineFixture engine, JobSpec spec) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 2 * blockingPoolSize(engine); i++) {
            ids.add(engine.started(spec));
        }
        TestProbe<JobRegistry.StatusResult> stops = engine.testKit.createTestProbe();
        ids.forEach(id -> engine.registry.tell(new JobRegistry.StopJob(id, EngineFixture.ALICE, stops.ref())));
        ids.forEach(id -> stops.receiveMessage(STOP_WAIT));
    }

    /** Keeps every thread of the job dispatcher busy for {@code busy}; returns once they all are. */
    private static void occupyJobDispatcher(EngineFixture engine, Duration busy) throws InterruptedException {
        Executor blocking = engine.testKit.system().dispatchers()
                .lookup(DispatcherSelector.fromConfig("rund.blocking-dispatcher"));
        int threads = blockingPoolSize(engine);
        CountDownLatch allBusy = new CountDownLatch(threads);
        for (int i = 0; i < threads; i++) {
            blocking.execute(() -> {
                allBusy.countDown();
                try {
                    Thread.sleep(busy);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
        }
        assertTrue(allBusy.await(OUTPUT_WAIT.toSeconds(), TimeUnit.SECONDS), "the job dispatcher's threads never all ran");
    }

    private static int blockingPoolSize(EngineFixture engine) {
        return engine.testKit.system().settings().config()
                .getInt("rund.blocking-dispatcher.thread-pool-executor.fixed-pool-size");
    }

    private static void awaitOutput(EngineFixture engine, String id, String expected) throws Exception {
        long deadline = System.nanoTime() + OUTPUT_WAIT.toNanos();
        while (!engine.stdout(id).equals(expected)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("job " + id + " wrote " + engine.stdout(id) + ", not " + expected);
            }
            Thread.sleep(10);
        }
    }

    private static LogRecord recordOf(EngineFixture engine, String id, String text) throws Exception {
        for (LogRecord record : engine.log(id).read(0, 1 << 20)) {
            if (record.stream() == LogStream.STDOUT && new String(record.bytes(), StandardCharsets.UTF_8).equals(text)) {
                return record;
            }
        }
        throw new AssertionError("job " + id + " never wrote " + text.strip() + " in a record of its own");
    }
}
