package io.rund.cli;

import io.grpc.Metadata;
import io.rund.api.BuildVersion;

import java.util.Optional;

/**
 * Reads the server's version and commit from the headers rund puts on every reply (io.rund.api.BuildVersion), for
 * {@code rund version}: any call will do, so no RPC of its own. Headers of a trailers-only reply (a refused call)
 * arrive with the trailers, which {@link ReplyInterceptor} reads too.
 */
final class ServerVersionHeaders extends ReplyInterceptor {

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
    void onReplyMetadata(Metadata metadata) {
        String version = metadata.get(VERSION);
        if (version != null && seen == null) {
            seen = new ServerVersion(bounded(version), bounded(String.valueOf(metadata.get(COMMIT))));
        }
    }

    private static String bounded(String value) {
        return value.length() <= MAX_VALUE_CHARS ? value : value.substring(0, MAX_VALUE_CHARS) + "...";
    }
}
