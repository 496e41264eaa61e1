package io.rund.api;

import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertPathValidatorException;
import java.util.Locale;
import java.util.Optional;

/**
 * Why the server refused a TLS handshake, in the words an operator acts on (no client certificate, unknown CA,
 * expired, no common algorithm or protocol), read from the JDK's SSLException and its causes. The JDK's own
 * message follows, bounded; it never holds bytes the peer sent.
 */
final class HandshakeRefusal {

    /** The JDK's message is quoted at most this long. */
    private static final int MAX_DETAIL_CHARS = 200;

    private HandshakeRefusal() {}

    /** The reason, if {@code failure} (or a cause of it) is a TLS failure; empty for anything else. */
    static Optional<String> of(Throwable failure) {
        SSLException tls = null;
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SSLException e && tls == null) {
                tls = e;
            }
            if (t instanceof CertificateExpiredException || t instanceof CertificateNotYetValidException) {
                return Optional.of("client certificate expired or not yet valid" + detail(tls != null ? tls : t));
            }
        }
        if (tls == null) {
            return Optional.empty();
        }
        String message = String.valueOf(tls.getMessage()).toLowerCase(Locale.ROOT);
        String reason;
        if (message.contains("empty client certificate chain") || message.contains("certificate_required")) {
            reason = "no client certificate";
        } else if (hasCause(tls, CertPathValidatorException.class) || message.contains("pkix path")
                || message.contains("unable to find valid certification path")) {
            reason = "client certificate not signed by a trusted CA (unknown CA)";
        } else if (message.contains("validity") || message.contains("expired")) {
            reason = "client certificate expired or not yet valid";
        } else if (message.contains("no appropriate protocol") || message.contains("protocol_version")
                || message.contains("unsupported protocol") || message.contains("requested protocol")) {
            reason = "no common protocol version (rund speaks TLS 1.3 only)";
        } else if (message.contains("signature") || message.contains("cipher suite") || message.contains("no common")
                || message.contains("named group") || message.contains("handshake_failure")) {
            reason = "no common algorithm (signature scheme, cipher suite or key share)";
        } else if (tls instanceof SSLHandshakeException) {
            reason = "handshake failed";
        } else {
            reason = "TLS failed during the handshake";
        }
        return Optional.of(reason + detail(tls));
    }

    private static String detail(Throwable t) {
        String message = String.valueOf(t.getMessage());
        return ": " + (message.length() > MAX_DETAIL_CHARS ? message.substring(0, MAX_DETAIL_CHARS) + "..." : message);
    }

    private static boolean hasCause(Throwable failure, Class<? extends Throwable> type) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }
}
