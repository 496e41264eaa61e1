package io.rund.bench;

import io.grpc.StatusRuntimeException;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;

import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * 7. Adoption: a daemon with N running jobs is killed with -9, and a new daemon on the same state directory adopts
 * them from rund-keeper. Timed from the exec of the new {@code bin/rund serve} to its first TLS handshake, and to the
 * moment every one of the N jobs has answered Status with RUNNING (and its pid) through it. Baseline, same run: the
 * start of a daemon with an empty state directory (from exec to its first TLS handshake).
 */
final class AdoptionBench {

    static final String SECTION = "7. Adoption";
    private static final StartRequest SLEEPER = StartRequest.newBuilder().setCommand("sleep").addArgs("1000000").build();
    private static final int CLIENTS = 16;

    private AdoptionBench() {}

    static List<Figure> run(BenchContext bench) throws Exception {
        int jobs = bench.plan().adoptionJobs();
        String n = String.format("%,d", jobs);
        Figure empty = new Figure(SECTION, "baseline: rund serve, empty state → first TLS handshake", "ms");
        Figure ready = new Figure(SECTION, "rund serve with " + n + " jobs to adopt → first TLS handshake", "ms")
                .comparedWith(empty);
        Figure allRunning = new Figure(SECTION, "rund serve → all " + n + " adopted jobs answer RUNNING", "ms")
                .comparedWith(empty);
        try (BenchDaemon fresh = bench.startDaemon()) {
            empty.add(fresh.readyNanos() / 1e6);
        }
        BenchDaemon first = bench.startDaemon();
        BenchDaemon adopter = null;
        try {
            bench.progress("adoption: starting " + n + " sleeping jobs");
            Queue<String> ids = new ConcurrentLinkedQueue<>();
            AtomicInteger next = new AtomicInteger();
            Concurrently.run(CLIENTS, index -> {
                try (RundClient client = bench.client(first)) {
                    while (next.getAndIncrement() < jobs) {
                        ids.add(client.start(SLEEPER).getJobId());
                    }
                }
            });
            bench.progress("adoption: kill -9 of the daemon, then a new one on its state directory");
            BenchDaemon restarted = first.crashAndRestart(bench.repository(), Map.of());
            adopter = restarted;
            long begin = System.nanoTime() - restarted.readyNanos(); // the exec of the new daemon
            ready.add(restarted.readyNanos() / 1e6);
            Queue<String> pending = new ConcurrentLinkedQueue<>(ids);
            Concurrently.run(CLIENTS, index -> {
                try (RundClient client = bench.client(restarted)) {
                    for (String id = pending.poll(); id != null; id = pending.poll()) {
                        while (!runs(client, id)) {
                            Thread.sleep(1);
                        }
                    }
                }
            });
            allRunning.add((System.nanoTime() - begin) / 1e6);
        } finally {
            (adopter != null ? adopter : first).close();
        }
        return List.of(empty, ready, allRunning);
    }

    private static boolean runs(RundClient client, String id) {
        try {
            var status = client.status(StatusRequest.newBuilder().setJobId(id).build()).getStatus();
            return status.getState() == JobState.JOB_STATE_RUNNING && status.hasPid();
        } catch (StatusRuntimeException notYet) {
            return false;
        }
    }
}
