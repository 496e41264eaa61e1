package io.rund.bench;

import io.rund.TestCgroups;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.rund.auth.ExampleCertificates;
import io.rund.cli.HostPort;
import io.rund.cli.RundClient;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogData;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.StartRequest;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.Optional;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Log fan-out benchmark (a program, not a test): one job, N followers over a few TLS connections, against rund and
 * against a baseline measured in the same run (one file descriptor per follower, polling the file, as the original
 * jobworker served followers). For each it reports aggregate delivered MB/s (all followers receiving a burst of
 * output as fast as they can), p50/p99 write-to-delivery latency (output paced at a steady rate: the time from
 * rund reading a line from the job's pipe to a follower receiving it), and the server's heap (after GC) and RSS per
 * connected follower. The server runs in a JVM of its own ({@link LogFanoutServer}); the followers run here.
 * <p>
 * {@code main} writes the figures to docs/BENCHMARKS.md (its log fan-out section); {@link #run} returns them, for
 * a suite that wants to report them itself. Needs what rund needs: root and a cgroup v2 mount.
 */
public final class LogFanoutBenchmark {

    /**
     * What to measure.
     *
     * @param followerCounts          follower counts, each measured against both servers
     * @param burstBytesPerRun        bytes delivered in all in each burst (split evenly among the followers)
     * @param warmUp                  paced output before the measured phase, so that both JVMs run compiled code
     * @param pacedPhase              how long output is paced for the latency measurement
     * @param pacedLinesPerSecondInAll lines per second delivered in all while paced (each follower gets its share)
     * @param lineBytes               bytes per paced line, newline included
     * @param followersPerConnection  HTTP/2 streams multiplexed on each TLS connection
     * @param baselinePoll            how often a baseline follower at the end of the file looks again
     * @param clientWindowBytes       each follower's HTTP/2 flow-control window
     */
    public record Options(List<Integer> followerCounts, long burstBytesPerRun, Duration warmUp, Duration pacedPhase,
                          int pacedLinesPerSecondInAll, int lineBytes, int followersPerConnection, Duration baselinePoll,
                          int clientWindowBytes) {

        public static Options defaults() {
            return new Options(List.of(1_000, 10_000), 3_000_000_000L, Duration.ofSeconds(5), Duration.ofSeconds(10), 20_000, 100, 250,
                    Duration.ofMillis(50), 64 * 1024);
        }

        int linesPerSecondEach(int followers) {
            return Math.max(1, pacedLinesPerSecondInAll / followers);
        }
    }

    /** One server at one follower count. */
    public record Figures(String server, int followers, long burstBytesPerFollower, double burstSeconds,
                          double deliveredMBps, double latencyP50Millis, double latencyP99Millis, long latencySamples,
                          double heapKiBPerFollower, double rssKiBPerFollower) {}

    static final String RUND = "rund";
    static final String BASELINE = "baseline";
    private static final String REPORT_BEGIN = "<!-- log-fanout:begin -->";
    private static final String REPORT_END = "<!-- log-fanout:end -->";
    private static final Path REPORT = Path.of("docs/BENCHMARKS.md");
    private static final String HELLO = "hello\n";
    private static final Duration HANG_GUARD = Duration.ofMinutes(10);
    private static final Duration SERVER_EXIT = Duration.ofMinutes(1);
    private static final String SERVER_HEAP = "4g";
    private static final String SERVER_OPTIONS_ENV = "RUND_BENCH_SERVER_JAVA_OPTS";
    private static final double MB = 1e6;
    private static final double KIB = 1024;
    private static final double MICROS_PER_MILLI = 1000;
    private static final long MICROS_PER_SECOND = 1_000_000;

    private LogFanoutBenchmark() {}

    public static void main(String[] args) throws Exception {
        Options options = Options.defaults();
        if (args.length > 0) {
            options = new Options(Arrays.stream(args).map(Integer::parseInt).toList(), options.burstBytesPerRun(),
                    options.warmUp(), options.pacedPhase(), options.pacedLinesPerSecondInAll(), options.lineBytes(),
                    options.followersPerConnection(), options.baselinePoll(), options.clientWindowBytes());
        }
        List<Figures> figures = run(options);
        String section = markdown(options, figures);
        System.out.println(section);
        writeSection(REPORT, section);
        System.out.println("written to " + REPORT.toAbsolutePath());
        System.exit(0);
    }

    /** Measures every follower count against rund and the baseline, each in a fresh server process. */
    public static List<Figures> run(Options options) throws Exception {
        LOAD_BEFORE.set(loadAverage());
        Optional<String> noCgroups = TestCgroups.whyUnusable();
        if (noCgroups.isPresent()) {
            throw new IllegalStateException("the benchmark runs a real rund, so it " + noCgroups.get());
        }
        List<Figures> figures = new ArrayList<>();
        for (int followers : options.followerCounts()) {
            for (String server : List.of(RUND, BASELINE)) {
                Figures measured = runOne(server, followers, options);
                System.out.println(measured);
                figures.add(measured);
            }
        }
        return figures;
    }

    private static Figures runOne(String server, int followers, Options options) throws Exception {
        int warmUpLines = (int) (options.linesPerSecondEach(followers) * options.warmUp().toSeconds());
        int lines = (int) (options.linesPerSecondEach(followers) * options.pacedPhase().toSeconds());
        long pacedFrom = HELLO.length() + (long) warmUpLines * options.lineBytes();
        long burstFrom = pacedFrom + (long) lines * options.lineBytes();
        long burst = options.burstBytesPerRun() / followers;
        long total = burstFrom + burst;
        Path go = Path.of("/tmp", "rund-bench-go-" + UUID.randomUUID());
        try (ServerProcess rund = ServerProcess.start(server, options.baselinePoll())) {
            List<RundClient> connections = new ArrayList<>();
            int connectionCount = (followers + options.followersPerConnection() - 1) / options.followersPerConnection();
            for (int i = 0; i < connectionCount; i++) {
                RundClient connection = RundClient.connect(new HostPort("localhost", rund.port),
                        ExampleCertificates.files("alice"), new RundClient.Transport(options.clientWindowBytes(), Runnable::run));
                connections.add(connection);
                connection.list(ListRequest.getDefaultInstance()); // one TLS handshake at a time, before any stream
            }
            try {
                String job = connections.getFirst().start(StartRequest.newBuilder().setCommand("sh").addArgs("-c")
                        .addArgs(jobScript(go, warmUpLines + lines, pause(options, followers), options.lineBytes(), burst))
                        .build()).getJobId();
                long heapBefore = rund.heapAfterGc();
                long rssBefore = rund.rssBytes();

                Run run = new Run(followers, pacedFrom, burstFrom, total);
                for (int i = 0; i < followers; i++) {
                    run.follow(connections.get(i % connectionCount), job);
                }
                run.await(run.attached, "every follower got the job's first line");
                long heapWith = rund.heapAfterGc();
                long rssWith = rund.rssBytes();

                Files.createFile(go);
                run.await(run.closed, "every follower got everything and the trailer");
                if (run.failures.get() > 0) {
                    throw new IllegalStateException(run.failures.get() + " followers failed; first: " + run.firstFailure);
                }
                long[] latencies = run.latencies();
                double seconds = (run.lastBurstDone.get() - run.firstBurstByte.get()) / 1e9;
                return new Figures(server, followers, burst, seconds, followers * (double) burst / MB / seconds,
                        percentile(latencies, 50) / MICROS_PER_MILLI, percentile(latencies, 99) / MICROS_PER_MILLI,
                        latencies.length, (heapWith - heapBefore) / KIB / followers, (rssWith - rssBefore) / KIB / followers);
            } finally {
                connections.forEach(RundClient::close);
                Files.deleteIfExists(go);
            }
        }
    }

    /**
     * The job: a first line (followers know they are in), then wait for the go file, then {@code lines} lines of
     * {@code lineBytes} at a steady pace (warm-up, then measured), then the burst as fast as the pipe takes it.
     */
    private static String jobScript(Path go, int lines, String pause, int lineBytes, long burst) {
        String line = "x".repeat(lineBytes - 1);
        return String.format(Locale.ROOT, "printf '%s'; while [ ! -e %s ]; do sleep 0.05; done; i=0; "
                        + "while [ $i -lt %d ]; do echo %s; sleep %s; i=$((i+1)); done; "
                        + "%s",
                HELLO.replace("\n", "\\n"), go, lines, line, pause, sampleCommand(burst));
    }

    /** The burst: log lines ({@link SampleLogText}), as fast as the pipe takes them. */
    private static String sampleCommand(long bytes) {
        try {
            return SampleLogText.command(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Seconds between two paced lines for each follower to get its share of the lines per second in all. */
    private static String pause(Options options, int followers) {
        return String.format(Locale.ROOT, "%.3f", 1.0 / options.linesPerSecondEach(followers));
    }

    /** Every follower of one measurement, its progress and the latencies it saw. */
    private static final class Run {
        final CountDownLatch attached;
        final CountDownLatch closed;
        final AtomicLong failures = new AtomicLong();
        final AtomicLong firstBurstByte = new AtomicLong(Long.MAX_VALUE);
        final AtomicLong lastBurstDone = new AtomicLong();
        final List<Follower> followers = new ArrayList<>();
        final long pacedFrom;
        final long burstFrom;
        final long total;
        volatile String firstFailure;

        Run(int count, long pacedFrom, long burstFrom, long total) {
            this.attached = new CountDownLatch(count);
            this.closed = new CountDownLatch(count);
            this.pacedFrom = pacedFrom;
            this.burstFrom = burstFrom;
            this.total = total;
        }

        void follow(RundClient client, String job) {
            Follower follower = new Follower(this, client.newLogsCall(CallOptions.DEFAULT));
            followers.add(follower);
            follower.start(LogsRequest.newBuilder().setJobId(job).setFollow(true).setTimestamps(true).build());
        }

        void await(CountDownLatch latch, String what) throws InterruptedException {
            if (!latch.await(HANG_GUARD.toSeconds(), TimeUnit.SECONDS)) {
                throw new IllegalStateException("not within " + HANG_GUARD + ": " + what + " (" + latch.getCount()
                        + " missing; failures " + failures.get() + ", first: " + firstFailure + ")");
            }
        }

        long[] latencies() {
            long[] all = followers.stream().flatMapToLong(f -> Arrays.stream(f.latencies, 0, f.latencyCount)).toArray();
            Arrays.sort(all);
            return all;
        }
    }

    /** One follower: counts bytes, notes latencies while output is paced, notes when its burst is complete. */
    private static final class Follower {
        private static final int INITIAL_SAMPLES = 64;
        final Run run;
        final ClientCall<LogsRequest, LogChunk> call;
        long[] latencies = new long[INITIAL_SAMPLES];
        int latencyCount;
        long next;
        boolean attached;

        Follower(Run run, ClientCall<LogsRequest, LogChunk> call) {
            this.run = run;
            this.call = call;
        }

        void start(LogsRequest request) {
            call.start(new ClientCall.Listener<>() {
                @Override
                public void onMessage(LogChunk chunk) {
                    take(chunk);
                    call.request(1);
                }

                @Override
                public void onClose(Status status, Metadata trailers) {
                    if (!status.isOk() || next != run.total) {
                        run.failures.incrementAndGet();
                        run.firstFailure = status + " after " + next + " of " + run.total + " bytes";
                        if (!attached) {
                            run.attached.countDown();
                        }
                    }
                    run.closed.countDown();
                }
            }, new Metadata());
            call.sendMessage(request);
            call.halfClose();
            call.request(1);
        }

        private void take(LogChunk chunk) {
            if (!chunk.hasData()) {
                return;
            }
            long now = System.nanoTime();
            LogData data = chunk.getData();
            if (data.getOffset() >= run.pacedFrom && data.getOffset() < run.burstFrom) {
                Instant received = Instant.now();
                long micros = (received.getEpochSecond() - data.getTimestamp().getSeconds()) * MICROS_PER_SECOND
                        + (received.getNano() - data.getTimestamp().getNanos()) / 1000;
                if (latencyCount == latencies.length) {
                    latencies = Arrays.copyOf(latencies, latencyCount * 2);
                }
                latencies[latencyCount++] = micros;
            }
            if (data.getOffset() + data.getData().size() > run.burstFrom && data.getOffset() <= run.burstFrom) {
                run.firstBurstByte.accumulateAndGet(now, Math::min);
            }
            next = data.getOffset() + data.getData().size();
            if (!attached) {
                attached = true;
                run.attached.countDown();
            }
            if (next == run.total) {
                run.lastBurstDone.accumulateAndGet(now, Math::max);
            }
        }
    }

    /** The server JVM: started, asked for its heap, measured for its RSS, and shut down in order. */
    private static final class ServerProcess implements AutoCloseable {
        final Process process;
        final int port;
        final BufferedReader out;
        final PrintStream in;

        private ServerProcess(Process process, int port, BufferedReader out) {
            this.process = process;
            this.port = port;
            this.out = out;
            this.in = new PrintStream(process.getOutputStream(), true, StandardCharsets.UTF_8);
        }

        static ServerProcess start(String server, Duration poll) throws IOException {
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            List<String> command = new ArrayList<>(List.of(java.toString(),
                    "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                    // A fixed, pre-touched heap: RSS then grows only with what followers cost outside the heap.
                    "-Xms" + SERVER_HEAP, "-Xmx" + SERVER_HEAP, "-XX:+AlwaysPreTouch"));
            // Extra server JVM options, e.g. a JFR recording to profile one run: RUND_BENCH_SERVER_JAVA_OPTS.
            String extra = System.getenv().getOrDefault(SERVER_OPTIONS_ENV, "").replace("{server}", server);
            if (!extra.isBlank()) {
                command.addAll(Arrays.asList(extra.strip().split("\\s+")));
            }
            command.addAll(List.of("-cp", System.getProperty("java.class.path"),
                    LogFanoutServer.class.getName(), server, Long.toString(poll.toMillis())));
            ProcessBuilder builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
            builder.environment().put("RUND_LOG_LEVEL", "WARN");
            Process process = builder.start();
            BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            for (String line; (line = out.readLine()) != null; ) {
                if (line.startsWith(LogFanoutServer.READY)) {
                    return new ServerProcess(process, Integer.parseInt(line.substring(LogFanoutServer.READY.length()).strip()), out);
                }
            }
            process.destroy();
            throw new IOException("the " + server + " server ended before it was ready (exit " + process.exitValue() + ")");
        }

        long heapAfterGc() throws IOException {
            in.println(LogFanoutServer.MEASURE);
            for (String line; (line = out.readLine()) != null; ) {
                if (line.startsWith(LogFanoutServer.HEAP)) {
                    return Long.parseLong(line.substring(LogFanoutServer.HEAP.length()).strip());
                }
            }
            throw new IOException("the server ended while measuring its heap");
        }

        long rssBytes() throws IOException {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
            throw new IOException("no VmRSS for process " + process.pid());
        }

        @Override
        public void close() throws Exception {
            in.println(LogFanoutServer.QUIT);
            if (!process.waitFor(SERVER_EXIT.toSeconds(), TimeUnit.SECONDS)) {
                process.destroy();
                process.waitFor();
            }
        }
    }

    private static double percentile(long[] sorted, int percent) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int index = (int) Math.ceil(percent / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }

    /** The log fan-out section of docs/BENCHMARKS.md: how it was measured, on what, and the figures. */
    public static String markdown(Options options, List<Figures> figures) throws IOException {
        StringBuilder md = new StringBuilder();
        md.append(REPORT_BEGIN).append("\n## Log fan-out\n\n");
        md.append("Measured ").append(LocalDate.now()).append(" by `bin/bench-logs` (`io.rund.bench.LogFanoutBenchmark`) on ")
                .append(machine()).append(", JDK ").append(Runtime.version()).append(" (")
                .append(System.getProperty("java.vendor")).append(").\n\n");
        md.append("One job; its followers are gRPC streams over TLS 1.3 connections (")
                .append(options.followersPerConnection()).append(" streams per connection) from one client JVM on the same")
                .append(" machine; the server is a real rund in a JVM of its own. **rund**: the server as built (one shared")
                .append(" file descriptor and read cache per job, followers woken by the job's new-data signal).")
                .append(" **baseline**: the same server with Logs served the way the original jobworker did: each follower")
                .append(" opens the log file itself (one fd per follower), reads it with a buffer of its own (32 KiB, Go's io.Copy size)")
                .append(" and, at its end, polls it every ").append(options.baselinePoll().toMillis()).append(" ms.\n\n");
        md.append("- *delivered MB/s*: a burst of ").append(options.burstBytesPerRun() / 1_000_000)
                .append(" MB in all (split evenly among the followers) of log lines (`SampleLogText`: timestamps, levels, classes,")
                .append(" paths, numbers, hex ids and digests, which deflate's fastest level reduces to ")
                .append(String.format(Locale.ROOT, "%.0f%%", 100 * SampleLogText.compressedShare(SampleLogText.text(SampleLogText.FILE_BYTES))))
                .append(" in 64 KiB pieces) written as fast as the pipe takes it; bytes received")
                .append(" by all followers over the time from the first burst byte received to the last follower complete.\n")
                .append("- *latency*: output paced at ").append(options.pacedLinesPerSecondInAll())
                .append(" lines/s in all (")
                .append(options.lineBytes()).append("-byte lines, each follower its share) for ")
                .append(options.pacedPhase().toSeconds()).append(" s, after ").append(options.warmUp().toSeconds())
                .append(" s of the same to warm both JVMs up; from rund reading the line from the job's pipe (the")
                .append(" record's timestamp) to a follower receiving it.\n")
                .append("- *heap, RSS per follower*: the server's heap after GC and its RSS with every follower connected and")
                .append(" waiting at the end of the output, minus the same before they connected, divided by their number")
                .append(" (the server's heap is fixed at ").append(SERVER_HEAP).append(" and pre-touched, so RSS grows only")
                .append(" with memory outside the heap).\n\n");
        md.append("| server | followers | delivered MB/s | latency p50 ms | latency p99 ms | heap KiB/follower | RSS KiB/follower |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|\n");
        for (Figures f : figures) {
            md.append(String.format(Locale.ROOT, "| %s | %,d | %.0f | %.1f | %.1f | %.1f | %.1f |%n", f.server(),
                    f.followers(), f.deliveredMBps(), f.latencyP50Millis(), f.latencyP99Millis(),
                    f.heapKiBPerFollower(), f.rssKiBPerFollower()));
        }
        md.append("\nClient and server share the machine's cores, so delivered MB/s is what both ends together sustain.")
                .append(" Other work on the machine (1-minute load average): ").append(LOAD_BEFORE.get())
                .append(" when the benchmark started, ").append(loadAverage()).append(" when it ended.\n");
        md.append(REPORT_END).append("\n");
        return md.toString();
    }

    /** Replaces the log fan-out section of {@code report} (between its markers), or appends it. */
    static void writeSection(Path report, String section) throws IOException {
        String existing = Files.exists(report) ? Files.readString(report) : "# rund benchmarks\n\n";
        int begin = existing.indexOf(REPORT_BEGIN);
        int end = existing.indexOf(REPORT_END);
        String updated = begin >= 0 && end > begin
                ? existing.substring(0, begin) + section + existing.substring(end + REPORT_END.length() + 1)
                : existing + (existing.endsWith("\n\n") ? "" : "\n") + section;
        Files.createDirectories(report.toAbsolutePath().getParent());
        Files.writeString(report, updated);
    }

    private static final java.util.concurrent.atomic.AtomicReference<String> LOAD_BEFORE =
            new java.util.concurrent.atomic.AtomicReference<>("unknown");

    private static String loadAverage() throws IOException {
        return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    }

    private static String machine() throws IOException {
        String model = Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                .filter(line -> line.startsWith("model name")).findFirst()
                .map(line -> line.substring(line.indexOf(':') + 1).strip()).orElse("unknown CPU");
        long memKiB = Files.readAllLines(Path.of("/proc/meminfo")).stream()
                .filter(line -> line.startsWith("MemTotal:")).findFirst()
                .map(line -> Long.parseLong(line.replaceAll("[^0-9]", ""))).orElse(0L);
        String kernel = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        return String.format(Locale.ROOT, "%s, %d cores, %.0f GiB, Linux %s", model,
                Runtime.getRuntime().availableProcessors(), memKiB / 1024.0 / 1024.0, kernel);
    }
}
