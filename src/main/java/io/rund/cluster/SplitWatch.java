package io.rund.cluster;

import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The guard against a fleet split silently (one per cluster system, at {@value #NAME}): every split-check-interval,
 * once this node is Up, it asks each configured seed that is not a member of its cluster which cluster that seed is
 * in. A seed Up in a cluster whose members lack this node means the fleet is two clusters (Pekko's first seed forms a
 * new cluster by itself when no other seed answers within seed-node-timeout, as when seeds restart together): each
 * such check logs one error line, and the seed is published ({@link Split}) for {@code rund nodes} to mark.
 */
final class SplitWatch {

    private static final Logger LOG = LoggerFactory.getLogger(SplitWatch.class);
    static final String NAME = "split-watch";
    /** How many of the other cluster's members a split's log line names. */
    private static final int MEMBERS_NAMED = 10;

    private SplitWatch() {}

    sealed interface Command {}

    /** Which cluster are you in? Asked of a seed's watch across clusters (plain Artery, both sides node-authenticated). */
    record WhichCluster(ActorRef<ClusterSeen> replyTo) implements Command, NodeMessage {}

    /** A node's answer: its name and index, whether it is Up, and its cluster's members (HOST:PORT). */
    record ClusterSeen(String name, int index, String address, boolean up, List<String> members) implements NodeMessage {}

    /** A configured seed found Up in another cluster: what it said. */
    record Split(String seed, ClusterSeen seen) {}

    private record Check() implements Command {}

    private record Answered(String seed, ClusterSeen seen) implements Command {}

    static Behavior<Command> create(String selfName, int selfIndex, List<String> seeds, Duration interval,
                                    Consumer<Map<String, Split>> publish) {
        return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(new Check(), interval);
            Cluster cluster = Cluster.get(context.getSystem());
            Address self = cluster.selfMember().address();
            String selfAddress = NodeDirectory.hostPort(self);
            ActorRefResolver resolver = ActorRefResolver.get(context.getSystem());
            Map<String, Split> splits = new TreeMap<>();
            // One question per seed at a time, so that each check gives at most one line per seed.
            Set<String> asking = new TreeSet<>();
            publish.accept(Map.of());
            return Behaviors.receive(Command.class)
                    .onMessage(WhichCluster.class, asked -> {
                        asked.replyTo().tell(new ClusterSeen(selfName, selfIndex, selfAddress,
                                cluster.selfMember().status() == MemberStatus.up(), members(cluster)));
                        return Behaviors.same();
                    })
                    .onMessage(Check.class, check -> {
                        if (cluster.selfMember().status() != MemberStatus.up()) {
                            return Behaviors.same();
                        }
                        Set<String> members = new TreeSet<>(members(cluster));
                        for (String seed : seeds) {
                            if (seed.equals(selfAddress) || members.contains(seed)) {
                                if (splits.remove(seed) != null) {
                                    publish.accept(Map.copyOf(splits));
                                }
                                continue;
                            }
                            if (!asking.add(seed)) {
                                continue;
                            }
                            String[] hostPort = ClusterSettings.hostPort(seed, "seeds");
                            ActorRef<Command> watch = resolver.resolveActorRef(new Address(self.protocol(), self.system(),
                                    hostPort[0], Integer.parseInt(hostPort[1])) + "/user/" + NAME);
                            context.ask(ClusterSeen.class, watch, interval, WhichCluster::new,
                                    (seen, failure) -> new Answered(seed, seen));
                        }
                        return Behaviors.same();
                    })
                    .onMessage(Answered.class, answered -> {
                        ClusterSeen seen = answered.seen();
                        boolean split = seen != null && seen.up() && !seen.members().contains(selfAddress)
                                && !members(cluster).contains(seen.address());
                        asking.remove(answered.seed());
                        if (split) {
                            LOG.error("Cluster node {} ({}) is split from part of the fleet: its seed {} ({}) is Up in "
                                            + "another cluster of {} member(s) [{}] that lacks this node (seeds restarted apart?); "
                                            + "jobs on that side answer UNAVAILABLE or NOT_FOUND here. Restart the nodes of "
                                            + "the smaller cluster (their jobs run on) so they join the other",
                                    selfName, selfAddress, seen.name(), answered.seed(), seen.members().size(),
                                    named(seen.members()));
                            splits.put(answered.seed(), new Split(answered.seed(), seen));
                            publish.accept(Map.copyOf(splits));
                        } else if (splits.remove(answered.seed()) != null) {
                            LOG.info("Cluster node {}: seed {} is no longer seen in another cluster", selfName, answered.seed());
                            publish.accept(Map.copyOf(splits));
                        }
                        return Behaviors.same();
                    })
                    .build();
        }));
    }

    /** The first members of the other cluster, enough to recognise it in one log line. */
    private static String named(List<String> members) {
        return members.size() <= MEMBERS_NAMED ? String.join(", ", members)
                : String.join(", ", members.subList(0, MEMBERS_NAMED)) + ", ...";
    }

    private static List<String> members(Cluster cluster) {
        List<String> members = new ArrayList<>();
        for (Member member : cluster.state().getMembers()) {
            members.add(NodeDirectory.hostPort(member.address()));
        }
        return members;
    }
}
