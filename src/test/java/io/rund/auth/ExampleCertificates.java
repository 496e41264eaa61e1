package io.rund.auth;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;

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

    /**
     * The rund.api settings of a test daemon started through io.rund.Rund: {@link #server()}'s files, on a free
     * loopback port (port 0; the daemon's API address says which), whatever RUND_SERVE_* the environment sets.
     */
    public static Config serverOnFreeLoopbackPort() {
        TlsFiles tls = server();
        List<TlsFiles.CertAndKey> identities = tls.identities();
        return ConfigFactory.empty()
                .withValue("rund.api.address", ConfigValueFactory.fromAnyRef("127.0.0.1:0"))
                .withValue("rund.api.ca", ConfigValueFactory.fromAnyRef(tls.ca().toString()))
                .withValue("rund.api.cert", ConfigValueFactory.fromIterable(
                        identities.stream().map(identity -> identity.cert().toString()).toList()))
                .withValue("rund.api.key", ConfigValueFactory.fromIterable(
                        identities.stream().map(identity -> identity.key().toString()).toList()))
                .withValue("rund.api.key-passphrase-file", ConfigValueFactory.fromAnyRef(""));
    }
}
