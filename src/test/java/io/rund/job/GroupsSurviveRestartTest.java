package io.rund.job;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The groups a Start asked for are in the job's record from its creation, and the groups it ran with from when it
 * ran: a daemon that loads the state directory again has both (so Status shows gid and groups after a restart). A
 * record that never said them (a job that failed before running, or one a rund without groups wrote) reads as none.
 */
class GroupsSurviveRestartTest {

    private static final String ID = "01JB2Z3Y4X5W6V7T8S9R0QPNMK";
    private static final Set<String> ALICE = Set.of("DNS:alice.example");

    @Test
    void askedAndGrantedGroupsComeBackFromTheRecord(@TempDir Path state) throws Exception {
        StateDirectory.prepare(state);
        GroupRequest asked = new GroupRequest(Optional.of("adm"), List.of("4242", "adm"));
        JobSpec spec = JobSpec.of("sleep", "1000").withGroups(asked);
        JobStatus initial = JobActor.initialStatus(ID, spec, Instant.ofEpochSecond(1_780_000_000L));
        assertNull(initial.groups(), "not known before the job runs");
        JobGroups granted = new JobGroups(4, List.of(4242, 4));
        JobStatus running = new JobStatus(ID, spec.command(), spec.args(), JobState.RUNNING, 4242, 65537, null, null,
                false, false, false, initial.createdAt(), initial.createdAt(), null, null, null, null,
                JobControlState.NONE, initial.labels(), granted);
        JobStatus exited = new JobStatus(ID, spec.command(), spec.args(), JobState.EXITED, 4242, 65537, 0, null,
                false, false, false, initial.createdAt(), initial.createdAt(), initial.createdAt().plusSeconds(1),
                null, null, null, JobControlState.NONE, initial.labels(), granted);
        try (JobRecords records = JobRecords.open(state, new RecordSettings(true, 16))) {
            records.created(spec, ALICE, initial);
            records.started(running);
            records.ended(exited).get(60, TimeUnit.SECONDS);
        }
        try (JobRecords reopened = JobRecords.open(state, new RecordSettings(true, 16))) {
            JobRecord loaded = reopened.load().records().getFirst();
            assertEquals(asked, loaded.spec().groups());
            assertEquals(granted, loaded.status().groups());
            assertEquals(exited, loaded.status());
        }
    }

    @Test
    void aRecordWithoutGroupsReadsAsNoneAskedAndNoneKnown() throws Exception {
        JobSpec spec = JobSpec.of("true");
        JobStatus failed = new JobStatus(ID, spec.command(), spec.args(), JobState.FAILED_TO_START, null, null, null, null,
                false, false, false, Instant.ofEpochSecond(1_780_000_000L), null, Instant.ofEpochSecond(1_780_000_001L),
                null, "group: refused", null);
        JobRecord decoded = JobRecordCodec.decode(JobRecordCodec.encode(new JobRecord(spec, ALICE, spec.labels(), failed)));
        assertEquals(GroupRequest.NONE, decoded.spec().groups());
        assertNull(decoded.status().groups());
    }
}
