package io.rund.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.rund.logs.LogQuery;
import io.rund.logs.LogRecord;
import io.rund.logs.LogStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SourceRef;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Two cluster ActorSystems in one JVM joined over Artery on loopback (plain TCP): node B owns the logs, node A is
 * where followers connect. A gateway stand-in on B offers relays; A asks it through an ActorRef resolved from its
 * serialized form, so the request, the reply and the SourceRef in it really cross Artery (as K's gateway will).
 */
final class RelayNodes implements AutoCloseable {

    /** Only guards against a hang; nothing here is a performance claim. */
    static final Duration HANG_GUARD = Duration.ofMinutes(3);
    /** Whether A asks B for output deflated, as every current node does (false: as a node from before compression). */
    volatile boolean compressedOutput = true;
    static final String FOLLOWER = "URI:spiffe://test/alice";

    /** Asks the owner's gateway stand-in for a relay of its log; the reply carries the SourceRef across. */
    record OpenRelay(long fromOffset, boolean follow, boolean compressed, ActorRef<RelayOffered> replyTo) implements NodeMessage {}

    record RelayOffered(SourceRef<LogFrame> ref) implements NodeMessage {}

    final ActorSystem<Void> nodeA;
    final ActorSystem<Void> nodeB;

    /** {@code serializeMessages}: on in tests, so that even local sends cross a serializer; off for measuring. */
    RelayNodes(boolean serializeMessages) throws InterruptedException {
        nodeA = clusterSystem(serializeMessages);
        nodeB = clusterSystem(serializeMessages);
        Cluster.get(nodeA).manager().tell(Join.create(Cluster.get(nodeA).selfMember().address()));
        Cluster.get(nodeB).manager().tell(Join.create(Cluster.get(nodeA).selfMember().address()));
        await("both nodes are Up", () -> upMembers(nodeA) == 2 && upMembers(nodeB) == 2);
    }

    private static ActorSystem<Void> clusterSystem(boolean serializeMessages) {
        Config config = ConfigFactory.parseString("""
                pekko.actor.provider = cluster
                pekko.actor.serialize-messages = %s
                pekko.remote.artery.canonical.hostname = "127.0.0.1"
                pekko.remote.artery.canonical.port = 0
                pekko.cluster.jmx.enabled = off
                pekko.loglevel = WARNING
                # As ClusterNode sets it from rund.cluster.maximum-frame-size (Artery drops a larger message).
                pekko.remote.artery.advanced.maximum-frame-size = ${rund.cluster.maximum-frame-size}
                pekko.remote.artery.advanced.maximum-large-frame-size = ${rund.cluster.maximum-frame-size}
                """.formatted(serializeMessages ? "on" : "off")).withFallback(ConfigFactory.load()).resolve();
        return ActorSystem.create(Behaviors.empty(), "rund-cluster", config);
    }

    private static long upMembers(ActorSystem<Void> node) {
        long up = 0;
        for (Member member : Cluster.get(node).state().getMembers()) {
            if (member.status() == MemberStatus.up()) {
                up++;
            }
        }
        return up;
    }

    /** The gateway stand-in on the owner: offers a relay of {@code log} for {@link #FOLLOWER}, shaped by {@code tap}. */
    private static Behavior<OpenRelay> owner(LogStore log, UnaryOperator<Source<LogRecord, NotUsed>> tap) {
        return Behaviors.receive((context, open) -> {
            Source<LogRecord, NotUsed> records = tap.apply(
                    log.follow(LogQuery.from(open.fromOffset(), open.follow()), FOLLOWER));
            open.replyTo().tell(new RelayOffered(
                    LogRelay.offer(records, open.compressed(), Materializer.matFromSystem(context.getSystem()))));
            return Behaviors.same();
        });
    }

    /** Asks B, from A, to offer a relay of {@code log}; returns the ref as A received it. */
    SourceRef<LogFrame> offered(LogStore log, long from, boolean follow,
                                UnaryOperator<Source<LogRecord, NotUsed>> tap) throws Exception {
        ActorRef<OpenRelay> onB = nodeB.systemActorOf(owner(log, tap), "owner-" + System.nanoTime(), Props.empty());
        ActorRef<OpenRelay> fromA = ActorRefResolver.get(nodeA)
                .resolveActorRef(ActorRefResolver.get(nodeB).toSerializationFormat(onB));
        CompletionStage<RelayOffered> reply = AskPattern.ask(fromA,
                replyTo -> new OpenRelay(from, follow, compressedOutput, replyTo), Duration.ofSeconds(30), nodeA.scheduler());
        return reply.toCompletableFuture().get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS).ref();
    }

    Source<LogRecord, NotUsed> relay(LogStore log, long from, boolean follow) throws Exception {
        return relay(log, from, follow, UnaryOperator.identity(), new CompletableFuture<>());
    }

    Source<LogRecord, NotUsed> relay(LogStore log, long from, boolean follow,
                                     UnaryOperator<Source<LogRecord, NotUsed>> tap,
                                     CompletionStage<String> ownerLost) throws Exception {
        return LogRelay.receive(offered(log, from, follow, tap), ownerLost);
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + HANG_GUARD.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(50);
        }
    }

    @Override
    public void close() throws Exception {
        for (ActorSystem<Void> node : List.of(nodeA, nodeB)) {
            node.terminate();
        }
        for (ActorSystem<Void> node : List.of(nodeA, nodeB)) {
            node.getWhenTerminated().toCompletableFuture().get(HANG_GUARD.toSeconds(), TimeUnit.SECONDS);
        }
    }
}
