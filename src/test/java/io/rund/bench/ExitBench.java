package io.rund.bench;

import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * 2. Exit notification: from the moment a job's process is released to exit until a client holds its final
 * status. The job is {@code cat FIFO}: it blocks until the bench opens the FIFO for writing, and exits when the
 * bench closes it; that close is the clock's start. The client waits with Status(wait_for_end), sent before the
 * release, so the figure is the server's path (exit watcher, job actor, cgroup clean-up, registry) plus one
 * response, not a polling interval. Measured with 10 and with 2,000 other (sleeping) jobs watched. Baseline:
 * Process.onExit() of a ProcessBuilder child with as many other children watched the same way.
 */
final class ExitBench {

    static final String SECTION = "2. Exit → status visible";
    private static final String SLEEPER_SECONDS = "1000000";
    /** Lets the waiting Status call reach the registry before the job is released. */
    private static final long WAIT_REGISTERED_MILLIS = 3;
    private static final int STARTING_CLIENTS = 16;
    private static final Duration DRAIN_TIMEOUT = Duration.ofMinutes(2);

    private ExitBench() {}

    static List<Figure> run(BenchContext bench) throws Exception {
        Path fifoDirectory = Files.createTempDirectory(Path.of("/tmp"), "rund-bench-fifo-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        try {
            Path fifo = fifoDirectory.resolve("release");
            mkfifo(fifo);
            List<Figure> figures = new ArrayList<>();
            for (int crowd : bench.plan().crowdSizes()) {
                figures.addAll(measure(bench, fifo, crowd));
            }
            return figures;
        } finally {
            BenchDaemon.deleteRecursively(fifoDirectory);
        }
    }

    private static List<Figure> measure(BenchContext bench, Path fifo, int crowd) throws Exception {
        BenchPlan plan = bench.plan();
        String others = String.format("%,d", crowd);
        Figure builderP50 = new Figure(SECTION, "Process.onExit(), " + others + " other children watched, p50", "µs");
        Figure builderP99 = new Figure(SECTION, "Process.onExit(), " + others + " other children watched, p99", "µs");
        Figure rundP50 = new Figure(SECTION, "exit → Status(wait_for_end) answer, " + others + " other jobs, p50", "µs")
                .comparedWith(builderP50);
        Figure rundP99 = new Figure(SECTION, "exit → Status(wait_for_end) answer, " + others + " other jobs, p99", "µs")
                .comparedWith(builderP99);
        if (crowd >= 2_000) {
            rundP99.target("≤ 2,000 µs with 2,000 watched", v -> v <= 2_000);
        }
        List<Process> children = new ArrayList<>();
        ExecutorService waiting = Executors.newSingleThreadExecutor(Thread.ofPlatform().name("bench-waiter").factory());
        try (BenchDaemon daemon = bench.startDaemon();
             RundClient client = bench.client(daemon);
             RundClient waiter = bench.client(daemon)) {
            StartBench.warmUp(bench, daemon);
            bench.progress("exit: starting " + others + " sleeping jobs and as many ProcessBuilder children");
            startSleepers(bench, daemon, crowd);
            for (int i = 0; i < crowd; i++) {
                Process child = new ProcessBuilder("sleep", SLEEPER_SECONDS).start();
                child.onExit(); // watched, like the rund jobs: one more reaper completion to deliver
                children.add(child);
            }
            sample(client, waiter, waiting, fifo, Math.max(1, plan.exitSamples() / 4)); // warm-up
            sampleBuilder(fifo, Math.max(1, plan.exitSamples() / 4));
            for (int run = 1; run <= plan.repetitions(); run++) {
                bench.progress("exit, " + others + " watched: run " + run + "/" + plan.repetitions());
                Samples rund = sample(client, waiter, waiting, fifo, plan.exitSamples());
                Samples builder = sampleBuilder(fifo, plan.exitSamples());
                rundP50.add(rund.p50Micros());
                rundP99.add(rund.p99Micros());
                builderP50.add(builder.p50Micros());
                builderP99.add(builder.p99Micros());
            }
        } finally {
            waiting.shutdownNow();
            for (Process child : children) {
                child.destroy();
            }
            for (Process child : children) {
                child.waitFor();
                StartBench.closeStreams(child);
            }
        }
        return List.of(rundP50, rundP99, builderP50, builderP99);
    }

    private static void startSleepers(BenchContext bench, BenchDaemon daemon, int count) throws Exception {
        StartRequest sleeper = StartRequest.newBuilder().setCommand("sleep").addArgs(SLEEPER_SECONDS).build();
        int clients = Math.min(STARTING_CLIENTS, count);
        Concurrently.run(clients, index -> {
            try (RundClient client = bench.client(daemon)) {
                for (int i = index; i < count; i += clients) {
                    client.start(sleeper);
                }
            }
        });
    }

    private static Samples sample(RundClient client, RundClient waiter, ExecutorService waiting, Path fifo, int count)
            throws Exception {
        StartRequest cat = StartRequest.newBuilder().setCommand("cat").addArgs(fifo.toString()).build();
        Samples samples = new Samples(count);
        for (int i = 0; i < count; i++) {
            String id = client.start(cat).getJobId();
            StatusRequest await = StatusRequest.newBuilder().setJobId(id).setWaitForEnd(true).build();
            CompletableFuture<long[]> visible = CompletableFuture.supplyAsync(() -> {
                JobStatus status = waiter.status(await).getStatus();
                return new long[] {System.nanoTime(), status.getState().getNumber()};
            }, waiting);
            Thread.sleep(WAIT_REGISTERED_MILLIS);
            long released;
            try (FileOutputStream release = new FileOutputStream(fifo.toFile())) { // opens once cat has opened it
                released = System.nanoTime();
            }
            long[] answer = visible.get(DRAIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            if (answer[1] != JobState.JOB_STATE_EXITED_VALUE) {
                throw new IOException("job " + id + " answered Status(wait_for_end) in state " + JobState.forNumber((int) answer[1]));
            }
            samples.add(answer[0] - released);
        }
        return samples;
    }

    private static Samples sampleBuilder(Path fifo, int count) throws Exception {
        Samples samples = new Samples(count);
        for (int i = 0; i < count; i++) {
            Process cat = new ProcessBuilder("cat", fifo.toString()).start();
            CompletableFuture<Long> exited = cat.onExit().thenApply(p -> System.nanoTime());
            long released;
            try (FileOutputStream release = new FileOutputStream(fifo.toFile())) {
                released = System.nanoTime();
            }
            samples.add(exited.get(DRAIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS) - released);
            StartBench.closeStreams(cat);
        }
        return samples;
    }

    private static void mkfifo(Path fifo) throws IOException, InterruptedException {
        Process mkfifo = new ProcessBuilder("mkfifo", "-m", "666", fifo.toString()).inheritIO().start();
        if (mkfifo.waitFor() != 0) {
            throw new IOException("mkfifo " + fifo + " failed with exit code " + mkfifo.exitValue());
        }
    }
}
