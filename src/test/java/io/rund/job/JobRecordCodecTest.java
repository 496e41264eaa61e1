package io.rund.job;

import io.rund.cgroup.Accounting;
import io.rund.cgroup.IoLimit;
import io.rund.cgroup.Limits;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A job record survives its binary form whole, and a file that is not one, whole and current, is refused saying why. */
class JobRecordCodecTest {

    private static final String ID = "01JB2Z3Y4X5W6V7T8S9R0QPNMK";

    private static JobRecord everyField() {
        JobSpec spec = new JobSpec("/bin/sh", List.of("-c", "echo ünïcødé", "x".repeat(100_000)),
                Map.of("A", "1", "EMPTY", ""), Optional.of(Path.of("/tmp")), Optional.of("nobody"),
                Limits.none().withCpuMax(50_000, 200_000).withMemoryMax(1 << 30).withMemorySwapMax(0).withPidsMax(64)
                        .withIo(IoLimit.onDevice("8:0").withRbps(1 << 20).withWiops(100))
                        .withIo(IoLimit.onWorkingDirectoryDevice().withWbps(2 << 20)), Map.of("team", "ci", "example.com/tier", ""));
        JobStatus status = new JobStatus(ID, spec.command(), spec.args(), JobState.EXITED, 4242, 65537, null, 9, true, true,
                true, Instant.ofEpochSecond(1_780_000_000L, 123_456_789), Instant.ofEpochSecond(1_780_000_001L, 1),
                Instant.ofEpochSecond(1_780_000_002L, 999_999_999),
                new Accounting(10, 6, 4, OptionalLong.of(52_428_800), OptionalLong.empty(), OptionalLong.of(7),
                        OptionalLong.empty(), OptionalLong.of(0)),
                null, "discarded 65536 bytes", spec.labels());
        return new JobRecord(spec, Set.of("DNS:alice.example", "URI:spiffe://x/alice"), spec.labels(), status);
    }

    @Test
    void everyFieldSurvivesTheRoundTrip() throws Exception {
        JobRecord record = everyField();
        assertEquals(record, JobRecordCodec.decode(JobRecordCodec.encode(record)));
    }

    /** A Stop in progress (added after version 1 shipped) round-trips; a record without it reads as no stop. */
    @Test
    void aStopInProgressSurvivesTheRoundTripAndIsAbsentFromOlderRecords() throws Exception {
        JobRecord plain = everyField();
        JobRecord stopping = new JobRecord(plain.spec(), plain.owner(), plain.labels(), plain.status(),
                Instant.parse("2026-12-05T15:00:30.123456789Z"));
        assertEquals(stopping, JobRecordCodec.decode(JobRecordCodec.encode(stopping)));
        assertEquals(null, JobRecordCodec.decode(JobRecordCodec.encode(plain)).stopKillAt());
    }

    @Test
    void aFreshJobWithNoOptionalFieldsSurvivesTheRoundTrip() throws Exception {
        JobSpec spec = JobSpec.of("true");
        JobRecord record = new JobRecord(spec, Set.of("DNS:a"), Map.of(), JobActor.initialStatus(ID, spec, Instant.EPOCH));
        assertEquals(record, JobRecordCodec.decode(JobRecordCodec.encode(record)));
    }

    @Test
    void intelRdtSettingsSurviveTheRoundTrip() throws Exception {
        JobSpec spec = JobSpec.of("true").withLimits(io.rund.cgroup.Limits.none()
                .withL3CacheMask(io.rund.resctrl.DomainValues.parse("ff0,1=f", 16))
                .withMemoryBandwidthPercent(io.rund.resctrl.DomainValues.parse("0=20,1=70", 10)));
        JobRecord record = new JobRecord(spec, Set.of("DNS:a"), Map.of(), JobActor.initialStatus(ID, spec, Instant.EPOCH));
        assertEquals(record, JobRecordCodec.decode(JobRecordCodec.encode(record)));
    }

    @Test
    void everyFlippedByteAndEveryTruncationIsRefused() {
        byte[] good = JobRecordCodec.encode(new JobRecord(JobSpec.of("echo", "hi"), Set.of("DNS:a"), Map.of(),
                JobActor.initialStatus(ID, JobSpec.of("echo", "hi"), Instant.EPOCH)));
        for (int at = 0; at < good.length; at++) {
            byte[] flipped = good.clone();
            flipped[at] ^= 0x01;
            assertThrows(JobRecordCodec.CorruptRecordException.class, () -> JobRecordCodec.decode(flipped), "byte " + at);
            byte[] torn = Arrays.copyOf(good, at);
            assertThrows(JobRecordCodec.CorruptRecordException.class, () -> JobRecordCodec.decode(torn), "cut at " + at);
        }
    }

    @Test
    void aForeignFileOrANewerVersionIsRefusedSayingSo() {
        assertTrue(assertThrows(JobRecordCodec.CorruptRecordException.class,
                () -> JobRecordCodec.decode("#!/bin/sh\necho not a record\n".getBytes())).getMessage().contains("not a job record"));
        byte[] newer = JobRecordCodec.encode(everyField());
        ByteBuffer.wrap(newer).putShort(JobRecordCodec.MAGIC.length, (short) (JobRecordCodec.VERSION + 1));
        assertTrue(assertThrows(JobRecordCodec.CorruptRecordException.class, () -> JobRecordCodec.decode(newer))
                .getMessage().contains("version 2"));
    }

    /** A later rund may add fields: this one reads the fields it knows and skips the rest. */
    @Test
    void unknownFieldsAreSkipped() throws Exception {
        JobRecord record = everyField();
        byte[] known = JobRecordCodec.encode(record);
        int fieldBytes = known.length - JobRecordCodec.HEADER_BYTES - JobRecordCodec.CHECKSUM_BYTES;
        byte[] extra = {0x7f, 0x7f, 0, 0, 0, 3, 1, 2, 3}; // tag 32639, 3 bytes
        ByteBuffer grown = ByteBuffer.allocate(known.length + extra.length);
        grown.put(known, 0, JobRecordCodec.HEADER_BYTES + fieldBytes).put(extra);
        grown.putInt(JobRecordCodec.MAGIC.length + Short.BYTES, fieldBytes + extra.length);
        CRC32C crc = new CRC32C();
        crc.update(grown.array(), 0, grown.position());
        grown.putInt((int) crc.getValue());
        assertEquals(record, JobRecordCodec.decode(grown.array()));
    }
}
