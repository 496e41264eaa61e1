package io.rund.cli;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.rund.api.BuildVersion;

import java.util.Optional;

/**
 * Reads the server's version and commit from the headers rund puts on every reply (io.rund.api.BuildVersion), for
 * {@code rund version}: any call will do, so no RPC of its own. Headers of a trailers-only reply (a refused call)
 * arrive with the trailers, which are read too.
 */
final class ServerVersionHeaders implements ClientInterceptor {

    /** What the server said it is. */
    record ServerVersion(String version, String commit) {}

    private static final Metadata.Key<String> VERSION = Metadata.Key.of(BuildVersion.VERSION_HEADER, Metadata.ASCII_STRING_MARSHALLER);
    private static final Metadata.Key<String> COMMIT = Metadata.Key.of(BuildVersion.COMMIT_HEADER, Metadata.ASCII_STRING_MARSHALLER);
    /** Longest header value kept: a server is not trusted to send a short one. */
    private static final int MAX_VALUE_CHARS = 100;

    private volatile ServerVersion seen;

    Optional<ServerVersion> seen() {
        return Optional.ofNullable(seen);
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
            @Override
            public void start(Listener<R> listener, Metadata headers) {
                super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(listener) {
                    @Override
                    public void onHeaders(Metadata received) {
                        read(received);
                        super.onHeaders(received);
                    }

                    @Override
                    public void onClose(Status status, Metadata trailers) {
                        read(trailers);
                        super.onClose(status, trailers);
                    }
                }, headers);
            }
        };
    }

    private void read(Metadata metadata) {
        String version = metadata.get(VERSION);
        if (version != null && seen == null) {
            seen = new ServerVersion(bounded(version), bounded(String.valueOf(metadata.get(COMMIT))));
        }
    }

    private static String bounded(String value) {
        return value.length() <= MAX_VALUE_CHARS ? value : value.substring(0, MAX_VALUE_CHARS) + "...";
    }
}
