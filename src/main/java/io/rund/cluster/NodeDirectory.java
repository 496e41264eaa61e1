package io.rund.cluster;

import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The router's eyes (one per cluster system): follows membership, reachability and the Receptionist's listing of
 * gateways, and publishes a whole {@link Directory} on every change, which the {@link ClusteredFleet} routes by and
 * uses to fail at once the requests pending on a host that became unreachable. Members carry their node name and
 * index as roles ({@value #NAME_ROLE}NAME, {@value #INDEX_ROLE}N).
 */
final class NodeDirectory {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(NodeDirectory.class);
    static final String NAME_ROLE = "rund-name:";
    static final String INDEX_ROLE = "rund-index:";

    private NodeDirectory() {}

    sealed interface Event {}

    private record MemberChanged(ClusterEvent.MemberEvent event) implements Event {}

    private record ReachabilityChanged(ClusterEvent.ReachabilityEvent event) implements Event {}

    private record GatewaysListed(Receptionist.Listing listing) implements Event {}

    /** {@code known}: the members an earlier cluster system of this node saw, kept known (as unreachable) at start. */
    static Behavior<Event> create(String selfName, int selfIndex, String selfAddress, Map<Integer, Directory.Peer> known,
                                 Consumer<Directory> publish) {
        return Behaviors.<Event>setup(context -> {
            Cluster cluster = Cluster.get(context.getSystem());
            cluster.subscriptions().tell(Subscribe.create(context.messageAdapter(ClusterEvent.MemberEvent.class, MemberChanged::new),
                    ClusterEvent.MemberEvent.class));
            cluster.subscriptions().tell(Subscribe.create(context.messageAdapter(ClusterEvent.ReachabilityEvent.class,
                    ReachabilityChanged::new), ClusterEvent.ReachabilityEvent.class));
            context.getSystem().receptionist().tell(Receptionist.subscribe(NodeGateway.KEY,
                    context.messageAdapter(Receptionist.Listing.class, GatewaysListed::new)));
            Address self = cluster.selfMember().address();
            Map<Address, Member> members = new HashMap<>();
            Set<Address> unreachable = new HashSet<>();
            Map<Address, ActorRef<NodeGateway.Command>> gateways = new HashMap<>();
            Map<Integer, Directory.Peer> seen = new TreeMap<>(known);
            Map<Integer, Boolean> reachableBefore = new HashMap<>();
            Runnable republish = () -> {
                Map<Integer, Directory.Peer> peers = new TreeMap<>();
                seen.forEach((index, peer) -> peers.put(index, new Directory.Peer(peer.name(), index, peer.address(), false, Optional.empty())));
                for (Member member : members.values()) {
                    Optional<Integer> index = index(member);
                    if (member.address().equals(self) || index.isEmpty() || index.get() == selfIndex) {
                        continue;
                    }
                    boolean up = member.status() == MemberStatus.up() || member.status() == MemberStatus.weaklyUp();
                    Optional<ActorRef<NodeGateway.Command>> gateway = Optional.ofNullable(gateways.get(member.address()));
                    Directory.Peer peer = new Directory.Peer(name(member), index.get(), hostPort(member.address()),
                            up && !unreachable.contains(member.address()) && gateway.isPresent(), gateway);
                    peers.put(index.get(), peer);
                    seen.put(index.get(), peer);
                }
                peers.values().forEach(peer -> {
                    Boolean before = reachableBefore.put(peer.index(), peer.reachable());
                    if (before == null || before != peer.reachable()) {
                        LOG.info("Cluster node {} sees {} (index {}, {}) {}", selfName, peer.name(), peer.index(), peer.address(),
                                peer.reachable() ? "reachable" : "unreachable: requests for its jobs answer UNAVAILABLE");
                    }
                });
                publish.accept(new Directory(selfName, selfIndex, selfAddress, peers));
            };
            publish.accept(Directory.alone(selfName, selfIndex, selfAddress, seen));
            return Behaviors.receive(Event.class)
                    .onMessage(MemberChanged.class, changed -> {
                        Member member = changed.event().member();
                        if (changed.event() instanceof ClusterEvent.MemberRemoved) {
                            members.remove(member.address());
                            unreachable.remove(member.address());
                        } else {
                            members.put(member.address(), member);
                        }
                        republish.run();
                        return Behaviors.same();
                    })
                    .onMessage(ReachabilityChanged.class, changed -> {
                        Address address = changed.event().member().address();
                        if (changed.event() instanceof ClusterEvent.UnreachableMember) {
                            unreachable.add(address);
                        } else {
                            unreachable.remove(address);
                        }
                        republish.run();
                        return Behaviors.same();
                    })
                    .onMessage(GatewaysListed.class, listed -> {
                        gateways.clear();
                        for (ActorRef<NodeGateway.Command> gateway : listed.listing().getServiceInstances(NodeGateway.KEY)) {
                            gateways.put(gateway.path().address(), gateway);
                        }
                        republish.run();
                        return Behaviors.same();
                    })
                    .build();
        });
    }

    private static Optional<Integer> index(Member member) {
        for (String role : member.getRoles()) {
            if (role.startsWith(INDEX_ROLE)) {
                return Optional.of(Integer.parseInt(role.substring(INDEX_ROLE.length())));
            }
        }
        return Optional.empty();
    }

    private static String name(Member member) {
        for (String role : member.getRoles()) {
            if (role.startsWith(NAME_ROLE)) {
                return role.substring(NAME_ROLE.length());
            }
        }
        return hostPort(member.address());
    }

    static String hostPort(Address address) {
        return address.getHost().orElse("?") + ":" + address.getPort().map(Object::toString).orElse("?");
    }
}
