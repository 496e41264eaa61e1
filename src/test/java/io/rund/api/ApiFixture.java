package io.rund.api;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.rund.Daemon;
import io.rund.Rund;
import io.rund.TestCgroups;
import io.rund.TestFiles;
import io.rund.auth.ExampleCertificates;
import io.rund.auth.TlsFiles;
import io.rund.cli.CliException;
import io.rund.cli.HostPort;
import io.rund.cli.RundClient;
import io.rund.job.IdentitySettings;
import io.rund.job.JobRegistry;
import io.rund.logs.LogStore;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;


/**
 * A real rund for API tests, as a JUnit extension ({@code @RegisterExtension static final ApiFixture rund = new
 * ApiFixture();}): before the class's tests, rund as {@code rund serve} starts it ({@link Rund}): the engine in a private
 * cgroup v2 subtree and a temporary state directory, the API on an ephemeral loopback port with the example certificates (admin:
 * DNS:admin.example); after them, its shared clients closed and rund shut down the way SIGTERM would (every job
 * stopped, the subtree removed), the state directory deleted. On a host that cannot run jobs the class is skipped.
 */
public final class ApiFixture implements BeforeAllCallback, AfterAllCallback {

    /** Short, so that tests stopping jobs which ignore SIGTERM do not wait long. */
    static final Duration STOP_GRACE = Duration.ofSeconds(2);
    private static final Duration ASK_MARGIN = Duration.ofSeconds(10);
    private static final long STARTUP_TIMEOUT_SECONDS = 30;

    /** Fills the state directory before the daemon starts, as an earlier run would have left it. */
    @FunctionalInterface
    public interface EarlierRun {
        void leave(Path stateDirectory) throws IOException;
    }

    private final String extraConfig;
    private final EarlierRun earlierRun;
    private final Map<String, RundClient> sharedClients = new ConcurrentHashMap<>();
    private Path stateDirectory;
    private Rund rund;
    private Path cgroupRoot;

    /** A rund with the test defaults. */
    public ApiFixture() {
        this("");
    }

    /** A rund whose configuration is the test defaults overridden by {@code extraConfig} (HOCON). */
    public ApiFixture(String extraConfig) {
        this(extraConfig, stateDirectory -> {});
    }

    /** As {@link #ApiFixture(String)}, on a state directory {@code earlierRun} has filled first. */
    public ApiFixture(String extraConfig, EarlierRun earlierRun) {
        this.extraConfig = extraConfig;
        this.earlierRun = earlierRun;
    }

    /** Skips the calling test, saying why, on a host where the engine cannot run. */
    public static void assumeEngineCanRun() {
        TestCgroups.mountOrSkip();
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        assumeEngineCanRun();
        stateDirectory = Files.createTempDirectory("rund-api-test-");
        earlierRun.leave(stateDirectory);
        cgroupRoot = TestCgroups.newRoot("rund-test");
        Config config = ConfigFactory.parseString(extraConfig).withFallback(ConfigFactory.parseString(
                        "rund.state-directory = \"" + stateDirectory + "\"\n"
                                + "rund.cgroup.root = \"" + cgroupRoot + "\"\n"
                                + "rund.jobs.stop-grace-period = " + STOP_GRACE.toMillis() + "ms\n"
                                + "rund.api.ask-margin = " + ASK_MARGIN.toMillis() + "ms\n"
                                + "rund.admin-sans = [\"DNS:admin.example\"]\n"))
                .withFallback(ExampleCertificates.serverOnFreeLoopbackPort())
                .withFallback(ConfigFactory.load());
        rund = Rund.start(config);
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        sharedClients.values().forEach(RundClient::close);
        sharedClients.clear();
        if (rund != null) {
            rund.shutdown().join();
        }
        if (stateDirectory != null) {
            TestFiles.deleteTree(stateDirectory);
            List<Path> homesLeft;
            try (Stream<Path> homes = Files.exists(homeRoot()) ? Files.list(homeRoot()) : Stream.empty()) {
                homesLeft = homes.toList();
            }
            TestFiles.deleteTree(homeRoot());
            if (!homesLeft.isEmpty()) {
                throw new AssertionError("rund stopped but left job homes behind: " + homesLeft);
            }
        }
    }

    /** Where the daemon makes its jobs' private homes (beside the state directory). */
    public Path homeRoot() {
        return IdentitySettings.defaultHomeRoot(stateDirectory);
    }

    /** The daemon's state directory (its logs are under {@code logs/}). */
    public Path stateDirectory() {
        return stateDirectory;
    }

    /** The engine behind the API (its registry, its log space). */
    public Daemon daemon() {
        return rund.engine();
    }

    /** The log of job {@code jobId}, as the API's Logs calls read it (seen as the admin). */
    public LogStore log(String jobId) throws Exception {
        JobRegistry.LogResult result = AskPattern.<JobRegistry.Command, JobRegistry.LogResult>ask(daemon().registry(),
                        replyTo -> new JobRegistry.OpenLog(jobId, Set.of("DNS:admin.example"), replyTo),
                        Duration.ofSeconds(STARTUP_TIMEOUT_SECONDS), daemon().system().scheduler())
                .toCompletableFuture().get();
        if (result instanceof JobRegistry.LogAvailable available) {
            return available.log();
        }
        throw new IllegalStateException("no log for job " + jobId + ": " + result);
    }

    public int port() {
        return rund.apiAddress().getPort();
    }

    public HostPort address() {
        return new HostPort("localhost", port());
    }

    /** A client presenting the example certificate {@code name} (alice, bob, carol, admin, ...). */
    public RundClient client(String name) throws CliException {
        return RundClient.connect(address(), ExampleCertificates.files(name));
    }

    /** One connection per example certificate for the whole class, closed by the fixture after its tests. */
    public RundClient shared(String name) {
        return sharedClients.computeIfAbsent(name, n -> {
            try {
                return client(n);
            } catch (CliException e) {
                throw new IllegalStateException("cannot connect as " + n + ": " + e.getMessage(), e);
            }
        });
    }

    /** The CLI's connection flags for the example certificate {@code name}. */
    public List<String> flags(String name) {
        TlsFiles tls = ExampleCertificates.files(name);
        return List.of("--addr", address().toString(), "--ca", tls.ca().toString(),
                "--cert", tls.cert().toString(), "--key", tls.key().toString());
    }

    /** The cgroup subtree the fixture's daemon owns. */
    public Path subtree() {
        return cgroupRoot;
    }

    /** The job cgroups that exist now (jobs go directly under the fixture's subtree). */
    public long jobCgroups() throws IOException {
        try (Stream<Path> children = Files.list(cgroupRoot)) {
            return children.filter(Files::isDirectory).count();
        }
    }

    /** The rund this fixture started (its metrics port, say). */
    public Rund rund() {
        return rund;
    }
}
