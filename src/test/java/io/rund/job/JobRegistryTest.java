package io.rund.job;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Who may see and stop a job: owners by SAN overlap, admins always, everyone else as if it did not exist. */
class JobRegistryTest {

    private static final Set<String> ALICE = EngineFixture.ALICE;
    private static final Set<String> BOB = Set.of("DNS:bob.example", "URI:spiffe://rund/team-a");
    private static final Set<String> CAROL = Set.of("DNS:carol.example");
    private static final Set<String> ADMIN = Set.of("DNS:admin.example");

    @TempDir
    Path stateDir;
    private EngineFixture engine;

    @BeforeEach
    void startEngine() throws Exception {
        engine = new EngineFixture(stateDir.resolve("state"), Duration.ofSeconds(1), ADMIN, Set.of());
    }

    @AfterEach
    void stopEngine() throws Exception {
        engine.close();
    }

    @Test
    void aCallerSharingOneSanWithTheOwnerSeesTheJob() {
        String id = engine.started(JobSpec.of("sleep", "1000"));
        JobStatus seenByBob = assertInstanceOf(JobRegistry.StatusReport.class, engine.status(id, BOB)).status();
        assertEquals(id, seenByBob.id());
        assertEquals(List.of(id), ids(engine.list(BOB)));
    }

    @Test
    void aCallerWithDisjointSansGetsNotFoundExactlyAsForAnUnknownJob() {
        String id = engine.started(JobSpec.of("sleep", "1000"));
        assertEquals(new JobRegistry.JobNotFound(id), engine.status(id, CAROL));
        String unknown = "01JZZZZZZZZZZZZZZZZZZZZZZZ";
        assertEquals(new JobRegistry.JobNotFound(unknown), engine.status(unknown, CAROL));
        assertEquals(List.of(), engine.list(CAROL));

        var stopProbe = engine.testKit.<JobRegistry.StatusResult>createTestProbe();
        engine.registry.tell(new JobRegistry.StopJob(id, CAROL, stopProbe.ref()));
        assertEquals(new JobRegistry.JobNotFound(id), stopProbe.receiveMessage());
        var logProbe = engine.testKit.<JobRegistry.LogResult>createTestProbe();
        engine.registry.tell(new JobRegistry.OpenLog(id, CAROL, logProbe.ref()));
        assertEquals(new JobRegistry.JobNotFound(id), logProbe.receiveMessage());
        assertEquals(JobState.RUNNING, engine.status(id).state(), "carol's stop must not have touched the job");
    }

    @Test
    void anAdminSeesAndStopsEveryJob() {
        String alices = engine.started(JobSpec.of("sleep", "1000"));
        String carols = assertInstanceOf(JobRegistry.JobStarted.class, engine.start(JobSpec.of("sleep", "1000"), CAROL)).jobId();
        assertEquals(List.of(alices, carols), ids(engine.list(ADMIN)));
        assertEquals(List.of(carols), ids(engine.list(CAROL)));

        var stopProbe = engine.testKit.<JobRegistry.StatusResult>createTestProbe();
        engine.registry.tell(new JobRegistry.StopJob(carols, ADMIN, stopProbe.ref()));
        JobStatus stopped = assertInstanceOf(JobRegistry.StatusReport.class, stopProbe.receiveMessage(Duration.ofSeconds(20))).status();
        assertTrue(stopped.stoppedByRequest());
    }

    @Test
    void jobIdsAreMonotonicUlids() {
        String first = engine.started(JobSpec.of("/bin/true"));
        String second = engine.started(JobSpec.of("/bin/true"));
        assertTrue(first.matches("[0-9A-HJKMNP-TV-Z]{26}"), first);
        assertTrue(first.compareTo(second) < 0, first + " then " + second);
    }

    @Test
    void aCertificateWithoutSansCannotStartJobs() {
        JobError error = assertInstanceOf(JobRegistry.StartRejected.class, engine.start(JobSpec.of("/bin/true"), Set.of())).error();
        assertEquals("identity", error.field());
    }

    private static List<String> ids(List<JobStatus> jobs) {
        return jobs.stream().map(JobStatus::id).toList();
    }
}
