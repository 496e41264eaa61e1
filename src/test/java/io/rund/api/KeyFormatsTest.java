package io.rund.api;

import io.rund.auth.TestKeys;
import io.rund.cli.ExitCodes;
import io.rund.cli.RundCli;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every key encoding openssl writes (SEC1 EC, PKCS#1 RSA, PKCS#8 EC / Ed25519 / Ed448, encrypted PKCS#8 with a
 * passphrase file), made at test time, loads in {@code rund serve} (as the server's key) and in the CLI (as the
 * client's key), and a real call over the resulting mutual TLS succeeds.
 */
class KeyFormatsTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(TestKeys.Format.class)
    void serveAndTheCliLoadTheKeyAndACallSucceeds(TestKeys.Format format) throws Exception {
        TestKeys.Made server = TestKeys.make(dir, "server", format, "DNS:localhost,IP:127.0.0.1", "serverAuth");
        TestKeys.Made client = TestKeys.make(dir, "client", format, "DNS:keys.example", "clientAuth");
        List<String> serveFlags = new ArrayList<>(List.of("--ca", "tls/ca.pem", "--cert", server.cert().toString(),
                "--key", server.key().toString()));
        if (format.encrypted) {
            serveFlags.addAll(List.of("--key-passphrase-file", server.passphraseFile().toString()));
        }

        try (DaemonProcess daemon = DaemonProcess.startServing(serveFlags, Map.of())) {
            List<String> list = new ArrayList<>(List.of("start", "--addr", "127.0.0.1:" + daemon.port(), "--ca", "tls/ca.pem",
                    "--cert", client.cert().toString(), "--key", client.key().toString()));
            if (format.encrypted) {
                list.addAll(List.of("--key-passphrase-file", client.passphraseFile().toString()));
            }
            list.addAll(List.of("--", "/bin/true"));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();

            int exit = RundCli.execute(new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8), list.toArray(String[]::new));

            assertEquals(ExitCodes.OK, exit, err.toString(StandardCharsets.UTF_8));
            assertTrue(out.toString(StandardCharsets.UTF_8).strip().matches("[0-9A-HJKMNP-TV-Z]{26}"),
                    "a job id: " + out.toString(StandardCharsets.UTF_8));
        }
    }
}
