package io.rund.api;

import io.rund.auth.ExampleCertificates;
import io.rund.auth.TlsContexts;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A refused TLS handshake is logged by the daemon in one line naming the peer's address and the reason an operator
 * acts on (no client certificate, unknown CA, expired, no common protocol). The daemon runs with a short
 * refusal-log interval, so that each refusal gets its line.
 */
class HandshakeRefusalLogTest {

    private static final Duration LOG_TIMEOUT = Duration.ofSeconds(30);
    private static final byte[] HTTP2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static DaemonProcess daemon;

    @BeforeAll
    static void start() throws Exception {
        daemon = DaemonProcess.start(Map.of(), "-Drund.api.refusal-log-interval=1ms");
    }

    @AfterAll
    static void stop() throws Exception {
        if (daemon != null) {
            daemon.close();
        }
    }

    @Test
    void anExpiredClientCertificate() throws Exception {
        attempt(TlsContexts.client(ExampleCertificates.files("expired")), "TLSv1.3");

        awaitLine("TLS handshake from 127.0.0.1 refused: client certificate expired or not yet valid");
    }

    @Test
    void aClientCertificateFromAnUnknownCa() throws Exception {
        attempt(TlsContexts.client(ExampleCertificates.files("untrusted-client")), "TLSv1.3");

        awaitLine("TLS handshake from 127.0.0.1 refused: client certificate not signed by a trusted CA (unknown CA)");
    }

    @Test
    void noClientCertificate() throws Exception {
        SSLContext trustOnly = SSLContext.getInstance("TLSv1.3");
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setCertificateEntry("ca", io.rund.auth.PemFiles.certificates(ExampleCertificates.CA).getFirst());
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(store);
        trustOnly.init(null, trust.getTrustManagers(), null);

        attempt(trustOnly, "TLSv1.3");

        awaitLine("TLS handshake from 127.0.0.1 refused: no client certificate");
    }

    @Test
    void aTls12OnlyClient() throws Exception {
        attempt(TlsContexts.client(ExampleCertificates.files("alice")), "TLSv1.2");

        awaitLine("TLS handshake from 127.0.0.1 refused: no common protocol version");
    }

    /** A handshake and an HTTP/2 preface, which the server is expected to refuse; how the client sees it is not the point. */
    private static void attempt(SSLContext context, String protocol) {
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(), daemon.port())) {
            socket.setEnabledProtocols(new String[] {protocol});
            socket.startHandshake();
            socket.getOutputStream().write(HTTP2_PREFACE);
            socket.getOutputStream().flush();
            socket.getInputStream().read();
        } catch (IOException refused) {
            // Expected: the server's alert or a closed connection.
        }
    }

    private static void awaitLine(String start) throws Exception {
        long deadline = System.nanoTime() + LOG_TIMEOUT.toNanos();
        List<String> lines = List.of();
        while (System.nanoTime() < deadline) {
            lines = daemon.logLines();
            List<String> matching = lines.stream().filter(line -> line.contains(start)).toList();
            if (!matching.isEmpty()) {
                assertEquals(1, matching.size(), "one line per refusal: " + matching);
                return;
            }
            Thread.sleep(50);
        }
        fail("no log line with '" + start + "' within " + LOG_TIMEOUT + ":\n" + String.join("\n", lines));
    }
}
