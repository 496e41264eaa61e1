package io.rund.bench;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.Node;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * 8. Cluster: three real {@code rund serve} daemons on loopback joined as one cluster (node certificates
 * tls/node1..3.pem, RUND_NODE_INDEX 1..3, every node a seed), each figure beside its same-run local baseline: the
 * Start round trip client -> A -> job on B against Start on A for a job on A; one follower of a finished job on B
 * through A against the same follow through B (MB/s) and the latency from rund's read of a line to its receipt,
 * routed and local at once; the heap 1,000 idle followers on A of a job on B cost on A and on B, against 1,000
 * followers on B itself. Every daemon, cgroup root and state directory is removed afterwards, also on failure.
 */
final class ClusterBench {

    static final String SECTION = "8. Cluster";
    private static final int NODES = 3;
    private static final String NODE_A = "node1";
    private static final String NODE_B = "node2";
    private static final Duration UP_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration HANG_GUARD = Duration.ofMinutes(3);
    private static final StartRequest.Builder TRUE = StartRequest.newBuilder().setCommand("/bin/true");
    private static final int MIB = 1024 * 1024;
    private static final double MICROS_PER_MILLI = 1_000;
    private static final int LATENCY_LINES = 200;
    private static final String LINE_PAUSE = "0.01";
    private static final int IDLE_FOLLOWERS = 1_000;
    private static final int FOLLOWERS_PER_CONNECTION = 100;
    private static final int START_SAMPLE_DIVISOR = 4;
    private static final Duration FOLLOWER_RELEASE_PAUSE = Duration.ofSeconds(10);

    private final BenchContext bench;
    private final boolean quick;
    private final Map<String, BenchDaemon> daemons = new LinkedHashMap<>();

    private ClusterBench(BenchContext bench) {
        this.bench = bench;
        this.quick = bench.plan().startSamples() < BenchPlan.full().startSamples();
    }

    static List<Figure> run(BenchContext bench) throws Exception {
        ClusterBench cluster = new ClusterBench(bench);
        try {
            return cluster.measure();
        } finally {
            cluster.daemons.values().forEach(BenchDaemon::close);
        }
    }

    private List<Figure> measure() throws Exception {
        startCluster();
        BenchDaemon a = daemons.get(NODE_A);
        BenchDaemon b = daemons.get(NODE_B);
        List<Figure> figures = new ArrayList<>();
        try (RundClient viaA = bench.client(a); RundClient viaB = bench.client(b)) {
            figures.addAll(part("routed Start", () -> startRoundTrips(viaA)));
            figures.addAll(part("follow throughput", () -> followThroughput(viaA, viaB)));
            figures.addAll(part("follow latency", () -> followLatency(viaA, viaB)));
            figures.addAll(part("idle followers", () -> idleFollowerHeap(viaA, a, b)));
        }
        return figures;
    }

    private interface Part {
        List<Figure> measure() throws Exception;
    }

    /** One part's figures, or a "not measured" row saying why: a part that fails does not lose the others. */
    private List<Figure> part(String name, Part part) {
        try {
            return part.measure();
        } catch (Exception e) {
            bench.progress("cluster: " + name + " failed: " + e);
            return List.of(new Figure(SECTION, name, "").note("failed: " + e));
        }
    }

    /** Three daemons, each a seed of the others; returns once every node sees all three reachable. */
    private void startCluster() throws Exception {
        int[] clusterPorts = new int[NODES];
        List<String> seeds = new ArrayList<>();
        for (int i = 0; i < NODES; i++) {
            clusterPorts[i] = freePort();
            seeds.add("127.0.0.1:" + clusterPorts[i]);
        }
        for (int i = 0; i < NODES; i++) {
            String name = "node" + (i + 1);
            bench.progress("cluster: starting " + name);
            Map<String, String> env = Map.of(
                    "RUND_NODE_NAME", name,
                    "RUND_NODE_INDEX", Integer.toString(i + 1),
                    "RUND_CLUSTER_ADDR", seeds.get(i),
                    "RUND_CLUSTER_SEEDS", String.join(",", seeds),
                    "RUND_NODE_CERT", bench.repository().resolve("tls/" + name + ".pem").toString(),
                    "RUND_NODE_KEY", bench.repository().resolve("tls/" + name + "-key.pem").toString());
            daemons.put(name, BenchDaemon.start(bench.repository(), bench.workDirectory(), env));
        }
        long deadline = System.nanoTime() + UP_TIMEOUT.toNanos();
        for (Map.Entry<String, BenchDaemon> node : daemons.entrySet()) {
            try (RundClient client = bench.client(node.getValue())) {
                while (reachable(client) < NODES) {
                    if (System.nanoTime() > deadline) {
                        throw new IOException(node.getKey() + " does not see " + NODES + " reachable nodes within "
                                + UP_TIMEOUT + " (Nodes: " + client.nodes().getNodesList() + "); its log: "
                                + node.getValue().logFile());
                    }
                    Thread.sleep(100);
                }
            }
        }
        bench.progress("cluster: " + NODES + " nodes up");
    }

    private static long reachable(RundClient client) {
        try {
            return client.nodes().getNodesList().stream().filter(Node::getReachable).count();
        } catch (RuntimeException notYet) {
            return 0;
        }
    }

    // ---- Start round trip --------------------------------------------------------------------------------

    private List<Figure> startRoundTrips(RundClient viaA) {
        Figure localP50 = new Figure(SECTION, "Start on A of a job on A (--host node1), p50", "µs")
                .as("local Start");
        Figure localP99 = new Figure(SECTION, "Start on A of a job on A, p99", "µs").as("local Start p99");
        Figure routedP50 = new Figure(SECTION, "Start on A of a job on B (--host node2), p50", "µs")
                .comparedWith(localP50)
                .target("≤ local + 1 ms", v -> v <= localP50.median() + MICROS_PER_MILLI);
        Figure routedP99 = new Figure(SECTION, "Start on A of a job on B, p99", "µs").comparedWith(localP99);
        // A routed and a local Start per sample, through three daemons on the bench's host: a quarter of section
        // 1's samples keeps this part to minutes even on a loaded 2-core host.
        int samples = bench.plan().startSamples() / START_SAMPLE_DIVISOR;
        // Warmed up as section 1 is: the daemons' JIT compiles the routed path (gRPC, the ask, Artery, the CBOR
        // serializer on both sides) only after thousands of calls, and a cold path measures the compiler.
        bench.progress("cluster: start round trips, warming up (" + bench.plan().warmUpStarts() + " of each)");
        startLatencies(viaA, bench.plan().warmUpStarts());
        for (int run = 1; run <= bench.plan().repetitions(); run++) {
            bench.progress("cluster: start round trips, run " + run + "/" + bench.plan().repetitions());
            Samples[] s = startLatencies(viaA, samples);
            localP50.add(s[0].p50Micros());
            localP99.add(s[0].p99Micros());
            routedP50.add(s[1].p50Micros());
            routedP99.add(s[1].p99Micros());
        }
        // Status of a job on B against one on A, through A: the hop to the owner and back, without a spawn beside it.
        Figure statusLocal = new Figure(SECTION, "Status on A of a job on A, p50", "µs").as("local Status");
        Figure statusRouted = new Figure(SECTION, "Status on A of a job on B, p50", "µs").comparedWith(statusLocal);
        String onA = viaA.start(TRUE.clone().setHost(NODE_A).build()).getJobId();
        String onB = viaA.start(TRUE.clone().setHost(NODE_B).build()).getJobId();
        statusLatencies(viaA, onA, onB, bench.plan().warmUpStarts());
        for (int run = 1; run <= bench.plan().repetitions(); run++) {
            Samples[] s = statusLatencies(viaA, onA, onB, samples);
            statusLocal.add(s[0].p50Micros());
            statusRouted.add(s[1].p50Micros());
        }
        return List.of(routedP50, routedP99, localP50, localP99, statusRouted, statusLocal);
    }

    private static Samples[] statusLatencies(RundClient viaA, String onA, String onB, int samples) {
        Samples local = new Samples(samples);
        Samples routed = new Samples(samples);
        for (int i = 0; i < samples; i++) {
            long begin = System.nanoTime();
            viaA.status(StatusRequest.newBuilder().setJobId(onA).build());
            local.add(System.nanoTime() - begin);
            begin = System.nanoTime();
            viaA.status(StatusRequest.newBuilder().setJobId(onB).build());
            routed.add(System.nanoTime() - begin);
        }
        return new Samples[] {local, routed};
    }

    /** Alternates a Start for node1 and one for node2 through node1: [local, routed]. */
    private static Samples[] startLatencies(RundClient viaA, int samples) {
        Samples local = new Samples(samples);
        Samples routed = new Samples(samples);
        for (int i = 0; i < samples; i++) {
            local.add(timeStart(viaA, NODE_A));
            routed.add(timeStart(viaA, NODE_B));
        }
        return new Samples[] {local, routed};
    }

    private static long timeStart(RundClient client, String host) {
        long begin = System.nanoTime();
        client.start(TRUE.clone().setHost(host).build());
        return System.nanoTime() - begin;
    }

    // ---- one follower: throughput and latency ------------------------------------------------------------

    private List<Figure> followThroughput(RundClient viaA, RundClient viaB) throws Exception {
        long bytes = (quick ? 50L : 200L) * MIB;
        String size = String.format(Locale.ROOT, "%d MiB of output", bytes / MIB);
        List<Figure> figures = new ArrayList<>(followThroughput(viaA, viaB, "log text",
                List.of("/bin/sh", "-c", SampleLogText.command(bytes)), bytes,
                size + " of log lines (`SampleLogText`), which compress: both followers get gzip messages"));
        figures.addAll(followThroughput(viaA, viaB, "random bytes",
                List.of("head", "-c", Long.toString(bytes), "/dev/urandom"), bytes,
                size + " of random bytes, which do not compress: both followers get them as they are"));
        return figures;
    }

    /** One follower of a finished job on B through B, then through A, in turns; MB/s. */
    private List<Figure> followThroughput(RundClient viaA, RundClient viaB, String output, List<String> command,
                                          long bytes, String note) throws Exception {
        String job = viaA.start(StartRequest.newBuilder().setCommand(command.getFirst())
                .addAllArgs(command.subList(1, command.size())).setHost(NODE_B).build()).getJobId();
        awaitEnded(viaA, job);
        Figure local = new Figure(SECTION, "follow of a finished job on B through B (local), one follower, " + output,
                "MB/s").as("local follow, " + output);
        Figure routed = new Figure(SECTION, "follow of a finished job on B through A (cross-node), one follower, "
                + output, "MB/s").comparedWith(local).target("≥ 70% of local", v -> v >= 0.7 * local.median());
        readAll(viaB, job, bytes); // warms both paths
        readAll(viaA, job, bytes);
        for (int run = 1; run <= bench.plan().repetitions(); run++) {
            bench.progress("cluster: follow throughput (" + output + "), run " + run + "/" + bench.plan().repetitions());
            local.add(readAll(viaB, job, bytes));
            routed.add(readAll(viaA, job, bytes));
        }
        return List.of(routed.note(note), local.note(note));
    }

    /** Reads the job's whole log from offset 0; MB/s. */
    private static double readAll(RundClient client, String job, long expected) {
        long begin = System.nanoTime();
        long got = 0;
        Iterator<LogChunk> chunks = client.logs(LogsRequest.newBuilder().setJobId(job).setFollow(true).build());
        while (chunks.hasNext()) {
            LogChunk chunk = chunks.next();
            if (chunk.hasData()) {
                got += chunk.getData().getData().size();
            }
        }
        long nanos = System.nanoTime() - begin;
        if (got != expected) {
            throw new IllegalStateException("read " + got + " bytes of job " + job + ", expected " + expected);
        }
        return got / 1e6 / (nanos / 1e9);
    }

    private List<Figure> followLatency(RundClient viaA, RundClient viaB) throws Exception {
        Figure localP50 = new Figure(SECTION, "line read by rund on B -> received, follower on B (local), p50", "ms")
                .as("local follower");
        Figure localP99 = new Figure(SECTION, "line read -> received, follower on B (local), p99", "ms")
                .as("local follower p99");
        Figure routedP50 = new Figure(SECTION, "line read by rund on B -> received, follower on A (cross-node), p50",
                "ms").comparedWith(localP50);
        Figure routedP99 = new Figure(SECTION, "line read -> received, follower on A (cross-node), p99", "ms")
                .comparedWith(localP99);
        for (int run = 1; run <= bench.plan().repetitions(); run++) {
            bench.progress("cluster: follow latency, run " + run + "/" + bench.plan().repetitions());
            String job = viaA.start(StartRequest.newBuilder().setCommand("sh").addArgs("-c")
                    .addArgs("sleep 1; i=0; while [ $i -lt " + LATENCY_LINES + " ]; do echo line $i; sleep "
                            + LINE_PAUSE + "; i=$((i+1)); done")
                    .setHost(NODE_B).build()).getJobId();
            LatencyFollower local = new LatencyFollower(viaB, job);
            LatencyFollower routed = new LatencyFollower(viaA, job);
            long[] l = local.await();
            long[] r = routed.await();
            localP50.add(percentile(l, 50) / MICROS_PER_MILLI);
            localP99.add(percentile(l, 99) / MICROS_PER_MILLI);
            routedP50.add(percentile(r, 50) / MICROS_PER_MILLI);
            routedP99.add(percentile(r, 99) / MICROS_PER_MILLI);
        }
        String note = LATENCY_LINES + " lines, one every " + LINE_PAUSE + " s, both followers at once";
        return List.of(routedP50.note(note), routedP99, localP50, localP99);
    }

    /** Follows a job from its start, noting for each chunk the time from its timestamp (rund's read) to receipt. */
    private static final class LatencyFollower {
        private final List<Long> micros = new ArrayList<>();
        private final CountDownLatch done = new CountDownLatch(1);
        private final AtomicReference<Status> closed = new AtomicReference<>();

        LatencyFollower(RundClient client, String job) {
            ClientCall<LogsRequest, LogChunk> call = client.newLogsCall(CallOptions.DEFAULT);
            call.start(new ClientCall.Listener<>() {
                @Override
                public void onMessage(LogChunk chunk) {
                    if (chunk.hasData()) {
                        Instant received = Instant.now();
                        LogData data = chunk.getData();
                        synchronized (micros) {
                            micros.add((received.getEpochSecond() - data.getTimestamp().getSeconds()) * 1_000_000
                                    + (received.getNano() - data.getTimestamp().getNanos()) / 1_000);
                        }
                    }
                    call.request(1);
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                    closed.set(status);
                    done.countDown();
                }
            }, new Metadata());
            call.sendMessage(LogsRequest.newBuilder().setJobId(job).setFollow(true).setTimestamps(true).build());
            call.halfClose();
            call.request(1);
        }

        long[] await() throws InterruptedException {
            if (!done.await(HANG_GUARD.toSeconds(), TimeUnit.SECONDS) || !closed.get().isOk()) {
                throw new IllegalStateException("a latency follower did not end cleanly: " + closed.get());
            }
            synchronized (micros) {
                return micros.stream().mapToLong(Long::longValue).sorted().toArray();
            }
        }
    }

    // ---- 1,000 idle followers ----------------------------------------------------------------------------

    private List<Figure> idleFollowerHeap(RundClient viaA, BenchDaemon a, BenchDaemon b) throws Exception {
        Figure localOnB = new Figure(SECTION, String.format(Locale.ROOT,
                "%,d followers on B of a job on B (local): heap per follower on B", IDLE_FOLLOWERS), "KiB")
                .as("local followers");
        Figure routedOnA = new Figure(SECTION, String.format(Locale.ROOT,
                "%,d followers on A of a job on B: heap per follower on A", IDLE_FOLLOWERS), "KiB").comparedWith(localOnB);
        Figure routedOnB = new Figure(SECTION, String.format(Locale.ROOT,
                "%,d followers on A of a job on B: heap per follower on B", IDLE_FOLLOWERS), "KiB").comparedWith(localOnB);
        int runs = quick ? 1 : bench.plan().repetitions() / 2 + 1;
        for (int run = 1; run <= runs; run++) {
            bench.progress("cluster: " + IDLE_FOLLOWERS + " idle followers, run " + run + "/" + runs);
            String job = viaA.start(StartRequest.newBuilder().setCommand("sh").addArgs("-c")
                    .addArgs("echo ready; exec sleep 3600").setHost(NODE_B).build()).getJobId();
            try {
                // The previous run's followers are released on B once their cancellations arrive; under load that
                // can lag behind the next run's 1,000 (the identity's follower cap), so a refused run waits once.
                awaitFollowersReleased();
                long[] local = heapWithFollowers(b, job, b, a);
                localOnB.add(local[0] / 1024.0 / IDLE_FOLLOWERS);
                awaitFollowersReleased();
                long[] routed = heapWithFollowers(a, job, b, a);
                routedOnB.add(routed[0] / 1024.0 / IDLE_FOLLOWERS);
                routedOnA.add(routed[1] / 1024.0 / IDLE_FOLLOWERS);
            } finally {
                viaA.stop(StopRequest.newBuilder().setJobId(job).build());
            }
        }
        return List.of(routedOnA, routedOnB, localOnB);
    }

    /** Cancelled followers release their slots on the job's host asynchronously: give them time to. */
    private static void awaitFollowersReleased() throws InterruptedException {
        Thread.sleep(FOLLOWER_RELEASE_PAUSE.toMillis());
    }

    /** Opens IDLE_FOLLOWERS followers of {@code job} through {@code entry}; heap growth on [b, a] once all are in. */
    private long[] heapWithFollowers(BenchDaemon entry, String job, BenchDaemon b, BenchDaemon a) throws Exception {
        long bBefore = b.heapUsedAfterGcBytes();
        long aBefore = a.heapUsedAfterGcBytes();
        List<RundClient> connections = new ArrayList<>();
        List<ClientCall<LogsRequest, LogChunk>> calls = new ArrayList<>();
        CountDownLatch attached = new CountDownLatch(IDLE_FOLLOWERS);
        AtomicLong failures = new AtomicLong();
        AtomicReference<Status> firstFailure = new AtomicReference<>();
        try {
            for (int i = 0; i < IDLE_FOLLOWERS; i += FOLLOWERS_PER_CONNECTION) {
                connections.add(bench.client(entry));
            }
            for (int i = 0; i < IDLE_FOLLOWERS; i++) {
                ClientCall<LogsRequest, LogChunk> call = connections.get(i / FOLLOWERS_PER_CONNECTION)
                        .newLogsCall(CallOptions.DEFAULT);
                calls.add(call);
                call.start(new ClientCall.Listener<>() {
                    private boolean first = true;

                    @Override
                    public void onMessage(LogChunk chunk) {
                        if (first) {
                            first = false;
                            attached.countDown();
                        }
                        call.request(1);
                    }

                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        if (first) {
                            firstFailure.compareAndSet(null, status);
                            failures.incrementAndGet();
                            attached.countDown();
                        }
                    }
                }, new Metadata());
                call.sendMessage(LogsRequest.newBuilder().setJobId(job).setFollow(true).build());
                call.halfClose();
                call.request(1);
            }
            if (!attached.await(HANG_GUARD.toSeconds(), TimeUnit.SECONDS) || failures.get() > 0) {
                throw new IllegalStateException("followers not attached: " + attached.getCount() + " missing, "
                        + failures.get() + " failed, the first with " + firstFailure.get());
            }
            return new long[] {b.heapUsedAfterGcBytes() - bBefore, a.heapUsedAfterGcBytes() - aBefore};
        } finally {
            calls.forEach(call -> call.cancel("measured", null));
            connections.forEach(RundClient::close);
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------

    private static void awaitEnded(RundClient client, String job) throws InterruptedException {
        long deadline = System.nanoTime() + HANG_GUARD.toNanos();
        while (true) {
            JobState state = client.status(StatusRequest.newBuilder().setJobId(job).build()).getStatus().getState();
            if (state != JobState.JOB_STATE_STARTING && state != JobState.JOB_STATE_RUNNING
                    && state != JobState.JOB_STATE_STOPPING) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("job " + job + " still " + state + " after " + HANG_GUARD);
            }
            Thread.sleep(50);
        }
    }

    private static long percentile(long[] sorted, int percentile) {
        if (sorted.length == 0) {
            throw new IllegalStateException("no samples");
        }
        int index = Math.min(sorted.length - 1, (int) Math.ceil(percentile / 100.0 * sorted.length) - 1);
        return sorted[Math.max(0, index)];
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
