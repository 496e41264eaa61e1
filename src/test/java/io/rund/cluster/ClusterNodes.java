package io.rund.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.rund.Daemon;
import io.rund.Rund;
import io.rund.TestCgroups;
import io.rund.TestFiles;
import io.rund.auth.ExampleCertificates;
import io.rund.cli.CliException;
import io.rund.cli.HostPort;
import io.rund.cli.RundClient;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Several rund nodes in one JVM for cluster tests, each started as {@code rund serve} starts one ({@link Rund}, the
 * composition root): its own state directory and cgroup subtree, its cluster system on a loopback port with its node
 * certificate, every message between nodes serialized (serialize-messages on), and the API on an ephemeral port.
 * Node 1 is the seed. {@link #close()} ends them all and removes what they made.
 */
final class ClusterNodes implements AutoCloseable {

    static final Duration STOP_GRACE = Duration.ofSeconds(2);

    /** One node: rund (engine, fleet, API), and where it keeps its state. */
    record Node(String name, int index, int clusterPort, Path stateDirectory, Path cgroupRoot, Rund rund) {
        HostPort address() {
            return new HostPort("localhost", rund.apiAddress().getPort());
        }

        Daemon daemon() {
            return rund.engine();
        }

        Fleets.Handle fleet() {
            return rund.fleet();
        }

        ClusterNode membership() {
            return Fleets.nodeOf(rund.fleet().fleet());
        }
    }

    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, RundClient> clients = new ConcurrentHashMap<>();
    private final int seedPort;

    private ClusterNodes(int seedPort) {
        this.seedPort = seedPort;
    }

    /** {@code count} nodes named node1.. with indexes 1.. (the example node certificates). */
    static ClusterNodes start(int count) throws Exception {
        ClusterNodes cluster = new ClusterNodes(freePort());
        try {
            for (int i = 1; i <= count; i++) {
                cluster.add("node" + i, i, i == 1 ? cluster.seedPort : freePort(), "node" + i, "");
            }
        } catch (Exception | Error e) {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    /** The rund configuration of a node; {@code extra} (HOCON) wins. */
    Config config(String name, int index, int port, String certName, Path state, Path cgroups, String extra) {
        return ConfigFactory.parseString(extra).withFallback(ConfigFactory.parseString(
                        "rund.state-directory = \"" + state + "\"\n"
                                + "rund.cgroup.root = \"" + cgroups + "\"\n"
                                + "rund.jobs.stop-grace-period = " + STOP_GRACE.toMillis() + "ms\n"
                                + "rund.admin-sans = [\"DNS:admin.example\"]\n"
                                + "rund.cluster.node-name = " + name + "\n"
                                + "rund.cluster.node-index = " + index + "\n"
                                + "rund.cluster.address = \"127.0.0.1:" + port + "\"\n"
                                + "rund.cluster.seeds = \"127.0.0.1:" + seedPort + "\"\n"
                                + "rund.cluster.cert = \"tls/" + certName + ".pem\"\n"
                                + "rund.cluster.key = \"tls/" + certName + "-key.pem\"\n"
                                + "rund.cluster.restart-delay = 1s\n"
                                + "rund.cluster.system.pekko.actor.serialize-messages = on\n"
                                + "rund.cluster.system.pekko.loglevel = WARNING\n"))
                .withFallback(ExampleCertificates.serverOnFreeLoopbackPort())
                .withFallback(ConfigFactory.load());
    }

    Node add(String name, int index, int port, String certName, String extra) throws Exception {
        Path state = Files.createTempDirectory("rund-cluster-" + name + "-");
        Path cgroups = TestCgroups.newRoot("rund-cluster-" + name);
        Config config = config(name, index, port, certName, state, cgroups, extra);
        Node node = new Node(name, index, port, state, cgroups, Rund.start(config));
        nodes.add(node);
        return node;
    }

    Node node(int index) {
        return nodes.stream().filter(node -> node.index() == index).findFirst().orElseThrow();
    }

    List<Node> nodes() {
        return List.copyOf(nodes);
    }

    int seedPort() {
        return seedPort;
    }

    /** A client of node {@code index}'s API with the example certificate {@code user}, shared until close. */
    RundClient client(int index, String user) {
        return clients.computeIfAbsent(index + "/" + user, key -> {
            try {
                return RundClient.connect(node(index).address(), ExampleCertificates.files(user));
            } catch (CliException e) {
                throw new IllegalStateException("cannot connect to node" + index + " as " + user + ": " + e.getMessage(), e);
            }
        });
    }

    /** A client of {@code node}'s API as {@code user}, shared until close (for nodes whose index is not unique). */
    RundClient client(Node node, String user) {
        return clients.computeIfAbsent(node.name() + "@" + node.clusterPort() + "/" + user, key -> {
            try {
                return RundClient.connect(node.address(), ExampleCertificates.files(user));
            } catch (CliException e) {
                throw new IllegalStateException("cannot connect to " + node.name() + " as " + user + ": " + e.getMessage(), e);
            }
        });
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    @Override
    public void close() throws Exception {
        clients.values().forEach(RundClient::close);
        for (Node node : nodes.reversed()) {
            try {
                node.fleet().close();
            } finally {
                node.daemon().shutdown().join();
                if (java.nio.file.Files.exists(node.cgroupRoot())) { // the daemon removes it; this is for its failures
                    TestCgroups.removeTree(node.cgroupRoot());
                }
                TestFiles.deleteTree(node.stateDirectory());
                TestFiles.deleteTree(io.rund.job.IdentitySettings.defaultHomeRoot(node.stateDirectory()));
            }
        }
    }
}
