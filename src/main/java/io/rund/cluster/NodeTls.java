package io.rund.cluster;

import io.rund.auth.PeerIdentity;
import io.rund.auth.TlsContexts;
import io.rund.auth.TlsFiles;
import io.rund.auth.TlsSetupException;
import org.apache.pekko.remote.artery.tcp.SSLEngineProvider;
import org.apache.pekko.remote.artery.tcp.SslTransportException;
import scala.Option;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;

/**
 * Node-to-node TLS for Artery ({@code tls-tcp}), built on rund's own PEM and context code: TLS 1.3 only, mutual, and a
 * peer must present a node certificate (URI SAN {@value #NODE_SAN_PREFIX}NAME) from the node CA. The check runs in
 * the trust manager, so a user's certificate from the same CA fails the handshake itself and never sends a message;
 * it runs again on the session Artery verifies after each handshake. (Pekko's RotatingKeysSSLEngineProvider cannot
 * load EC keys: docs/CLUSTER.md.)
 */
public final class NodeTls implements SSLEngineProvider {

    public static final String NODE_SAN_PREFIX = "spiffe://rund/node/";
    private static final String[] PROTOCOLS = {TlsContexts.TLS_1_3};

    private final SSLContext context;

    private NodeTls(SSLContext context) {
        this.context = context;
    }

    /**
     * The provider for a node presenting {@code files.cert()} and trusting nodes signed by {@code files.ca()}; a peer
     * refused at this node's port ({@code nodeAddress}) is logged at most once per {@code refusalLogInterval}.
     */
    public static NodeTls create(TlsFiles files, String nodeAddress, Duration refusalLogInterval) throws TlsSetupException {
        RefusedPeerLog refusals = new RefusedPeerLog(nodeAddress, refusalLogInterval, System::nanoTime);
        TrustManager[] trust = Arrays.stream(TlsContexts.trustManagers(files).getTrustManagers())
                .map(manager -> manager instanceof X509ExtendedTrustManager x509 ? new NodeTrust(x509, refusals) : manager)
                .toArray(TrustManager[]::new);
        try {
            SSLContext context = SSLContext.getInstance(TlsContexts.TLS_1_3);
            context.init(new javax.net.ssl.KeyManager[] {TlsContexts.keyManager(files)}, trust, null);
            return new NodeTls(context);
        } catch (GeneralSecurityException e) {
            throw new TlsSetupException("cannot create the node-to-node " + TlsContexts.TLS_1_3 + " context: " + e.getMessage(), e);
        }
    }

    @Override
    public SSLEngine createServerSSLEngine(String hostname, int port) {
        return TlsContexts.serverEngine(context); // TLS 1.3 only, the peer's certificate required, as on the API
    }

    @Override
    public SSLEngine createClientSSLEngine(String hostname, int port) {
        SSLEngine engine = context.createSSLEngine(hostname, port);
        engine.setUseClientMode(true);
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setProtocols(PROTOCOLS);
        engine.setSSLParameters(parameters);
        return engine;
    }

    @Override
    public Option<Throwable> verifyClientSession(String hostname, SSLSession session) {
        return verify(session);
    }

    @Override
    public Option<Throwable> verifyServerSession(String hostname, SSLSession session) {
        return verify(session);
    }

    private static Option<Throwable> verify(SSLSession session) {
        try {
            PeerIdentity peer = PeerIdentity.of(session);
            return nodeName(peer) == null
                    ? Option.apply(new SslTransportException("the peer's certificate (" + peer + ") is not a rund node's: "
                            + "no URI SAN " + NODE_SAN_PREFIX + "<name>", null))
                    : Option.empty();
        } catch (SSLPeerUnverifiedException e) {
            return Option.apply(e);
        }
    }

    /** The node name a certificate's SANs give, or null when it is not a node certificate. */
    static String nodeName(PeerIdentity identity) {
        for (String san : identity.sans()) {
            if (san.startsWith(PeerIdentity.URI + NODE_SAN_PREFIX) && san.length() > (PeerIdentity.URI + NODE_SAN_PREFIX).length()) {
                return san.substring((PeerIdentity.URI + NODE_SAN_PREFIX).length());
            }
        }
        return null;
    }

    /**
     * The CA's verdict, then a node SAN required: a user certificate from the same CA fails the handshake. A client
     * refused this way (a peer connecting to this node) is also logged here, on the accepting side.
     */
    private static final class NodeTrust extends X509ExtendedTrustManager {
        private final X509ExtendedTrustManager ca;
        private final RefusedPeerLog refusals;

        NodeTrust(X509ExtendedTrustManager ca, RefusedPeerLog refusals) {
            this.ca = ca;
            this.refusals = refusals;
        }

        private void requireNodeClient(X509Certificate[] chain) throws CertificateException {
            try {
                requireNode(chain);
            } catch (CertificateException e) {
                refusals.refused(chain[0], PeerIdentity.of(chain[0]));
                throw e;
            }
        }

        private static void requireNode(X509Certificate[] chain) throws CertificateException {
            PeerIdentity peer = PeerIdentity.of(chain[0]);
            if (nodeName(peer) == null) {
                throw new CertificateException("refused a peer whose certificate (" + peer + ") is not a rund node's: "
                        + "node-to-node TLS needs a URI SAN " + NODE_SAN_PREFIX + "<name>");
            }
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            ca.checkClientTrusted(chain, authType, socket);
            requireNodeClient(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            ca.checkServerTrusted(chain, authType, socket);
            requireNode(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            ca.checkClientTrusted(chain, authType, engine);
            requireNodeClient(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            ca.checkServerTrusted(chain, authType, engine);
            requireNode(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            ca.checkClientTrusted(chain, authType);
            requireNodeClient(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            ca.checkServerTrusted(chain, authType);
            requireNode(chain);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return ca.getAcceptedIssuers();
        }
    }
}
