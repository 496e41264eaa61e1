package io.rund.api;

import static io.rund.api.LogReads.start;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.rund.auth.ExampleCertificates;
import io.rund.cli.RundClient;
import io.rund.logs.LogRecord;
import io.rund.logs.LogStore;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogStream;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.StopRequest;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Log fan-out at scale against a real rund on loopback with real TLS, followers multiplexed over a few HTTP/2
 * connections as a dashboard would: a thousand followers of one job get exactly its bytes; a follower that stops
 * reading slows neither the job nor the other followers; ten thousand followers coming and going leave nothing
 * behind. Timings are printed, never asserted.
 */
class LogFanoutScaleTest {

    /** Lines of "out %09d\n" on stdout and as many "err %09d\n" on stderr: 14 bytes each, 20 MB in all. */
    private static final int LINES_PER_STREAM = 714_286;
    private static final int FOLLOWERS = 1_000;
    private static final int CONNECTIONS = 8;
    /** Per stream: with a thousand streams the client holds at most this much of each unread. */
    private static final int CLIENT_WINDOW_BYTES = 256 * 1024;
    /** A stalled client's window: small, so that it is full after the first few chunks. */
    private static final int STALLED_WINDOW_BYTES = 64 * 1024;
    private static final long BIG_OUTPUT_BYTES = 200_000_000;
    private static final String BIG_OUTPUT = "yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c " + BIG_OUTPUT_BYTES;
    private static final int ACTIVE_BESIDE_STALLED = 3;
    /** Runs alone and with a stalled follower, each; the fastest of each is compared. */
    private static final int ROUNDS = 2;
    private static final int CYCLES = 10_000;
    private static final int WARM_UP_CYCLES = 1_000;
    private static final int CYCLES_IN_FLIGHT = 64;
    /** Allowance for open fds after 10,000 cycles: a leak of one fd per 1,250 followers fails. */
    private static final int FD_ALLOWANCE = 8;
    /**
     * Allowance for threads after 10,000 cycles. Every pool in the JVM is bounded, but one may still grow toward its
     * working size during the run (Pekko's fork-join dispatchers add threads under load: +16 seen at load 18 on
     * 2 cores); a thread leaked per follower, or per 400 followers, would exceed it.
     */
    private static final int THREAD_ALLOWANCE = 24;
    /**
     * How long a follower may take before the test calls it hung: 20 GB through TLS took 83 s on a 2-core host at load
     * ~10, and more than LogReads' 3 minutes at load 20 with a benchmark of 1,000 followers beside it. A guard, not a
     * time bound: a follower that stopped receiving fails it, a slow host does not.
     */
    private static final java.time.Duration FOLLOW_HANG_GUARD = java.time.Duration.ofMinutes(15);
    /** A leak of 1 KiB per follower would show as 10 MB. */
    private static final long HEAP_ALLOWANCE_BYTES = 8L * 1024 * 1024;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();
    private static RundClient alice;

    @BeforeAll
    static void connect() {
        alice = rund.shared("alice");
    }

    @Test
    void aThousandFollowersOfTwentyMegabytesEachGetExactlyWhatTheJobWrote() throws Exception {
        byte[] out = LogReads.seq("out ", 9, 1, LINES_PER_STREAM);
        byte[] err = LogReads.seq("err ", 9, 1, LINES_PER_STREAM);
        byte[] outDigest = sha256(out);
        byte[] errDigest = sha256(err);
        long total = out.length + err.length;

        String job = start(alice, "sleep 2; seq -f 'out %09g' 1 " + LINES_PER_STREAM
                + " & seq -f 'err %09g' 1 " + LINES_PER_STREAM + " >&2; wait");
        List<RundClient> connections = connections(CONNECTIONS, CLIENT_WINDOW_BYTES);
        try {
            long started = System.nanoTime();
            List<Follower> followers = new ArrayList<>();
            for (int i = 0; i < FOLLOWERS; i++) {
                followers.add(Follower.start(connections.get(i % CONNECTIONS), job, Integer.MAX_VALUE));
            }
            for (Follower follower : followers) {
                follower.awaitClose();
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            System.out.printf("fan-out: %d followers over %d connections received %d bytes each in %.1f s"
                            + " (%.0f MB/s delivered in all)%n",
                    FOLLOWERS, CONNECTIONS, total, seconds, FOLLOWERS * (double) total / 1e6 / seconds);
            for (Follower follower : followers) {
                assertEquals(Status.Code.OK, follower.status().getCode(), follower.status().toString());
                assertEquals(List.of(), follower.problems);
                assertEquals(total, follower.next, "bytes received, contiguous from offset 0");
                assertArrayEquals(outDigest, follower.digest(LogStream.LOG_STREAM_STDOUT), "sha256 of stdout");
                assertArrayEquals(errDigest, follower.digest(LogStream.LOG_STREAM_STDERR), "sha256 of stderr");
                assertEquals(JobState.JOB_STATE_EXITED, follower.trailer.getState());
                assertEquals(0, follower.trailer.getExitCode().getValue());
            }
        } finally {
            connections.forEach(RundClient::close);
        }
    }

    @Test
    void aFollowerThatStopsReadingSlowsNeitherTheJobNorTheOtherFollowers() throws Exception {
        byte[] expected = sha256(bigOutput());
        // The followers get a second to be in before the job writes; its writing time is measured from its records.
        String command = "sleep 1; " + BIG_OUTPUT;
        List<RundClient> stalledConnections = connections(ROUNDS + 1, STALLED_WINDOW_BYTES);
        List<RundClient> activeConnection = connections(1, CLIENT_WINDOW_BYTES);
        List<Follower> stalled = new ArrayList<>();
        List<LogStore> stalledLogs = new ArrayList<>();
        try {
            // Alone and with a stalled follower, alternately; the fastest of each counts (the machine is shared).
            Duration withoutFollowers = null;
            Duration withStalled = null;
            for (int round = 0; round < ROUNDS; round++) {
                String alone = start(alice, BIG_OUTPUT);
                LogReads.awaitEnd(alice, alone);
                withoutFollowers = shortest(withoutFollowers, writeDuration(alone));

                String stalledOnly = start(alice, command);
                stalled.add(Follower.start(stalledConnections.get(round), stalledOnly, 1));
                LogStore stalledOnlyLog = rund.log(stalledOnly);
                stalledLogs.add(stalledOnlyLog);
                LogReads.until(() -> stalledOnlyLog.followerCount() == 1, "the stalled follower is in");
                LogReads.awaitEnd(alice, stalledOnly);
                withStalled = shortest(withStalled, writeDuration(stalledOnly));
            }

            String shared = start(alice, command);
            Follower stalledToo = Follower.start(stalledConnections.get(ROUNDS), shared, 1);
            stalled.add(stalledToo);
            List<Follower> active = new ArrayList<>();
            for (int i = 0; i < ACTIVE_BESIDE_STALLED; i++) {
                active.add(Follower.start(activeConnection.getFirst(), shared, Integer.MAX_VALUE));
            }
            for (Follower follower : active) {
                follower.awaitClose();
            }
            JobStatus end = LogReads.awaitEnd(alice, shared);
            Duration withStalledAndActive = writeDuration(shared);

            System.out.printf("a job writing %d MB took %d ms alone, %d ms with a stalled follower (ratio %.2f; fastest of %d each),"
                            + " %d ms with a stalled and %d active followers (ratio %.2f; these compete for the 2 cores)%n",
                    BIG_OUTPUT_BYTES / 1_000_000, withoutFollowers.toMillis(), withStalled.toMillis(),
                    ratio(withStalled, withoutFollowers), ROUNDS, withStalledAndActive.toMillis(), ACTIVE_BESIDE_STALLED,
                    ratio(withStalledAndActive, withoutFollowers));

            assertEquals(0, end.getExitCode().getValue());
            for (Follower follower : active) {
                assertEquals(Status.Code.OK, follower.status().getCode(), follower.status().toString());
                assertEquals(List.of(), follower.problems);
                assertEquals(BIG_OUTPUT_BYTES, follower.next);
                assertArrayEquals(expected, follower.digest(LogStream.LOG_STREAM_STDOUT));
                assertNotNull(follower.trailer);
            }
            for (Follower follower : stalled) {
                assertEquals(1, follower.messages.get(), "the stalled follower asked for one chunk only");
                assertTrue(!follower.closed.isDone(), "the stalled follower is still there, waiting");
            }
            LogStore sharedLog = rund.log(shared);
            assertEquals(1, sharedLog.followerCount(), "only the stalled follower is left");
            stalledLogs.add(sharedLog);
            stalled.forEach(follower -> follower.call.cancel("done", null));
            LogReads.until(() -> stalledLogs.stream().allMatch(log -> log.followerCount() == 0),
                    "the stalled followers left when cancelled");
        } finally {
            stalledConnections.forEach(RundClient::close);
            activeConnection.forEach(RundClient::close);
        }
    }

    @Test
    void tenThousandFollowersComingAndGoingLeaveHeapThreadsAndFilesWhereTheyWere() throws Exception {
        String job = start(alice, "echo ready; exec sleep 1000");
        LogStore log = rund.log(job);
        LogReads.until(() -> log.size() > 0, "the job wrote its line");
        List<RundClient> connections = connections(4, CLIENT_WINDOW_BYTES);
        try {
            cycle(connections, job, WARM_UP_CYCLES);
            LogReads.until(() -> log.followerCount() == 0, "warm-up followers left");
            Resources before = Resources.measure();
            cycle(connections, job, CYCLES);
            LogReads.until(() -> log.followerCount() == 0, "every follower left");
            Resources after = Resources.measure();
            System.out.printf("%d follower connect/disconnect cycles: heap after GC %d -> %d KiB, threads %d -> %d %s,"
                            + " open fds %d -> %d%n", CYCLES, before.heapBytes / 1024, after.heapBytes / 1024,
                    before.threads, after.threads, Resources.newThreads(before, after), before.fds, after.fds);
            assertTrue(after.fds - before.fds <= FD_ALLOWANCE, "open fds " + before.fds + " -> " + after.fds);
            assertTrue(after.threads - before.threads <= THREAD_ALLOWANCE, "threads " + before.threads + " -> " + after.threads);
            assertTrue(after.heapBytes - before.heapBytes <= HEAP_ALLOWANCE_BYTES,
                    "heap after GC " + before.heapBytes + " -> " + after.heapBytes);
        } finally {
            connections.forEach(RundClient::close);
            alice.stop(StopRequest.newBuilder().setJobId(job).build());
        }
    }

    /** {@code count} followers, each opened, given its first chunk and then cancelled, {@link #CYCLES_IN_FLIGHT} at a time. */
    private static void cycle(List<RundClient> connections, String job, int count) throws InterruptedException {
        Semaphore inFlight = new Semaphore(CYCLES_IN_FLIGHT);
        AtomicInteger unexpected = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(count);
        for (int i = 0; i < count; i++) {
            inFlight.acquire();
            ClientCall<LogsRequest, LogChunk> call = connections.get(i % connections.size()).newLogsCall(CallOptions.DEFAULT);
            call.start(new ClientCall.Listener<>() {
                @Override
                public void onMessage(LogChunk chunk) {
                    call.cancel("seen enough", null);
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                    if (status.getCode() != Status.Code.CANCELLED) {
                        unexpected.incrementAndGet();
                    }
                    inFlight.release();
                    done.countDown();
                }
            }, new Metadata());
            call.sendMessage(LogReads.request(job).setFollow(true).build());
            call.halfClose();
            call.request(1);
        }
        assertTrue(done.await(LogReads.HANG_GUARD.toSeconds(), TimeUnit.SECONDS), "cycles done");
        assertEquals(0, unexpected.get(), "cycles that ended otherwise than cancelled after their first chunk");
    }

    /** Heap after a full GC, live threads (and their kinds) and open file descriptors of this JVM (daemon and clients). */
    private record Resources(long heapBytes, int threads, Map<String, Long> threadKinds, long fds) {
        static Resources measure() throws IOException, InterruptedException {
            for (int i = 0; i < 3; i++) {
                System.gc();
                Thread.sleep(100);
            }
            long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            int threads = ManagementFactory.getThreadMXBean().getThreadCount();
            Map<String, Long> kinds = Thread.getAllStackTraces().keySet().stream()
                    .collect(Collectors.groupingBy(t -> t.getName().replaceAll("[0-9]+", "N"), TreeMap::new, Collectors.counting()));
            try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
                return new Resources(heap, threads, kinds, fds.count());
            }
        }

        /** Thread kinds that grew, with by how much. */
        static Map<String, Long> newThreads(Resources before, Resources after) {
            Map<String, Long> grown = new TreeMap<>();
            after.threadKinds.forEach((kind, n) -> {
                long more = n - before.threadKinds.getOrDefault(kind, 0L);
                if (more > 0) {
                    grown.put(kind, more);
                }
            });
            return grown;
        }
    }

    /** One follower driven asynchronously: checks offsets are contiguous and hashes each stream as it comes. */
    private static final class Follower {
        final ClientCall<LogsRequest, LogChunk> call;
        final MessageDigest stdout = sha256();
        final MessageDigest stderr = sha256();
        final List<String> problems = new ArrayList<>();
        final AtomicInteger messages = new AtomicInteger();
        final CompletableFuture<Status> closed = new CompletableFuture<>();
        long next;
        JobStatus trailer;

        private Follower(ClientCall<LogsRequest, LogChunk> call) {
            this.call = call;
        }

        /** Follows {@code job} from the start, asking for {@code chunks} chunks (MAX_VALUE: all). */
        static Follower start(RundClient client, String job, int chunks) {
            Follower follower = new Follower(client.newLogsCall(CallOptions.DEFAULT));
            follower.call.start(new ClientCall.Listener<>() {
                @Override
                public void onMessage(LogChunk chunk) {
                    follower.messages.incrementAndGet();
                    follower.take(chunk);
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                    follower.closed.complete(status);
                }
            }, new Metadata());
            follower.call.sendMessage(LogReads.request(job).setFollow(true).build());
            follower.call.halfClose();
            follower.call.request(chunks);
            return follower;
        }

        private void take(LogChunk chunk) {
            if (chunk.hasTrailer()) {
                trailer = chunk.getTrailer().getStatus();
                return;
            }
            LogData data = chunk.getData();
            if (data.getOffset() != next && problems.size() < 10) {
                problems.add("chunk at " + data.getOffset() + ", expected " + next);
            }
            for (ByteBuffer bytes : data.getData().asReadOnlyByteBufferList()) {
                (data.getStream() == LogStream.LOG_STREAM_STDERR ? stderr : stdout).update(bytes);
            }
            next = data.getOffset() + data.getData().size();
        }

        byte[] digest(LogStream stream) {
            return (stream == LogStream.LOG_STREAM_STDERR ? stderr : stdout).digest();
        }

        Status status() {
            return closed.join();
        }

        void awaitClose() throws Exception {
            closed.get(FOLLOW_HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
        }
    }

    private static List<RundClient> connections(int count, int windowBytes) throws Exception {
        List<RundClient> clients = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            clients.add(RundClient.connect(rund.address(), ExampleCertificates.files("alice"),
                    new RundClient.Transport(windowBytes, Runnable::run)));
        }
        return clients;
    }

    /** From the first to the last record the job wrote, by the log's own timestamps. */
    private static Duration writeDuration(String job) throws Exception {
        LogStore log = rund.log(job);
        LogRecord first = log.read(0, 1).getFirst();
        LogRecord last = log.read(log.size() - 1, 1).getFirst();
        return Duration.between(first.timestamp(), last.timestamp());
    }

    private static byte[] bigOutput() {
        byte[] line = "0123456789abcdefghijklmnopqrstuvwxyz\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] all = new byte[(int) BIG_OUTPUT_BYTES];
        for (int at = 0; at < all.length; at += line.length) {
            System.arraycopy(line, 0, all, at, Math.min(line.length, all.length - at));
        }
        return all;
    }

    private static Duration shortest(Duration best, Duration next) {
        return best == null || next.compareTo(best) < 0 ? next : best;
    }

    private static double ratio(Duration with, Duration without) {
        return (double) with.toNanos() / Math.max(1, without.toNanos());
    }

    private static byte[] sha256(byte[] bytes) {
        return sha256().digest(bytes);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
