package io.rund.auth;

import java.nio.file.Path;

/**
 * The three PEM files one side of a mutual-TLS connection needs: the CA certificate(s) it trusts to sign the
 * other side, its own certificate chain, and the PKCS#8 private key of that certificate.
 */
public record TlsFiles(Path ca, Path cert, Path key) {

    public TlsFiles {
        if (ca == null || cert == null || key == null) {
            throw new IllegalArgumentException("ca, cert and key must all be given: " + ca + ", " + cert + ", " + key);
        }
    }
}
