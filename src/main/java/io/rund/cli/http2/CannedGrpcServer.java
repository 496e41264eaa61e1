package io.rund.cli.http2;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.SocketException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A tiny gRPC server over HTTP/2 and TLS 1.3 (client certificate required) that answers every call with canned
 * responses, one connection per thread. bin/rund trains the CLI's AOT cache against it right after a build (no
 * daemon, no root needed), and tests drive the client with it. It speaks only what a well-behaved client
 * needs: settings, header blocks, data, window updates; it ignores flow control (its responses are small).
 */
public final class CannedGrpcServer implements AutoCloseable {

    private static final int PREFACE_BYTES = 24;
    private static final int FRAME_HEADER_BYTES = 9;
    private static final int MESSAGE_PREFIX_BYTES = 5;

    private final SSLServerSocket server;
    /** Method ("rund.v1.JobController/Status") → the response messages for a request body. */
    private final Function<String, List<byte[]>> responses;
    private final Thread acceptor;
    private volatile boolean closed;

    private CannedGrpcServer(SSLServerSocket server, Function<String, List<byte[]>> responses) {
        this.server = server;
        this.responses = responses;
        this.acceptor = Thread.ofPlatform().daemon().name("canned-grpc-acceptor").start(this::acceptLoop);
    }

    /** Listens on an ephemeral loopback port; {@code responses} gives the serialized messages for a method. */
    public static CannedGrpcServer start(SSLContext tls, Function<String, List<byte[]>> responses) throws IOException {
        SSLServerSocket server = (SSLServerSocket) tls.getServerSocketFactory().createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        SSLParameters parameters = server.getSSLParameters();
        parameters.setProtocols(new String[] {"TLSv1.3"});
        parameters.setApplicationProtocols(new String[] {"h2"});
        parameters.setNeedClientAuth(true);
        server.setSSLParameters(parameters);
        return new CannedGrpcServer(server, responses);
    }

    public int port() {
        return server.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                SSLSocket socket = (SSLSocket) server.accept();
                Thread.ofPlatform().daemon().name("canned-grpc-connection").start(() -> serve(socket));
            } catch (IOException e) {
                if (!closed) {
                    System.err.println("canned gRPC server: accept failed: " + e);
                }
                return;
            }
        }
    }

    private void serve(SSLSocket socket) {
        try (socket) {
            DataInputStream in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            OutputStream out = new BufferedOutputStream(socket.getOutputStream());
            in.readFully(new byte[PREFACE_BYTES]);
            frame(out, Http2Connection.SETTINGS, 0, 0, new byte[0]);
            out.flush();
            Map<Integer, String> paths = new HashMap<>();
            Map<Integer, ByteArrayOutputStream> bodies = new HashMap<>();
            HpackDecoder hpack = new HpackDecoder();
            byte[] header = new byte[FRAME_HEADER_BYTES];
            while (true) {
                in.readFully(header);
                int length = ((header[0] & 0xff) << 16) | ((header[1] & 0xff) << 8) | (header[2] & 0xff);
                int type = header[3] & 0xff;
                int flags = header[4] & 0xff;
                int stream = ((header[5] & 0x7f) << 24) | ((header[6] & 0xff) << 16) | ((header[7] & 0xff) << 8) | (header[8] & 0xff);
                byte[] payload = new byte[length];
                in.readFully(payload);
                switch (type) {
                    case Http2Connection.SETTINGS -> {
                        if ((flags & Http2Connection.FLAG_ACK) == 0) {
                            frame(out, Http2Connection.SETTINGS, Http2Connection.FLAG_ACK, 0, new byte[0]);
                            out.flush();
                        }
                    }
                    case Http2Connection.HEADERS -> {
                        for (Header h : hpack.decode(payload)) { // our client sends one unpadded frame
                            if (h.name().equals(":path")) {
                                paths.put(stream, h.value().substring(1));
                            }
                        }
                        bodies.put(stream, new ByteArrayOutputStream());
                    }
                    case Http2Connection.DATA -> {
                        bodies.get(stream).write(payload);
                        if ((flags & Http2Connection.FLAG_END_STREAM) != 0) {
                            respond(out, stream, paths.remove(stream));
                            bodies.remove(stream);
                        }
                    }
                    case Http2Connection.GOAWAY -> {
                        return;
                    }
                    default -> {
                        // WINDOW_UPDATE, PING ACK, RST_STREAM: nothing to do for canned answers.
                    }
                }
            }
        } catch (EOFException | SocketException ended) {
            // The client went away.
        } catch (IOException e) {
            if (!closed) {
                System.err.println("canned gRPC server: " + e);
            }
        }
    }

    private void respond(OutputStream out, int stream, String method) throws IOException {
        List<byte[]> messages = responses.apply(method);
        if (messages == null) {
            frame(out, Http2Connection.HEADERS, Http2Connection.FLAG_END_HEADERS | Http2Connection.FLAG_END_STREAM, stream,
                    HpackEncoder.encode(List.of(new Header(":status", "200"), new Header("content-type", "application/grpc"),
                            new Header("grpc-status", "12"), new Header("grpc-message", "no canned answer for " + method))));
            out.flush();
            return;
        }
        frame(out, Http2Connection.HEADERS, Http2Connection.FLAG_END_HEADERS, stream,
                HpackEncoder.encode(List.of(new Header(":status", "200"), new Header("content-type", "application/grpc"))));
        for (byte[] message : messages) {
            byte[] framed = new byte[MESSAGE_PREFIX_BYTES + message.length];
            framed[1] = (byte) (message.length >>> 24);
            framed[2] = (byte) (message.length >>> 16);
            framed[3] = (byte) (message.length >>> 8);
            framed[4] = (byte) message.length;
            System.arraycopy(message, 0, framed, MESSAGE_PREFIX_BYTES, message.length);
            frame(out, Http2Connection.DATA, 0, stream, framed);
        }
        frame(out, Http2Connection.HEADERS, Http2Connection.FLAG_END_HEADERS | Http2Connection.FLAG_END_STREAM, stream,
                HpackEncoder.encode(List.of(new Header("grpc-status", "0"))));
        out.flush();
    }

    private static void frame(OutputStream out, int type, int flags, int stream, byte[] payload) throws IOException {
        out.write(payload.length >>> 16);
        out.write(payload.length >>> 8);
        out.write(payload.length);
        out.write(type);
        out.write(flags);
        out.write(stream >>> 24);
        out.write(stream >>> 16);
        out.write(stream >>> 8);
        out.write(stream);
        out.write(payload);
    }
}
