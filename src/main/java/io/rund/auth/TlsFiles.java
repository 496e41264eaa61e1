package io.rund.auth;

import java.nio.file.Files;
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

    /**
     * Relative paths that do not exist in the working directory are looked up under rund's home instead (the
     * checkout bin/rund runs from, passed as the {@code rund.home} system property), so that the defaults
     * ({@code tls/ca.pem}, ...) work from any directory. Paths that exist, absolute paths, and paths missing in
     * both places are kept as given, so an error names what the user wrote.
     */
    public TlsFiles resolvedAgainstRundHome() {
        String home = System.getProperty("rund.home");
        if (home == null) {
            return this;
        }
        Path root = Path.of(home);
        return new TlsFiles(underHome(root, ca), underHome(root, cert), underHome(root, key));
    }

    private static Path underHome(Path home, Path file) {
        if (file.isAbsolute() || Files.exists(file)) {
            return file;
        }
        Path candidate = home.resolve(file);
        return Files.exists(candidate) ? candidate : file;
    }
}
