package io.rund.api;

import io.rund.cli.RundClient;
import io.rund.linux.PositionalFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The log space counts what earlier runs left in the logs directory: a daemon that starts over its total cap with
 * them deletes the oldest until it is within it, and deletes the next oldest when its own jobs' logs need room, so
 * the directory stays within rund.logs.max-total-bytes (plus the segments being written) across restarts. Main
 * counted only the logs of its own run: three restarts with a 64 MiB cap had left 181 MiB.
 */
class EarlierRunLogsTest {

    private static final int MIB = 1024 * 1024;
    private static final long SEGMENT = 256 * 1024;
    private static final long TOTAL_CAP = 8L * MIB;
    /** Three files of an earlier run, 3 MiB each, oldest first: 9 MiB, over the cap by the oldest one. */
    private static final String[] EARLIER = {"01JAAAAAAAAAAAAAAAAAAAAAAA.log", "01JBBBBBBBBBBBBBBBBBBBBBBB.log",
            "01JCCCCCCCCCCCCCCCCCCCCCCC.log"};
    private static final int EARLIER_FILE_BYTES = 3 * MIB;
    /** What a job of this run writes: with the two earlier files left, past the cap by about one earlier file. */
    private static final int JOB_OUTPUT_BYTES = 3 * MIB;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture(String.join("\n",
            "rund.logs.segment-size = " + SEGMENT,
            "rund.logs.max-job-bytes = " + TOTAL_CAP,
            "rund.logs.max-total-bytes = " + TOTAL_CAP),
            EarlierRunLogsTest::leaveEarlierLogs);

    private static void leaveEarlierLogs(Path stateDirectory) throws IOException {
        Path logs = Files.createDirectories(stateDirectory.resolve("logs"));
        byte[] data = new byte[EARLIER_FILE_BYTES];
        Arrays.fill(data, (byte) 'x'); // real blocks, not a sparse file
        Instant modified = Instant.now().minusSeconds(EARLIER.length * 60L);
        for (String name : EARLIER) {
            Path file = Files.write(logs.resolve(name), data);
            Files.setLastModifiedTime(file, FileTime.from(modified));
            modified = modified.plusSeconds(60);
        }
    }

    @Test
    void earlierRunsLogsCountAgainstTheTotalCapAndTheOldestGoFirst() throws Exception {
        Path logs = rund.stateDirectory().resolve("logs");
        assertFalse(Files.exists(logs.resolve(EARLIER[0])), "the oldest earlier file is deleted at start: 9 MiB > 8 MiB");
        assertTrue(Files.exists(logs.resolve(EARLIER[1])) && Files.exists(logs.resolve(EARLIER[2])), "the others fit");
        assertTrue(rund.daemon().logs().retainedBytes() >= 2L * EARLIER_FILE_BYTES, "and count: "
                + rund.daemon().logs().retainedBytes());

        RundClient alice = rund.shared("alice");
        String id = LogReads.start(alice, "head -c " + JOB_OUTPUT_BYTES + " /dev/zero");
        LogReads.awaitEnd(alice, id);

        assertFalse(Files.exists(logs.resolve(EARLIER[1])), "the next oldest earlier file made room for this run's log");
        assertTrue(Files.exists(logs.resolve(EARLIER[2])), "the newest earlier file still fits");
        assertEquals(JOB_OUTPUT_BYTES, LogReads.read(alice, LogReads.request(id).build()).bytes(null).length,
                "this run's log lost nothing: earlier runs' files go first");
        long onDisk = allocatedBytes(logs);
        assertTrue(onDisk <= TOTAL_CAP + SEGMENT, "the logs directory holds " + onDisk + " bytes, within the cap");
    }

    private static long allocatedBytes(Path directory) throws IOException {
        long bytes = 0;
        try (Stream<Path> files = Files.list(directory)) {
            for (Path file : files.toList()) {
                bytes += PositionalFiles.allocatedBytes(file);
            }
        }
        return bytes;
    }
}
