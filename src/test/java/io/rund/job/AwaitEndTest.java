package io.rund.job;

import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** Waiting for a job's end without polling: the registry answers when the final status arrives, or when time is up. */
class AwaitEndTest {

    private static final Set<String> CAROL = Set.of("DNS:carol.example");

    @TempDir
    Path stateDir;
    private EngineFixture engine;

    @BeforeEach
    void startEngine() throws Exception {
        engine = new EngineFixture(stateDir.resolve("state"), Duration.ofSeconds(1));
    }

    @AfterEach
    void stopEngine() throws Exception {
        engine.close();
    }

    @Test
    void answersWithTheFinalStatusWhenTheJobEnds() {
        String id = engine.started(JobSpec.of("sh", "-c", "sleep 0.3; exit 3"));
        TestProbe<JobRegistry.StatusResult> waiter = engine.testKit.createTestProbe();
        engine.registry.tell(new JobRegistry.AwaitEnd(id, EngineFixture.ALICE, EngineFixture.WAIT, waiter.ref()));

        JobStatus end = assertInstanceOf(JobRegistry.StatusReport.class, waiter.receiveMessage(EngineFixture.WAIT)).status();
        assertEquals(JobState.EXITED, end.state());
        assertEquals(3, end.exitCode());
    }

    @Test
    void answersAtOnceForAJobThatHasEnded() throws InterruptedException {
        String id = engine.started(JobSpec.of("true"));
        JobStatus ended = engine.awaitEnd(id);
        TestProbe<JobRegistry.StatusResult> waiter = engine.testKit.createTestProbe();
        engine.registry.tell(new JobRegistry.AwaitEnd(id, EngineFixture.ALICE, Duration.ofMinutes(1), waiter.ref()));

        assertEquals(new JobRegistry.StatusReport(ended), waiter.receiveMessage(Duration.ofSeconds(5)));
    }

    @Test
    void answersWithTheCurrentStatusWhenTimeIsUp() {
        String id = engine.started(JobSpec.of("sleep", "1000"));
        TestProbe<JobRegistry.StatusResult> waiter = engine.testKit.createTestProbe();
        engine.registry.tell(new JobRegistry.AwaitEnd(id, EngineFixture.ALICE, Duration.ofMillis(200), waiter.ref()));

        JobStatus now = assertInstanceOf(JobRegistry.StatusReport.class, waiter.receiveMessage(EngineFixture.WAIT)).status();
        assertEquals(JobState.RUNNING, now.state());
        waiter.expectNoMessage(Duration.ofMillis(300));
    }

    @Test
    void aJobTheCallerMayNotSeeIsNotFound() {
        String id = engine.started(JobSpec.of("sleep", "1000"));
        TestProbe<JobRegistry.StatusResult> waiter = engine.testKit.createTestProbe();
        engine.registry.tell(new JobRegistry.AwaitEnd(id, CAROL, EngineFixture.WAIT, waiter.ref()));

        assertEquals(new JobRegistry.JobNotFound(id), waiter.receiveMessage(EngineFixture.WAIT));
    }

    @Test
    void everyWaiterIsAnsweredOnce() {
        String id = engine.started(JobSpec.of("sleep", "0.3"));
        TestProbe<JobRegistry.StatusResult> first = engine.testKit.createTestProbe();
        TestProbe<JobRegistry.StatusResult> second = engine.testKit.createTestProbe();
        engine.registry.tell(new JobRegistry.AwaitEnd(id, EngineFixture.ALICE, EngineFixture.WAIT, first.ref()));
        engine.registry.tell(new JobRegistry.AwaitEnd(id, EngineFixture.ALICE, EngineFixture.WAIT, second.ref()));

        for (TestProbe<JobRegistry.StatusResult> waiter : java.util.List.of(first, second)) {
            JobStatus end = assertInstanceOf(JobRegistry.StatusReport.class, waiter.receiveMessage(EngineFixture.WAIT)).status();
            assertEquals(JobState.EXITED, end.state());
            waiter.expectNoMessage(Duration.ofMillis(100));
        }
    }
}
