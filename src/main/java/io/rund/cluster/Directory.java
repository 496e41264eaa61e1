package io.rund.cluster;

import org.apache.pekko.actor.typed.ActorRef;

import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What this node knows of the fleet at one moment: itself, and every other member it has seen by node index, with
 * whether it can be reached now and its gateway. A member seen once stays known after it is lost or removed, so that
 * requests for its jobs answer "unreachable, naming it" rather than "not found". Immutable: published whole by
 * {@link NodeDirectory} on every change.
 */
public record Directory(String selfName, int selfIndex, String selfAddress, Map<Integer, Peer> peers) {

    /** Another node: its name, index, node-to-node address, reachability, and gateway while reachable. */
    public record Peer(String name, int index, String address, boolean reachable,
                       Optional<ActorRef<NodeGateway.Command>> gateway) {}

    public Directory {
        peers = Map.copyOf(peers);
    }

    /** This node alone (before its cluster system has joined, or while it is being made anew). */
    static Directory alone(String selfName, int selfIndex, String selfAddress, Map<Integer, Peer> known) {
        Map<Integer, Peer> lost = new TreeMap<>();
        known.forEach((index, peer) -> lost.put(index, new Peer(peer.name(), index, peer.address(), false, Optional.empty())));
        return new Directory(selfName, selfIndex, selfAddress, lost);
    }

    public Optional<Peer> peer(int index) {
        return Optional.ofNullable(peers.get(index));
    }

    public Optional<Peer> peerNamed(String name) {
        return peers.values().stream().filter(peer -> peer.name().equals(name)).findFirst();
    }

    public Collection<Peer> others() {
        return new TreeMap<>(peers).values();
    }

    boolean reachable(int index) {
        Peer peer = peers.get(index);
        return peer != null && peer.reachable() && peer.gateway().isPresent();
    }
}
