package io.rund.api;

import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

import java.net.InetSocketAddress;

/**
 * Carries the caller's address (from the connection, as pekko-http records it) to the service, which sees only gRPC
 * {@link Metadata}, for the audit log. As with {@link PeerIdentityHeader}, any header of this name a client sent is
 * removed first: the value the service reads is the connection's.
 */
final class PeerAddressHeader {

    static final String NAME = "x-rund-peer-address";
    static final String UNKNOWN = "unknown";

    private PeerAddressHeader() {}

    static HttpRequest attach(HttpRequest request) {
        HttpRequest stripped = request.removeHeader(NAME);
        return request.getAttribute(AttributeKeys.remoteAddress)
                .filter(address -> !address.isUnknown() && address.getAddress().isPresent())
                .map(address -> stripped.addHeader(RawHeader.create(NAME, format(address))))
                .orElse(stripped);
    }

    static String read(Metadata metadata) {
        return metadata.getText(NAME).orElse(UNKNOWN);
    }

    private static String format(RemoteAddress address) {
        InetSocketAddress socket = new InetSocketAddress(address.getAddress().orElseThrow(), address.getPort());
        String host = socket.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + socket.getPort();
    }
}
