package io.rund.cluster;

import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.remote.RemoteActorRefProvider;
import org.apache.pekko.remote.artery.tcp.ArteryTcpTransport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Frees the cluster port of a cluster system that cannot finish terminating. Pekko 1.x's Artery waits without a
 * deadline for its streams to complete before it unbinds (apache/pekko#3247, bounded only from 2.0.0-M4 by
 * {@code shutdown-streams-timeout}); a TLS connection to a peer this node was cut off from completes only when TCP gives
 * up, many minutes later. Until then the node's next system could not bind the port, and the node could not rejoin. So
 * a system still terminating after {@link #GRACE} gets its transport shut down directly: its inbound side is stopped
 * and its port unbound, as Artery itself does once its streams end. The rest of that system stays until its stuck
 * stream ends (docs/CLUSTER.md, Known limits).
 */
final class ArteryPortRelease {

    private static final Logger LOG = LoggerFactory.getLogger(ArteryPortRelease.class);
    /** Artery's own flush (shutdown-flush-timeout, 1 s) and an orderly stream shutdown take far less. */
    static final Duration GRACE = Duration.ofSeconds(5);

    private ArteryPortRelease() {}

    /** Once {@code ending} reached its last shutdown phase: frees its port after {@link #GRACE} if it still holds it. */
    static void schedule(ActorSystem<Void> ending, ScheduledExecutorService scheduler, String nodeName) {
        scheduler.schedule(() -> {
            if (!ending.getWhenTerminated().toCompletableFuture().isDone()) {
                release(ending, nodeName);
            }
        }, GRACE.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static void release(ActorSystem<Void> ending, String nodeName) {
        if (((ExtendedActorSystem) Adapter.toClassic(ending)).provider() instanceof RemoteActorRefProvider remote
                && remote.transport() instanceof ArteryTcpTransport transport) {
            LOG.warn("Cluster node {}: its ended cluster system still waits, after {} s, for a connection to a peer it "
                    + "was cut off from; freeing its port so that the node can join again", nodeName, GRACE.toSeconds());
            transport.shutdownTransport();
        }
    }
}
