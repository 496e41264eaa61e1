package io.rund.api;

import com.typesafe.config.ConfigFactory;
import io.rund.auth.ExampleCertificates;
import io.rund.cli.ExitCodes;
import io.rund.cli.RundCli;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * rund's defaults are safe: it listens on loopback unless told otherwise; it refuses to serve beyond loopback with the
 * example keys of tls/ (public: anyone could connect as any client) unless --insecure-example-keys says so; and a
 * relative TLS path is read from the current directory only, never silently from rund's checkout instead.
 */
class SafeDefaultsTest {

    /** Where the checkout is (the tests run in it): bin/rund passes it to the JVM as rund.home. */
    private static final Path CHECKOUT = Path.of("").toAbsolutePath();

    @TempDir
    Path elsewhere;

    @Test
    void theDefaultListenAddressIsLoopback() throws Exception {
        String address = ConfigFactory.load().getString("rund.api.address");
        String host = address.substring(0, address.lastIndexOf(':'));

        assertTrue(!host.isEmpty() && InetAddress.getByName(host).isLoopbackAddress(), "rund.api.address = " + address);
    }

    @Test
    void serveRefusesEveryInterfaceWithTheExampleKeysNamingTheWayOut() {
        Output serve = cli("serve", "--addr", ":1", "--ca", "tls/ca.pem", "--cert", "tls/server.pem", "--key", "tls/server-key.pem");

        assertEquals(ExitCodes.SERVE_USAGE, serve.exitCode(), serve.err());
        assertEquals(1, serve.err().lines().count(), serve.err());
        assertTrue(serve.err().contains("refusing to serve on :1 with the EXAMPLE keys") && serve.err().contains("--insecure-example-keys"),
                serve.err());
    }

    @Test
    void serveOnEveryInterfaceWithTheExampleKeysWhenToldToAndWarns() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.startServing(List.of("--addr", ":" + DaemonProcess.PORT,
                "--insecure-example-keys"), Map.of())) {
            assertTrue(daemon.logLines().stream().anyMatch(line -> line.contains("EXAMPLE certificates")), "a warning");
        }
    }

    @Test
    void aClientReadsARelativeTlsPathFromTheCurrentDirectoryOnly() throws Exception {
        Result list = inDirectory(elsewhere, "list", "--addr", "localhost:1", "--ca", "tls/ca.pem",
                "--cert", "tls/client.pem", "--key", "tls/client-key.pem");

        assertEquals(ExitCodes.USAGE, list.exitCode(), list.output());
        assertTrue(list.output().contains("rund: tls/client.pem: cannot read: no such file (relative paths are relative to the "
                + "current directory, " + elsewhere.toRealPath() + ")"), list.output());
    }

    @Test
    void serveReadsARelativeTlsPathFromTheCurrentDirectoryOnly() throws Exception {
        Result serve = inDirectory(elsewhere, "serve", "--addr", "127.0.0.1:1", "--ca", CHECKOUT.resolve("tls/ca.pem").toString(),
                "--cert", "tls/server.pem", "--key", CHECKOUT.resolve("tls/server-key.pem").toString());

        assertEquals(ExitCodes.SERVE_USAGE, serve.exitCode(), serve.output());
        assertTrue(serve.output().contains("tls/server.pem: cannot read: no such file"), serve.output());
    }

    record Output(int exitCode, String out, String err) {}

    private static Output cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = RundCli.execute(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8), args);
        return new Output(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    record Result(int exitCode, String output) {}

    /** The CLI as its own process in {@code directory}, told where the checkout is as bin/rund tells it (rund.home). */
    private static Result inDirectory(Path directory, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Drund.home=" + CHECKOUT,
                "-cp", System.getProperty("java.class.path"), RundCli.class.getName()));
        command.addAll(List.of(args));
        Process process = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(process.waitFor(120, TimeUnit.SECONDS));
        return new Result(process.exitValue(), output);
    }
}
