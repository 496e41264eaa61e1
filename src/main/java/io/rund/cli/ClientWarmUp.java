package io.rund.cli;

import io.grpc.okhttp.OkHttpChannelBuilder;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;

/**
 * A client command spends its first tens of milliseconds in picocli, reading the command line, and the next ones
 * initializing the JDK's TLS (the cipher suites it can offer, certificate and key factories) and the gRPC transport,
 * none of which depends on that command line. This starts the second part on a thread of its own at once, so that
 * on a machine with a free core the two overlap. Everything it does, the command does again after it (finding it
 * done, or waiting for it): a failure here is the command's to meet and report, so it is dropped here.
 */
final class ClientWarmUp {

    /** Any valid port: the builder is only made, never built into a channel, so nothing connects. */
    private static final int UNUSED_PORT = 1;

    private ClientWarmUp() {}

    static void start() {
        Thread.ofPlatform().daemon().name("rund-warm-up").start(ClientWarmUp::run);
    }

    private static void run() {
        try {
            SSLContext.getInstance(KeyShareSocketFactory.TLS_1_3);
            CertificateFactory.getInstance("X.509");
            KeyFactory.getInstance("EC");
            KeyStore.getInstance("PKCS12");
            TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        } catch (GeneralSecurityException leftForTheCommand) {
            return;
        }
        // grpc-okhttp's platform probe (the JDK's default SSL context, ALPN support), then the call descriptors.
        OkHttpChannelBuilder.forAddress("localhost", UNUSED_PORT);
        RundClient.initialize();
    }
}
