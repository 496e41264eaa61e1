package io.rund.api;

import io.rund.auth.TlsFiles;

/**
 * Where and how the API listens.
 *
 * @param host           interface to bind; empty or "0.0.0.0" / "::" for every interface
 * @param port           TCP port
 * @param tls            the server's certificate and key, and the CA that signs client certificates
 */
public record ApiSettings(String host, int port, TlsFiles tls) {

    /** Every interface, IPv4 and IPv6. */
    public static final String ANY_HOST = "::";

    public String bindHost() {
        return host.isEmpty() ? ANY_HOST : host;
    }
}
