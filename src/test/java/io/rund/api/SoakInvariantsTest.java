package io.rund.api;

import io.rund.bench.SoakBench;
import io.rund.cli.RundClient;
import io.rund.proto.v1.StartRequest;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The soak's invariants (bin/bench --soak runs 100,000 jobs; this is its CI size) against a real {@code rund serve}
 * with a short retention: thousands of /bin/true jobs from several clients while another pages through List; once
 * they have ended the daemon keeps at most max-retained of them, with no more record or log files than that; once
 * they have aged out it keeps none, and nothing of any job is left in the state directory or the cgroup tree; its
 * threads and open fds are back where they were after a warm-up of the same load.
 */
class SoakInvariantsTest {

    private static final int JOBS = 3_000;
    private static final int WARM_UP_JOBS = 300;
    private static final int STARTERS = 4;
    private static final int MAX_RETAINED = 500;
    private static final String RETENTION = "5s";
    /**
     * Slack for what grows lazily and shrinks on its own clock: the dispatchers' fork-join pools keep idle workers for
     * a while (and the blocking one grows with load), and HTTP/2 connections of clients that closed are torn down
     * asynchronously. A leak of one thread or fd per job (3,000 jobs) is far beyond it.
     */
    private static final int THREAD_SLACK = 8;
    private static final int FD_SLACK = 8;

    @Test
    void afterThousandsOfJobsAgeOutNothingOfThemIsLeftAndThreadsAndFdsAreBack() throws Exception {
        Map<String, String> env = Map.of("RUND_JOB_RETENTION", RETENTION,
                "RUND_JOB_MAX_RETAINED", Integer.toString(MAX_RETAINED),
                "RUND_TENANT_START_RATE", "1000000", "RUND_TENANT_START_BURST", "1000000");
        try (DaemonProcess daemon = DaemonProcess.start(env)) {
            run(daemon, WARM_UP_JOBS, ConcurrentHashMap.newKeySet()); // grows the pools the real run needs
            awaitAgedOut(daemon);
            int threadsBefore = (int) daemon.threads();
            int fdsBefore = daemon.openFiles();

            Set<String> ids = ConcurrentHashMap.newKeySet();
            int listPasses = run(daemon, JOBS, ids);
            assertEquals(JOBS, ids.size(), "every start answered a job id");
            assertTrue(listPasses > 0, "List was paged through while the jobs ran");

            try (RundClient client = daemon.client("alice")) {
                LogReads.until(() -> SoakBench.listAll(client) <= MAX_RETAINED, "at most max-retained (" + MAX_RETAINED + ") jobs kept");
            }
            LogReads.until(() -> figure(daemon::recordFiles) <= MAX_RETAINED && figure(daemon::logFiles) <= MAX_RETAINED,
                    "at most max-retained record files and log files once the jobs have ended");

            awaitAgedOut(daemon);
            for (String id : ids) {
                assertTrue(Files.notExists(daemon.stateDirectory().resolve("jobs").resolve(id)), "record of " + id + " left");
                assertTrue(Files.notExists(daemon.stateDirectory().resolve("logs").resolve(id + ".log")), "log of " + id + " left");
            }
            LogReads.until(() -> figure(daemon::threads) <= threadsBefore + THREAD_SLACK,
                    "threads back within " + THREAD_SLACK + " of the " + threadsBefore + " after the warm-up");
            LogReads.until(() -> figure(daemon::openFiles) <= fdsBefore + FD_SLACK,
                    "open fds back within " + FD_SLACK + " of the " + fdsBefore + " after the warm-up");
            assertTrue(daemon.isAlive(), "the daemon runs on");
        }
    }

    /** {@code jobs} /bin/true starts from {@link #STARTERS} clients while one more pages through List; its passes. */
    private static int run(DaemonProcess daemon, int jobs, Set<String> ids) throws Exception {
        StartRequest truth = StartRequest.newBuilder().setCommand("/bin/true").build();
        AtomicInteger next = new AtomicInteger();
        AtomicBoolean starting = new AtomicBoolean(true);
        ExecutorService clients = Executors.newFixedThreadPool(STARTERS + 1);
        try {
            Future<Integer> lister = clients.submit(() -> {
                int passes = 0;
                try (RundClient client = daemon.client("alice")) {
                    while (starting.get()) {
                        SoakBench.listAll(client);
                        passes++;
                    }
                }
                return passes;
            });
            List<Future<?>> starters = new ArrayList<>();
            for (int i = 0; i < STARTERS; i++) {
                starters.add(clients.submit(() -> {
                    try (RundClient client = daemon.client("alice")) {
                        while (next.incrementAndGet() <= jobs) {
                            ids.add(client.start(truth).getJobId());
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> starter : starters) {
                starter.get();
            }
            starting.set(false);
            return lister.get();
        } finally {
            clients.shutdown();
        }
    }

    /** Until List shows no job and no job cgroup, record or log is left. */
    private static void awaitAgedOut(DaemonProcess daemon) throws Exception {
        try (RundClient client = daemon.client("alice")) {
            LogReads.until(() -> SoakBench.listAll(client) == 0, "every job aged out of List");
        }
        LogReads.until(() -> figure(daemon::jobCgroups) == 0 && figure(daemon::recordFiles) == 0
                        && figure(daemon::logFiles) == 0,
                "no job cgroup, record or log left");
    }

    /** A figure of the daemon, from /proc, its cgroups or its state directory. */
    @FunctionalInterface
    private interface Figure {
        long read() throws IOException;
    }

    /** Reads {@code figure}; a failure to read it fails the test. */
    private static long figure(Figure figure) {
        try {
            return figure.read();
        } catch (IOException e) {
            throw new AssertionError("cannot read a figure of the daemon: " + e.getMessage(), e);
        }
    }
}
