package io.rund.api;

import io.rund.auth.PeerIdentity;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.SslSessionInfo;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

import javax.net.ssl.SSLPeerUnverifiedException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Carries the caller's identity from the TLS session to the service implementation, which sees only gRPC
 * {@link Metadata}. Every header of this name a client sent is removed first, so the only value the service can
 * read is the one taken from the verified client certificate: a client cannot claim another identity.
 */
final class PeerIdentityHeader {

    /** Lower-case, as HTTP/2 header names are. */
    static final String NAME = "x-rund-peer-sans";
    private static final String SEPARATOR = ",";

    private PeerIdentityHeader() {}

    /** {@code request} without any client-sent identity header, plus ours when the TLS session has a verified peer. */
    static HttpRequest attach(HttpRequest request) {
        HttpRequest stripped = request.removeHeader(NAME);
        Optional<SslSessionInfo> tls = request.getAttribute(AttributeKeys.sslSession);
        if (tls.isEmpty()) {
            return stripped;
        }
        PeerIdentity identity;
        try {
            identity = PeerIdentity.of(tls.get().getSession());
        } catch (SSLPeerUnverifiedException noCertificate) {
            return stripped;
        }
        String encoded = identity.sans().stream()
                .map(san -> URLEncoder.encode(san, StandardCharsets.UTF_8))
                .sorted()
                .collect(Collectors.joining(SEPARATOR));
        return stripped.addHeader(RawHeader.create(NAME, encoded));
    }

    /** The caller's SANs as {@link #attach} recorded them; empty when the caller has none. */
    static Set<String> read(Metadata metadata) {
        return metadata.getText(NAME)
                .map(value -> Arrays.stream(value.split(SEPARATOR))
                        .filter(s -> !s.isEmpty())
                        .map(san -> URLDecoder.decode(san, StandardCharsets.UTF_8))
                        .collect(Collectors.toUnmodifiableSet()))
                .orElse(Set.of());
    }
}
