package io.rund.cli;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The TLS sockets of the CLI's channel: TLS 1.3 only, offering the x25519 key exchange alone. With its default
 * groups the JDK also sends a secp256r1 key share, and making the first one builds a table of precomputed points:
 * about 40% of a cold command's CPU. A server that refuses x25519 is met with the JDK's default groups from then
 * on ({@link #useDefaultGroups}, called by {@link RundClient} when a handshake fails that way).
 */
final class KeyShareSocketFactory extends SSLSocketFactory {

    static final String TLS_1_3 = "TLSv1.3";
    private static final String[] PROTOCOLS = {TLS_1_3};
    /** Offered first: the one group whose key share costs next to nothing to make. */
    private static final String[] FAST_GROUPS = {"x25519"};
    private static final String[] ALPN_H2 = {"h2"};
    private static final List<String> KEY_EXCHANGE_ALERTS =
            List.of("unexpected_message", "handshake_failure", "illegal_parameter", "insufficient_security", "named group");
    /** How long {@link #refusal} waits to connect and for each step of the handshake. */
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** How long {@link #refusal} waits after its handshake for the server's verdict on the client certificate. */
    private static final Duration VERDICT_WAIT = Duration.ofSeconds(2);

    private final SSLSocketFactory delegate;
    private volatile boolean defaultGroups;

    KeyShareSocketFactory(SSLContext context) {
        this.delegate = context.getSocketFactory();
    }

    /** From now on, new sockets offer the JDK's default groups. Returns false if they already did. */
    boolean useDefaultGroups() {
        boolean changed = !defaultGroups;
        defaultGroups = true;
        return changed;
    }

    /**
     * Whether a failed handshake may be the server's refusal of x25519: a server limited to other groups answers
     * unexpected_message (the JDK: "No common named group"), handshake_failure, or in some stacks illegal_parameter or
     * insufficient_security. Certificate problems have alerts of their own and are not worth a second handshake.
     */
    static boolean mayBeKeyExchange(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SSLException tls) {
                String message = String.valueOf(tls.getMessage());
                return KEY_EXCHANGE_ALERTS.stream().anyMatch(message::contains);
            }
        }
        return false;
    }

    /**
     * Why the server at {@code host:port} closes this client's connections, if TLS tells. In TLS 1.3 the server
     * judges the client certificate at the end of the handshake: its refusal (an alert, then the connection closed)
     * can reach a client that is still writing its last handshake messages, or already the transport's first
     * frames, and be lost to the TCP reset that follows. This connects once more, completes the handshake, writes
     * nothing more and reads: the server's alert, if it sends one, is what the read throws; a connection closed
     * during the handshake is reported as the refusal it most likely is. Empty when the server cannot be reached,
     * or accepts the handshake and says nothing else within {@link #VERDICT_WAIT}.
     */
    Optional<SSLException> refusal(String host, int port) {
        Socket plain = new Socket();
        try (plain) {
            plain.connect(new InetSocketAddress(host, port), (int) CONNECT_TIMEOUT.toMillis());
            plain.setSoTimeout((int) CONNECT_TIMEOUT.toMillis());
            SSLSocket tls = (SSLSocket) createSocket(plain, host, port, false);
            SSLParameters parameters = tls.getSSLParameters();
            parameters.setApplicationProtocols(ALPN_H2);
            tls.setSSLParameters(parameters);
            try {
                tls.startHandshake();
            } catch (SocketException closed) {
                SSLHandshakeException refused = new SSLHandshakeException("the server closed the connection during the"
                        + " TLS handshake (" + closed.getMessage() + "): most likely it does not accept this client certificate");
                refused.initCause(closed);
                return Optional.of(refused);
            }
            tls.setSoTimeout((int) VERDICT_WAIT.toMillis());
            tls.getInputStream().read();
            return Optional.empty();
        } catch (SSLException refused) {
            return Optional.of(refused);
        } catch (IOException unreachableOrSilent) {
            return Optional.empty();
        }
    }

    private Socket configured(Socket socket) {
        SSLSocket tls = (SSLSocket) socket;
        SSLParameters parameters = tls.getSSLParameters();
        parameters.setProtocols(PROTOCOLS);
        if (!defaultGroups) {
            parameters.setNamedGroups(FAST_GROUPS);
        }
        tls.setSSLParameters(parameters);
        return tls;
    }

    @Override
    public Socket createSocket(Socket plain, String host, int port, boolean autoClose) throws IOException {
        return configured(delegate.createSocket(plain, host, port, autoClose));
    }

    @Override
    public Socket createSocket() throws IOException {
        return configured(delegate.createSocket());
    }

    @Override
    public Socket createSocket(String host, int port) throws IOException {
        return configured(delegate.createSocket(host, port));
    }

    @Override
    public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
        return configured(delegate.createSocket(host, port, localHost, localPort));
    }

    @Override
    public Socket createSocket(InetAddress host, int port) throws IOException {
        return configured(delegate.createSocket(host, port));
    }

    @Override
    public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort) throws IOException {
        return configured(delegate.createSocket(address, port, localAddress, localPort));
    }

    @Override
    public String[] getDefaultCipherSuites() {
        return delegate.getDefaultCipherSuites();
    }

    @Override
    public String[] getSupportedCipherSuites() {
        return delegate.getSupportedCipherSuites();
    }
}
