package io.rund.job;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The record writer on real files: a short job's running and final updates, queued back to back (and so usually
 * written as one), leave its final record and nothing else; and a job's log is left to the final record's group
 * commit only where that commit flushes the log's file system.
 */
class JobRecordsTest {

    private static final String ID = "01JB2Z3Y4X5W6V7T8S9R0QPNMK";
    private static final int MAX_BATCH = 256;

    @Test
    void runningAndFinalUpdatesQueuedTogetherLeaveTheFinalRecordAndNoTemporaryFile(@TempDir Path state) throws Exception {
        StateDirectory.prepare(state);
        JobSpec spec = JobSpec.of("true");
        JobStatus initial = JobActor.initialStatus(ID, spec, Instant.ofEpochSecond(1_780_000_000L));
        JobStatus running = new JobStatus(ID, spec.command(), spec.args(), JobState.RUNNING, 4242, 65537, null, null,
                false, false, false, initial.createdAt(), Instant.ofEpochSecond(1_780_000_001L), null, null, null, null);
        JobStatus exited = new JobStatus(ID, spec.command(), spec.args(), JobState.EXITED, 4242, 65537, 3, null,
                false, false, false, initial.createdAt(), running.startedAt(), Instant.ofEpochSecond(1_780_000_002L),
                null, null, null);
        try (JobRecords records = JobRecords.open(state, new RecordSettings(true, MAX_BATCH))) {
            records.created(spec, Set.of("DNS:alice.example"), initial);
            records.started(running);
            records.ended(exited).get(60, TimeUnit.SECONDS);
            JobRecord onDisk = JobRecordCodec.decode(Files.readAllBytes(records.fileOf(ID)));
            assertEquals(exited, onDisk.status());
            assertEquals(spec, onDisk.spec());
        }
        try (Stream<Path> files = Files.list(StateDirectory.jobsOf(state))) {
            assertEquals(java.util.List.of(ID), files.map(file -> file.getFileName().toString()).toList());
        }
    }

    @Test
    void aLogIsLeftToTheGroupCommitOnlyWhereTheCommitFlushesItsFileSystem(@TempDir Path state) throws Exception {
        StateDirectory.prepare(state);
        Path log = StateDirectory.logs(state).resolve(ID + ".log");
        try (JobRecords synced = JobRecords.open(state, new RecordSettings(true, MAX_BATCH))) {
            assertTrue(synced.forcesAtEnd(log), "a log beside the records, sync-final on");
            assertFalse(synced.forcesAtEnd(Path.of("/proc/self/status")), "a file on another file system (procfs)");
        }
        try (JobRecords unsynced = JobRecords.open(state, new RecordSettings(false, MAX_BATCH))) {
            assertFalse(unsynced.forcesAtEnd(log), "sync-final off: no group commit forces anything");
        }
    }
}
