package io.rund.api;

import io.rund.auth.ExampleCertificates;
import io.rund.auth.TlsContexts;
import io.rund.auth.TlsFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The API's TLS door, with plain JDK TLS clients so that every refusal is seen as the TLS layer reports it.
 * In TLS 1.3 the client finishes its half of the handshake before the server has judged the client
 * certificate, so a refusal of the certificate shows as an alert on the client's first read.
 */
class TlsHandshakeTest {

    private static final byte[] HTTP2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    /** An empty SETTINGS frame: length 0, type 4, no flags, stream 0; a client's preface ends with one. */
    private static final byte[] EMPTY_SETTINGS = {0, 0, 0, 4, 0, 0, 0, 0, 0};
    private static final String[] H2 = {"h2"};

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @Test
    void aTrustedClientCertificateGetsTls13AndHttp2() throws Exception {
        try (SSLSocket socket = connect(TlsContexts.client(ExampleCertificates.files("alice")), TlsContexts.TLS_1_3)) {
            socket.startHandshake();
            exchangePrefaces(socket);

            assertEquals("TLSv1.3", socket.getSession().getProtocol());
            assertEquals("h2", socket.getApplicationProtocol());
        }
    }

    @Test
    void noClientCertificateIsRefused() throws Exception {
        SSLContext trustOnly = SSLContext.getInstance("TLSv1.3");
        trustOnly.init(null, trustOnly(ExampleCertificates.files("alice")).getTrustManagers(), null);

        assertRefused(trustOnly, TlsContexts.TLS_1_3, "certificate_required");
    }

    @Test
    void aCertificateFromAnUntrustedCaIsRefused() throws Exception {
        assertRefused(TlsContexts.client(ExampleCertificates.files("untrusted-client")), TlsContexts.TLS_1_3, "");
    }

    @Test
    void anExpiredCertificateIsRefused() throws Exception {
        assertRefused(TlsContexts.client(ExampleCertificates.files("expired")), TlsContexts.TLS_1_3, "");
    }

    @Test
    void aTls12OnlyClientIsRefused() throws Exception {
        SSLSocket socket = connect(TlsContexts.client(ExampleCertificates.files("alice")), "TLSv1.2");
        try (socket) {
            SSLException e = assertThrows(SSLException.class, socket::startHandshake);
            assertTrue(e.getMessage().contains("protocol_version") || e.getMessage().contains("No appropriate protocol"), e.getMessage());
        }
    }

    /**
     * The server must end the connection before serving anything. Usually the client reads the server's alert;
     * when the server has already closed the socket, the client's write fails first (broken pipe, reset).
     */
    private static void assertRefused(SSLContext context, String protocol, String alert) throws IOException {
        try (SSLSocket socket = connect(context, protocol)) {
            IOException e = assertThrows(IOException.class, () -> {
                socket.startHandshake();
                exchangePrefaces(socket);
            });
            if (e instanceof SSLException) {
                assertTrue(e.getMessage().contains(alert), e.getMessage());
            } else {
                assertTrue(e instanceof SocketException, e.toString());
            }
        }
    }

    /** Sends the HTTP/2 preface and reads the server's first bytes: only a server that accepted us answers. */
    private static void exchangePrefaces(SSLSocket socket) throws IOException {
        socket.getOutputStream().write(HTTP2_PREFACE);
        socket.getOutputStream().write(EMPTY_SETTINGS);
        socket.getOutputStream().flush();
        InputStream in = socket.getInputStream();
        if (in.read() < 0) {
            throw new SSLException("the server closed the connection without an alert");
        }
    }

    private static SSLSocket connect(SSLContext context, String protocol) throws IOException {
        SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("localhost", rund.port());
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setProtocols(new String[] {protocol});
        parameters.setApplicationProtocols(H2);
        socket.setSSLParameters(parameters);
        return socket;
    }

    private static TrustManagerFactory trustOnly(TlsFiles files) throws Exception {
        return TlsContexts.trustManagers(files);
    }
}
