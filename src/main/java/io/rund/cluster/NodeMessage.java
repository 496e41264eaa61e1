package io.rund.cluster;

/** A message that crosses between rund nodes: serialized with Jackson CBOR, bound to this interface in configuration. */
public interface NodeMessage {}
