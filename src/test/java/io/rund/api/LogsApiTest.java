package io.rund.api;

import static io.rund.api.LogReads.read;
import static io.rund.api.LogReads.request;
import static io.rund.api.LogReads.start;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Timestamp;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.auth.ExampleCertificates;
import io.rund.cli.HostPort;
import io.rund.cli.RundClient;
import io.rund.logs.LogStore;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.LogsRequest;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Logs RPC against a real rund on loopback with real TLS: start points (offset, last N lines, since a time)
 * on jobs with known output, one stream only, timestamps on request, exact resume from any offset and after a
 * connection killed mid-stream, and the trailer with the final status, even when the output ended long before
 * the job.
 */
class LogsApiTest {

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();
    private static RundClient alice;

    @BeforeAll
    static void connect() {
        alice = rund.shared("alice");
    }

    @Test
    void tailGivesExactlyTheLastLinesOfTheChosenStreams() throws Exception {
        // stdout first (its last line has no newline), then, once the pump has surely read it, stderr.
        String job = start(alice, "printf 'l1\\nl2\\nl3\\nl4\\nl5'; sleep 0.3; printf 'e1\\ne2\\n' >&2");
        LogReads.awaitEnd(alice, job);

        assertEquals("l4\nl5", tail(job, 2, LogStream.LOG_STREAM_STDOUT).text());
        assertEquals("l5", tail(job, 1, LogStream.LOG_STREAM_STDOUT).text());
        assertEquals("l1\nl2\nl3\nl4\nl5", tail(job, 5, LogStream.LOG_STREAM_STDOUT).text());
        assertEquals("l1\nl2\nl3\nl4\nl5", tail(job, 99, LogStream.LOG_STREAM_STDOUT).text());
        assertEquals("e2\n", tail(job, 1, LogStream.LOG_STREAM_STDERR).text());
        assertEquals("e1\ne2\n", tail(job, 2, LogStream.LOG_STREAM_STDERR).text());
        assertEquals("", tail(job, 0, LogStream.LOG_STREAM_UNSPECIFIED).text());
        // Both streams: the bytes in log order are l1\nl2\nl3\nl4\nl5e1\ne2\n, whose last three lines start at l4.
        LogReads.Stream lastThree = tail(job, 3, LogStream.LOG_STREAM_UNSPECIFIED);
        assertEquals("l4\nl5", lastThree.text(LogStream.LOG_STREAM_STDOUT));
        assertEquals("e1\ne2\n", lastThree.text(LogStream.LOG_STREAM_STDERR));
        assertEquals(9, lastThree.chunks().getFirst().getOffset(), "l4 starts at offset 9");
        assertEquals(JobState.JOB_STATE_EXITED, lastThree.trailer().getState());
    }

    @Test
    void sinceGivesExactlyTheOutputReadAtOrAfterThatTime() throws Exception {
        String job = start(alice, "printf 'a1\\na2\\n'; sleep 0.3; printf 'b1\\nb2\\n'; sleep 0.3; printf 'c1\\n'");
        LogReads.awaitEnd(alice, job);
        List<LogData> all = read(alice, request(job).setTimestamps(true).build()).chunks();
        assertEquals(List.of("a1\na2\n", "b1\nb2\n", "c1\n"), all.stream().map(d -> d.getData().toStringUtf8()).toList());
        Instant b = instant(all.get(1).getTimestamp());
        assertTrue(instant(all.get(0).getTimestamp()).isBefore(b.minusNanos(1)));

        assertEquals("b1\nb2\nc1\n", since(job, b).text());
        assertEquals("b1\nb2\nc1\n", since(job, b.minusNanos(1)).text());
        assertEquals("c1\n", since(job, b.plusNanos(1)).text());
        assertEquals("a1\na2\nb1\nb2\nc1\n", since(job, Instant.EPOCH).text());
        assertEquals("", since(job, Instant.now().plusSeconds(3600)).text());
    }

    @Test
    void oneStreamOnlyKeepsTheOffsetsOfBoth() {
        String job = start(alice, "printf out1; sleep 0.2; printf err1 >&2; sleep 0.2; printf out2");
        assertNotNull(read(alice, request(job).setFollow(true).build()).trailer());

        LogReads.Stream stdout = read(alice, request(job).setStream(LogStream.LOG_STREAM_STDOUT).build());
        assertEquals(List.of(0L, 8L), stdout.chunks().stream().map(LogData::getOffset).toList());
        assertEquals("out1out2", stdout.text());
        LogReads.Stream stderr = read(alice, request(job).setStream(LogStream.LOG_STREAM_STDERR).build());
        assertEquals(List.of(4L), stderr.chunks().stream().map(LogData::getOffset).toList());
        assertEquals("err1", stderr.text());
    }

    @Test
    void timestampsAreSentOnlyWhenAskedFor() throws Exception {
        String job = start(alice, "echo stamped");
        LogReads.awaitEnd(alice, job);
        assertFalse(read(alice, request(job).build()).chunks().getFirst().hasTimestamp());
        LogData stamped = read(alice, request(job).setTimestamps(true).build()).chunks().getFirst();
        assertTrue(stamped.hasTimestamp());
        assertFalse(instant(stamped.getTimestamp()).isAfter(Instant.now()));
    }

    @Test
    void resumingFromAnyOffsetGivesExactlyTheRest() throws Exception {
        byte[] expected = LogReads.seq("", 1, 1, 200_000);
        String job = start(alice, "seq 1 200000");
        LogReads.awaitEnd(alice, job);
        assertArrayEquals(expected, read(alice, request(job).build()).bytes(null));

        for (int from : new int[] {0, 1, 4095, 4096, 65_535, 65_536, 100_001, expected.length - 1, expected.length}) {
            LogReads.Stream rest = read(alice, request(job).setFromOffset(from).build());
            assertArrayEquals(Arrays.copyOfRange(expected, from, expected.length), rest.bytes(null), "from " + from);
            if (from < expected.length) {
                assertEquals(from, rest.chunks().getFirst().getOffset());
            }
            assertEquals(JobState.JOB_STATE_EXITED, rest.trailer().getState());
        }
    }

    @Test
    void aConnectionKilledMidStreamResumesFromTheLastOffsetWithoutGapOrRepeat(@TempDir Path gates) throws Exception {
        byte[] expected = LogReads.seq("", 1, 1, 600_000);
        // The job writes a part, then waits at a gate that opens only once the connection has been severed in
        // that part: whatever the client has buffered, the stream cannot have ended before the sever, so every
        // sever breaks it (under load the client may read long after the server sent everything).
        Files.setPosixFilePermissions(gates, PosixFilePermissions.fromString("rwxr-xr-x"));
        String gate = "; while [ ! -e " + gates + "/%d ]; do sleep 0.02; done; ";
        String job = start(alice, "seq 1 100000" + gate.formatted(1) + "seq 100001 300000" + gate.formatted(2)
                + "seq 300001 600000" + gate.formatted(3));
        long[] severAt = {512 * 1024, 1536 * 1024, 3 * 1024 * 1024}; // one in each part
        try (TcpRelay relay = TcpRelay.start(rund.port());
             RundClient relayed = RundClient.connect(new HostPort("localhost", relay.port()), ExampleCertificates.files("alice"))) {
            ByteArrayOutputStream received = new ByteArrayOutputStream();
            long next = 0;
            int severed = 0;
            int broken = 0;
            JobStatus trailer = null;
            while (trailer == null) {
                LogsRequest.Builder resume = request(job).setFollow(true).setFromOffset(next);
                try {
                    Iterator<LogChunk> chunks = relayed.logs(resume.build());
                    while (chunks.hasNext()) {
                        LogChunk chunk = chunks.next();
                        if (chunk.hasTrailer()) {
                            trailer = chunk.getTrailer().getStatus();
                            break;
                        }
                        assertEquals(next, chunk.getData().getOffset(), "each chunk starts where the last one ended");
                        chunk.getData().getData().writeTo(received);
                        next += chunk.getData().getData().size();
                        if (severed < severAt.length && next >= severAt[severed]) {
                            severed++;
                            relay.severAll();
                            Files.createFile(gates.resolve(Integer.toString(severed)));
                        }
                    }
                } catch (StatusRuntimeException e) {
                    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode(), e.getStatus().toString());
                    broken++;
                }
            }
            assertEquals(severAt.length, broken, "every severed connection broke the stream");
            assertTrue(relay.connectionsAccepted() > severAt.length, "it reconnected");
            assertArrayEquals(expected, received.toByteArray(), "the concatenation is byte-exact");
            assertEquals(0, trailer.getExitCode().getValue());
        }
        LogStore log = rund.log(job);
        LogReads.until(() -> log.followerCount() == 0, "the broken streams released their followers");
    }

    @Test
    void followingAShortJobThatAlreadyExitedGivesItsOutputAndTheTrailer() throws Exception {
        String job = start(alice, "echo done");
        LogReads.awaitEnd(alice, job);
        LogReads.Stream followed = read(alice, request(job).setFollow(true).build());
        assertEquals("done\n", followed.text());
        assertEquals(JobState.JOB_STATE_EXITED, followed.trailer().getState());
        assertEquals(0, followed.trailer().getExitCode().getValue());

        LogReads.Stream atOnce = read(alice, request(start(alice, "echo done")).setFollow(true).build());
        assertEquals("done\n", atOnce.text());
        assertEquals(JobState.JOB_STATE_EXITED, atOnce.trailer().getState());
    }

    @Test
    void aJobThatClosesItsOutputAndRunsOnEndsTheStreamOnlyWithItsFinalStatus() {
        String job = start(alice, "echo bye; exec >&- 2>&-; sleep 1; exit 4");
        LogReads.Stream followed = read(alice, request(job).setFollow(true).build());
        assertEquals("bye\n", followed.text());
        assertEquals(JobState.JOB_STATE_EXITED, followed.trailer().getState());
        assertEquals(4, followed.trailer().getExitCode().getValue());
    }

    @Test
    void badStartPointsAreInvalidArguments() {
        String job = start(alice, "true");
        for (LogsRequest bad : List.of(request(job).setFromOffset(-1).build(), request(job).setTailLines(-3).build(),
                request(job).setSince(Timestamp.newBuilder().setSeconds(Long.MAX_VALUE)).build())) {
            StatusRuntimeException e = LogReads.failure(() -> read(alice, bad));
            assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), e.getStatus().toString());
        }
    }

    @Test
    void followersOfTheSameOutputWithOtherOptionsEachGetTheirOwnExactBytes() throws Exception {
        // Followers at the same place share one read of each record; each still gets its own options' chunks.
        byte[] out = LogReads.seq("", 1, 1, 100_000);
        byte[] err = LogReads.seq("", 1, 1, 1_000);
        byte[] both = Arrays.copyOf(out, out.length + err.length);
        System.arraycopy(err, 0, both, out.length, err.length);
        int midRecord = 5_000;
        String job = start(alice, "sleep 0.5; seq 1 100000; seq 1 1000 >&2");
        var stamped = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> read(alice, request(job).setFollow(true).setTimestamps(true).build()));
        var plain = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> read(alice, request(job).setFollow(true).build()));
        var stdoutFromMidRecord = java.util.concurrent.CompletableFuture.supplyAsync(() -> read(alice,
                request(job).setFollow(true).setFromOffset(midRecord).setStream(LogStream.LOG_STREAM_STDOUT).build()));

        LogReads.Stream withTimes = stamped.get(LogReads.HANG_GUARD.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        assertArrayEquals(both, withTimes.bytes(null));
        assertTrue(withTimes.chunks().stream().allMatch(LogData::hasTimestamp));
        LogReads.Stream withoutTimes = plain.get(LogReads.HANG_GUARD.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        assertArrayEquals(both, withoutTimes.bytes(null));
        assertTrue(withoutTimes.chunks().stream().noneMatch(LogData::hasTimestamp));
        LogReads.Stream rest = stdoutFromMidRecord.get(LogReads.HANG_GUARD.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        assertArrayEquals(Arrays.copyOfRange(out, midRecord, out.length), rest.bytes(null));
        assertEquals(midRecord, rest.chunks().getFirst().getOffset());
        for (LogReads.Stream each : List.of(withTimes, withoutTimes, rest)) {
            assertEquals(JobState.JOB_STATE_EXITED, each.trailer().getState());
        }
    }

    private static LogReads.Stream tail(String job, long lines, LogStream stream) {
        return read(alice, request(job).setTailLines(lines).setStream(stream).build());
    }

    private static LogReads.Stream since(String job, Instant time) {
        return read(alice, request(job).setSince(Timestamp.newBuilder()
                .setSeconds(time.getEpochSecond()).setNanos(time.getNano())).build());
    }

    private static Instant instant(Timestamp timestamp) {
        return Instant.ofEpochSecond(timestamp.getSeconds(), timestamp.getNanos());
    }
}
