package io.rund.cluster;

import io.rund.TestCgroups;
import io.rund.auth.ExampleCertificates;
import io.rund.auth.PeerIdentity;
import io.rund.auth.TlsContexts;
import io.rund.cli.CliCalls;
import io.rund.cli.RundClient;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.Node;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.nio.file.Files;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cluster mode's guards, with real nodes in one JVM (Artery TLS, every message serialized): a second node with a
 * taken node index or name is refused and both sides say so while it serves its own jobs; two clusters formed by
 * seeds started apart are found and shown; a user certificate knocking at the cluster port is logged by the node
 * it knocked at.
 */
final class ClusterGuardsTest {

    private static final Duration FORMATION_TIMEOUT = Duration.ofSeconds(60);
    /** Generous: a refusal takes a join attempt, and the machine is shared. */
    private static final Duration SEEN_WITHIN = Duration.ofSeconds(60);
    private static ClusterNodes cluster;

    @BeforeAll
    static void startCluster() throws Exception {
        TestCgroups.mountOrSkip();
        cluster = ClusterNodes.start(2);
        for (int index = 1; index <= 2; index++) {
            int asked = index;
            await("node" + index + " to see both nodes reachable", () -> {
                List<Node> nodes = cluster.client(asked, "alice").nodes().getNodesList();
                return nodes.size() == 2 && nodes.stream().allMatch(Node::getReachable);
            });
        }
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aSecondNodeWithATakenIndexIsRefusedAndSaysSoOnBothSides() throws Exception {
        try (LogLines lines = new LogLines(NodeDirectory.class)) {
            ClusterNodes.Node dup = cluster.add("dup", 2, ClusterNodes.freePort(), "node3", "");
            try {
                lines.await("from dup naming node2", SEEN_WITHIN, line -> line.startsWith("Cluster node dup ")
                        && line.contains("is refused") && line.contains("node index 2") && line.contains("node2 at 127.0.0.1:"));
                lines.await("from node2 naming dup", SEEN_WITHIN, line -> line.startsWith("Cluster node node2 refused dup ")
                        && line.contains("node index 2"));
                assertRefusedAndServingAlone(dup);
            } finally {
                dup.fleet().close();
            }
        }
    }

    @Test
    void aSecondNodeWithATakenNameIsRefusedAndSaysSoOnBothSides() throws Exception {
        try (LogLines lines = new LogLines(NodeDirectory.class)) {
            ClusterNodes.Node twin = cluster.add("node2", 9, ClusterNodes.freePort(), "node3", "");
            try {
                lines.await("from the twin naming node2's address", SEEN_WITHIN, line -> line.startsWith("Cluster node node2 at 127.0.0.1:"
                        + twin.clusterPort()) && line.contains("is refused") && line.contains("node name node2"));
                lines.await("from node2 naming the twin", SEEN_WITHIN, line -> line.startsWith("Cluster node node2 refused node2 at 127.0.0.1:"
                        + twin.clusterPort()) && line.contains("node name node2"));
                assertFalse(cluster.client(1, "alice").nodes().getNodesList().stream().anyMatch(node -> node.getIndex() == 9),
                        "the twin got into node1's directory");
            } finally {
                twin.fleet().close();
            }
        }
    }

    /** node1 lists node2 (index 2) reachable and never {@code dup}; dup's own API still runs its jobs. */
    private static void assertRefusedAndServingAlone(ClusterNodes.Node dup) {
        List<Node> seen = cluster.client(1, "alice").nodes().getNodesList();
        assertFalse(seen.stream().anyMatch(node -> node.getName().equals("dup")), "dup joined: " + seen);
        assertTrue(seen.stream().anyMatch(node -> node.getName().equals("node2") && node.getIndex() == 2 && node.getReachable()),
                "node2 keeps its index: " + seen);
        JobStatus routed = cluster.client(1, "alice").start(StartRequest.newBuilder().setCommand("/bin/true").setHost("node2")
                .build()).getStatus();
        assertEquals("node2", routed.getHost(), "index 2's jobs still go to node2");
        RundClient own = cluster.client(dup, "alice");
        String id = own.start(StartRequest.newBuilder().setCommand("/bin/true").setHost("dup").build()).getJobId();
        JobStatus ended = own.status(StatusRequest.newBuilder().setJobId(id).setWaitForEnd(true).build()).getStatus();
        assertEquals(JobState.JOB_STATE_EXITED, ended.getState(), "the refused node serves its own jobs");
    }

    /**
     * Two islands, as seeds started apart make them: nodeB (seeds: itself, then nodeA, which is not running yet) forms
     * a cluster by itself after seed-node-timeout; then nodeA, whose seeds are only itself, forms another. nodeB finds
     * its seed nodeA Up in a cluster that lacks it: an error line, and nodeA marked in `rund nodes` and the Nodes RPC.
     */
    @Test
    void seedsStartedApartFormTwoClustersAndTheSplitIsShown() throws Exception {
        int portA = ClusterNodes.freePort();
        int portB = ClusterNodes.freePort();
        String fast = "rund.cluster.split-check-interval = 1s\n"
                + "rund.cluster.system.pekko.cluster.seed-node-timeout = 2s\n";
        try (LogLines lines = new LogLines(SplitWatch.class)) {
            ClusterNodes.Node nodeB = cluster.add("nodeB", 21, portB, "node2", fast
                    + "rund.cluster.seeds = \"127.0.0.1:" + portB + ",127.0.0.1:" + portA + "\"\n");
            await("nodeB to form a cluster by itself", () -> isUp(nodeB));
            ClusterNodes.Node nodeA = cluster.add("nodeA", 20, portA, "node1", fast
                    + "rund.cluster.seeds = \"127.0.0.1:" + portA + "\"\n");
            try {
                String line = lines.await("from nodeB naming nodeA's cluster", SEEN_WITHIN,
                        logged -> logged.startsWith("Cluster node nodeB (127.0.0.1:" + portB + ") is split")
                                && logged.contains("nodeA (127.0.0.1:" + portA + ")") && logged.contains("[127.0.0.1:" + portA + "]"));
                assertTrue(line.contains("Restart the nodes of the smaller cluster"), line);
                await("nodeB's Nodes to mark nodeA as in another cluster", () -> cluster.client(nodeB, "alice").nodes()
                        .getNodesList().stream().anyMatch(node -> node.getName().equals("nodeA") && node.getOtherCluster()
                                && !node.getReachable() && node.getIndex() == 20));
                io.rund.auth.TlsFiles tls = ExampleCertificates.files("alice");
                CliCalls.Output table = CliCalls.run(List.of("--addr", nodeB.address().toString(), "--ca", tls.ca().toString(),
                        "--cert", tls.cert().toString(), "--key", tls.key().toString()), "nodes");
                assertEquals(0, table.exitCode(), table.errText());
                String row = table.outText().lines().filter(text -> text.startsWith("nodeA ")).findFirst().orElseThrow();
                assertEquals("split", row.split("\\s+")[3], table.outText());
                assertFalse(cluster.client(nodeA, "alice").nodes().getNodesList().stream().anyMatch(Node::getOtherCluster),
                        "nodeA has no seed in nodeB's cluster, so it sees no split");
            } finally {
                nodeA.fleet().close();
                nodeB.fleet().close();
            }
        }
    }

    private static boolean isUp(ClusterNodes.Node node) {
        var system = node.membership().system();
        return system != null && org.apache.pekko.cluster.typed.Cluster.get(system).selfMember().status()
                == org.apache.pekko.cluster.MemberStatus.up();
    }

    @Test
    void aUserCertificateAtTheClusterPortIsLoggedByTheNodeItKnockedAt() throws Exception {
        int port = cluster.node(1).clusterPort();
        X509Certificate alice;
        try (var in = Files.newInputStream(ExampleCertificates.files("alice").cert())) {
            alice = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        String sans = PeerIdentity.of(alice).toString();
        try (LogLines lines = new LogLines(RefusedPeerLog.class)) {
            for (int attempt = 1; attempt <= 2; attempt++) {
                knockAsAlice(port);
            }
            List<String> logged = lines.matching(line -> line.startsWith("Cluster port 127.0.0.1:" + port + " refused"));
            assertEquals(1, logged.size(), "one line for two refusals within the interval: " + lines.lines());
            assertTrue(logged.getFirst().contains(sans) && logged.getFirst().contains("CN=alice"), logged.getFirst());
        }
    }

    /** Alice's certificate from the nodes' CA: the TLS 1.3 handshake is refused (after it, on the first read). */
    private static void knockAsAlice(int port) throws Exception {
        SSLContext alice = TlsContexts.client(ExampleCertificates.files("alice"));
        try (SSLSocket socket = (SSLSocket) alice.getSocketFactory().createSocket("127.0.0.1", port)) {
            socket.setEnabledProtocols(new String[] {TlsContexts.TLS_1_3});
            assertThrows(IOException.class, () -> {
                socket.startHandshake();
                socket.getOutputStream().write(new byte[] {'A', 'K', 'K', 1});
                socket.getOutputStream().flush();
                socket.getInputStream().read();
            });
        }
    }

    private static void await(String what, Callable<Boolean> condition) throws Exception {
        Instant until = Instant.now().plus(FORMATION_TIMEOUT);
        Exception last = null;
        while (Instant.now().isBefore(until)) {
            try {
                if (condition.call()) {
                    return;
                }
            } catch (Exception e) {
                last = e;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("timed out after " + FORMATION_TIMEOUT.toSeconds() + "s waiting for " + what, last);
    }
}
