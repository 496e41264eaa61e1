package io.rund.cluster;

import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
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
            Set<UniqueAddress> refused = new HashSet<>();
            Runnable republish = () -> {
                Map<UniqueAddress, DuplicateMembers.Duplicate> duplicates = DuplicateMembers.find(members.values());
                duplicates.values().forEach(duplicate -> refuse(cluster, selfName, self, duplicate, refused));
                Map<Integer, Directory.Peer> peers = new TreeMap<>();
                seen.forEach((index, peer) -> peers.put(index, new Directory.Peer(peer.name(), index, peer.address(), false, Optional.empty())));
                for (Member member : members.values()) {
                    Optional<Integer> index = index(member);
                    if (member.address().equals(self) || index.isEmpty() || index.get() == selfIndex
                            || duplicates.containsKey(member.uniqueAddress())) {
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

    static Optional<Integer> index(Member member) {
        for (String role : member.getRoles()) {
            if (role.startsWith(INDEX_ROLE)) {
                return Optional.of(Integer.parseInt(role.substring(INDEX_ROLE.length())));
            }
        }
        return Optional.empty();
    }

    /**
     * Downs a member whose node index or name another member holds, once per incarnation: the refused node and the
     * holder each log one line naming both (other members only down it), and the refused node's cluster system ends
     * and is made anew after restart-delay ({@link ClusterNode}) while its daemon serves its own jobs on.
     */
    private static void refuse(Cluster cluster, String selfName, Address self, DuplicateMembers.Duplicate duplicate,
                               Set<UniqueAddress> refused) {
        if (!refused.add(duplicate.member().uniqueAddress())) {
            return;
        }
        String holder = name(duplicate.holder()) + " at " + hostPort(duplicate.holder().address());
        if (duplicate.member().address().equals(self)) {
            LOG.error("Cluster node {} at {} is refused: its {} is already held by {}; it stays out of the cluster and "
                    + "tries again after restart-delay, serving only its own jobs meanwhile. Give every host a unique "
                    + "RUND_NODE_INDEX and RUND_NODE_NAME", selfName, hostPort(self), duplicate.what(), holder);
        } else if (duplicate.holder().address().equals(self)) {
            LOG.error("Cluster node {} refused {} at {}: its {} is already held by this node; it is downed and kept out",
                    selfName, name(duplicate.member()), hostPort(duplicate.member().address()), duplicate.what());
        } else {
            LOG.debug("Cluster node {} downs {}: its {} is held by {}", selfName, hostPort(duplicate.member().address()),
                    duplicate.what(), holder);
        }
        cluster.manager().tell(new Down(duplicate.member().address()));
    }

    /** The node name a member carries as a role, if any. */
    static Optional<String> nameRole(Member member) {
        for (String role : member.getRoles()) {
            if (role.startsWith(NAME_ROLE)) {
                return Optional.of(role.substring(NAME_ROLE.length()));
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
