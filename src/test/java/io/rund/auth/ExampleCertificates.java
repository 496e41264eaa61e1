package io.rund.auth;

import java.nio.file.Path;
import java.util.List;

/** The example certificates that tls/gen.sh made and the repository holds, by role. */
public final class ExampleCertificates {

    public static final Path DIR = Path.of("tls");
    public static final Path CA = DIR.resolve("ca.pem");

    private ExampleCertificates() {}

    /** CA, certificate and key of {@code name} (alice, bob, carol, admin, server, expired, untrusted-client). */
    public static TlsFiles files(String name) {
        return files(CA, name);
    }

    public static TlsFiles files(Path ca, String name) {
        return new TlsFiles(ca, DIR.resolve(name + ".pem"), DIR.resolve(name + "-key.pem"));
    }

    /** The server's files as rund serve holds them by default: the P-521 certificate, then the P-256 one. */
    public static TlsFiles server() {
        return new TlsFiles(CA, DIR.resolve("server.pem"), DIR.resolve("server-key.pem"), null,
                List.of(new TlsFiles.CertAndKey(DIR.resolve("server-p256.pem"), DIR.resolve("server-p256-key.pem"))));
    }
}
