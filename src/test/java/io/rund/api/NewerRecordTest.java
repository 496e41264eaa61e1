package io.rund.api;

import io.rund.cli.RundClient;
import io.rund.proto.v1.StatusRequest;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A daemon that finds the record of a running job in a format version it cannot read (written by a newer rund,
 * then downgraded) says so in one line and leaves the job alone: it runs on with rund-keeper, its cgroup and its
 * record untouched, for a rund that reads it. Main treated it as a job no record names and killed it.
 */
class NewerRecordTest {

    /** Where a record's format version sits: after the 8-byte magic "RUNDJOB\0". */
    private static final int VERSION_OFFSET = 8;

    @Test
    void aRunningJobWhoseRecordIsOfANewerFormatIsLeftRunningNotKilled() throws Exception {
        try (DaemonRestart daemons = DaemonRestart.start(Map.of())) {
            DaemonProcess first = daemons.first();
            String id;
            long pid;
            try (RundClient alice = first.client("alice")) {
                id = LogReads.start(alice, "exec sleep 1000");
                LogReads.until(() -> alice.status(StatusRequest.newBuilder().setJobId(id).build()).getStatus().hasPid(),
                        "the job runs");
                pid = alice.status(StatusRequest.newBuilder().setJobId(id).build()).getStatus().getPid().getValue();
            }
            first.killHard();
            Path record = daemons.record(id);
            byte[] bytes = Files.readAllBytes(record);
            ByteBuffer.wrap(bytes).putShort(VERSION_OFFSET, (short) (ByteBuffer.wrap(bytes).getShort(VERSION_OFFSET) + 1));
            Files.write(record, bytes);

            DaemonProcess next = daemons.restart(Map.of());
            assertTrue(next.logLines().stream().anyMatch(line -> line.contains("Skipping job record") && line.contains(id)
                    && line.contains("format version")), "one line names the record and its version");
            assertTrue(next.logLines().stream().anyMatch(line -> line.contains("Job " + id) && line.contains("left running")),
                    "one line says the job is left running");
            assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the job still runs (pid " + pid + ")");
            assertTrue(Files.isDirectory(next.cgroupRoot().resolve(id)), "its cgroup is kept");
            assertTrue(java.util.Arrays.equals(bytes, Files.readAllBytes(record)), "its record is untouched");
        }
    }
}
