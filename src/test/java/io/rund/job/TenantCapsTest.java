package io.rund.job;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-identity caps on the real engine: running jobs, the start rate, and the bytes kept of jobs, each refusing with
 * RESOURCE_EXHAUSTED and naming its setting and value, while another identity starts as before; finished jobs beyond
 * a byte budget forgotten oldest-finished first, their logs deleted.
 */
class TenantCapsTest {

    private static final Set<String> ALICE = EngineFixture.ALICE;
    private static final Set<String> CAROL = Set.of("DNS:carol.example");
    private static final Duration GRACE = Duration.ofSeconds(1);
    private static final int PLENTY = 1_000_000;
    private static final long NO_BYTE_BUDGET = Long.MAX_VALUE;
    /** Under the kernel's cap on one argument (MAX_ARG_STRLEN, 128 KiB with its NUL). */
    private static final int ARG_BYTES = 128_000;
    private static final int ARGS = 7;

    @TempDir
    Path scratch;

    @Test
    void anIdentityAtItsRunningCapIsRefusedWhileAnotherStartsAndAStopFreesASlot() throws Exception {
        TenantSettings caps = new TenantSettings(2, PLENTY, PLENTY, NO_BYTE_BUDGET, NO_BYTE_BUDGET);
        try (EngineFixture engine = engine(caps)) {
            String first = engine.started(JobSpec.of("sleep", "1000"));
            engine.started(JobSpec.of("sleep", "1000"));

            JobError refused = refusal(engine.start(JobSpec.of("sleep", "1000"), ALICE));
            assertEquals(JobError.Kind.RESOURCE_EXHAUSTED, refused.kind());
            assertTrue(refused.message().contains("already runs 2 jobs") && refused.message().contains("rund.tenants.max-running-jobs = 2"),
                    refused.message());
            assertInstanceOf(JobRegistry.JobStarted.class, engine.start(JobSpec.of("sleep", "1000"), CAROL), "carol is not capped by alice's jobs");

            engine.stop(first, EngineFixture.WAIT);
            assertInstanceOf(JobRegistry.JobStarted.class, engine.start(JobSpec.of("sleep", "1000"), ALICE), "a stopped job frees its slot");
        }
    }

    @Test
    void startsBeyondTheBurstAreRefusedNamingTheRateWhileAnotherIdentityStarts() throws Exception {
        double aStartPerHour = 1.0 / 3600;
        TenantSettings caps = new TenantSettings(PLENTY, aStartPerHour, 3, NO_BYTE_BUDGET, NO_BYTE_BUDGET);
        try (EngineFixture engine = engine(caps)) {
            for (int i = 0; i < 3; i++) {
                engine.started(JobSpec.of("/bin/true"));
            }

            JobError refused = refusal(engine.start(JobSpec.of("/bin/true"), ALICE));
            assertEquals(JobError.Kind.RESOURCE_EXHAUSTED, refused.kind());
            assertTrue(refused.message().contains("rund.tenants.start-rate = " + aStartPerHour)
                    && refused.message().contains("rund.tenants.start-burst = 3"), refused.message());
            for (int i = 0; i < 3; i++) {
                assertInstanceOf(JobRegistry.JobStarted.class, engine.start(JobSpec.of("/bin/true"), CAROL), "carol has a bucket of her own");
            }
        }
    }

    @Test
    void theStartBucketRefillsAtTheRate() throws Exception {
        TenantSettings caps = new TenantSettings(PLENTY, 1.0 / 3600, 1, NO_BYTE_BUDGET, NO_BYTE_BUDGET);
        AdvancingClock clock = new AdvancingClock();
        try (EngineFixture engine = new EngineFixture(scratch.resolve("state"), GRACE, Set.of(), Set.of(), caps, clock)) {
            engine.started(JobSpec.of("/bin/true"));
            JobError refused = refusal(engine.start(JobSpec.of("/bin/true"), ALICE));
            assertTrue(refused.message().contains("the next start is accepted in"), refused.message());

            clock.advance(Duration.ofMinutes(59));
            assertInstanceOf(JobRegistry.StartRejected.class, engine.start(JobSpec.of("/bin/true"), ALICE), "not yet a whole token");
            clock.advance(Duration.ofMinutes(1));
            assertInstanceOf(JobRegistry.JobStarted.class, engine.start(JobSpec.of("/bin/true"), ALICE), "one token an hour");
        }
    }

    /** The system's clock, moved on by the test. */
    private static final class AdvancingClock extends Clock {
        private volatile Duration offset = Duration.ZERO;

        void advance(Duration by) {
            offset = offset.plus(by);
        }

        @Override
        public Instant instant() {
            return Instant.now().plus(offset);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException("UTC only");
        }
    }

    @Test
    void runningJobsBeyondAByteBudgetAreRefusedNamingIt() throws Exception {
        JobSpec big = sleeperWithBigArgs();
        TenantSettings caps = new TenantSettings(PLENTY, PLENTY, PLENTY, bytesOf(3.5, big), bytesOf(2.5, big));
        try (EngineFixture engine = engine(caps)) {
            engine.started(big);
            engine.started(big);

            JobError alices = refusal(engine.start(big, ALICE));
            assertEquals(JobError.Kind.RESOURCE_EXHAUSTED, alices.kind());
            assertTrue(alices.message().contains("rund.tenants.max-retained-bytes-per-identity = " + caps.maxRetainedBytesPerIdentity()),
                    alices.message());
            assertInstanceOf(JobRegistry.JobStarted.class, engine.start(big, CAROL), "carol's budget is her own");
            assertInstanceOf(JobRegistry.StartRejected.class, engine.start(big, ALICE), "alice's jobs still run");

            JobError carols = refusal(engine.start(big, CAROL));
            assertTrue(carols.message().contains("rund.tenants.max-retained-bytes = " + caps.maxRetainedBytes()), carols.message());
            assertInstanceOf(JobRegistry.JobStarted.class, engine.start(JobSpec.of("/bin/true"), CAROL), "a small job still fits");
        }
    }

    @Test
    void finishedJobsBeyondTheIdentitysBudgetAreForgottenOldestFirstWithTheirLogs() throws Exception {
        JobSpec big = echoWithArgsKeptInMemory();
        TenantSettings caps = new TenantSettings(PLENTY, PLENTY, PLENTY, NO_BYTE_BUDGET, finishedBytesOf(2.5, big));
        try (EngineFixture engine = engineKeepingArgsInMemory(caps)) {
            String carols = ended(engine, big, CAROL);
            String oldest = ended(engine, big, ALICE);
            String newer = ended(engine, big, ALICE);
            Path oldestLog = logOf(oldest);
            assertTrue(Files.exists(oldestLog), oldestLog.toString());

            String newest = ended(engine, big, ALICE);

            assertEquals(new JobRegistry.JobNotFound(oldest), engine.status(oldest, ALICE), "the oldest finished job is forgotten");
            awaitGone(oldestLog);
            assertEquals(List.of(newer, newest), ids(engine.list(ALICE)));
            assertEquals("done\n", engine.stdout(newer), "a newer job keeps its log");
            assertEquals(List.of(carols), ids(engine.list(CAROL)), "another identity's finished job is not alice's to spend");
        }
    }

    @Test
    void finishedJobsBeyondTheTotalBudgetAreForgottenOldestFinishedFirstWhoeverOwnsThem() throws Exception {
        JobSpec big = echoWithArgsKeptInMemory();
        TenantSettings caps = new TenantSettings(PLENTY, PLENTY, PLENTY, finishedBytesOf(3.5, big), finishedBytesOf(2.5, big));
        try (EngineFixture engine = engineKeepingArgsInMemory(caps)) {
            String alicesFirst = ended(engine, big, ALICE);
            String alicesSecond = ended(engine, big, ALICE);
            String carols = ended(engine, big, CAROL);

            String carolsSecond = ended(engine, big, CAROL);

            assertEquals(new JobRegistry.JobNotFound(alicesFirst), engine.status(alicesFirst, ALICE));
            awaitGone(logOf(alicesFirst));
            assertEquals(List.of(alicesSecond), ids(engine.list(ALICE)));
            assertEquals(List.of(carols, carolsSecond), ids(engine.list(CAROL)));
        }
    }

    /** A byte budget that holds {@code jobs} jobs like {@code job} (two and a half: two, not three). */
    private static long bytesOf(double jobs, JobSpec job) {
        return (long) (jobs * Tenants.chargeOf(job));
    }

    /**
     * A byte budget that holds {@code jobs} finished jobs like {@code job}: a finished job is charged its summary and
     * the arguments it keeps in memory, less than it held while it ran.
     */
    private static long finishedBytesOf(double jobs, JobSpec job) {
        return (long) (jobs * Tenants.finishedChargeOf(JobActor.initialStatus("job", job, java.time.Instant.EPOCH), true));
    }

    private EngineFixture engine(TenantSettings caps) throws Exception {
        return new EngineFixture(scratch.resolve("state"), GRACE, Set.of(), Set.of(), caps);
    }

    private Path logOf(String jobId) {
        return scratch.resolve("state").resolve("logs").resolve(jobId + ".log");
    }

    /** Starts {@code spec} as {@code owner} and waits for its end. */
    private static String ended(EngineFixture engine, JobSpec spec, Set<String> owner) throws Exception {
        String id = assertInstanceOf(JobRegistry.JobStarted.class, engine.start(spec, owner)).jobId();
        long deadline = System.nanoTime() + EngineFixture.WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            JobStatus status = assertInstanceOf(JobRegistry.StatusReport.class, engine.status(id, owner)).status();
            if (status.state().isFinal()) {
                assertEquals(0, status.exitCode(), status.toString());
                return id;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("job " + id + " did not end within " + EngineFixture.WAIT);
    }

    private static void awaitGone(Path file) throws InterruptedException {
        long deadline = System.nanoTime() + EngineFixture.WAIT.toNanos();
        while (Files.exists(file) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertFalse(Files.exists(file), "the forgotten job's log must be deleted: " + file);
    }

    private static JobError refusal(JobRegistry.StartResult result) {
        return assertInstanceOf(JobRegistry.StartRejected.class, result).error();
    }

    private static JobSpec sleeperWithBigArgs() {
        return withBigArgs("exec sleep 1000");
    }

    /** {@code sh -c 'echo done' sh ARG}: 3,000 bytes of arguments, under rund.jobs.finished-args-in-memory (4 KiB). */
    /**
     * About 900 KB of arguments, which finished jobs of {@link #engineKeepingArgsInMemory} keep in memory: a budget of a
     * few such jobs is above the smallest a budget may be (one Start of the largest size).
     */
    private static JobSpec echoWithArgsKeptInMemory() {
        return withBigArgs("echo done");
    }

    /** An engine whose finished jobs keep up to 2 MiB of arguments in memory (and are charged for them). */
    private EngineFixture engineKeepingArgsInMemory(TenantSettings caps) throws Exception {
        return new EngineFixture(scratch.resolve("state"), GRACE, Set.of(), Set.of(), caps, java.time.Clock.systemUTC(),
                com.typesafe.config.ConfigFactory.parseString("rund.jobs.finished-args-in-memory = 2 MiB"));
    }

    /** {@code sh -c SCRIPT sh ARG...}: about 900 KB of arguments the script ignores. */
    private static JobSpec withBigArgs(String script) {
        List<String> args = new ArrayList<>(List.of("-c", script, "sh"));
        for (int i = 0; i < ARGS; i++) {
            args.add(Character.toString('a' + i).repeat(ARG_BYTES));
        }
        return JobSpec.of("sh", args.toArray(String[]::new));
    }

    private static List<String> ids(List<JobStatus> jobs) {
        return jobs.stream().map(JobStatus::id).toList();
    }
}
