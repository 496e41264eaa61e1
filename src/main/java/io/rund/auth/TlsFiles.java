package io.rund.auth;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The PEM files one side of a mutual-TLS connection needs: the CA certificate(s) it trusts to sign the other side,
 * its own certificate chain and private key (any encoding {@link PemFiles} reads), the file holding the passphrase of
 * an encrypted key ({@code null}: none given; one passphrase for every key), and, on a server, alternate certificates
 * presented to clients that cannot verify the first ({@link ServerKeyManager}). Relative paths are taken as they are,
 * against the current directory: a file missing there is an error naming it, never a silent fallback to another file.
 */
public record TlsFiles(Path ca, Path cert, Path key, Path keyPassphraseFile, List<CertAndKey> alternates) {

    /** A certificate chain and its private key. */
    public record CertAndKey(Path cert, Path key) {
        public CertAndKey {
            if (cert == null || key == null) {
                throw new IllegalArgumentException("a certificate and its key must both be given: " + cert + ", " + key);
            }
        }
    }

    public TlsFiles {
        if (ca == null || cert == null || key == null) {
            throw new IllegalArgumentException("ca, cert and key must all be given: " + ca + ", " + cert + ", " + key);
        }
        alternates = List.copyOf(alternates);
    }

    /** Files with one certificate, its key encrypted ({@code keyPassphraseFile}) or not ({@code null}). */
    public TlsFiles(Path ca, Path cert, Path key, Path keyPassphraseFile) {
        this(ca, cert, key, keyPassphraseFile, List.of());
    }

    /** Files with one certificate and an unencrypted key. */
    public TlsFiles(Path ca, Path cert, Path key) {
        this(ca, cert, key, null, List.of());
    }

    /** Every certificate and key, the first (preferred) one first. */
    public List<CertAndKey> identities() {
        return Stream.concat(Stream.of(new CertAndKey(cert, key)), alternates.stream()).toList();
    }
}
