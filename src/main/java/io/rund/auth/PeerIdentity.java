package io.rund.auth;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.net.InetAddress;
import java.security.cert.Certificate;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Who a TLS peer is: the subject alternative names of the certificate it proved it holds, read from the TLS
 * session and from nothing else. Each SAN is written as openssl's config writes it, "TYPE:value":
 * {@code DNS:alice.example} (lower-cased), {@code IP:127.0.0.1} / {@code IP:0:0:0:0:0:0:0:1} (the JDK's
 * uncompressed textual form), {@code URI:spiffe://rund/team-a} (as is), {@code email:ops@example.org} (as is).
 * Other SAN types (directory names, registered ids, other names) are not identities here and are ignored.
 */
public record PeerIdentity(Set<String> sans) {

    public static final String DNS = "DNS:";
    public static final String IP = "IP:";
    public static final String URI = "URI:";
    public static final String EMAIL = "email:";

    /** GeneralName tags, RFC 5280 section 4.2.1.6, as {@link X509Certificate#getSubjectAlternativeNames()} reports them. */
    private static final int RFC822_NAME = 1;
    private static final int DNS_NAME = 2;
    private static final int URI_NAME = 6;
    private static final int IP_ADDRESS = 7;

    public PeerIdentity {
        sans = Set.copyOf(sans);
    }

    /** The identity of the verified peer of {@code session}; fails if the peer presented no certificate. */
    public static PeerIdentity of(SSLSession session) throws SSLPeerUnverifiedException {
        Certificate[] chain = session.getPeerCertificates();
        if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
            throw new SSLPeerUnverifiedException("the TLS peer presented no X.509 certificate");
        }
        return of(leaf);
    }

    /** The SANs of {@code certificate} in rund's notation; empty when it has none of the kinds rund knows. */
    public static PeerIdentity of(X509Certificate certificate) {
        Collection<List<?>> names;
        try {
            names = certificate.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            throw new IllegalArgumentException("unreadable subjectAltName extension in the certificate of "
                    + certificate.getSubjectX500Principal() + ": " + e.getMessage(), e);
        }
        Set<String> sans = new TreeSet<>();
        if (names != null) {
            for (List<?> name : names) {
                String notation = notation((Integer) name.get(0), name.get(1));
                if (notation != null) {
                    sans.add(notation);
                }
            }
        }
        return new PeerIdentity(sans);
    }

    public boolean isEmpty() {
        return sans.isEmpty();
    }

    @Override
    public String toString() {
        return String.join(",", new TreeSet<>(sans));
    }

    private static String notation(int type, Object value) {
        return switch (type) {
            case DNS_NAME -> DNS + ((String) value).toLowerCase(Locale.ROOT);
            case IP_ADDRESS -> IP + canonicalAddress((String) value);
            case URI_NAME -> URI + value;
            case RFC822_NAME -> EMAIL + value;
            default -> null;
        };
    }

    private static String canonicalAddress(String literal) {
        try {
            // A literal address: no name lookup happens.
            return InetAddress.ofLiteral(literal).getHostAddress();
        } catch (IllegalArgumentException e) {
            return literal;
        }
    }
}
