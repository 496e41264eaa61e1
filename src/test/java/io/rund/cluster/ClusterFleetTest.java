package io.rund.cluster;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.TestCgroups;
import io.rund.auth.ExampleCertificates;
import io.rund.auth.TlsContexts;
import io.rund.cli.RundClient;
import io.rund.proto.v1.DeleteRequest;
import io.rund.proto.v1.JobState;
import io.rund.proto.v1.JobStatus;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.Node;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StopRequest;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Three rund nodes in one JVM (three engines, three cluster systems over Artery TLS with every message serialized),
 * driven through real gRPC clients on each node's API: every RPC from every node for a job on another, authorization
 * by the owner's registry, a megabyte of arguments crossing, the loss and return of a node's cluster layer (its jobs
 * running on), and the doors that stay shut: a user certificate at Artery's port, a node with other admin SANs.
 */
@org.junit.jupiter.api.TestMethodOrder(org.junit.jupiter.api.MethodOrderer.OrderAnnotation.class)
final class ClusterFleetTest {

    private static final Duration FORMATION_TIMEOUT = Duration.ofSeconds(60);
    /** The bound for requests about an unreachable host. */
    private static final Duration LOSS_VISIBLE_WITHIN = Duration.ofSeconds(10);
    /** How long a refused node is watched for never getting in. */
    private static final Duration REFUSAL_WATCH = Duration.ofSeconds(12);
    private static ClusterNodes cluster;

    @BeforeAll
    static void startCluster() throws Exception {
        TestCgroups.mountOrSkip();
        cluster = ClusterNodes.start(3);
        for (int index = 1; index <= 3; index++) {
            int asked = index;
            await("node" + index + " to see all three nodes reachable", FORMATION_TIMEOUT, () -> {
                List<Node> nodes = cluster.client(asked, "alice").nodes().getNodesList();
                return nodes.size() == 3 && nodes.stream().allMatch(Node::getReachable);
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
    void everyUnaryRpcFromEveryNodeReachesTheJobsOwner() {
        for (int owner = 1; owner <= 3; owner++) {
            int via = owner % 3 + 1;
            String ownerName = "node" + owner;
            JobStatus started = cluster.client(via, "alice").start(StartRequest.newBuilder().setCommand("/bin/sh")
                    .addArgs("-c").addArgs("echo hello from " + ownerName).setHost(ownerName).build()).getStatus();
            assertEquals(ownerName, started.getHost(), "Start names the host it ran on");
            String id = started.getId();
            for (int asker = 1; asker <= 3; asker++) {
                JobStatus ended = cluster.client(asker, "alice").status(StatusRequest.newBuilder().setJobId(id).setWaitForEnd(true).build())
                        .getStatus();
                assertEquals(JobState.JOB_STATE_EXITED, ended.getState(), "status via node" + asker);
                assertEquals(0, ended.getExitCode().getValue());
                assertEquals(ownerName, ended.getHost());
                assertEquals("hello from " + ownerName + "\n", stdout(cluster.client(asker, "alice"), id), "logs via node" + asker);
                Set<String> listed = listAll(cluster.client(asker, "alice"));
                assertTrue(listed.contains(id), "List via node" + asker + " merges node" + owner + "'s jobs");
            }
            cluster.client(owner % 3 + 1, "alice").delete(DeleteRequest.newBuilder().setJobId(id).build());
            for (int asker = 1; asker <= 3; asker++) {
                RundClient client = cluster.client(asker, "alice");
                StatusRuntimeException gone = assertThrows(StatusRuntimeException.class,
                        () -> client.status(StatusRequest.newBuilder().setJobId(id).build()));
                assertEquals(Status.Code.NOT_FOUND, gone.getStatus().getCode());
            }
        }
    }

    /** Labels cross to the job's host and back; every node applies a List selector; one job's events come from its host. */
    @Test
    void labelsSelectorsAndAJobsEventsWorkFromEveryNode() throws Exception {
        String run = "c" + Long.toHexString(System.nanoTime());
        String id = cluster.client(1, "alice").start(StartRequest.newBuilder().setCommand("/bin/true").putLabels("run", run)
                .setHost("node3").build()).getJobId();
        cluster.client(1, "alice").start(StartRequest.newBuilder().setCommand("/bin/true").putLabels("run", run + "x")
                .setHost("node2").build());
        for (int asker = 1; asker <= 3; asker++) {
            var page = cluster.client(asker, "alice").list(ListRequest.newBuilder().setLabelSelector("run in (" + run + ")").build());
            assertEquals(List.of(id), page.getJobsList().stream().map(JobStatus::getId).toList(), "selector via node" + asker);
            assertEquals(java.util.Map.of("run", run), page.getJobs(0).getLabelsMap());
        }
        List<io.rund.proto.v1.JobEvent> events;
        try (io.grpc.Context.CancellableContext watching = io.grpc.Context.current().withCancellation()) {
            events = watching.call(() -> {
                Iterator<io.rund.proto.v1.JobEvent> stream = cluster.client(1, "alice").watch(io.rund.proto.v1.WatchRequest.newBuilder()
                        .setJobId(id).setAfterSequence(com.google.protobuf.UInt64Value.of(0)).build(), Duration.ofMinutes(2));
                return List.of(stream.next(), stream.next());
            });
        }
        assertEquals(List.of(io.rund.proto.v1.JobEventType.JOB_EVENT_TYPE_STARTED, io.rund.proto.v1.JobEventType.JOB_EVENT_TYPE_EXITED),
                events.stream().map(io.rund.proto.v1.JobEvent::getType).toList());
        events.forEach(event -> assertEquals("node3", event.getHost(), "the events are node3's"));
        StatusRuntimeException ahead = assertThrows(StatusRuntimeException.class, () -> cluster.client(2, "alice")
                .watch(io.rund.proto.v1.WatchRequest.newBuilder().setJobId(id)
                        .setAfterSequence(com.google.protobuf.UInt64Value.of(events.getLast().getSequence() + 1_000_000)).build(),
                        Duration.ofMinutes(2)).hasNext());
        assertEquals(Status.Code.OUT_OF_RANGE, ahead.getStatus().getCode(), "the host's refusal crosses: " + ahead.getStatus());
        StatusRuntimeException hidden = assertThrows(StatusRuntimeException.class, () -> cluster.client(2, "carol")
                .watch(io.rund.proto.v1.WatchRequest.newBuilder().setJobId(id).build(), Duration.ofMinutes(2)).hasNext());
        assertEquals(Status.Code.NOT_FOUND, hidden.getStatus().getCode());
    }

    @Test
    void stopFromAnotherNodeEndsTheJobOnItsOwner() {
        String id = cluster.client(1, "alice").start(StartRequest.newBuilder().setCommand("/bin/sleep").addArgs("300")
                .setHost("node3").build()).getJobId();
        JobStatus stopped = cluster.client(2, "alice").stop(StopRequest.newBuilder().setJobId(id).build()).getStatus();
        assertEquals(JobState.JOB_STATE_EXITED, stopped.getState());
        assertTrue(stopped.getStoppedByRequest());
        assertEquals("node3", stopped.getHost());
        assertEquals(JobState.JOB_STATE_EXITED, cluster.client(3, "alice").status(StatusRequest.newBuilder().setJobId(id).build())
                .getStatus().getState(), "the owner itself saw the job end");
    }

    @Test
    void authorizationIsTheOwnersWhateverNodeIsAsked() {
        String id = cluster.client(1, "alice").start(StartRequest.newBuilder().setCommand("/bin/true").setHost("node2").build())
                .getJobId();
        assertEquals("node2", cluster.client(3, "bob").status(StatusRequest.newBuilder().setJobId(id).build()).getStatus().getHost(),
                "bob shares alice's team SAN");
        assertEquals("node2", cluster.client(1, "admin").status(StatusRequest.newBuilder().setJobId(id).build()).getStatus().getHost());
        for (int asker = 1; asker <= 3; asker++) {
            RundClient carol = cluster.client(asker, "carol");
            StatusRuntimeException hidden = assertThrows(StatusRuntimeException.class,
                    () -> carol.status(StatusRequest.newBuilder().setJobId(id).build()));
            assertEquals(Status.Code.NOT_FOUND, hidden.getStatus().getCode(), "carol via node" + asker);
            assertThrows(StatusRuntimeException.class, () -> carol.stop(StopRequest.newBuilder().setJobId(id).build()));
            assertFalse(listAll(carol).contains(id), "carol's List via node" + asker);
        }
        assertTrue(listAll(cluster.client(3, "admin")).contains(id));
    }

    @Test
    void aMegabyteOfArgumentsCrossesIntact() {
        List<String> args = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            args.add(i + ":" + "x".repeat(990));
        }
        String id = cluster.client(1, "alice").start(StartRequest.newBuilder().setCommand("/bin/true").addAllArgs(args)
                .setHost("node2").build()).getJobId();
        JobStatus seen = cluster.client(3, "alice").status(StatusRequest.newBuilder().setJobId(id).build()).getStatus();
        assertEquals(args, seen.getArgsList(), "the arguments as node2 ran them, read through node3");
        assertTrue(args.stream().mapToInt(String::length).sum() > 990_000);
    }

    @Test
    void aStartForAnUnknownHostNamesTheKnownOnes() {
        StatusRuntimeException unknown = assertThrows(StatusRuntimeException.class, () -> cluster.client(1, "alice")
                .start(StartRequest.newBuilder().setCommand("/bin/true").setHost("node9").build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, unknown.getStatus().getCode());
        assertTrue(unknown.getStatus().getDescription().contains("node1, node2, node3"), unknown.getStatus().getDescription());
    }

    @Test
    void startsWithoutAHostArePlacedOnReachableNodes() {
        Set<String> hosts = new java.util.TreeSet<>();
        for (int i = 0; i < 12; i++) {
            hosts.add(cluster.client(1 + i % 3, "alice").start(StartRequest.newBuilder().setCommand("/bin/true").build())
                    .getStatus().getHost());
        }
        assertTrue(Set.of("node1", "node2", "node3").containsAll(hosts), hosts.toString());
        assertTrue(hosts.size() >= 2, "twelve placements used one node only: " + hosts);
    }

    @Test
    void theCliNamesNodesAndHosts() {
        io.rund.auth.TlsFiles tls = ExampleCertificates.files("alice");
        List<String> viaNode1 = List.of("--addr", cluster.node(1).address().toString(), "--ca", tls.ca().toString(),
                "--cert", tls.cert().toString(), "--key", tls.key().toString());
        io.rund.cli.CliCalls.Output nodes = io.rund.cli.CliCalls.run(viaNode1, "nodes", "-o", "json");
        assertEquals(0, nodes.exitCode(), nodes.errText());
        var listed = com.google.gson.JsonParser.parseString(nodes.outText()).getAsJsonArray();
        assertEquals(3, listed.size(), nodes.outText());
        for (int i = 0; i < 3; i++) {
            var node = listed.get(i).getAsJsonObject();
            assertEquals("node" + (i + 1), node.get("name").getAsString());
            assertEquals(i + 1, node.get("index").getAsInt());
            assertTrue(node.get("reachable").getAsBoolean(), nodes.outText());
        }
        io.rund.cli.CliCalls.Output table = io.rund.cli.CliCalls.run(viaNode1, "nodes");
        assertEquals(List.of("NAME", "ADDRESS", "INDEX", "REACHABLE", "RUNNING"),
                List.of(table.outText().lines().findFirst().orElseThrow().trim().split("\\s+")));

        io.rund.cli.CliCalls.Output started = io.rund.cli.CliCalls.run(viaNode1, "start", "--host", "node2", "--", "/bin/true");
        assertEquals(0, started.exitCode(), started.errText());
        String id = started.outText().strip();
        io.rund.cli.CliCalls.Output status = io.rund.cli.CliCalls.run(viaNode1, "status", "-o", "json", id);
        assertEquals("node2", com.google.gson.JsonParser.parseString(status.outText()).getAsJsonObject().get("host").getAsString(),
                status.outText());
        io.rund.cli.CliCalls.Output wide = io.rund.cli.CliCalls.run(viaNode1, "list", "-o", "wide");
        String row = wide.outText().lines().filter(line -> line.startsWith(id)).findFirst().orElseThrow();
        assertTrue(List.of(row.split("\\s+")).contains("node2"), row);
    }

    @Test
    void aUserCertificateIsRefusedAtTheClusterPort() throws Exception {
        int port = cluster.node(1).clusterPort();
        SSLContext node = TlsContexts.client(ExampleCertificates.files("node2"));
        try (SSLSocket socket = (SSLSocket) node.getSocketFactory().createSocket("127.0.0.1", port)) {
            socket.setEnabledProtocols(new String[] {TlsContexts.TLS_1_3});
            socket.startHandshake(); // the control: a node certificate gets through
            assertTrue(socket.getSession().isValid());
        }
        SSLContext alice = TlsContexts.client(ExampleCertificates.files("alice"));
        try (SSLSocket socket = (SSLSocket) alice.getSocketFactory().createSocket("127.0.0.1", port)) {
            socket.setEnabledProtocols(new String[] {TlsContexts.TLS_1_3});
            assertThrows(java.io.IOException.class, () -> {
                socket.startHandshake();
                socket.getOutputStream().write(new byte[] {'A', 'K', 'K', 1}); // TLS 1.3: the server's refusal of the
                socket.getOutputStream().flush();                               // client certificate comes after
                socket.getInputStream().read();
            });
        }
    }

    @Test
    void aNodeWithOtherAdminSansIsRefusedAtJoin() throws Exception {
        ClusterNodes.Node odd = cluster.add("odd", 7, ClusterNodes.freePort(), "node3",
                "rund.admin-sans = [\"DNS:someone-else.example\"]");
        try {
            Instant until = Instant.now().plus(REFUSAL_WATCH);
            while (Instant.now().isBefore(until)) {
                assertFalse(cluster.client(1, "alice").nodes().getNodesList().stream().anyMatch(node -> node.getName().equals("odd")),
                        "a node with other admin SANs joined");
                org.apache.pekko.actor.typed.ActorSystem<Void> system = odd.membership().system();
                assertTrue(system == null || Cluster.get(system).selfMember().status() != MemberStatus.up(), "odd is Up");
                Thread.sleep(500);
            }
        } finally {
            odd.fleet().close();
        }
    }

    /**
     * Last: node3 is downed (as the split-brain resolver would after a partition). Its peers answer for its jobs with
     * UNAVAILABLE naming it, a call already waiting on it fails the same way rather than at its timeout, and its job
     * runs on. (Its rejoin is not asserted here: a terminating Artery-TLS system can keep its port bound for long.)
     */
    @Test
    @org.junit.jupiter.api.Order(Integer.MAX_VALUE)
    void aDownedNodeIsUnavailableByNameAndItsJobsRunOn() throws Exception {
        String id = cluster.client(1, "alice").start(StartRequest.newBuilder().setCommand("/bin/sleep").addArgs("300")
                .setHost("node3").build()).getJobId();
        RundClient waiter = cluster.client(2, "alice");
        java.util.concurrent.CompletableFuture<Throwable> waiting = new java.util.concurrent.CompletableFuture<>();
        Thread.ofPlatform().name("waits-for-the-end-on-node3").start(() -> {
            try {
                waiter.status(StatusRequest.newBuilder().setJobId(id).setWaitForEnd(true).build());
                waiting.complete(null);
            } catch (RuntimeException e) {
                waiting.complete(e);
            }
        });
        Thread.sleep(500); // let the wait reach node3 (if it has not, it fails the same way, on the directory's word)
        ClusterNodes.Node node3 = cluster.node(3);
        Cluster.get(cluster.node(1).membership().system()).manager().tell(org.apache.pekko.cluster.typed.Down.apply(
                new org.apache.pekko.actor.Address("pekko", "rund-cluster", "127.0.0.1", node3.clusterPort())));
        Throwable pending = waiting.get(LOSS_VISIBLE_WITHIN.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        assertTrue(pending instanceof StatusRuntimeException, "the pending wait answered: " + pending);
        Status pendingStatus = ((StatusRuntimeException) pending).getStatus();
        assertEquals(Status.Code.UNAVAILABLE, pendingStatus.getCode());
        assertTrue(pendingStatus.getDescription().contains("node3") && pendingStatus.getDescription().contains("cannot be reached"),
                "not a timeout but the host's loss: " + pendingStatus.getDescription());
        for (int asker = 1; asker <= 2; asker++) {
            RundClient client = cluster.client(asker, "alice");
            StatusRuntimeException unavailable = awaitFailure(() -> client.status(StatusRequest.newBuilder().setJobId(id).build()),
                    LOSS_VISIBLE_WITHIN);
            assertEquals(Status.Code.UNAVAILABLE, unavailable.getStatus().getCode());
            assertTrue(unavailable.getStatus().getDescription().contains("node3"), unavailable.getStatus().getDescription());
            assertTrue(client.list(ListRequest.getDefaultInstance()).getUnreachableHostsList().contains("node3"));
        }
        assertEquals(JobState.JOB_STATE_RUNNING, cluster.client(3, "alice").status(StatusRequest.newBuilder().setJobId(id).build())
                .getStatus().getState(), "node3's own API: its job runs on");
        cluster.client(3, "alice").stop(StopRequest.newBuilder().setJobId(id).build());
    }

    /** The job's stdout, followed to its end through {@code client}'s node; the trailer must name the job's host. */
    private static String stdout(RundClient client, String id) {
        StringBuilder out = new StringBuilder();
        Iterator<LogChunk> chunks = client.logs(LogsRequest.newBuilder().setJobId(id).setFollow(true).build());
        String trailerHost = null;
        while (chunks.hasNext()) {
            LogChunk chunk = chunks.next();
            if (chunk.hasData()) {
                out.append(chunk.getData().getData().toStringUtf8());
            } else if (chunk.hasTrailer()) {
                trailerHost = chunk.getTrailer().getStatus().getHost();
                assertEquals(JobState.JOB_STATE_EXITED, chunk.getTrailer().getStatus().getState());
            }
        }
        assertTrue(trailerHost != null && trailerHost.startsWith("node"), "a trailer naming the host: " + trailerHost);
        return out.toString();
    }

    private static Set<String> listAll(RundClient client) {
        Set<String> ids = new java.util.TreeSet<>();
        String token = "";
        do {
            var page = client.list(ListRequest.newBuilder().setPageToken(token).build());
            page.getJobsList().forEach(job -> ids.add(job.getId()));
            token = page.getNextPageToken();
        } while (!token.isEmpty());
        return ids;
    }

    private static StatusRuntimeException awaitFailure(Runnable call, Duration within) throws InterruptedException {
        Instant until = Instant.now().plus(within);
        while (Instant.now().isBefore(until)) {
            try {
                call.run();
            } catch (StatusRuntimeException e) {
                return e;
            }
            Thread.sleep(100);
        }
        return fail("still answered " + within.toSeconds() + "s after the loss");
    }

    @Test
    void signalPauseAndResumeFromAnotherNodeReachTheJobOnItsOwner() throws Exception {
        String id = cluster.client(1, "alice").start(StartRequest.newBuilder().setCommand("/bin/sleep").addArgs("300")
                .setHost("node3").build()).getJobId();
        JobStatus paused = cluster.client(2, "alice").pause(io.rund.proto.v1.PauseRequest.newBuilder().setJobId(id).build())
                .getStatus();
        assertEquals(JobState.JOB_STATE_FROZEN, paused.getState(), "paused via node2");
        assertEquals("node3", paused.getHost());
        assertEquals(JobState.JOB_STATE_FROZEN, cluster.client(3, "alice").status(StatusRequest.newBuilder().setJobId(id).build())
                .getStatus().getState(), "the owner itself has it frozen");
        StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, () -> cluster.client(1, "alice")
                .pause(io.rund.proto.v1.PauseRequest.newBuilder().setJobId(id).build()));
        assertEquals(Status.Code.FAILED_PRECONDITION, refused.getStatus().getCode(), "a refusal crosses as itself");
        assertTrue(refused.getStatus().getDescription().contains("is FROZEN already"), refused.getStatus().getDescription());
        assertEquals(Status.Code.NOT_FOUND, assertThrows(StatusRuntimeException.class, () -> cluster.client(2, "carol")
                .signal(io.rund.proto.v1.SignalRequest.newBuilder().setJobId(id).setSignal("KILL").build())).getStatus().getCode(),
                "authorized by the owner's registry");

        JobStatus resumed = cluster.client(1, "alice").resume(io.rund.proto.v1.ResumeRequest.newBuilder().setJobId(id).build())
                .getStatus();
        assertEquals(JobState.JOB_STATE_RUNNING, resumed.getState(), "resumed via node1");
        assertTrue(resumed.hasFrozenFor(), "the time frozen crosses: " + resumed);

        cluster.client(2, "alice").signal(io.rund.proto.v1.SignalRequest.newBuilder().setJobId(id).setSignal("SIGKILL").build());
        JobStatus ended = cluster.client(1, "alice").status(StatusRequest.newBuilder().setJobId(id).setWaitForEnd(true).build())
                .getStatus();
        assertEquals(JobState.JOB_STATE_EXITED, ended.getState());
        assertEquals(9, ended.getSignal().getValue(), "the signal sent via node2 killed it on node3");
        assertFalse(ended.getStoppedByRequest(), "a signal is not a Stop");
    }

    private static void await(String what, Duration timeout, Callable<Boolean> condition) throws Exception {
        Instant until = Instant.now().plus(timeout);
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
        throw new AssertionError("timed out after " + timeout.toSeconds() + "s waiting for " + what, last);
    }

    @Test
    void statsOfAJobOnAnotherNodeAreReadOnItsOwner() {
        String id = cluster.client(1, "alice").start(StartRequest.newBuilder().setCommand("/bin/sleep").addArgs("300")
                .setHost("node2").build()).getJobId();
        java.util.Iterator<io.rund.proto.v1.StatsSample> samples = cluster.client(3, "alice").stats(
                io.rund.proto.v1.StatsRequest.newBuilder().setJobId(id).build());
        io.rund.proto.v1.StatsSample sample = samples.next();
        assertEquals(id, sample.getJobId());
        assertEquals("node2", sample.getHost(), "the sample names the node whose cgroup was read");
        assertTrue(sample.hasTime());
        StatusRuntimeException hidden = assertThrows(StatusRuntimeException.class, () -> cluster.client(1, "carol")
                .stats(io.rund.proto.v1.StatsRequest.newBuilder().setJobId(id).build()).next());
        assertEquals(Status.Code.NOT_FOUND, hidden.getStatus().getCode(), "authorized by the owner like every RPC");
        cluster.client(2, "alice").stop(StopRequest.newBuilder().setJobId(id).build());
        StatusRuntimeException ended = assertThrows(StatusRuntimeException.class, () -> cluster.client(1, "alice")
                .stats(io.rund.proto.v1.StatsRequest.newBuilder().setJobId(id).build()).next());
        assertEquals(Status.Code.FAILED_PRECONDITION, ended.getStatus().getCode());
    }

    /** A watch of one job through another node than its host ends (OK) after the job's REMOVED event crossed. */
    @Test
    void aJobsWatchThroughAnotherNodeEndsAfterItsRemoval() {
        String id = cluster.client(1, "alice").start(StartRequest.newBuilder().setCommand("/bin/true")
                .setHost("node3").build()).getJobId();
        Iterator<io.rund.proto.v1.JobEvent> stream = cluster.client(1, "alice").watch(io.rund.proto.v1.WatchRequest.newBuilder()
                .setJobId(id).setAfterSequence(com.google.protobuf.UInt64Value.of(0)).build(), Duration.ofMinutes(2));
        List<io.rund.proto.v1.JobEventType> types = new ArrayList<>();
        types.add(stream.next().getType());
        types.add(stream.next().getType()); // EXITED: the job has ended, so it may be removed
        cluster.client(2, "alice").delete(DeleteRequest.newBuilder().setJobId(id).build());
        stream.forEachRemaining(event -> types.add(event.getType()));

        assertEquals(List.of(io.rund.proto.v1.JobEventType.JOB_EVENT_TYPE_STARTED, io.rund.proto.v1.JobEventType.JOB_EVENT_TYPE_EXITED,
                io.rund.proto.v1.JobEventType.JOB_EVENT_TYPE_REMOVED), types);
    }
}
