package io.rund.auth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * Keys and certificates made at test time by the real openssl, each in the encoding a given command writes, and
 * certified by the example CA of tls/ (so that the example server and clients trust them).
 */
public final class TestKeys {

    /** A passphrase file's content for encrypted keys. */
    public static final String PASSPHRASE = "correct horse battery staple";

    /** How a key is made: the openssl command (the key's path is appended after {@code -out}) and the PEM label it writes. */
    public enum Format {
        SEC1_EC("EC PRIVATE KEY", false, "ecparam", "-name", "prime256v1", "-genkey", "-noout"),
        PKCS1_RSA("RSA PRIVATE KEY", false, "genrsa", "-traditional", "2048"),
        PKCS8_ED25519("PRIVATE KEY", false, "genpkey", "-algorithm", "ed25519"),
        PKCS8_ED448("PRIVATE KEY", false, "genpkey", "-algorithm", "ed448"),
        PKCS8_EC("PRIVATE KEY", false, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"),
        PKCS8_EC_ENCRYPTED("ENCRYPTED PRIVATE KEY", true, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes256");

        public final String pemLabel;
        public final boolean encrypted;
        private final List<String> opensslArgs;

        Format(String pemLabel, boolean encrypted, String... opensslArgs) {
            this.pemLabel = pemLabel;
            this.encrypted = encrypted;
            this.opensslArgs = List.of(opensslArgs);
        }
    }

    /** A certificate and its key, and the passphrase file of an encrypted key (else null). */
    public record Made(Path cert, Path key, Path passphraseFile) {
        public TlsFiles files() {
            return new TlsFiles(ExampleCertificates.CA, cert, key, passphraseFile);
        }
    }

    private TestKeys() {}

    /**
     * A key in {@code format} at {@code dir/name-key.pem} (mode 0600), and a certificate for it signed by the example CA
     * with {@code sans} (for example "DNS:alice.example") and extended key usage {@code eku} (serverAuth, clientAuth).
     */
    public static Made make(Path dir, String name, Format format, String sans, String eku) throws IOException, InterruptedException {
        Path key = dir.resolve(name + "-key.pem");
        Path cert = dir.resolve(name + ".pem");
        Path passphrase = null;
        List<String> passIn = List.of();
        if (format.encrypted) {
            passphrase = dir.resolve(name + "-passphrase");
            Files.writeString(passphrase, PASSPHRASE + "\n", StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(passphrase, PosixFilePermissions.fromString("rw-------"));
            passIn = List.of("-passin", "file:" + passphrase);
        }
        List<String> generate = new ArrayList<>(List.of("openssl"));
        generate.addAll(format.opensslArgs);
        if (format.encrypted) {
            generate.addAll(List.of("-pass", "file:" + passphrase));
        }
        if (format == Format.PKCS1_RSA) {
            // genrsa takes the key size last.
            generate.add(generate.size() - 1, "-out");
            generate.add(generate.size() - 1, key.toString());
        } else {
            generate.addAll(List.of("-out", key.toString()));
        }
        openssl(generate);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        Path csr = dir.resolve(name + ".csr");
        List<String> request = new ArrayList<>(List.of("openssl", "req", "-new", "-key", key.toString(),
                "-subj", "/O=rund test/CN=" + name, "-out", csr.toString()));
        request.addAll(passIn);
        openssl(request);
        Path extensions = dir.resolve(name + ".ext");
        Files.writeString(extensions, "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                + "extendedKeyUsage=" + eku + "\nsubjectAltName=" + sans + "\n");
        openssl(List.of("openssl", "x509", "-req", "-sha512", "-in", csr.toString(), "-CA", ExampleCertificates.CA.toString(),
                "-CAkey", ExampleCertificates.DIR.resolve("ca-key.pem").toString(), "-set_serial", "0x" + Long.toHexString(System.nanoTime()),
                "-days", "2", "-extfile", extensions.toString(), "-out", cert.toString()));
        String label = Files.readString(key).lines().findFirst().orElse("");
        if (!label.equals("-----BEGIN " + format.pemLabel + "-----")) {
            throw new IllegalStateException(key + " starts with " + label + ", not the " + format.pemLabel + " the test needs");
        }
        return new Made(cert, key, passphrase);
    }

    private static void openssl(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + output);
        }
    }
}
