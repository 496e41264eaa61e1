package io.rund.api;

import static io.rund.api.LogReads.read;
import static io.rund.api.LogReads.request;
import static io.rund.api.LogReads.start;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.logs.LogStore;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The per-identity log quota against a real rund: a tenant writing past rund.logs.max-identity-bytes loses its own
 * oldest output, in whole segments (a dropped offset answers OUT_OF_RANGE saying where its retained output starts),
 * while another tenant's log, written earlier and so older, stays whole.
 */
class LogQuotaTest {

    private static final long SEGMENT = 256 * 1024;
    private static final long IDENTITY_QUOTA = 1024 * 1024;
    /** Far above what the test writes: only the quota can drop anything here. */
    private static final long JOB_CAP = 64L * 1024 * 1024;
    private static final long TOTAL_CAP = 256L * 1024 * 1024;
    /** About 0.94 MB of output: one such job fits the quota. */
    private static final int LINES = 150_000;
    /** About 0.59 MB more: past the quota by about two segments, so part of the first job's log goes. */
    private static final int SECOND_LINES = 100_000;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture(String.join("\n",
            "rund.logs.segment-size = " + SEGMENT,
            "rund.logs.max-job-bytes = " + JOB_CAP,
            "rund.logs.max-total-bytes = " + TOTAL_CAP,
            "rund.logs.max-identity-bytes = " + IDENTITY_QUOTA));

    @Test
    void aTenantPastItsQuotaLosesOnlyItsOwnOldestSegments() throws Exception {
        RundClient alice = rund.shared("alice");
        RundClient carol = rund.shared("carol");
        byte[] expected = LogReads.seq("", 1, 1, LINES);
        String carols = start(carol, "seq 1 " + LINES);
        LogReads.awaitEnd(carol, carols);
        String alicesFirst = start(alice, "seq 1 " + LINES);
        LogReads.awaitEnd(alice, alicesFirst);
        String alicesSecond = start(alice, "seq 1 " + SECOND_LINES);
        LogReads.awaitEnd(alice, alicesSecond);

        LogStore first = rund.log(alicesFirst);
        long retainedFrom = first.firstRetainedOffset();
        assertTrue(retainedFrom > 0 && retainedFrom < expected.length, "alice's oldest output was dropped, not all: "
                + retainedFrom);
        StatusRuntimeException dropped = LogReads.failure(() -> read(alice, request(alicesFirst).setFromOffset(0).build()));
        assertEquals(Status.Code.OUT_OF_RANGE, dropped.getStatus().getCode(), dropped.getStatus().toString());
        assertEquals(Long.toString(retainedFrom), dropped.getTrailers().get(
                Metadata.Key.of("rund-retained-from", Metadata.ASCII_STRING_MARSHALLER)));
        assertArrayEquals(Arrays.copyOfRange(expected, (int) retainedFrom, expected.length),
                read(alice, request(alicesFirst).build()).bytes(null), "the rest of the log is kept");
        assertArrayEquals(LogReads.seq("", 1, 1, SECOND_LINES), read(alice, request(alicesSecond).build()).bytes(null),
                "alice's newest job lost nothing: the oldest segments go first");
        assertTrue(first.retainedBytes() + rund.log(alicesSecond).retainedBytes() <= IDENTITY_QUOTA,
                "alice's logs keep at most her quota");

        assertEquals(0, rund.log(carols).firstRetainedOffset(), "carol's older log lost nothing");
        assertArrayEquals(expected, read(carol, request(carols).build()).bytes(null));
    }
}
