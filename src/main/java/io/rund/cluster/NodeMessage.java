package io.rund.cluster;

/**
 * Marks what crosses between nodes: bound to Jackson CBOR in the cluster system's configuration
 * ({@code pekko.actor.serialization-bindings}), so that the job package stays unaware of any wire format.
 */
public interface NodeMessage {}
