package io.rund.cli;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Descriptors;
import com.google.protobuf.Message;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.KnownLength;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.rund.auth.TlsContexts;
import io.rund.auth.TlsFiles;
import io.rund.auth.TlsSetupException;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.ListResponse;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.RundProto;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StartResponse;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StatusResponse;
import io.rund.proto.v1.StopRequest;
import io.rund.proto.v1.StopResponse;

import javax.net.ssl.SSLException;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Iterator;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * The CLI's connection to one rund server: plain grpc-java over Netty with the JDK's TLS (TLS 1.3 only, client
 * certificate from PEM files). The JDK provider is required: the BoringSSL bundled with grpc-netty-shaded cannot
 * sign with P-521 keys. Method descriptors are built from the proto descriptor, so no grpc-java code generator
 * is needed; no ActorSystem is started. Log chunks are parsed in place, their data sharing the received bytes.
 */
public final class RundClient implements AutoCloseable {

    /**
     * How the channel moves data: the HTTP/2 flow-control window per stream (how much the server may send ahead
     * of this client's reading; 0 keeps grpc-java's default, which tunes itself), and where call callbacks run
     * (null: grpc-java's own pool; a direct executor runs them on the network thread).
     */
    public record Transport(int flowControlWindowBytes, Executor callbackExecutor) {
        public static final Transport DEFAULT = new Transport(0, null);
    }

    /** Longest a unary call may take: Stop waits for the job to end (grace period, then kill). */
    public static final Duration UNARY_DEADLINE = Duration.ofSeconds(60);

    private static final Descriptors.ServiceDescriptor SERVICE = RundProto.getDescriptor().findServiceByName("JobController");
    private static final MethodDescriptor<StartRequest, StartResponse> START =
            unary("Start", StartRequest.getDefaultInstance(), StartResponse.getDefaultInstance());
    private static final MethodDescriptor<StopRequest, StopResponse> STOP =
            unary("Stop", StopRequest.getDefaultInstance(), StopResponse.getDefaultInstance());
    private static final MethodDescriptor<StatusRequest, StatusResponse> STATUS =
            unary("Status", StatusRequest.getDefaultInstance(), StatusResponse.getDefaultInstance());
    private static final MethodDescriptor<ListRequest, ListResponse> LIST =
            unary("List", ListRequest.getDefaultInstance(), ListResponse.getDefaultInstance());
    private static final MethodDescriptor<LogsRequest, LogChunk> LOGS = MethodDescriptor.<LogsRequest, LogChunk>newBuilder()
            .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE.getFullName(), "Logs"))
            .setRequestMarshaller(ProtoUtils.marshaller(LogsRequest.getDefaultInstance()))
            .setResponseMarshaller(new LogChunkMarshaller())
            .build();

    private final ManagedChannel channel;
    private final HostPort address;

    private RundClient(ManagedChannel channel, HostPort address) {
        this.channel = channel;
        this.address = address;
    }

    /** {@code interceptors} see every call (for example to attach metadata); the CLI uses none. */
    public static RundClient connect(HostPort address, TlsFiles tls, ClientInterceptor... interceptors) throws CliException {
        return connect(address, tls, Transport.DEFAULT, interceptors);
    }

    public static RundClient connect(HostPort address, TlsFiles tls, Transport transport, ClientInterceptor... interceptors)
            throws CliException {
        SslContext ssl;
        try {
            ssl = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                    .keyManager(TlsContexts.keyManager(tls))
                    .trustManager(TlsContexts.trustManagers(tls))
                    .protocols(TlsContexts.TLS_1_3)
                    .build();
        } catch (TlsSetupException e) {
            throw new CliException(ExitCodes.USAGE, e.getMessage(), e);
        } catch (SSLException e) {
            throw new CliException(ExitCodes.USAGE, "cannot set up TLS with " + tls + ": " + e.getMessage(), e);
        }
        String host = address.anyHost() ? "localhost" : address.host();
        NettyChannelBuilder builder = NettyChannelBuilder.forAddress(host, address.port())
                .sslContext(ssl)
                .intercept(interceptors);
        if (transport.flowControlWindowBytes() > 0) {
            builder.flowControlWindow(transport.flowControlWindowBytes());
        }
        if (transport.callbackExecutor() != null) {
            builder.executor(transport.callbackExecutor());
        }
        ManagedChannel channel = builder.build();
        return new RundClient(channel, new HostPort(host, address.port()));
    }

    public HostPort address() {
        return address;
    }

    public StartResponse start(StartRequest request) {
        return ClientCalls.blockingUnaryCall(channel, START, unaryOptions(), request);
    }

    public StopResponse stop(StopRequest request) {
        return ClientCalls.blockingUnaryCall(channel, STOP, unaryOptions(), request);
    }

    public StatusResponse status(StatusRequest request) {
        return ClientCalls.blockingUnaryCall(channel, STATUS, unaryOptions(), request);
    }

    public ListResponse list(ListRequest request) {
        return ClientCalls.blockingUnaryCall(channel, LIST, unaryOptions(), request);
    }

    /** The job's log records, then one trailer; errors surface as StatusRuntimeException from the iterator. */
    public Iterator<LogChunk> logs(LogsRequest request) {
        return ClientCalls.blockingServerStreamingCall(channel, LOGS, CallOptions.DEFAULT, request);
    }

    /** A new Logs call to drive with its own listener and flow control (request(n) per chunk wanted). */
    public ClientCall<LogsRequest, LogChunk> newLogsCall(CallOptions options) {
        return channel.newCall(LOGS, options);
    }

    /**
     * Parses a LogChunk from the received bytes in place: its data aliases the one copy read off the transport
     * instead of being copied again (a log stream is mostly data).
     */
    private static final class LogChunkMarshaller implements MethodDescriptor.Marshaller<LogChunk> {
        private final MethodDescriptor.Marshaller<LogChunk> plain = ProtoUtils.marshaller(LogChunk.getDefaultInstance());

        @Override
        public InputStream stream(LogChunk value) {
            return plain.stream(value);
        }

        @Override
        public LogChunk parse(InputStream stream) {
            if (!(stream instanceof KnownLength)) {
                return plain.parse(stream);
            }
            try {
                byte[] message = stream.readAllBytes();
                CodedInputStream input = CodedInputStream.newInstance(message);
                input.enableAliasing(true);
                return LogChunk.parseFrom(input);
            } catch (IOException e) {
                throw Status.INTERNAL.withDescription("invalid log chunk from the server: " + e.getMessage())
                        .withCause(e).asRuntimeException();
            }
        }
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }

    private static CallOptions unaryOptions() {
        return CallOptions.DEFAULT.withDeadlineAfter(UNARY_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static <Q extends Message, R extends Message> MethodDescriptor<Q, R> unary(String name, Q request, R response) {
        return method(name, MethodDescriptor.MethodType.UNARY, request, response);
    }

    private static <Q extends Message, R extends Message> MethodDescriptor<Q, R> method(
            String name, MethodDescriptor.MethodType type, Q request, R response) {
        Descriptors.MethodDescriptor method = SERVICE.findMethodByName(name);
        return MethodDescriptor.<Q, R>newBuilder()
                .setType(type)
                .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE.getFullName(), method.getName()))
                .setRequestMarshaller(ProtoUtils.marshaller(request))
                .setResponseMarshaller(ProtoUtils.marshaller(response))
                .build();
    }
}
