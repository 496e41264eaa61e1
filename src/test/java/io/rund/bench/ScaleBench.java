package io.rund.bench;

import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StopRequest;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * 3. Scale: many concurrent sleeping jobs in one daemon. Starts them with 64 concurrent clients, then reads the
 * daemon's threads, live heap after a full GC, RSS and open files, each as the increase over the same daemon
 * before the jobs (per job), then stops them all with 64 concurrent clients. If the daemon refuses jobs before
 * the planned number (it runs out of file descriptors), the figures are per job actually started, and the first
 * refusal is reported.
 */
final class ScaleBench {

    static final String SECTION = "3. Scale";
    private static final int CLIENTS = 64;
    private static final StartRequest SLEEPER = StartRequest.newBuilder().setCommand("sleep").addArgs("1000000").build();
    private static final int WARM_UP_JOBS = 200;
    /** Stop issuing starts after this many refusals: the daemon is full. */
    private static final int REFUSALS_TO_GIVE_UP = 64;
    private static final Duration DRAIN_TIMEOUT = Duration.ofMinutes(1);
    private static final double KIB = 1024;

    private ScaleBench() {}

    static List<Figure> run(BenchContext bench) throws Exception {
        int planned = bench.plan().scaleJobs();
        String jobs = String.format("%,d", planned);
        Figure started = new Figure(SECTION, "jobs running at once (of " + jobs + " started)", "jobs")
                .target("all " + jobs, v -> v >= planned);
        Figure startAll = new Figure(SECTION, "time to start them all, " + CLIENTS + " clients", "s");
        Figure stopAll = new Figure(SECTION, "time to stop them all, " + CLIENTS + " clients", "s");
        Figure threads = new Figure(SECTION, "daemon threads with them running", "threads")
                .target("≤ 64", v -> v <= 64);
        Figure idleThreads = new Figure(SECTION, "daemon threads idle (before)", "threads");
        Figure heap = new Figure(SECTION, "live heap per job (after full GC)", "KiB")
                .target("≤ 16 KiB", v -> v <= 16);
        Figure rss = new Figure(SECTION, "RSS per job", "KiB");
        Figure files = new Figure(SECTION, "open files per job", "fds");

        try (BenchDaemon daemon = bench.startDaemon()) {
            StartBench.warmUp(bench, daemon);
            warmUp(bench, daemon);
            int threads0 = daemon.threads();
            long heap0 = daemon.heapUsedAfterGcBytes();
            long rss0 = daemon.rssBytes();
            int files0 = daemon.openFiles();

            bench.progress("scale: starting " + jobs + " sleeping jobs");
            ConcurrentLinkedQueue<String>[] ids = queues();
            AtomicInteger refusals = new AtomicInteger();
            AtomicReference<String> firstRefusal = new AtomicReference<>();
            AtomicInteger next = new AtomicInteger();
            long begin = System.nanoTime();
            Concurrently.run(CLIENTS, index -> {
                try (RundClient client = bench.client(daemon)) {
                    while (next.getAndIncrement() < planned && refusals.get() < REFUSALS_TO_GIVE_UP) {
                        try {
                            ids[index].add(client.start(SLEEPER).getJobId());
                        } catch (StatusRuntimeException e) {
                            refusals.incrementAndGet();
                            firstRefusal.compareAndSet(null, e.getStatus().getCode() + ": " + e.getStatus().getDescription());
                        }
                    }
                }
            });
            startAll.add((System.nanoTime() - begin) / 1e9);
            int running = 0;
            for (ConcurrentLinkedQueue<String> queue : ids) {
                running += queue.size();
            }
            started.add(running);
            if (firstRefusal.get() != null) {
                started.note("refused after " + String.format("%,d", running) + " jobs: " + firstRefusal.get());
            }
            bench.progress("scale: " + running + " jobs running; measuring the daemon");
            threads.add(daemon.threads());
            idleThreads.add(threads0);
            heap.add((daemon.heapUsedAfterGcBytes() - heap0) / KIB / running);
            rss.add((daemon.rssBytes() - rss0) / KIB / running);
            files.add((daemon.openFiles() - files0) / (double) running);

            bench.progress("scale: stopping them all");
            begin = System.nanoTime();
            Concurrently.run(CLIENTS, index -> {
                try (RundClient client = bench.client(daemon)) {
                    for (String id : ids[index]) {
                        client.stop(StopRequest.newBuilder().setJobId(id).build());
                    }
                }
            });
            stopAll.add((System.nanoTime() - begin) / 1e9);
            if (!daemon.awaitNoJobs(DRAIN_TIMEOUT)) {
                stopAll.note(daemon.jobCgroups() + " job cgroups still there " + DRAIN_TIMEOUT.toMinutes() + " min after the stops");
            }
        }
        return List.of(started, startAll, stopAll, idleThreads, threads, heap, rss, files);
    }

    /** Loads the classes and JIT-compiles the paths the measured run takes, so that the idle figures are not cold. */
    private static void warmUp(BenchContext bench, BenchDaemon daemon) throws Exception {
        List<String> ids = new ArrayList<>();
        try (RundClient client = bench.client(daemon)) {
            for (int i = 0; i < WARM_UP_JOBS; i++) {
                ids.add(client.start(SLEEPER).getJobId());
            }
            for (String id : ids) {
                client.stop(StopRequest.newBuilder().setJobId(id).build());
            }
        }
        daemon.awaitNoJobs(DRAIN_TIMEOUT);
    }

    @SuppressWarnings("unchecked")
    private static ConcurrentLinkedQueue<String>[] queues() {
        ConcurrentLinkedQueue<String>[] queues = new ConcurrentLinkedQueue[CLIENTS];
        for (int i = 0; i < CLIENTS; i++) {
            queues[i] = new ConcurrentLinkedQueue<>();
        }
        return queues;
    }
}
