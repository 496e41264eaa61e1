package io.rund.bench;

import io.rund.TestCgroups;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.rund.Daemon;
import io.rund.Rund;
import io.rund.TestFiles;
import io.rund.auth.ExampleCertificates;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;

/**
 * The server side of {@link LogFanoutBenchmark}, in a process of its own so that its heap and RSS are its own:
 * a real rund (engine in a private cgroup v2 subtree and state directory, API on an ephemeral loopback port
 * with the example certificates), serving Logs either as rund does or as the polling baseline does. It prints
 * {@code READY <port>}, then answers each {@code MEASURE} line on stdin with {@code HEAP <bytes after GC>},
 * and shuts down (stopping every job, removing its cgroups) at {@code QUIT} or end of input.
 * <p>
 * Usage: {@code LogFanoutServer rund|baseline POLL_MILLIS}
 */
public final class LogFanoutServer {

    static final String READY = "READY ";
    static final String MEASURE = "MEASURE";
    static final String HEAP = "HEAP ";
    static final String QUIT = "QUIT";
    /** With the 1 s grace period: requests wait 30 s for the registry, as before this server used the root. */
    private static final Duration ASK_MARGIN = Duration.ofSeconds(29);
    private static final int GC_ROUNDS = 3;
    private static final long GC_PAUSE_MILLIS = 200;
    /** Far above the follower counts measured: the caps are not what is measured here. */
    private static final int FOLLOWER_CAP = 100_000;

    private LogFanoutServer() {}

    public static void main(String[] args) throws Exception {
        boolean baseline = args[0].equals("baseline");
        Duration poll = Duration.ofMillis(Long.parseLong(args[1]));
        Path state = Files.createTempDirectory("rund-bench-state-");
        Path cgroupRoot = TestCgroups.mount().resolve("rund-bench-" + UUID.randomUUID().toString().substring(0, 8));
        Config config = ConfigFactory.parseString(String.join("\n",
                        "rund.state-directory = \"" + state + "\"",
                        "rund.cgroup.root = \"" + cgroupRoot + "\"",
                        "rund.jobs.stop-grace-period = 1s",
                        "rund.api.ask-margin = " + ASK_MARGIN.toMillis() + "ms",
                        "rund.admin-sans = [\"DNS:admin.example\"]",
                        "rund.logs.max-followers-per-job = " + FOLLOWER_CAP,
                        "rund.logs.max-followers-per-identity = " + FOLLOWER_CAP))
                .withFallback(ExampleCertificates.serverOnFreeLoopbackPort())
                .withFallback(ConfigFactory.load());
        Rund rund = Rund.start(config, (service, engine) -> baseline
                ? new PollingLogService(service, engine.registry(), engine.system(), poll)
                : service);
        Daemon daemon = rund.engine();
        int port = rund.apiAddress().getPort();
        System.out.println(READY + port);
        System.out.flush();
        try (BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            for (String line; (line = commands.readLine()) != null && !line.equals(QUIT); ) {
                if (line.equals(MEASURE)) {
                    System.out.println(HEAP + heapAfterGc());
                    System.out.flush();
                }
            }
        } finally {
            daemon.shutdown().join();
            TestFiles.deleteTree(state);
            TestFiles.deleteTree(io.rund.job.IdentitySettings.defaultHomeRoot(state));
        }
        System.exit(0);
    }

    private static long heapAfterGc() throws InterruptedException {
        for (int i = 0; i < GC_ROUNDS; i++) {
            System.gc();
            Thread.sleep(GC_PAUSE_MILLIS);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
