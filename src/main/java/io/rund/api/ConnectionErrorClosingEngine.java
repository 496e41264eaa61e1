package io.rund.api;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.BiFunction;

/**
 * The server's TLS engine for one connection, which closes the connection after pekko-http sends a GOAWAY for a
 * connection error, as RFC 9113 §5.4.1 requires. pekko-http 1.3 only queues that GOAWAY and keeps the connection:
 * when a peer leaves a PING unanswered past {@code ping-timeout} (a client stopped or gone without a FIN) it sends
 * "Ping ack timeout" every tick and the connection, with its streams and log followers, stays open for ever (each
 * GOAWAY even resets the idle timeout). Reading the outgoing plaintext at the TLS engine is the one place where that
 * frame can be seen without an extra stage on every byte (frame headers only are read; nothing is copied). Once
 * it has gone out, the engine asks pekko's TLS stage to wrap again and fails, which fails the connection's stream:
 * the TCP connection closes and every stream on it ends, releasing what it held.
 */
final class ConnectionErrorClosingEngine extends SSLEngine {

    private static final String HTTP_2 = "h2";

    /** Open; an error GOAWAY went out (the next wrap fails); failed (the engine plays closed until pekko is done). */
    private enum State { OPEN, CLOSING, FAILED }

    private final SSLEngine engine;
    private final ConnectionDoor door;
    /** The peer's ClientHello random (read from the first bytes unwrapped), to name the peer of a refused handshake. */
    private final ClientHelloRandom clientHello = new ClientHelloRandom();
    private long unwrapped;
    private boolean handshakeEnded;
    private final Http2FrameScanner outgoing = new Http2FrameScanner();
    private State state = State.OPEN;

    ConnectionErrorClosingEngine(SSLEngine engine, ConnectionDoor door) {
        this.engine = engine;
        this.door = door;
    }

    /**
     * A TLS failure before the handshake finished is the server refusing it (the JDK throws it from wrap or unwrap,
     * also for a delegated task's failure): logged once, through the door, with the reason and the peer.
     */
    private SSLException refused(SSLException failure) {
        if (!handshakeEnded) {
            handshakeEnded = true;
            door.handshakeRefused(clientHello.key(), HandshakeRefusal.of(failure).orElse("TLS failed during the handshake"));
        }
        return failure;
    }

    private SSLEngineResult observed(SSLEngineResult result) {
        if (result.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) {
            handshakeEnded = true;
        }
        return result;
    }

    @Override
    public SSLEngineResult wrap(ByteBuffer[] sources, int offset, int length, ByteBuffer destination) throws SSLException {
        if (state == State.CLOSING) {
            // Fails pekko's TLS stage once (its streams end with this error); from here on the engine writes its
            // close_notify and reports itself closed both ways, so that the stage completes and TCP closes.
            state = State.FAILED;
            engine.closeOutbound();
            throw new SSLException("HTTP/2 GOAWAY sent with error code " + outgoing.connectionErrorCode()
                    + ": closing the connection (RFC 9113 section 5.4.1)");
        }
        if (state == State.FAILED) {
            return engine.wrap(sources, offset, length, destination);
        }
        int[] positions = new int[length];
        for (int i = 0; i < length; i++) {
            positions[i] = sources[offset + i].position();
        }
        SSLEngineResult result;
        try {
            result = observed(engine.wrap(sources, offset, length, destination));
        } catch (SSLException e) {
            throw refused(e);
        }
        if (result.bytesConsumed() > 0 && HTTP_2.equals(engine.getApplicationProtocol())) {
            for (int i = 0; i < length; i++) {
                outgoing.scan(sources[offset + i], positions[i], sources[offset + i].position());
            }
            if (outgoing.sawConnectionError()) {
                state = State.CLOSING;
            }
        }
        return result;
    }

    @Override
    public SSLEngineResult unwrap(ByteBuffer source, ByteBuffer[] destinations, int offset, int length) throws SSLException {
        if (state != State.OPEN) {
            return new SSLEngineResult(SSLEngineResult.Status.CLOSED, getHandshakeStatus(), 0, 0);
        }
        if (!clientHello.complete()) {
            clientHello.feedAt(source, unwrapped);
        }
        try {
            SSLEngineResult result = observed(engine.unwrap(source, destinations, offset, length));
            unwrapped += result.bytesConsumed();
            return result;
        } catch (SSLException e) {
            throw refused(e);
        }
    }

    /** While closing: "wrap again", so that pekko's TLS stage calls {@link #wrap} at once and the close follows. */
    @Override
    public SSLEngineResult.HandshakeStatus getHandshakeStatus() {
        return state == State.CLOSING ? SSLEngineResult.HandshakeStatus.NEED_WRAP : engine.getHandshakeStatus();
    }

    @Override
    public Runnable getDelegatedTask() {
        return engine.getDelegatedTask();
    }

    @Override
    public void closeInbound() throws SSLException {
        engine.closeInbound();
    }

    @Override
    public boolean isInboundDone() {
        return state == State.FAILED || engine.isInboundDone();
    }

    @Override
    public void closeOutbound() {
        engine.closeOutbound();
    }

    @Override
    public boolean isOutboundDone() {
        return engine.isOutboundDone();
    }

    @Override
    public String[] getSupportedCipherSuites() {
        return engine.getSupportedCipherSuites();
    }

    @Override
    public String[] getEnabledCipherSuites() {
        return engine.getEnabledCipherSuites();
    }

    @Override
    public void setEnabledCipherSuites(String[] suites) {
        engine.setEnabledCipherSuites(suites);
    }

    @Override
    public String[] getSupportedProtocols() {
        return engine.getSupportedProtocols();
    }

    @Override
    public String[] getEnabledProtocols() {
        return engine.getEnabledProtocols();
    }

    @Override
    public void setEnabledProtocols(String[] protocols) {
        engine.setEnabledProtocols(protocols);
    }

    @Override
    public SSLSession getSession() {
        return engine.getSession();
    }

    @Override
    public SSLSession getHandshakeSession() {
        return engine.getHandshakeSession();
    }

    @Override
    public void beginHandshake() throws SSLException {
        engine.beginHandshake();
    }

    @Override
    public void setUseClientMode(boolean mode) {
        engine.setUseClientMode(mode);
    }

    @Override
    public boolean getUseClientMode() {
        return engine.getUseClientMode();
    }

    @Override
    public void setNeedClientAuth(boolean need) {
        engine.setNeedClientAuth(need);
    }

    @Override
    public boolean getNeedClientAuth() {
        return engine.getNeedClientAuth();
    }

    @Override
    public void setWantClientAuth(boolean want) {
        engine.setWantClientAuth(want);
    }

    @Override
    public boolean getWantClientAuth() {
        return engine.getWantClientAuth();
    }

    @Override
    public void setEnableSessionCreation(boolean flag) {
        engine.setEnableSessionCreation(flag);
    }

    @Override
    public boolean getEnableSessionCreation() {
        return engine.getEnableSessionCreation();
    }

    @Override
    public SSLParameters getSSLParameters() {
        return engine.getSSLParameters();
    }

    @Override
    public void setSSLParameters(SSLParameters parameters) {
        engine.setSSLParameters(parameters);
    }

    @Override
    public String getApplicationProtocol() {
        return engine.getApplicationProtocol();
    }

    @Override
    public String getHandshakeApplicationProtocol() {
        return engine.getHandshakeApplicationProtocol();
    }

    @Override
    public void setHandshakeApplicationProtocolSelector(BiFunction<SSLEngine, List<String>, String> selector) {
        // pekko-http's ALPN selector is handed the engine it was set on
        engine.setHandshakeApplicationProtocolSelector(
                selector == null ? null : (ignored, protocols) -> selector.apply(this, protocols));
    }

    @Override
    public BiFunction<SSLEngine, List<String>, String> getHandshakeApplicationProtocolSelector() {
        return engine.getHandshakeApplicationProtocolSelector();
    }

    @Override
    public String getPeerHost() {
        return engine.getPeerHost();
    }

    @Override
    public int getPeerPort() {
        return engine.getPeerPort();
    }
}
