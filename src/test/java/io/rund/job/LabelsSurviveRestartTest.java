package io.rund.job;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A job's labels are written to its record when it is created, and a daemon that loads the state directory again
 * has them in the job's spec and in its status (so Status, List and selectors keep working after a restart).
 */
class LabelsSurviveRestartTest {

    private static final String ID = "01JB2Z3Y4X5W6V7T8S9R0QPNMK";

    @Test
    void labelsAreInTheRecordAndComeBackInSpecAndStatus(@TempDir Path state) throws Exception {
        StateDirectory.prepare(state);
        Map<String, String> labels = Map.of("team", "ci", "example.com/tier", "");
        JobSpec spec = JobSpec.of("true").withLabels(labels);
        JobStatus initial = JobActor.initialStatus(ID, spec, Instant.ofEpochSecond(1_780_000_000L));
        assertEquals(labels, initial.labels(), "a new job's status carries its labels");
        JobStatus exited = new JobStatus(ID, spec.command(), spec.args(), JobState.EXITED, 4242, 65537, 0, null,
                false, false, false, initial.createdAt(), initial.createdAt(), initial.createdAt().plusSeconds(1),
                null, null, null, initial.labels());
        try (JobRecords records = JobRecords.open(state, new RecordSettings(true, 16))) {
            records.created(spec, Set.of("DNS:alice.example"), initial);
            records.ended(exited).get(60, TimeUnit.SECONDS);
        }
        try (JobRecords reopened = JobRecords.open(state, new RecordSettings(true, 16))) {
            JobRecord loaded = reopened.load().records().getFirst();
            assertEquals(labels, loaded.labels());
            assertEquals(labels, loaded.spec().labels());
            assertEquals(labels, loaded.status().labels());
            assertEquals(exited, loaded.status());
        }
    }
}
