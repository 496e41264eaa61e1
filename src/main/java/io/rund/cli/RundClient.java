package io.rund.cli;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.Message;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.KnownLength;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.okhttp.OkHttpChannelBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.rund.auth.TlsContexts;
import io.rund.auth.TlsFiles;
import io.rund.auth.TlsSetupException;
import io.rund.proto.v1.DeleteRequest;
import io.rund.proto.v1.DeleteResponse;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.ListResponse;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogsRequest;
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
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The CLI's connection to one rund server: plain grpc-java over its OkHttp transport, on the JDK's TLS sockets
 * (TLS 1.3 only, client certificate from PEM files, x25519 key share first: {@link KeyShareSocketFactory}). A CLI
 * command is a fresh JVM, and this transport loads a fraction of Netty's classes and starts no event loops. Method
 * descriptors are built from the service's and methods' names, so no grpc-java code generator is needed; no
 * ActorSystem is started. Log chunks are parsed in place, their data sharing the received bytes.
 */
public final class RundClient implements AutoCloseable {

    /**
     * How the channel moves data: the HTTP/2 flow-control window per stream (how much the server may send ahead
     * of this client's reading; 0 means {@link #DEFAULT_WINDOW_BYTES}), and where call callbacks run (null:
     * grpc-java's own pool; a direct executor runs them on the transport's reading thread).
     */
    public record Transport(int flowControlWindowBytes, Executor callbackExecutor) {
        public static final Transport DEFAULT = new Transport(0, null);
    }

    /** The per-stream window unless a Transport says otherwise: enough for a log stream to run at disk speed. */
    public static final int DEFAULT_WINDOW_BYTES = 1 << 20;

    /** Longest a unary call may take: Stop waits for the job to end (grace period, then kill). */
    public static final Duration UNARY_DEADLINE = Duration.ofSeconds(60);

    /**
     * The service's full name as in protobuf/rund/v1/rund.proto. A constant rather than looked up in the proto
     * descriptor: building that descriptor (and Timestamp's, which it imports) is a large part of a cold command.
     */
    static final String SERVICE = "rund.v1.JobController";
    private static final MethodDescriptor<StartRequest, StartResponse> START =
            unary("Start", StartRequest.getDefaultInstance(), StartResponse.getDefaultInstance());
    private static final MethodDescriptor<StopRequest, StopResponse> STOP =
            unary("Stop", StopRequest.getDefaultInstance(), StopResponse.getDefaultInstance());
    private static final MethodDescriptor<StatusRequest, StatusResponse> STATUS =
            unary("Status", StatusRequest.getDefaultInstance(), StatusResponse.getDefaultInstance());
    private static final MethodDescriptor<ListRequest, ListResponse> LIST =
            unary("List", ListRequest.getDefaultInstance(), ListResponse.getDefaultInstance());
    private static final MethodDescriptor<DeleteRequest, DeleteResponse> DELETE =
            unary("Delete", DeleteRequest.getDefaultInstance(), DeleteResponse.getDefaultInstance());
    private static final MethodDescriptor<io.rund.proto.v1.NodesRequest, io.rund.proto.v1.NodesResponse> NODES =
            unary("Nodes", io.rund.proto.v1.NodesRequest.getDefaultInstance(), io.rund.proto.v1.NodesResponse.getDefaultInstance());
    private static final MethodDescriptor<io.rund.proto.v1.UpdateRequest, io.rund.proto.v1.UpdateResponse> UPDATE =
            unary("Update", io.rund.proto.v1.UpdateRequest.getDefaultInstance(), io.rund.proto.v1.UpdateResponse.getDefaultInstance());
    private static final MethodDescriptor<io.rund.proto.v1.SignalRequest, io.rund.proto.v1.SignalResponse> SIGNAL =
            unary("Signal", io.rund.proto.v1.SignalRequest.getDefaultInstance(), io.rund.proto.v1.SignalResponse.getDefaultInstance());
    private static final MethodDescriptor<io.rund.proto.v1.PauseRequest, io.rund.proto.v1.PauseResponse> PAUSE =
            unary("Pause", io.rund.proto.v1.PauseRequest.getDefaultInstance(), io.rund.proto.v1.PauseResponse.getDefaultInstance());
    private static final MethodDescriptor<io.rund.proto.v1.ResumeRequest, io.rund.proto.v1.ResumeResponse> RESUME =
            unary("Resume", io.rund.proto.v1.ResumeRequest.getDefaultInstance(), io.rund.proto.v1.ResumeResponse.getDefaultInstance());
    private static final MethodDescriptor<LogsRequest, LogChunk> LOGS = MethodDescriptor.<LogsRequest, LogChunk>newBuilder()
            .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
            .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Logs"))
            .setRequestMarshaller(ProtoUtils.marshaller(LogsRequest.getDefaultInstance()))
            .setResponseMarshaller(new LogChunkMarshaller())
            .build();

    private static final MethodDescriptor<io.rund.proto.v1.WatchRequest, io.rund.proto.v1.JobEvent> WATCH = method("Watch",
            MethodDescriptor.MethodType.SERVER_STREAMING, io.rund.proto.v1.WatchRequest.getDefaultInstance(),
            io.rund.proto.v1.JobEvent.getDefaultInstance());

    private final Supplier<ManagedChannel> channels;
    private final KeyShareSocketFactory sockets;
    private final HostPort address;
    private volatile ManagedChannel channel;

    private RundClient(Supplier<ManagedChannel> channels, KeyShareSocketFactory sockets, HostPort address) {
        this.channels = channels;
        this.sockets = sockets;
        this.address = address;
        this.channel = channels.get();
    }

    /** {@code interceptors} see every call (for example to attach metadata); the CLI uses none. */
    public static RundClient connect(HostPort address, TlsFiles tls, ClientInterceptor... interceptors) throws CliException {
        return connect(address, tls, Transport.DEFAULT, interceptors);
    }

    public static RundClient connect(HostPort address, TlsFiles tls, Transport transport, ClientInterceptor... interceptors)
            throws CliException {
        KeyShareSocketFactory sockets;
        try {
            sockets = new KeyShareSocketFactory(TlsContexts.client(tls));
        } catch (TlsSetupException e) {
            throw new CliException(ExitCodes.USAGE, e.getMessage(), e);
        }
        String host = address.anyHost() ? "localhost" : address.host();
        Supplier<ManagedChannel> channels = () -> {
            OkHttpChannelBuilder builder = OkHttpChannelBuilder.forAddress(host, address.port())
                    .sslSocketFactory(sockets)
                    .tlsConnectionSpec(new String[] {KeyShareSocketFactory.TLS_1_3}, sockets.getDefaultCipherSuites())
                    .flowControlWindow(transport.flowControlWindowBytes() > 0 ? transport.flowControlWindowBytes() : DEFAULT_WINDOW_BYTES)
                    // Added first, so it is the innermost: the caller's interceptors see the translated status too.
                    .intercept(new BrokenConnectionStatus())
                    .intercept(interceptors);
            if (transport.callbackExecutor() != null) {
                builder.executor(transport.callbackExecutor());
            }
            return builder.build();
        };
        return new RundClient(channels, sockets, new HostPort(host, address.port()));
    }

    /** Initializes this class (its method descriptors and the messages' classes); see {@link ClientWarmUp}. */
    static void initialize() {
        // Calling a static method is what runs the static initializer.
    }

    public HostPort address() {
        return address;
    }

    public StartResponse start(StartRequest request) {
        return withKeyExchangeFallback(() -> ClientCalls.blockingUnaryCall(channel, START, unaryOptions(), request));
    }

    public StopResponse stop(StopRequest request) {
        return withKeyExchangeFallback(() -> ClientCalls.blockingUnaryCall(channel, STOP, unaryOptions(), request));
    }

    /** Stop with its own grace period: the call may take {@code extraWait} longer than {@link #UNARY_DEADLINE}. */
    public StopResponse stop(StopRequest request, Duration extraWait) {
        CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(UNARY_DEADLINE.plus(extraWait).toMillis(), TimeUnit.MILLISECONDS);
        return withKeyExchangeFallback(() -> ClientCalls.blockingUnaryCall(channel, STOP, options, request));
    }

    public io.rund.proto.v1.SignalResponse signal(io.rund.proto.v1.SignalRequest request) {
        return withKeyExchangeFallback(() -> ClientCalls.blockingUnaryCall(channel, SIGNAL, unaryOptions(), request));
    }

    public io.rund.proto.v1.PauseResponse pause(io.rund.proto.v1.PauseRequest request) {
        return withKeyExchangeFallback(() -> ClientCalls.blockingUnaryCall(channel, PAUSE, unaryOptions(), request));
    }

    public io.rund.proto.v1.ResumeResponse resume(io.rund.proto.v1.ResumeRequest request) {
        return withKeyExchangeFallback(() -> ClientCalls.blockingUnaryCall(channel, RESUME, unaryOptions(), request));
    }

    public StatusResponse status(StatusRequest request) {
        return withKeyExchangeFallback(() -> ClientCalls.blockingUnaryCall(channel, STATUS, unaryOptions(), request));
    }

    public ListResponse list(ListRequest request) {
        return withKeyExchangeFallback(() -> ClientCalls.blockingUnaryCall(channel, LIST, unaryOptions(), request));
    }

    public DeleteResponse delete(DeleteRequest request) {
        return withKeyExchangeFallback(() -> ClientCalls.blockingUnaryCall(channel, DELETE, unaryOptions(), request));
    }

    public io.rund.proto.v1.UpdateResponse update(io.rund.proto.v1.UpdateRequest request) {
        return withKeyExchangeFallback(() -> ClientCalls.blockingUnaryCall(channel, UPDATE, unaryOptions(), request));
    }

    /** The cluster's members as the node this client talks to sees them. */
    public io.rund.proto.v1.NodesResponse nodes() {
        return withKeyExchangeFallback(() -> ClientCalls.blockingUnaryCall(channel, NODES, unaryOptions(),
                io.rund.proto.v1.NodesRequest.getDefaultInstance()));
    }

    /**
     * The job's log records, then one trailer; errors surface as StatusRuntimeException from the iterator. The
     * first record (or the failure) is awaited here, so that a refused key exchange can be retried.
     */
    public Iterator<LogChunk> logs(LogsRequest request) {
        return withKeyExchangeFallback(() -> {
            Iterator<LogChunk> chunks = ClientCalls.blockingServerStreamingCall(channel, LOGS, CallOptions.DEFAULT, request);
            chunks.hasNext();
            return chunks;
        });
    }

    /**
     * Job events as they happen (the stream never ends by itself: close the client, or cancel through
     * {@link #newWatchCall}); errors surface as StatusRuntimeException from the iterator.
     */
    public Iterator<io.rund.proto.v1.JobEvent> watch(io.rund.proto.v1.WatchRequest request) {
        return ClientCalls.blockingServerStreamingCall(channel, WATCH, CallOptions.DEFAULT, request);
    }

    /** As {@link #watch(io.rund.proto.v1.WatchRequest)}, ending with DEADLINE_EXCEEDED after {@code deadline}. */
    public Iterator<io.rund.proto.v1.JobEvent> watch(io.rund.proto.v1.WatchRequest request, Duration deadline) {
        return ClientCalls.blockingServerStreamingCall(channel, WATCH,
                CallOptions.DEFAULT.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS), request);
    }

    /** A new Watch call to drive with its own listener (and to cancel after some events). */
    public ClientCall<io.rund.proto.v1.WatchRequest, io.rund.proto.v1.JobEvent> newWatchCall(CallOptions options) {
        return channel.newCall(WATCH, options);
    }

    /** Status with a deadline of the caller's: for wait_for_end, which waits as long as the job runs. */
    public StatusResponse status(StatusRequest request, Duration deadline) {
        CallOptions options = CallOptions.DEFAULT.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
        return withKeyExchangeFallback(() -> ClientCalls.blockingUnaryCall(channel, STATUS, options, request));
    }

    /**
     * The TLS alert with which the server refuses this client, if it does: for a call that failed with the
     * connection closed under it ({@link KeyShareSocketFactory#refusal}). Connects once more to find out.
     */
    Optional<SSLException> refusal() {
        return sockets.refusal(address.host(), address.port());
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

    private static final MethodDescriptor<io.rund.proto.v1.StatsRequest, io.rund.proto.v1.StatsSample> STATS =
            MethodDescriptor.<io.rund.proto.v1.StatsRequest, io.rund.proto.v1.StatsSample>newBuilder()
                    .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
                    .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, "Stats"))
                    .setRequestMarshaller(ProtoUtils.marshaller(io.rund.proto.v1.StatsRequest.getDefaultInstance()))
                    .setResponseMarshaller(ProtoUtils.marshaller(io.rund.proto.v1.StatsSample.getDefaultInstance()))
                    .build();

    /**
     * The job's live usage: one sample, or one per interval until the job ends; errors surface as
     * StatusRuntimeException from the iterator. The first sample (or the failure) is awaited here.
     */
    public Iterator<io.rund.proto.v1.StatsSample> stats(io.rund.proto.v1.StatsRequest request) {
        return withKeyExchangeFallback(() -> {
            Iterator<io.rund.proto.v1.StatsSample> samples =
                    ClientCalls.blockingServerStreamingCall(channel, STATS, CallOptions.DEFAULT, request);
            samples.hasNext();
            return samples;
        });
    }

    @Override
    public void close() {
        if (shared) {
            return;
        }
        channel.shutdownNow();
    }

    /**
     * Runs {@code call}; if its connection's handshake failed in a way that may be the server refusing x25519, once
     * more with the JDK's default key exchange groups (new connections keep them). Calls made with
     * {@link #newLogsCall} do not retry, but connections after such a failure use the default groups too.
     */
    private <T> T withKeyExchangeFallback(Supplier<T> call) {
        try {
            return call.get();
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || !KeyShareSocketFactory.mayBeKeyExchange(e)
                    || !sockets.useDefaultGroups()) {
                throw e;
            }
            reconnect();
            try {
                return call.get();
            } catch (StatusRuntimeException again) {
                again.addSuppressed(e);
                throw again;
            }
        }
    }

    /**
     * A new channel for the retry: the failed one answers from its failure (and its reconnect back-off) rather than
     * shaking hands again at once.
     */
    private void reconnect() {
        ManagedChannel failed = channel;
        channel = channels.get();
        failed.shutdownNow();
    }

    private static CallOptions unaryOptions() {
        return CallOptions.DEFAULT.withDeadlineAfter(UNARY_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static <Q extends Message, R extends Message> MethodDescriptor<Q, R> unary(String name, Q request, R response) {
        return method(name, MethodDescriptor.MethodType.UNARY, request, response);
    }

    private static <Q extends Message, R extends Message> MethodDescriptor<Q, R> method(
            String name, MethodDescriptor.MethodType type, Q request, R response) {
        return MethodDescriptor.<Q, R>newBuilder()
                .setType(type)
                .setFullMethodName(MethodDescriptor.generateFullMethodName(SERVICE, name))
                .setRequestMarshaller(ProtoUtils.marshaller(request))
                .setResponseMarshaller(ProtoUtils.marshaller(response))
                .build();
    }

    /** Set on a connection the CLI agent keeps for later commands: their try-with-resources leaves it open. */
    private volatile boolean shared;

    /** This client, kept open by {@link #close} from now on; {@link #closeShared} closes it. */
    RundClient shareable() {
        shared = true;
        return this;
    }

    /** Closes a connection {@link #shareable} kept open. */
    void closeShared() {
        channel.shutdownNow();
    }
}
