package io.rund.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.auth.ExampleCertificates;
import io.rund.auth.TlsContexts;
import io.rund.proto.v1.StatusRequest;
import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The client offers x25519 alone first; a server that only does other groups refuses that handshake, and the
 * client then shakes hands again with the JDK's default groups. The server here is a plain JDK TLS server limited to
 * secp384r1 that records each handshake and then closes, so the call itself fails: what counts is the second,
 * successful handshake.
 */
class KeyShareFallbackTest {

    private static final String OTHER_GROUP = "secp384r1";
    private static final long HANG_GUARD_SECONDS = 60;

    @Test
    void aServerRefusingX25519IsMetWithTheDefaultGroups() throws Exception {
        List<String> handshakes = new CopyOnWriteArrayList<>();
        SSLContext context = TlsContexts.server(ExampleCertificates.server());
        SSLParameters parameters = context.getDefaultSSLParameters();
        parameters.setProtocols(new String[] {TlsContexts.TLS_1_3});
        parameters.setNamedGroups(new String[] {OTHER_GROUP});
        parameters.setNeedClientAuth(true);
        parameters.setApplicationProtocols(new String[] {"h2"});
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            // A thread of its own: the common pool has one thread on two cores, and other tests may hold it.
            CompletableFuture<Void> accepting = new CompletableFuture<>();
            Thread.ofPlatform().daemon().name("tls-server").start(() -> {
                acceptTwo(server, context.getSocketFactory(), parameters, handshakes);
                accepting.complete(null);
            });

            StatusRuntimeException failed;
            try (RundClient client = RundClient.connect(new HostPort("localhost", server.getLocalPort()),
                    ExampleCertificates.files("alice"))) {
                failed = assertThrows(StatusRuntimeException.class,
                        () -> client.status(StatusRequest.newBuilder().setJobId("x").build()));
                assertEquals(Status.Code.UNAVAILABLE, failed.getStatus().getCode(), failed.toString());
            }
            try {
                accepting.get(HANG_GUARD_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                fail("the client did not shake hands a second time; handshakes: " + handshakes + "; the call: " + failed
                        + " caused by " + failed.getCause() + ", suppressed " + Arrays.toString(failed.getSuppressed()));
            }
        }
        assertEquals(2, handshakes.size(), handshakes.toString());
        assertTrue(handshakes.get(0).startsWith("failed"), "x25519 alone is refused: " + handshakes);
        assertEquals("completed", handshakes.get(1), "then the default groups: " + handshakes);
    }

    @Test
    void onlyKeyExchangeFailuresAreWorthASecondHandshake() {
        assertTrue(KeyShareSocketFactory.mayBeKeyExchange(
                new javax.net.ssl.SSLHandshakeException("Received fatal alert: handshake_failure")));
        assertTrue(KeyShareSocketFactory.mayBeKeyExchange(
                new javax.net.ssl.SSLProtocolException("(unexpected_message) Received fatal alert: unexpected_message")));
        assertFalse(KeyShareSocketFactory.mayBeKeyExchange(
                new javax.net.ssl.SSLHandshakeException("Received fatal alert: certificate_unknown")));
        assertFalse(KeyShareSocketFactory.mayBeKeyExchange(new IOException("Connection reset")));
    }

    /**
     * Accepts two connections and records how each handshake went. A refused handshake's connection is closed only
     * after the client has closed its side: closing with the client's bytes unread would send a TCP reset, which
     * can overtake the alert, and the client would see "connection reset" instead of the refusal.
     */
    private static void acceptTwo(ServerSocket plainServer, SSLSocketFactory tls, SSLParameters parameters,
                                  List<String> handshakes) {
        for (int i = 0; i < 2; i++) {
            try (Socket plain = plainServer.accept()) {
                plain.setSoTimeout((int) TimeUnit.SECONDS.toMillis(HANG_GUARD_SECONDS));
                SSLSocket socket = (SSLSocket) tls.createSocket(plain, null, plain.getPort(), false);
                socket.setUseClientMode(false);
                socket.setSSLParameters(parameters);
                try {
                    socket.startHandshake();
                    handshakes.add("completed");
                } catch (IOException refused) {
                    handshakes.add("failed: " + refused.getMessage());
                    plain.shutdownOutput();
                    plain.getInputStream().transferTo(OutputStream.nullOutputStream());
                }
            } catch (IOException e) {
                handshakes.add("accept failed: " + e);
                return;
            }
        }
    }
}
