package io.rund.bench;

import io.rund.cli.RundClient;
import io.rund.proto.v1.StartRequest;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * 1. Starting a job. Latency: one client, sequential, /bin/true: the Start RPC round trip over mutual TLS against
 * the native spawn path in-process (cgroup create + clone3 spawn: the floor) and against ProcessBuilder.start().
 * Throughput: 1, 8 and 64 concurrent clients (each its own TLS connection) start /bin/true for a fixed window;
 * a job counts once it has ended and its cgroup is gone, so the figure is what rund sustains, not what it queues.
 * The baselines do the same work per job with as many threads.
 */
final class StartBench {

    static final String SECTION = "1. Start";
    private static final List<String> TRUE = List.of("/bin/true");
    private static final StartRequest START_TRUE = StartRequest.newBuilder().setCommand("/bin/true").build();
    /** A daemon that has run this many jobs is replaced: every finished job keeps its log file open (see BENCHMARKS.md). */
    private static final int DAEMON_RECYCLE_OPEN_FILES = 12_000;
    private static final int WARM_UP_CLIENTS = 8;
    private static final Duration DRAIN_TIMEOUT = Duration.ofMinutes(2);
    private static final double MICROS_PER_MILLI = 1_000;

    private final BenchContext bench;
    private BenchDaemon daemon;

    private StartBench(BenchContext bench) {
        this.bench = bench;
    }

    static List<Figure> run(BenchContext bench) throws Exception {
        StartBench start = new StartBench(bench);
        try {
            return start.measure();
        } finally {
            if (start.daemon != null) {
                start.daemon.close();
            }
        }
    }

    private List<Figure> measure() throws Exception {
        BenchPlan plan = bench.plan();
        Figure floorP50 = new Figure(SECTION, "native spawn, no daemon (floor): cgroup + clone3 of /bin/true, p50", "µs");
        Figure floorP99 = new Figure(SECTION, "native spawn, no daemon (floor), p99", "µs");
        Figure builderP50 = new Figure(SECTION, "ProcessBuilder.start() of /bin/true, p50", "µs");
        Figure builderP99 = new Figure(SECTION, "ProcessBuilder.start() of /bin/true, p99", "µs");
        Figure rundP50 = new Figure(SECTION, "Start RPC round trip over mTLS, /bin/true, p50", "µs")
                .comparedWith(floorP50).comparedWith(builderP50)
                .target("≤ 2,000 µs and ≤ 3× floor", v -> v <= 2 * MICROS_PER_MILLI && v <= 3 * floorP50.median());
        Figure rundP99 = new Figure(SECTION, "Start RPC round trip over mTLS, /bin/true, p99", "µs")
                .comparedWith(floorP99).comparedWith(builderP99);

        daemon = bench.startDaemon();
        try (NativeSpawnFloor floor = NativeSpawnFloor.open(BenchContext.JOB_USER);
             RundClient client = bench.client(daemon)) {
            bench.progress("start latency: warming up");
            warmUp(bench, daemon);
            latencies(floor, client, plan.warmUpStarts() / 10);
            for (int run = 1; run <= plan.repetitions(); run++) {
                bench.progress("start latency: run " + run + "/" + plan.repetitions());
                Samples[] s = latencies(floor, client, plan.startSamples());
                floorP50.add(s[0].p50Micros());
                floorP99.add(s[0].p99Micros());
                builderP50.add(s[1].p50Micros());
                builderP99.add(s[1].p99Micros());
                rundP50.add(s[2].p50Micros());
                rundP99.add(s[2].p99Micros());
            }
        }
        List<Figure> figures = new ArrayList<>(List.of(rundP50, rundP99, floorP50, floorP99, builderP50, builderP99));
        figures.addAll(throughput());
        return figures;
    }

    /** {@code count} sequential starts by each method, interleaved; [floor, ProcessBuilder, rund]. */
    private Samples[] latencies(NativeSpawnFloor floor, RundClient client, int count) throws Exception {
        Samples floorSamples = new Samples(count);
        Samples builder = new Samples(count);
        Samples rund = new Samples(count);
        for (int i = 0; i < count; i++) {
            floorSamples.add(floor.runOnce(TRUE));

            long begin = System.nanoTime();
            Process process = new ProcessBuilder(TRUE).start();
            builder.add(System.nanoTime() - begin);
            process.waitFor();
            closeStreams(process);

            begin = System.nanoTime();
            client.start(START_TRUE);
            rund.add(System.nanoTime() - begin);
        }
        daemon.awaitNoJobs(DRAIN_TIMEOUT);
        return new Samples[] {floorSamples, builder, rund};
    }

    private List<Figure> throughput() throws Exception {
        BenchPlan plan = bench.plan();
        List<Figure> figures = new ArrayList<>();
        for (int clients : BenchPlan.CLIENT_COUNTS) {
            Figure floor = new Figure(SECTION, "native spawn floor, " + clients + " threads", "jobs/s");
            Figure builder = new Figure(SECTION, "ProcessBuilder start + waitFor, " + clients + " threads", "jobs/s");
            Figure rund = new Figure(SECTION, "sustained jobs/s, " + clients + " concurrent clients (start → ended, cgroup removed)", "jobs/s")
                    .comparedWith(floor).comparedWith(builder)
                    .target("≥ 1,000 jobs/s", v -> v >= 1_000);
            for (int run = 1; run <= plan.throughputRepetitions(); run++) {
                bench.progress("throughput, " + clients + " clients: run " + run + "/" + plan.throughputRepetitions());
                floor.add(floorThroughput(clients, plan.throughputWindow()));
                builder.add(builderThroughput(clients, plan.throughputWindow()));
                rund.add(rundThroughput(clients, plan.throughputWindow()));
            }
            figures.addAll(List.of(rund, floor, builder));
        }
        return figures;
    }

    private static double floorThroughput(int threads, Duration window) throws Exception {
        AtomicLong jobs = new AtomicLong();
        try (NativeSpawnFloor floor = NativeSpawnFloor.open(BenchContext.JOB_USER)) {
            long begin = System.nanoTime();
            long end = begin + window.toNanos();
            Concurrently.run(threads, index -> {
                while (System.nanoTime() < end) {
                    floor.runOnce(TRUE);
                    jobs.incrementAndGet();
                }
            });
            return perSecond(jobs.get(), System.nanoTime() - begin);
        }
    }

    private static double builderThroughput(int threads, Duration window) throws Exception {
        AtomicLong jobs = new AtomicLong();
        long begin = System.nanoTime();
        long end = begin + window.toNanos();
        Concurrently.run(threads, index -> {
            while (System.nanoTime() < end) {
                Process process = new ProcessBuilder(TRUE).start();
                process.waitFor();
                closeStreams(process);
                jobs.incrementAndGet();
            }
        });
        return perSecond(jobs.get(), System.nanoTime() - begin);
    }

    private double rundThroughput(int clients, Duration window) throws Exception {
        if (daemon.openFiles() > DAEMON_RECYCLE_OPEN_FILES) {
            bench.progress("replacing the daemon (" + daemon.openFiles() + " open files)");
            daemon.close();
            daemon = bench.startDaemon();
            warmUp(bench, daemon);
        }
        RundClient[] connections = new RundClient[clients];
        try {
            for (int i = 0; i < clients; i++) {
                connections[i] = bench.client(daemon);
                connections[i].start(START_TRUE); // connected and warm before the clock starts
            }
            daemon.awaitNoJobs(DRAIN_TIMEOUT);
            AtomicLong jobs = new AtomicLong();
            long begin = System.nanoTime();
            long end = begin + window.toNanos();
            Concurrently.run(clients, index -> {
                while (System.nanoTime() < end) {
                    connections[index].start(START_TRUE);
                    jobs.incrementAndGet();
                }
            });
            if (!daemon.awaitNoJobs(DRAIN_TIMEOUT)) {
                throw new IOException("jobs still running " + DRAIN_TIMEOUT + " after the throughput window");
            }
            return perSecond(jobs.get(), System.nanoTime() - begin);
        } finally {
            for (RundClient connection : connections) {
                if (connection != null) {
                    connection.close();
                }
            }
        }
    }

    /** A fresh daemon's JIT compiles for thousands of calls: run {@code plan.warmUpStarts()} jobs first, unmeasured. */
    static void warmUp(BenchContext bench, BenchDaemon daemon) throws Exception {
        int jobs = bench.plan().warmUpStarts();
        AtomicLong next = new AtomicLong();
        Concurrently.run(WARM_UP_CLIENTS, index -> {
            try (RundClient client = bench.client(daemon)) {
                while (next.getAndIncrement() < jobs) {
                    client.start(START_TRUE);
                }
            }
        });
        daemon.awaitNoJobs(DRAIN_TIMEOUT);
    }

    private static double perSecond(long count, long nanos) {
        return count * 1e9 / nanos;
    }

    static void closeStreams(Process process) throws IOException {
        process.getInputStream().close();
        process.getErrorStream().close();
        process.getOutputStream().close();
    }
}
