package io.rund.api;

import static io.rund.api.LogReads.read;
import static io.rund.api.LogReads.request;
import static io.rund.api.LogReads.start;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.logs.LogStore;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogsRequest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The limits of log streaming against a real rund with small caps: logs kept within a per-job and a global size
 * cap by dropping whole segments (their disk blocks freed), a dropped offset refused with OUT_OF_RANGE and where
 * the retained output starts, follower caps per job and per identity answered with RESOURCE_EXHAUSTED and freed
 * when streams end, and a follower of a silent job kept alive past the server's idle timeout by HTTP/2 pings.
 */
class LogCapsTest {

    private static final long SEGMENT = 256 * 1024;
    private static final long JOB_CAP = 1024 * 1024;
    private static final long TOTAL_CAP = 3 * 1024 * 1024;
    private static final int FOLLOWERS_PER_JOB = 2;
    private static final int FOLLOWERS_PER_IDENTITY = 3;
    /** A file system block: what a punched range may leave allocated at each of its ends. */
    private static final long BLOCK = 4096;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture(String.join("\n",
            "rund.logs.segment-size = " + SEGMENT,
            "rund.logs.max-job-bytes = " + JOB_CAP,
            "rund.logs.max-total-bytes = " + TOTAL_CAP,
            "rund.logs.max-followers-per-job = " + FOLLOWERS_PER_JOB,
            "rund.logs.max-followers-per-identity = " + FOLLOWERS_PER_IDENTITY,
            "pekko.http.server.idle-timeout = 2s",
            "pekko.http.server.http2.ping-interval = 500ms",
            "pekko.http.server.http2.ping-timeout = 500ms"));
    private static RundClient alice;

    @BeforeAll
    static void connect() {
        alice = rund.shared("alice");
    }

    @Test
    void aJobsLogKeepsItsCapAndRefusesADroppedOffsetSayingWhereTheRetainedOutputStarts() throws Exception {
        byte[] expected = LogReads.seq("", 1, 1, 600_000);
        String job = start(alice, "seq 1 600000");
        LogReads.awaitEnd(alice, job);
        LogStore log = rund.log(job);
        long first = log.firstRetainedOffset();
        assertTrue(first > 0, "older output was dropped");
        assertTrue(log.retainedBytes() <= JOB_CAP, log.retainedBytes() + " bytes kept");
        // The final status is published before the log is forced to disk and closed; until then the file system
        // may still hold blocks reserved for delayed allocation beyond the data.
        LogReads.until(() -> allocatedBytes(log.path()) <= JOB_CAP + 2 * BLOCK + BLOCK,
                "the log's disk usage within its cap (" + log.path() + ")");

        StatusRuntimeException dropped = LogReads.failure(() -> read(alice, request(job).setFromOffset(0).build()));
        assertEquals(Status.Code.OUT_OF_RANGE, dropped.getStatus().getCode());
        assertEquals(Long.toString(first), dropped.getTrailers().get(
                Metadata.Key.of("rund-retained-from", Metadata.ASCII_STRING_MARSHALLER)));
        assertTrue(dropped.getStatus().getDescription().contains("starts at offset " + first),
                dropped.getStatus().getDescription());

        LogReads.Stream oldest = read(alice, request(job).build());
        assertEquals(first, oldest.chunks().getFirst().getOffset(), "without a start point: the oldest retained output");
        assertArrayEquals(Arrays.copyOfRange(expected, (int) first, expected.length), oldest.bytes(null));
        assertArrayEquals(Arrays.copyOfRange(expected, (int) first, expected.length),
                read(alice, request(job).setFromOffset(first).build()).bytes(null));
        assertEquals("600000\n", read(alice, request(job).setTailLines(1).build()).text());
        assertEquals(Arrays.copyOfRange(expected, (int) first, expected.length).length,
                read(alice, request(job).setTailLines(1_000_000).build()).bytes(null).length,
                "more lines than retained: from the oldest retained output");
    }

    @Test
    void pastTheGlobalCapTheOldestSegmentsOfAnyLogGoFirst() throws Exception {
        List<String> jobs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String job = start(alice, "seq 1 150000");
            LogReads.awaitEnd(alice, job);
            jobs.add(job);
        }
        long total = rund.daemon().logs().retainedBytes();
        assertTrue(total <= TOTAL_CAP, total + " bytes kept by all logs");
        assertTrue(rund.log(jobs.getFirst()).firstRetainedOffset() > 0, "the oldest job lost its oldest output");
        LogStore newest = rund.log(jobs.getLast());
        assertEquals(0, newest.firstRetainedOffset(), "the newest job kept all of its output");
        assertArrayEquals(LogReads.seq("", 1, 1, 150_000), read(alice, request(jobs.getLast()).build()).bytes(null));
    }

    @Test
    void followersBeyondTheCapsAreRefusedUntilOthersLeave() throws Exception {
        String x = start(alice, "exec sleep 1000");
        String y = start(alice, "exec sleep 1000");
        LogStore logX = rund.log(x);
        LogStore logY = rund.log(y);
        List<ClientCall<LogsRequest, LogChunk>> open = new ArrayList<>();
        try (RundClient bob = rund.client("bob")) {
            open.add(follow(alice, x));
            open.add(follow(alice, x));
            LogReads.until(() -> logX.followerCount() == 2, "two followers of x");
            assertResourceExhausted(alice, x, "per job");

            open.add(follow(alice, y));
            LogReads.until(() -> logY.followerCount() == 1, "one follower of y");
            assertResourceExhausted(alice, y, "per identity: alice has " + FOLLOWERS_PER_IDENTITY);
            open.add(follow(bob, y));
            LogReads.until(() -> logY.followerCount() == 2, "bob is another identity");

            open.removeFirst().cancel("done", null);
            LogReads.until(() -> logX.followerCount() == 1, "a cancelled follower leaves");
            open.add(follow(alice, x));
            LogReads.until(() -> logX.followerCount() == 2, "its place is free again");
        } finally {
            open.forEach(call -> call.cancel("done", null));
        }
        LogReads.until(() -> logX.followerCount() == 0 && logY.followerCount() == 0, "every follower left");
        alice.stop(io.rund.proto.v1.StopRequest.newBuilder().setJobId(x).build());
        alice.stop(io.rund.proto.v1.StopRequest.newBuilder().setJobId(y).build());
    }

    @Test
    void aFollowerOfASilentJobOutlivesTheIdleTimeout() {
        String job = start(alice, "echo before; sleep 4; echo after");
        LogReads.Stream followed = read(alice, request(job).setFollow(true).build());
        assertEquals("before\nafter\n", followed.text());
        assertEquals(JobState.JOB_STATE_EXITED, followed.trailer().getState());
    }

    private static ClientCall<LogsRequest, LogChunk> follow(RundClient client, String job) {
        ClientCall<LogsRequest, LogChunk> call = client.newLogsCall(CallOptions.DEFAULT);
        CompletableFuture<Status> closed = new CompletableFuture<>();
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, new Metadata());
        call.sendMessage(request(job).setFollow(true).build());
        call.halfClose();
        call.request(Integer.MAX_VALUE);
        return call;
    }

    private static void assertResourceExhausted(RundClient client, String job, String why) {
        StatusRuntimeException e = LogReads.failure(() -> read(client, request(job).setFollow(true).build()));
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode(), why + ": " + e.getStatus());
    }

    /** Bytes of disk the file holds (st_blocks), as du counts them. */
    private static long allocatedBytes(Path file) {
        try {
            Process stat = new ProcessBuilder("stat", "--format=%b %B", file.toString()).redirectErrorStream(true).start();
            String[] blocks = new String(stat.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip().split(" ");
            assertEquals(0, stat.waitFor(), String.join(" ", blocks));
            return Long.parseLong(blocks[0]) * Long.parseLong(blocks[1]);
        } catch (IOException | InterruptedException e) {
            throw new AssertionError("cannot stat " + file, e);
        }
    }
}
