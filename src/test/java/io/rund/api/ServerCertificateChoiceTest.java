package io.rund.api;

import io.rund.auth.ExampleCertificates;
import io.rund.auth.PemFiles;
import io.rund.auth.TestKeys;
import io.rund.auth.TlsContexts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import io.rund.auth.TlsFiles;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;
import java.net.Socket;
import java.security.cert.CertificateException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.DataInputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The server holds a P-521 and a P-256 certificate (as tls/gen.sh makes them and rund serve holds them by default) and
 * presents, in each handshake, the first one the client's offered signature schemes can verify: a client that offers
 * no ecdsa_secp521r1_sha512, as every BoringSSL-based gRPC client, gets the P-256 certificate and a working HTTP/2
 * connection; the CLI's TLS context, which offers it, gets the P-521 certificate.
 */
class ServerCertificateChoiceTest {

    /** What a BoringSSL client offers for ECDSA, RSA and EdDSA: everything but P-521 (and SHA-1). */
    private static final String[] WITHOUT_P521 = {"ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384",
            "rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512", "ed25519"};
    private static final byte[] HTTP2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] EMPTY_SETTINGS = {0, 0, 0, 4, 0, 0, 0, 0, 0};
    private static final int SETTINGS_FRAME = 4;

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @TempDir
    Path dir;

    @Test
    void aClientOfferingNoP521SchemeGetsTheP256CertificateAndHttp2() throws Exception {
        // A P-256 client key: a client restricted to these schemes could not sign with a P-521 one either.
        TestKeys.Made client = TestKeys.make(dir, "p256-client", TestKeys.Format.SEC1_EC, "DNS:p256.example", "clientAuth");

        X509Certificate seen = handshake(chainSignaturesUnconstrained(client.files()), WITHOUT_P521);

        assertArrayEquals(PemFiles.certificates(ExampleCertificates.DIR.resolve("server-p256.pem")).getFirst().getEncoded(),
                seen.getEncoded(), "the P-256 certificate: " + seen.getPublicKey());
    }

    @Test
    void theCliGetsTheP521Certificate() throws Exception {
        X509Certificate seen = handshake(TlsContexts.client(ExampleCertificates.files("client")), null);

        assertArrayEquals(PemFiles.certificates(ExampleCertificates.DIR.resolve("server.pem")).getFirst().getEncoded(),
                seen.getEncoded(), "the P-521 certificate: " + seen.getPublicKey());
    }

    /**
     * The client's TLS context, except that the server's chain is verified without the handshake's signature-scheme
     * constraints: the JDK would apply the restricted list to the certificates' own signatures too (the example CA
     * signs with SHA512withECDSA), where BoringSSL accepts them; what this test is about is the CertificateVerify.
     */
    private static SSLContext chainSignaturesUnconstrained(TlsFiles files) throws Exception {
        X509TrustManager pkix = (X509TrustManager) TlsContexts.trustManagers(files).getTrustManagers()[0];
        X509ExtendedTrustManager trust = new X509ExtendedTrustManager() {
            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
                pkix.checkServerTrusted(chain, authType);
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
                pkix.checkServerTrusted(chain, authType);
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                pkix.checkServerTrusted(chain, authType);
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
                throw new CertificateException("a client only");
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
                throw new CertificateException("a client only");
            }

            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
                throw new CertificateException("a client only");
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return pkix.getAcceptedIssuers();
            }
        };
        SSLContext context = SSLContext.getInstance(TlsContexts.TLS_1_3);
        context.init(new KeyManager[] {TlsContexts.keyManager(files)}, new TrustManager[] {trust}, null);
        return context;
    }

    /** The server's certificate in a completed handshake whose HTTP/2 preface the server answered with SETTINGS. */
    private static X509Certificate handshake(SSLContext context, String[] signatureSchemes) throws Exception {
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory()
                .createSocket(InetAddress.getLoopbackAddress(), rund.address().port())) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setApplicationProtocols(new String[] {"h2"});
            if (signatureSchemes != null) {
                parameters.setSignatureSchemes(signatureSchemes);
            }
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            socket.getOutputStream().write(HTTP2_PREFACE);
            socket.getOutputStream().write(EMPTY_SETTINGS);
            socket.getOutputStream().flush();
            byte[] header = new byte[9];
            new DataInputStream(socket.getInputStream()).readFully(header);
            assertEquals(SETTINGS_FRAME, header[3], "the server's first HTTP/2 frame is SETTINGS");
            return (X509Certificate) socket.getSession().getPeerCertificates()[0];
        }
    }
}
