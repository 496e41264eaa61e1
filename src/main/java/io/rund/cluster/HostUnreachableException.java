package io.rund.cluster;

/** A request's job lives on a host this node cannot reach now: the API answers UNAVAILABLE naming the host. */
public final class HostUnreachableException extends RuntimeException {
    private final String host;
    public HostUnreachableException(String host, String message) { super(message); this.host = host; }
    public String host() { return host; }
}
