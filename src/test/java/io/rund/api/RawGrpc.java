package io.rund.api;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.CompressorRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.rund.auth.ExampleCertificates;
import io.rund.auth.TlsContexts;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A grpc-java client on the CLI's transport (OkHttp, JDK TLS) that sends request messages as raw bytes, so that a
 * test can send any bytes as any method's request: one HTTP/2 connection per instance.
 */
final class RawGrpc implements AutoCloseable {

    static final String SERVICE = "rund.v1.JobController";
    private static final long CALL_TIMEOUT_SECONDS = 30;

    /** What a call ended with: its status and how many response messages came before it. */
    record Answer(Status status, List<byte[]> messages) {
        Status.Code code() {
            return status.getCode();
        }

        String description() {
            return status.getDescription();
        }
    }

    private final ManagedChannel channel;

    RawGrpc(int port, String certificate, CompressorRegistry compressors) throws Exception {
        var sockets = TlsContexts.client(ExampleCertificates.files(certificate)).getSocketFactory();
        this.channel = OkHttpChannelBuilder.forAddress("localhost", port)
                .sslSocketFactory(sockets)
                .tlsConnectionSpec(new String[] {TlsContexts.TLS_1_3}, sockets.getDefaultCipherSuites())
                .compressorRegistry(compressors)
                .maxInboundMessageSize(Integer.MAX_VALUE)
                .build();
    }

    RawGrpc(int port, String certificate) throws Exception {
        this(port, certificate, CompressorRegistry.getDefaultInstance());
    }

    static MethodDescriptor<byte[], byte[]> method(String name) {
        MethodDescriptor.MethodType type = name.equals("Logs")
                ? MethodDescriptor.MethodType.SERVER_STREAMING
                : MethodDescriptor.MethodType.UNARY;
        return method(SERVICE + "/" + name, type);
    }

    static MethodDescriptor<byte[], byte[]> method(String fullName, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<byte[], byte[]>newBuilder()
                .setType(type)
                .setFullMethodName(fullName)
                .setRequestMarshaller(Bytes.INSTANCE)
                .setResponseMarshaller(Bytes.INSTANCE)
                .build();
    }

    /** Sends {@code messages} (each framed as one gRPC message) and waits for the call's end. */
    Answer call(MethodDescriptor<byte[], byte[]> method, CallOptions options, byte[]... messages) throws Exception {
        ClientCall<byte[], byte[]> call = channel.newCall(method, options.withDeadlineAfter(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS));
        CompletableFuture<Status> closed = new CompletableFuture<>();
        List<byte[]> received = new CopyOnWriteArrayList<>();
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onMessage(byte[] message) {
                received.add(message);
                call.request(1);
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, new Metadata());
        call.request(1);
        for (byte[] message : messages) {
            call.sendMessage(message);
        }
        call.halfClose();
        return new Answer(closed.get(CALL_TIMEOUT_SECONDS + 5, TimeUnit.SECONDS), received);
    }

    Answer call(String method, byte[]... messages) throws Exception {
        return call(method(method), CallOptions.DEFAULT, messages);
    }

    ManagedChannel channel() {
        return channel;
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }

    /** Messages as they are: the request's bytes exactly as the test made them. */
    enum Bytes implements MethodDescriptor.Marshaller<byte[]> {
        INSTANCE;

        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
