package io.rund;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.rund.api.ApiServer;
import io.rund.api.ApiSettings;
import io.rund.api.JobServiceImpl;
import io.rund.auth.TlsFiles;
import io.rund.cli.HostPort;
import io.rund.cli.RundClient;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The workload bin/rund runs once after a build, under -XX:AOTCacheOutput, before the first {@code rund serve}:
 * a real daemon (engine and API) on an ephemeral loopback port, with a temporary state directory and its own
 * cgroup root, serving a few dozen jobs to a client, then shut down as SIGTERM would. The AOT cache it leaves
 * makes later daemons start with Pekko's, the API's and the engine's classes loaded and linked (it needs what
 * serve needs: root and cgroup v2).
 */
public final class ServeTraining {

    private static final int SHORT_JOBS = 40;
    private static final Duration STOP_GRACE = Duration.ofSeconds(1);
    private static final Duration ASK_MARGIN = Duration.ofSeconds(10);
    private static final long STARTUP_TIMEOUT_SECONDS = 60;

    private ServeTraining() {}

    /** {@code args[0]}: the directory of the example certificates (tls/ in the checkout). */
    public static void main(String[] args) throws Exception {
        Path tls = Path.of(args.length > 0 ? args[0] : "tls");
        Path state = Files.createTempDirectory("rund-aot-training-");
        String cgroupRoot = "rund-aot-training-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        Config config = ConfigFactory.parseString(
                        "rund.state-directory = \"" + state.resolve("state") + "\"\n"
                                + "rund.cgroup.root = \"" + cgroupRoot + "\"\n"
                                + "rund.jobs.stop-grace-period = " + STOP_GRACE.toMillis() + "ms\n")
                .withFallback(ConfigFactory.load());
        Daemon daemon = Daemon.start(config);
        try {
            TlsFiles serverTls = new TlsFiles(tls.resolve("ca.pem"), tls.resolve("server.pem"), tls.resolve("server-key.pem"));
            ApiServer server = ApiServer.start(daemon.system(), new ApiSettings("127.0.0.1", 0, serverTls),
                            new JobServiceImpl(daemon.registry(), daemon.system(), STOP_GRACE.plus(ASK_MARGIN)))
                    .toCompletableFuture().get(STARTUP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            TlsFiles clientTls = new TlsFiles(tls.resolve("ca.pem"), tls.resolve("client.pem"), tls.resolve("client-key.pem"));
            try (RundClient client = RundClient.connect(new HostPort("127.0.0.1", server.localAddress().getPort()), clientTls)) {
                exercise(client);
            }
        } finally {
            daemon.shutdown().get(STARTUP_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            deleteRecursively(state);
        }
        System.exit(0);
    }

    private static void exercise(RundClient client) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < SHORT_JOBS; i++) {
            ids.add(client.start(StartRequest.newBuilder().setCommand("sh").addArgs("-c").addArgs("echo out; echo err >&2").build())
                    .getJobId());
        }
        for (String id : ids) {
            client.status(StatusRequest.newBuilder().setJobId(id).setWaitForEnd(true).build());
            client.logs(LogsRequest.newBuilder().setJobId(id).setFollow(true).build()).forEachRemaining(chunk -> { });
        }
        String sleeper = client.start(StartRequest.newBuilder().setCommand("sleep").addArgs("1000").build()).getJobId();
        client.status(StatusRequest.newBuilder().setJobId(sleeper).build());
        client.list(ListRequest.getDefaultInstance());
        client.stop(StopRequest.newBuilder().setJobId(sleeper).build());
    }

    private static void deleteRecursively(Path dir) throws java.io.IOException {
        try (var entries = Files.walk(dir)) {
            for (Path p : entries.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
