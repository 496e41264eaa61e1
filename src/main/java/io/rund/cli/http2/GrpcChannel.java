package io.rund.cli.http2;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

import javax.net.ssl.SSLContext;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * gRPC calls (unary and server streaming) over one {@link Http2Connection}, made on first use and made again
 * after it broke: the length-prefixed message framing, the request headers, and the status from the trailers.
 * Failures surface as {@link StatusRuntimeException} with the same codes grpc-java gives them, the I/O error
 * (ConnectException, SSLException, ...) kept as the cause. Messages are never compressed.
 */
public final class GrpcChannel implements AutoCloseable {

    /** The longest response message accepted. */
    public static final int MAX_MESSAGE_BYTES = 64 << 20;
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(20);
    private static final int MESSAGE_PREFIX_BYTES = 5;
    private static final String USER_AGENT = "rund-cli";
    private static final int HTTP_OK = 200;

    private final SSLContext tls;
    private final String host;
    private final int port;
    private final List<Header> extraHeaders;
    private Http2Connection connection;
    private boolean closed;

    /** Connects on the first call. {@code extraHeaders} go with every call. */
    public GrpcChannel(SSLContext tls, String host, int port, List<Header> extraHeaders) {
        this.tls = tls;
        this.host = host;
        this.port = port;
        this.extraHeaders = List.copyOf(extraHeaders);
    }

    /** One request, one response, within {@code deadline}. */
    public <R> R unary(String method, MessageLite request, Parser<R> parser, Duration deadline) {
        long deadlineNanos = System.nanoTime() + deadline.toNanos();
        Call<R> call = new Call<>(open(method, request, deadline), parser, deadlineNanos);
        R response = call.nextMessage();
        if (response == null) {
            call.throwIfFailed();
            throw new StatusRuntimeException(Status.INTERNAL.withDescription("no response message for " + method));
        }
        if (call.nextMessage() != null) {
            throw new StatusRuntimeException(Status.INTERNAL.withDescription("more than one response message for " + method));
        }
        call.throwIfFailed();
        return response;
    }

    /** One request, then the responses as the server sends them; the iterator throws the call's failure. */
    public <R> Iterator<R> serverStreaming(String method, MessageLite request, Parser<R> parser) {
        Call<R> call = new Call<>(open(method, request, null), parser, Long.MAX_VALUE);
        return new Iterator<>() {
            private R next;
            private boolean done;

            @Override
            public boolean hasNext() {
                if (next == null && !done) {
                    next = call.nextMessage();
                    if (next == null) {
                        done = true;
                        call.throwIfFailed();
                    }
                }
                return next != null;
            }

            @Override
            public R next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                R message = next;
                next = null;
                return message;
            }
        };
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (connection != null) {
            connection.close();
        }
    }

    private Http2Stream open(String method, MessageLite request, Duration deadline) {
        List<Header> headers = new ArrayList<>(List.of(
                new Header(":method", "POST"),
                new Header(":scheme", "https"),
                new Header(":path", "/" + method),
                new Header(":authority", authority()),
                new Header("content-type", "application/grpc"),
                new Header("te", "trailers"),
                new Header("user-agent", USER_AGENT)));
        if (deadline != null) {
            headers.add(new Header("grpc-timeout", Math.max(1, deadline.toMillis()) + "m"));
        }
        headers.addAll(extraHeaders);
        byte[] message = request.toByteArray();
        byte[] framed = new byte[MESSAGE_PREFIX_BYTES + message.length];
        framed[1] = (byte) (message.length >>> 24);
        framed[2] = (byte) (message.length >>> 16);
        framed[3] = (byte) (message.length >>> 8);
        framed[4] = (byte) message.length;
        System.arraycopy(message, 0, framed, MESSAGE_PREFIX_BYTES, message.length);
        Http2Stream stream;
        try {
            stream = connection().newStream(headers, false);
        } catch (IOException e) {
            throw failure(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StatusRuntimeException(Status.CANCELLED.withDescription("interrupted").withCause(e));
        }
        try {
            stream.send(framed, true);
        } catch (IOException e) {
            stream.cancel();
            throw failure(e);
        }
        return stream;
    }

    private synchronized Http2Connection connection() throws IOException {
        if (closed) {
            throw new IOException("the channel is closed");
        }
        if (connection == null || connection.isBroken()) {
            connection = Http2Connection.open(tls, host, port, CONNECT_TIMEOUT);
        }
        return connection;
    }

    private String authority() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
    }

    /** The gRPC status for an I/O failure of a call, as grpc-java reports it. */
    static StatusRuntimeException failure(IOException e) {
        Status status;
        if (e instanceof Http2Stream.DeadlineExceededException) {
            status = Status.DEADLINE_EXCEEDED.withDescription("deadline exceeded: " + e.getMessage());
        } else if (e instanceof Http2Connection.StreamResetException reset) {
            status = reset.refused() ? Status.UNAVAILABLE : reset.cancelled() ? Status.CANCELLED : Status.INTERNAL;
            status = status.withDescription(reset.getMessage());
        } else {
            status = Status.UNAVAILABLE.withDescription(e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName());
        }
        return new StatusRuntimeException(status.withCause(e));
    }

    /** The response side of one call: headers, length-prefixed messages, trailers. */
    private static final class Call<R> {
        private final Http2Stream stream;
        private final Parser<R> parser;
        private final long deadlineNanos;
        /** DATA received and not taken yet: whole chunks, the first one read from {@code firstOffset}. */
        private final ArrayDeque<byte[]> chunks = new ArrayDeque<>();
        private int firstOffset;
        private long available;
        private boolean headersSeen;
        private boolean ended;
        private Status status;

        Call(Http2Stream stream, Parser<R> parser, long deadlineNanos) {
            this.stream = stream;
            this.parser = parser;
            this.deadlineNanos = deadlineNanos;
        }

        /** The next message, or null once the server's side has ended (then {@link #throwIfFailed} tells how). */
        R nextMessage() {
            try {
                byte[] prefix = take(MESSAGE_PREFIX_BYTES);
                if (prefix == null) {
                    return null;
                }
                if (prefix[0] != 0) {
                    throw ended(Status.INTERNAL.withDescription("compressed message, but none was negotiated"));
                }
                long length = ((prefix[1] & 0xffL) << 24) | ((prefix[2] & 0xff) << 16) | ((prefix[3] & 0xff) << 8) | (prefix[4] & 0xff);
                if (length > MAX_MESSAGE_BYTES) {
                    throw ended(Status.RESOURCE_EXHAUSTED.withDescription("response message of " + length
                            + " bytes exceeds the limit of " + MAX_MESSAGE_BYTES));
                }
                byte[] message = take((int) length);
                if (message == null) {
                    throw ended(Status.INTERNAL.withDescription("the response ended inside a message"));
                }
                return parser.parseFrom(message);
            } catch (InvalidProtocolBufferException e) {
                throw ended(Status.INTERNAL.withDescription("cannot parse the response: " + e.getMessage()).withCause(e));
            }
        }

        void throwIfFailed() {
            if (status != null && !status.isOk()) {
                throw new StatusRuntimeException(status);
            }
        }

        /** Exactly {@code count} bytes of DATA, or null if the data ended first (having taken nothing). */
        private byte[] take(int count) {
            while (available < count) {
                if (ended) {
                    if (available > 0 && status != null && status.isOk()) {
                        status = Status.INTERNAL.withDescription("the response ended inside a message");
                    }
                    return null;
                }
                receive();
            }
            byte[] taken = new byte[count];
            int copied = 0;
            while (copied < count) {
                byte[] first = chunks.getFirst();
                int n = Math.min(count - copied, first.length - firstOffset);
                System.arraycopy(first, firstOffset, taken, copied, n);
                copied += n;
                firstOffset += n;
                if (firstOffset == first.length) {
                    chunks.removeFirst();
                    firstOffset = 0;
                }
            }
            available -= count;
            return taken;
        }

        private void receive() {
            Http2Stream.Inbound item;
            try {
                item = stream.next(deadlineNanos);
            } catch (IOException e) {
                stream.cancel();
                ended = true;
                status = failure(e).getStatus();
                throw new StatusRuntimeException(status);
            } catch (InterruptedException e) {
                stream.cancel();
                Thread.currentThread().interrupt();
                ended = true;
                status = Status.CANCELLED.withDescription("interrupted").withCause(e);
                throw new StatusRuntimeException(status);
            }
            switch (item) {
                case Http2Stream.Headers headers when !headersSeen -> {
                    headersSeen = true;
                    responseHeaders(headers);
                }
                case Http2Stream.Headers trailers -> {
                    ended = true;
                    status = statusOf(trailers.headers(), HTTP_OK);
                    if (!trailers.endOfStream()) {
                        stream.cancel();
                    }
                }
                case Http2Stream.Data data -> {
                    if (!headersSeen) {
                        stream.cancel();
                        throw ended(Status.INTERNAL.withDescription("response data before its headers"));
                    }
                    if (data.bytes().length > 0) {
                        chunks.addLast(data.bytes());
                        available += data.bytes().length;
                    }
                    if (data.endOfStream()) {
                        ended = true;
                        status = Status.INTERNAL.withDescription("the response ended without trailers (no grpc-status)");
                    }
                }
            }
        }

        private void responseHeaders(Http2Stream.Headers headers) {
            int httpStatus = httpStatus(headers.headers());
            if (headers.endOfStream()) { // trailers-only: a status without messages
                ended = true;
                status = statusOf(headers.headers(), httpStatus);
                return;
            }
            String contentType = value(headers.headers(), "content-type");
            if (httpStatus != HTTP_OK || contentType == null || !contentType.startsWith("application/grpc")) {
                stream.cancel();
                Status fromHttp = statusOf(headers.headers(), httpStatus);
                throw ended(fromHttp.isOk()
                        ? Status.UNKNOWN.withDescription("not a gRPC response (content-type " + contentType + ")")
                        : fromHttp);
            }
        }

        private StatusRuntimeException ended(Status failed) {
            ended = true;
            status = failed;
            return new StatusRuntimeException(failed);
        }
    }

    /** The gRPC status in {@code headers}, else the one gRPC derives from the HTTP status. */
    static Status statusOf(List<Header> headers, int httpStatus) {
        String code = value(headers, "grpc-status");
        if (code == null) {
            return httpStatus == HTTP_OK
                    ? Status.INTERNAL.withDescription("the response has no grpc-status")
                    : fromHttp(httpStatus);
        }
        Status status;
        try {
            status = Status.fromCodeValue(Integer.parseInt(code.strip()));
        } catch (NumberFormatException e) {
            return Status.INTERNAL.withDescription("malformed grpc-status '" + code + "'");
        }
        String message = value(headers, "grpc-message");
        return message == null ? status : status.withDescription(percentDecode(message));
    }

    private static Status fromHttp(int httpStatus) {
        Status status = switch (httpStatus) {
            case 400 -> Status.INTERNAL;
            case 401 -> Status.UNAUTHENTICATED;
            case 403 -> Status.PERMISSION_DENIED;
            case 404 -> Status.UNIMPLEMENTED;
            case 429, 502, 503, 504 -> Status.UNAVAILABLE;
            default -> Status.UNKNOWN;
        };
        return status.withDescription("HTTP status code " + httpStatus);
    }

    private static int httpStatus(List<Header> headers) {
        String status = value(headers, ":status");
        try {
            return status == null ? -1 : Integer.parseInt(status);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static String value(List<Header> headers, String name) {
        for (Header header : headers) {
            if (header.name().equals(name)) {
                return header.value();
            }
        }
        return null;
    }

    /** grpc-message is UTF-8 with bytes outside printable ASCII (and '%') written as %XX. */
    static String percentDecode(String text) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '%' && i + 2 < text.length()) {
                int hi = Character.digit(text.charAt(i + 1), 16);
                int lo = Character.digit(text.charAt(i + 2), 16);
                if (hi >= 0 && lo >= 0) {
                    bytes.write(hi << 4 | lo);
                    i += 2;
                    continue;
                }
            }
            bytes.write(c);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
