package io.rund.api;

import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.StatusRequest;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The log of a job that finished before a restart belongs to that job's record, which the next daemon restores: it is
 * counted against rund.logs.max-total-bytes, but never deleted to make room as a spare file of an earlier run while
 * the record lives. Main counted it among those files at start, before any client had asked for the log, and a
 * daemon restarted under a smaller cap deleted it: the job was listed, its log gone.
 */
class RestoredLogsTest {

    /** What the finished job wrote: more than the second daemon's whole cap. */
    private static final int OUTPUT_BYTES = 400_000;
    /** The second daemon's caps, all one segment, less than the finished job's log (the settings' minimum is 128 KiB). */
    private static final String SMALL_CAP = Long.toString(192 * 1024);
    /** A spare file of an earlier run that no record names: the cap deletes it, as before. */
    private static final String SPARE = "01JAAAAAAAAAAAAAAAAAAAAAAA.log";

    @Test
    void aFinishedJobsLogSurvivesARestartUnderASmallerCapWhileTheSpareFileGoes() throws Exception {
        try (DaemonRestart daemons = DaemonRestart.start(Map.of())) {
            DaemonProcess first = daemons.first();
            String id;
            try (RundClient alice = first.client("alice")) {
                id = LogReads.start(alice, "head -c " + OUTPUT_BYTES + " /dev/zero | tr '\\0' 'x'");
                assertEquals(0, LogReads.awaitEnd(alice, id).getExitCode().getValue());
            }
            assertEquals(0, first.terminate());
            Path logs = daemons.logs();
            byte[] spare = new byte[OUTPUT_BYTES];
            Arrays.fill(spare, (byte) 's');
            Files.setLastModifiedTime(Files.write(logs.resolve(SPARE), spare), FileTime.from(Instant.now().minusSeconds(3600)));

            DaemonProcess next = daemons.restart(Map.of("RUND_LOG_SEGMENT_SIZE", SMALL_CAP,
                    "RUND_LOG_MAX_JOB_BYTES", SMALL_CAP, "RUND_LOG_MAX_TOTAL_BYTES", SMALL_CAP,
                    "RUND_LOG_MAX_IDENTITY_BYTES", SMALL_CAP));
            assertFalse(Files.exists(logs.resolve(SPARE)), "the spare file of an earlier run is deleted for the cap");
            assertTrue(Files.exists(logs.resolve(id + ".log")), "the finished job's log is kept with its record");
            try (RundClient alice = next.client("alice")) {
                JobStatus restored = alice.status(StatusRequest.newBuilder().setJobId(id).build()).getStatus();
                assertEquals(JobState.JOB_STATE_EXITED, restored.getState(), restored.toString());
                byte[] expected = new byte[OUTPUT_BYTES];
                Arrays.fill(expected, (byte) 'x');
                assertArrayEquals(expected, LogReads.read(alice, LogReads.request(id).build()).bytes(null),
                        "the restored job's whole log, as it wrote it");
            }
        }
    }
}
