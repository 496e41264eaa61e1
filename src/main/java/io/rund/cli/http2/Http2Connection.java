package io.rund.cli.http2;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A client HTTP/2 connection (RFC 9113) over TLS 1.3 with ALPN "h2", on the JDK's own sockets: enough of the
 * protocol for gRPC calls, many at once. One daemon thread reads frames and hands each stream what is its;
 * callers write their frames themselves under one lock. Flow control is honoured both ways, the server's
 * SETTINGS (concurrent streams, window and frame sizes) are obeyed, PING is answered, GOAWAY ends the streams
 * the server will not serve. Server push is refused; PRIORITY is ignored.
 */
public final class Http2Connection implements AutoCloseable {

    static final int DATA = 0x0;
    static final int HEADERS = 0x1;
    static final int RST_STREAM = 0x3;
    static final int SETTINGS = 0x4;
    static final int PUSH_PROMISE = 0x5;
    static final int PING = 0x6;
    static final int GOAWAY = 0x7;
    static final int WINDOW_UPDATE = 0x8;
    static final int CONTINUATION = 0x9;

    static final int FLAG_END_STREAM = 0x1;
    static final int FLAG_ACK = 0x1;
    static final int FLAG_END_HEADERS = 0x4;
    static final int FLAG_PADDED = 0x8;
    static final int FLAG_PRIORITY = 0x20;

    static final int SETTINGS_ENABLE_PUSH = 0x2;
    static final int SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
    static final int SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
    static final int SETTINGS_MAX_FRAME_SIZE = 0x5;

    static final int NO_ERROR = 0x0;
    static final int PROTOCOL_ERROR = 0x1;
    static final int FLOW_CONTROL_ERROR = 0x3;
    static final int REFUSED_STREAM = 0x7;
    static final int CANCEL = 0x8;

    /** What we let the server send on one stream before the caller has taken it. */
    static final int STREAM_WINDOW = 1 << 20;
    /** What we let the server send on the whole connection; credited back as soon as it arrives. */
    static final int CONNECTION_WINDOW = 1 << 30;
    private static final int DEFAULT_WINDOW = 65_535;
    private static final int DEFAULT_MAX_FRAME_SIZE = 16_384;
    private static final int MAX_FRAME_SIZE_LIMIT = (1 << 24) - 1;
    private static final int FRAME_HEADER_BYTES = 9;
    private static final int PING_PAYLOAD_BYTES = 8;
    private static final long MAX_WINDOW = Integer.MAX_VALUE;
    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final String ALPN_H2 = "h2";
    private static final String TLS_1_3 = "TLSv1.3";
    private static final int IO_BUFFER_BYTES = 64 * 1024;
    /**
     * The key exchange offered first: x25519 alone. With its defaults the JDK sends a key share for secp256r1 as
     * well, and making that one first builds a table of precomputed points: 40% of a cold CLI command's CPU.
     */
    private static final String[] FAST_KEY_EXCHANGE = {"x25519"};
    /** How long a failed write waits for the reader to learn why (a TLS alert, the server's close). */
    private static final int ALERT_WAIT_MILLIS = 1_000;

    private final Socket socket;
    /** Where the connection goes, kept to explain a failure ({@link #explained}). */
    private final SSLContext tls;
    private final String host;
    private final int port;
    private final DataInputStream in;
    private final OutputStream out;
    private final Object writeLock = new Object();
    /** Guards the send windows, the stream count and the peer's settings. */
    private final Object flowLock = new Object();
    private final Map<Integer, Http2Stream> streams = new ConcurrentHashMap<>();
    private final HpackDecoder hpack = new HpackDecoder();
    private final Thread reader;

    // Guarded by flowLock.
    private long connectionSendWindow = DEFAULT_WINDOW;
    private long peerInitialWindow = DEFAULT_WINDOW;
    private int peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
    private long peerMaxConcurrentStreams = Long.MAX_VALUE;
    private int activeStreams;
    private boolean peerSettingsReceived;
    private int lastStreamIdServed = Integer.MAX_VALUE;

    // Guarded by writeLock.
    private int nextStreamId = 1;

    /** Received on the connection but not yet credited back with a connection WINDOW_UPDATE. Reader thread only. */
    private long connectionUncredited;
    private volatile IOException failure;
    private volatile boolean closing;

    private Http2Connection(Socket socket, SSLContext tls, String host, int port) throws IOException {
        this.socket = socket;
        this.tls = tls;
        this.host = host;
        this.port = port;
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), IO_BUFFER_BYTES));
        this.out = new BufferedOutputStream(socket.getOutputStream(), IO_BUFFER_BYTES);
        this.reader = Thread.ofPlatform().daemon().name("rund-http2-reader").unstarted(this::readLoop);
    }

    /**
     * Connects, completes the TLS 1.3 handshake (the server's certificate is checked against {@code host} as HTTPS
     * does), and sends the HTTP/2 preface. Failures are the socket's and the handshake's own exceptions
     * (ConnectException, SSLException, ...).
     */
    public static Http2Connection open(SSLContext tls, String host, int port, Duration connectTimeout) throws IOException {
        try {
            return open(tls, host, port, connectTimeout, FAST_KEY_EXCHANGE);
        } catch (SSLHandshakeException e) {
            if (!mayBeKeyExchange(e)) {
                throw e;
            }
            try {
                return open(tls, host, port, connectTimeout, null);
            } catch (IOException again) {
                again.addSuppressed(e);
                throw again;
            }
        }
    }

    /**
     * The handshake failure could be the server's refusal of x25519 (a server limited to other groups): worth
     * one more try with the JDK's default groups. Certificate problems are not.
     */
    private static boolean mayBeKeyExchange(SSLHandshakeException e) {
        String message = String.valueOf(e.getMessage());
        return message.contains("handshake_failure") || message.contains("insufficient_security")
                || message.contains("illegal_parameter") || message.contains("named group");
    }

    private static Http2Connection open(SSLContext tls, String host, int port, Duration connectTimeout, String[] namedGroups)
            throws IOException {
        Socket plain = new Socket();
        try {
            plain.setTcpNoDelay(true);
            plain.connect(new InetSocketAddress(host, port), (int) connectTimeout.toMillis());
            SSLSocket socket = handshake(tls, plain, host, port, namedGroups);
            if (!ALPN_H2.equals(socket.getApplicationProtocol())) {
                throw new Http2ProtocolException("the server at " + host + ":" + port + " did not agree to HTTP/2 (ALPN h2)");
            }
            Http2Connection connection = new Http2Connection(socket, tls, host, port);
            connection.start();
            return connection;
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
        }
    }

    /** {@code namedGroups}: the key exchange groups to offer, null for the JDK's defaults. */
    private static SSLSocket handshake(SSLContext tls, Socket plain, String host, int port, String[] namedGroups)
            throws IOException {
        SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket(plain, host, port, true);
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setProtocols(new String[] {TLS_1_3});
        if (namedGroups != null) {
            parameters.setNamedGroups(namedGroups);
        }
        parameters.setApplicationProtocols(new String[] {ALPN_H2});
        parameters.setEndpointIdentificationAlgorithm("HTTPS");
        socket.setSSLParameters(parameters);
        try {
            socket.startHandshake();
        } catch (SocketException closed) {
            // A server refusing our certificate sends an alert and closes at once; our last handshake message
            // then meets a TCP reset, which can discard the alert before it is read. Say what that means.
            SSLHandshakeException refused = new SSLHandshakeException("the server closed the connection during the TLS"
                    + " handshake (" + closed.getMessage() + "): most likely it does not accept this client certificate");
            refused.initCause(closed);
            throw refused;
        }
        return socket;
    }

    private void start() throws IOException {
        try {
            synchronized (writeLock) {
                out.write(PREFACE);
                writeFrame(SETTINGS, 0, 0, settingsPayload(
                        SETTINGS_ENABLE_PUSH, 0,
                        SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW));
                writeFrame(WINDOW_UPDATE, 0, 0, windowIncrement(CONNECTION_WINDOW - DEFAULT_WINDOW));
                out.flush();
            }
        } catch (IOException writeFailed) {
            throw explained(writeFailed);
        }
        reader.start();
    }

    /**
     * Opens a stream with {@code headers} (pseudo-headers first), waiting while the server's limit of concurrent
     * streams is reached. With {@code endOfStream} the request has no body.
     */
    public Http2Stream newStream(List<Header> headers, boolean endOfStream) throws IOException, InterruptedException {
        byte[] block = HpackEncoder.encode(headers);
        long window;
        int maxFrame;
        synchronized (flowLock) {
            while (failure == null && (!peerSettingsReceived || activeStreams >= peerMaxConcurrentStreams)) {
                flowLock.wait();
            }
            if (failure != null && !peerSettingsReceived) {
                throw explained(failure);
            }
            failIfBroken();
            activeStreams++;
            window = peerInitialWindow;
            maxFrame = peerMaxFrameSize;
        }
        Http2Stream stream;
        try {
            synchronized (writeLock) {
                failIfBroken();
                int id = nextStreamId;
                nextStreamId += 2;
                synchronized (flowLock) {
                    if (id > lastStreamIdServed) {
                        throw new IOException("the server is going away (GOAWAY) and serves no new streams");
                    }
                }
                stream = new Http2Stream(this, id, window);
                streams.put(id, stream);
                int first = Math.min(block.length, maxFrame);
                writeFrame(HEADERS, (endOfStream ? FLAG_END_STREAM : 0) | (first == block.length ? FLAG_END_HEADERS : 0),
                        id, block, 0, first);
                for (int offset = first; offset < block.length; offset += maxFrame) {
                    int length = Math.min(maxFrame, block.length - offset);
                    writeFrame(CONTINUATION, offset + length == block.length ? FLAG_END_HEADERS : 0, id, block, offset, length);
                }
                out.flush();
            }
        } catch (IOException e) {
            synchronized (flowLock) {
                activeStreams--;
                flowLock.notifyAll();
            }
            throw writeFailed(e);
        } catch (RuntimeException e) {
            synchronized (flowLock) {
                activeStreams--;
                flowLock.notifyAll();
            }
            throw e;
        }
        return stream;
    }

    /** True once the connection failed or was closed: it serves no more calls. */
    public boolean isBroken() {
        return failure != null;
    }

    /** Closes the connection: every stream still open fails. Idempotent. */
    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        try {
            synchronized (writeLock) {
                writeFrame(GOAWAY, 0, 0, goAwayPayload(0, NO_ERROR));
                out.flush();
            }
        } catch (IOException ignored) {
            // Closing anyway; the server learns from the TCP close.
        }
        try {
            socket.close();
        } catch (IOException ignored) {
            // Nothing more to release.
        }
        broken(new IOException("the connection was closed"));
    }

    // Used by Http2Stream.

    void sendData(Http2Stream stream, byte[] data, boolean endOfStream) throws IOException {
        int offset = 0;
        do {
            int length;
            synchronized (flowLock) {
                while (data.length > offset && (connectionSendWindow <= 0 || stream.sendWindow <= 0)) {
                    failIfBroken();
                    if (stream.isDone()) {
                        throw new IOException("HTTP/2 stream " + stream.id() + " ended while sending");
                    }
                    try {
                        flowLock.wait();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted while waiting for the server's flow-control window", e);
                    }
                }
                length = (int) Math.min(Math.min(data.length - offset, peerMaxFrameSize),
                        Math.min(connectionSendWindow, stream.sendWindow));
                connectionSendWindow -= length;
                stream.sendWindow -= length;
            }
            boolean last = offset + length == data.length;
            try {
                synchronized (writeLock) {
                    failIfBroken();
                    writeFrame(DATA, last && endOfStream ? FLAG_END_STREAM : 0, stream.id(), data, offset, length);
                    if (last) {
                        out.flush();
                    }
                }
            } catch (IOException e) {
                throw writeFailed(e);
            }
            offset += length;
        } while (offset < data.length);
    }

    void windowUpdateQuietly(int streamId, int increment) {
        try {
            synchronized (writeLock) {
                writeFrame(WINDOW_UPDATE, 0, streamId, windowIncrement(increment));
                out.flush();
            }
        } catch (IOException e) {
            writeFailed(e);
        }
    }

    void resetQuietly(int streamId, int errorCode) {
        try {
            synchronized (writeLock) {
                writeFrame(RST_STREAM, 0, streamId, int32(errorCode));
                out.flush();
            }
        } catch (IOException e) {
            writeFailed(e);
        }
    }

    /**
     * The connection failed before the server said anything. In TLS 1.3 a server that refuses our certificate
     * tells so in an alert after the handshake and closes; but if our first frames were already on their way, the
     * close arrives as a TCP reset that can overtake the alert, leaving a bare "Broken pipe" or "Connection reset".
     * So ask once more without sending anything: the alert then arrives intact. Only failures pay for this.
     */
    private IOException explained(IOException failure) {
        if (failure instanceof SSLException) {
            return failure;
        }
        try (Socket plain = new Socket()) {
            plain.connect(new InetSocketAddress(host, port), ALERT_WAIT_MILLIS);
            SSLSocket probe = handshake(tls, plain, host, port, FAST_KEY_EXCHANGE);
            probe.setSoTimeout(ALERT_WAIT_MILLIS);
            probe.getInputStream().read();
        } catch (SSLException alert) {
            alert.addSuppressed(failure);
            return alert;
        } catch (IOException | RuntimeException inconclusive) {
            failure.addSuppressed(inconclusive);
        }
        return failure;
    }

    /**
     * A write failed: the reader, which sees the server's side, usually knows better why (a TLS alert, a GOAWAY,
     * the close). Waits a moment for it and returns the reason to report.
     */
    private IOException writeFailed(IOException e) {
        if (Thread.currentThread() != reader && reader.isAlive()) {
            try {
                reader.join(ALERT_WAIT_MILLIS);
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        IOException known = failure;
        if (known != null && known != e) {
            known.addSuppressed(e);
            return known;
        }
        broken(e);
        return e;
    }

    void released(Http2Stream stream) {
        streams.remove(stream.id());
        synchronized (flowLock) {
            activeStreams--;
            flowLock.notifyAll();
        }
    }

    // The reader thread.

    private void readLoop() {
        byte[] header = new byte[FRAME_HEADER_BYTES];
        ByteArrayOutputStream headerBlock = null;
        int headerBlockStream = 0;
        boolean headerBlockEndsStream = false;
        try {
            while (true) {
                in.readFully(header);
                int length = ((header[0] & 0xff) << 16) | ((header[1] & 0xff) << 8) | (header[2] & 0xff);
                int type = header[3] & 0xff;
                int flags = header[4] & 0xff;
                int streamId = ((header[5] & 0x7f) << 24) | ((header[6] & 0xff) << 16) | ((header[7] & 0xff) << 8) | (header[8] & 0xff);
                if (length > DEFAULT_MAX_FRAME_SIZE) {
                    throw new Http2ProtocolException("frame of " + length + " bytes, larger than SETTINGS_MAX_FRAME_SIZE");
                }
                byte[] payload = new byte[length];
                in.readFully(payload);
                if (headerBlock != null && (type != CONTINUATION || streamId != headerBlockStream)) {
                    throw new Http2ProtocolException("expected CONTINUATION of stream " + headerBlockStream + ", got frame type " + type);
                }
                switch (type) {
                    case DATA -> onData(streamId, flags, payload);
                    case HEADERS -> {
                        byte[] fragment = headersFragment(flags, payload);
                        if ((flags & FLAG_END_HEADERS) != 0) {
                            onHeaders(streamId, fragment, (flags & FLAG_END_STREAM) != 0);
                        } else {
                            headerBlock = new ByteArrayOutputStream();
                            headerBlock.write(fragment);
                            headerBlockStream = streamId;
                            headerBlockEndsStream = (flags & FLAG_END_STREAM) != 0;
                        }
                    }
                    case CONTINUATION -> {
                        if (headerBlock == null) {
                            throw new Http2ProtocolException("CONTINUATION without HEADERS");
                        }
                        headerBlock.write(payload);
                        if ((flags & FLAG_END_HEADERS) != 0) {
                            onHeaders(headerBlockStream, headerBlock.toByteArray(), headerBlockEndsStream);
                            headerBlock = null;
                        }
                    }
                    case RST_STREAM -> onReset(streamId, payload);
                    case SETTINGS -> onSettings(flags, payload);
                    case PING -> onPing(flags, payload);
                    case GOAWAY -> onGoAway(payload);
                    case WINDOW_UPDATE -> onWindowUpdate(streamId, payload);
                    case PUSH_PROMISE -> throw new Http2ProtocolException("PUSH_PROMISE although push is disabled");
                    default -> {
                        // PRIORITY and unknown frame types are ignored (RFC 9113, 4.1 and 5.3.2).
                    }
                }
            }
        } catch (EOFException e) {
            broken(closing ? new IOException("the connection was closed") : new IOException("the server closed the connection", e));
        } catch (IOException e) {
            broken(e);
        } catch (RuntimeException e) {
            broken(new IOException("HTTP/2 reader failed: " + e, e));
        }
    }

    private void onData(int streamId, int flags, byte[] payload) throws IOException {
        creditConnection(payload.length);
        int padding = (flags & FLAG_PADDED) != 0 ? padLength(payload) : -1;
        byte[] data = padding < 0 ? payload : java.util.Arrays.copyOfRange(payload, 1, payload.length - padding);
        Http2Stream stream = streams.get(streamId);
        if (stream != null) {
            stream.received(new Http2Stream.Data(data, (flags & FLAG_END_STREAM) != 0));
        }
    }

    private void onHeaders(int streamId, byte[] block, boolean endOfStream) throws IOException {
        List<Header> headers = hpack.decode(block); // always: keeps the dynamic table in step
        Http2Stream stream = streams.get(streamId);
        if (stream != null) {
            stream.received(new Http2Stream.Headers(headers, endOfStream));
        }
    }

    private void onReset(int streamId, byte[] payload) throws IOException {
        requireLength(payload, Integer.BYTES, "RST_STREAM");
        Http2Stream stream = streams.get(streamId);
        if (stream != null) {
            stream.fail(new StreamResetException(streamId, readInt(payload, 0)));
        }
    }

    private void onSettings(int flags, byte[] payload) throws IOException {
        if ((flags & FLAG_ACK) != 0) {
            return;
        }
        if (payload.length % 6 != 0) {
            throw new Http2ProtocolException("SETTINGS of " + payload.length + " bytes");
        }
        synchronized (flowLock) {
            for (int i = 0; i < payload.length; i += 6) {
                int id = ((payload[i] & 0xff) << 8) | (payload[i + 1] & 0xff);
                long value = readInt(payload, i + 2) & 0xffffffffL;
                switch (id) {
                    case SETTINGS_MAX_CONCURRENT_STREAMS -> peerMaxConcurrentStreams = value;
                    case SETTINGS_INITIAL_WINDOW_SIZE -> {
                        if (value > MAX_WINDOW) {
                            throw new Http2ProtocolException("SETTINGS_INITIAL_WINDOW_SIZE " + value);
                        }
                        long delta = value - peerInitialWindow;
                        peerInitialWindow = value;
                        for (Http2Stream stream : streams.values()) {
                            stream.sendWindow += delta;
                        }
                    }
                    case SETTINGS_MAX_FRAME_SIZE -> {
                        if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_FRAME_SIZE_LIMIT) {
                            throw new Http2ProtocolException("SETTINGS_MAX_FRAME_SIZE " + value);
                        }
                        peerMaxFrameSize = (int) value;
                    }
                    default -> {
                        // HEADER_TABLE_SIZE: our encoder never indexes; the rest do not concern a client.
                    }
                }
            }
            peerSettingsReceived = true;
            flowLock.notifyAll();
        }
        synchronized (writeLock) {
            writeFrame(SETTINGS, FLAG_ACK, 0, new byte[0]);
            out.flush();
        }
    }

    private void onPing(int flags, byte[] payload) throws IOException {
        requireLength(payload, PING_PAYLOAD_BYTES, "PING");
        if ((flags & FLAG_ACK) == 0) {
            synchronized (writeLock) {
                writeFrame(PING, FLAG_ACK, 0, payload);
                out.flush();
            }
        }
    }

    private void onGoAway(byte[] payload) throws IOException {
        if (payload.length < 2 * Integer.BYTES) {
            throw new Http2ProtocolException("GOAWAY of " + payload.length + " bytes");
        }
        int lastStreamId = readInt(payload, 0) & 0x7fffffff;
        int errorCode = readInt(payload, Integer.BYTES);
        synchronized (flowLock) {
            lastStreamIdServed = Math.min(lastStreamIdServed, lastStreamId);
            flowLock.notifyAll();
        }
        for (Http2Stream stream : streams.values()) {
            if (stream.id() > lastStreamId) {
                stream.fail(new StreamResetException(stream.id(), REFUSED_STREAM));
            }
        }
        if (errorCode != NO_ERROR) {
            String debug = new String(payload, 2 * Integer.BYTES, payload.length - 2 * Integer.BYTES, StandardCharsets.UTF_8);
            throw new Http2ProtocolException("the server ended the connection (GOAWAY error " + errorCode
                    + (debug.isEmpty() ? "" : ": " + debug) + ")");
        }
    }

    private void onWindowUpdate(int streamId, byte[] payload) throws IOException {
        requireLength(payload, Integer.BYTES, "WINDOW_UPDATE");
        long increment = readInt(payload, 0) & 0x7fffffffL;
        synchronized (flowLock) {
            if (streamId == 0) {
                connectionSendWindow += increment;
                if (connectionSendWindow > MAX_WINDOW) {
                    throw new Http2ProtocolException("connection flow-control window above 2^31-1");
                }
            } else {
                Http2Stream stream = streams.get(streamId);
                if (stream != null) {
                    stream.sendWindow += increment;
                }
            }
            flowLock.notifyAll();
        }
    }

    private void creditConnection(int bytes) throws IOException {
        connectionUncredited += bytes;
        if (connectionUncredited >= CONNECTION_WINDOW / 2) {
            synchronized (writeLock) {
                writeFrame(WINDOW_UPDATE, 0, 0, windowIncrement((int) connectionUncredited));
                out.flush();
            }
            connectionUncredited = 0;
        }
    }

    private void broken(IOException cause) {
        if (failure == null) {
            failure = cause;
        }
        for (Http2Stream stream : streams.values()) {
            stream.fail(failure);
        }
        synchronized (flowLock) {
            flowLock.notifyAll();
        }
        if (!closing) {
            try {
                socket.close();
            } catch (IOException ignored) {
                // Already failing.
            }
        }
    }

    private void failIfBroken() throws IOException {
        IOException broken = failure;
        if (broken != null) {
            throw broken;
        }
    }

    // Frame encoding. Callers hold writeLock.

    private void writeFrame(int type, int flags, int streamId, byte[] payload) throws IOException {
        writeFrame(type, flags, streamId, payload, 0, payload.length);
    }

    private void writeFrame(int type, int flags, int streamId, byte[] payload, int offset, int length) throws IOException {
        out.write(length >>> 16);
        out.write(length >>> 8);
        out.write(length);
        out.write(type);
        out.write(flags);
        out.write(int32(streamId));
        out.write(payload, offset, length);
    }

    private static byte[] settingsPayload(int... idValuePairs) {
        byte[] payload = new byte[idValuePairs.length / 2 * 6];
        for (int i = 0, p = 0; i < idValuePairs.length; i += 2, p += 6) {
            payload[p] = (byte) (idValuePairs[i] >>> 8);
            payload[p + 1] = (byte) idValuePairs[i];
            System.arraycopy(int32(idValuePairs[i + 1]), 0, payload, p + 2, Integer.BYTES);
        }
        return payload;
    }

    private static byte[] goAwayPayload(int lastStreamId, int errorCode) {
        byte[] payload = new byte[2 * Integer.BYTES];
        System.arraycopy(int32(lastStreamId), 0, payload, 0, Integer.BYTES);
        System.arraycopy(int32(errorCode), 0, payload, Integer.BYTES, Integer.BYTES);
        return payload;
    }

    private static byte[] windowIncrement(int increment) {
        return int32(increment);
    }

    private static byte[] int32(int value) {
        return new byte[] {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value};
    }

    private static int readInt(byte[] bytes, int offset) {
        return ((bytes[offset] & 0xff) << 24) | ((bytes[offset + 1] & 0xff) << 16)
                | ((bytes[offset + 2] & 0xff) << 8) | (bytes[offset + 3] & 0xff);
    }

    private static int padLength(byte[] payload) throws Http2ProtocolException {
        if (payload.length < 1 || (payload[0] & 0xff) >= payload.length) {
            throw new Http2ProtocolException("padding longer than the frame");
        }
        return payload[0] & 0xff;
    }

    private static byte[] headersFragment(int flags, byte[] payload) throws Http2ProtocolException {
        int start = 0;
        int end = payload.length;
        if ((flags & FLAG_PADDED) != 0) {
            end -= padLength(payload);
            start = 1;
        }
        if ((flags & FLAG_PRIORITY) != 0) {
            start += Integer.BYTES + 1;
        }
        if (start > end) {
            throw new Http2ProtocolException("HEADERS frame too short for its padding and priority");
        }
        return java.util.Arrays.copyOfRange(payload, start, end);
    }

    private static void requireLength(byte[] payload, int length, String frame) throws Http2ProtocolException {
        if (payload.length != length) {
            throw new Http2ProtocolException(frame + " of " + payload.length + " bytes, not " + length);
        }
    }

    /** The server reset a stream (RST_STREAM), or will not serve it (GOAWAY). */
    public static final class StreamResetException extends IOException {
        private final int errorCode;

        StreamResetException(int streamId, int errorCode) {
            super("the server reset HTTP/2 stream " + streamId + " (error code " + errorCode + ")");
            this.errorCode = errorCode;
        }

        public int errorCode() {
            return errorCode;
        }

        public boolean refused() {
            return errorCode == REFUSED_STREAM;
        }

        public boolean cancelled() {
            return errorCode == CANCEL;
        }
    }
}
