package io.rund.bench;

import io.rund.cli.RundClient;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.ListResponse;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Does listing many jobs slow other clients? Starts a daemon from {@code REPOSITORY} (bin/rund serve), puts {@code JOBS}
 * finished /bin/true jobs in it, then measures one client's Status latency (p50, p99) alone and while four clients
 * loop List through every job (following next_page_token where the daemon gives one; a daemon without paging answers
 * all jobs in one reply). Run it against this branch and against a checkout of the code before paging for a
 * same-machine baseline:
 * {@code java -cp target/test-classes:target/rund.jar:$(cat target/classpath.txt) io.rund.bench.ListLoadProbe REPO JOBS}.
 * Prints numbers; asserts nothing.
 */
public final class ListLoadProbe {

    private static final int STARTERS = 8;
    private static final int LISTERS = 4;
    private static final Duration PHASE = Duration.ofSeconds(20);
    private static final double NANOS_PER_MILLI = 1e6;
    private static final int PERCENT = 100;
    private static final int P99 = 99;
    private static final int P50 = 50;

    private ListLoadProbe() {}

    public static void main(String[] args) throws Exception {
        Path repository = Path.of(args[0]).toAbsolutePath();
        int jobs = Integer.parseInt(args[1]);
        Path work = Files.createTempDirectory("rund-list-probe-");
        Map<String, String> environment = Map.of(
                "RUND_JOB_MAX_RETAINED", Integer.toString(jobs * 2),
                "RUND_TENANT_MAX_RETAINED_BYTES", "4G",
                "RUND_TENANT_MAX_RETAINED_BYTES_PER_IDENTITY", "4G");
        try (BenchDaemon daemon = BenchDaemon.start(repository, work, environment);
             RundClient probe = RundClient.connect(daemon.address(), BenchDaemon.clientTls(repository, "client"))) {
            String someJob = startJobs(repository, daemon, jobs);
            StatusRequest status = StatusRequest.newBuilder().setJobId(someJob).build();
            System.out.println("jobs listed per full pass: " + listAll(probe).total() + ", pages: " + listAll(probe).pages());
            report("Status alone", measure(probe, status));

            AtomicBoolean listing = new AtomicBoolean(true);
            AtomicLong passes = new AtomicLong();
            AtomicLong failures = new AtomicLong();
            ExecutorService listers = Executors.newFixedThreadPool(LISTERS);
            List<Future<?>> loops = new ArrayList<>();
            for (int i = 0; i < LISTERS; i++) {
                loops.add(listers.submit(() -> {
                    try (RundClient client = RundClient.connect(daemon.address(), BenchDaemon.clientTls(repository, "client"))) {
                        while (listing.get()) {
                            try {
                                listAll(client);
                                passes.incrementAndGet();
                            } catch (RuntimeException e) {
                                failures.incrementAndGet();
                            }
                        }
                    }
                    return null;
                }));
            }
            long[] loaded = measure(probe, status);
            listing.set(false);
            for (Future<?> loop : loops) {
                loop.get();
            }
            listers.shutdown();
            report("Status while " + LISTERS + " clients loop List", loaded);
            System.out.printf("full List passes in %d s: %d (%d failed calls)%n", PHASE.toSeconds(), passes.get(), failures.get());
        } finally {
            BenchDaemon.deleteRecursively(work);
        }
    }

    private record Listing(int total, int pages) {}

    private static Listing listAll(RundClient client) {
        int total = 0;
        int pages = 0;
        String token = "";
        do {
            ListResponse page = client.list(ListRequest.newBuilder().setPageToken(token).build());
            total += page.getJobsCount();
            pages++;
            token = page.getNextPageToken();
        } while (!token.isEmpty());
        return new Listing(total, pages);
    }

    private static String startJobs(Path repository, BenchDaemon daemon, int jobs) throws Exception {
        StartRequest truth = StartRequest.newBuilder().setCommand("/bin/true").build();
        AtomicLong next = new AtomicLong();
        ExecutorService starters = Executors.newFixedThreadPool(STARTERS);
        List<Future<String>> last = new ArrayList<>();
        long begin = System.nanoTime();
        for (int i = 0; i < STARTERS; i++) {
            last.add(starters.submit(() -> {
                String id = null;
                try (RundClient client = RundClient.connect(daemon.address(), BenchDaemon.clientTls(repository, "client"))) {
                    while (next.incrementAndGet() <= jobs) {
                        id = client.start(truth).getJobId();
                    }
                }
                return id;
            }));
        }
        String id = null;
        for (Future<String> starter : last) {
            id = starter.get();
        }
        starters.shutdown();
        System.out.printf("started %d jobs in %.1f s%n", jobs, (System.nanoTime() - begin) / 1e9);
        return id;
    }

    private static long[] measure(RundClient client, StatusRequest status) {
        List<Long> samples = new ArrayList<>();
        long end = System.nanoTime() + PHASE.toNanos();
        while (System.nanoTime() < end) {
            long begin = System.nanoTime();
            client.status(status);
            samples.add(System.nanoTime() - begin);
        }
        return samples.stream().mapToLong(Long::longValue).sorted().toArray();
    }

    private static void report(String what, long[] sorted) {
        System.out.printf("%s: %d calls, p50 %.2f ms, p99 %.2f ms%n", what, sorted.length,
                sorted[sorted.length * P50 / PERCENT] / NANOS_PER_MILLI, sorted[sorted.length * P99 / PERCENT] / NANOS_PER_MILLI);
    }

}
