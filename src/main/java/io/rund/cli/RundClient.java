package io.rund.cli;

import io.rund.auth.TlsContexts;
import io.rund.auth.TlsFiles;
import io.rund.auth.TlsSetupException;
import io.rund.cli.http2.GrpcChannel;
import io.rund.cli.http2.Header;
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

import javax.net.ssl.SSLContext;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;

/**
 * The CLI's connection to one rund server: gRPC over a small HTTP/2 client on the JDK's own TLS ({@link GrpcChannel};
 * TLS 1.3 only, client certificate from PEM files), connected on the first call. It loads no gRPC or Netty
 * runtime and reads no proto descriptors, so a one-shot command starts fast. Failed calls throw
 * io.grpc.StatusRuntimeException with grpc-java's codes, the I/O error as the cause.
 */
public final class RundClient implements AutoCloseable {

    /** Longest a unary call may take: Stop waits for the job to end (grace period, then kill). */
    public static final Duration UNARY_DEADLINE = Duration.ofSeconds(60);

    private static final String SERVICE = "rund.v1.JobController/";

    private final GrpcChannel channel;
    private final HostPort address;

    private RundClient(GrpcChannel channel, HostPort address) {
        this.channel = channel;
        this.address = address;
    }

    public static RundClient connect(HostPort address, TlsFiles tls) throws CliException {
        return connect(address, tls, List.of());
    }

    /** {@code headers} go with every call; the CLI sends none, tests use them to try to claim an identity. */
    public static RundClient connect(HostPort address, TlsFiles tls, List<Header> headers) throws CliException {
        SSLContext context;
        try {
            context = TlsContexts.client(tls);
        } catch (TlsSetupException e) {
            throw new CliException(ExitCodes.USAGE, e.getMessage(), e);
        }
        String host = address.anyHost() ? "localhost" : address.host();
        return new RundClient(new GrpcChannel(context, host, address.port(), headers), new HostPort(host, address.port()));
    }

    public HostPort address() {
        return address;
    }

    public StartResponse start(StartRequest request) {
        return channel.unary(SERVICE + "Start", request, StartResponse.parser(), UNARY_DEADLINE);
    }

    public StopResponse stop(StopRequest request) {
        return channel.unary(SERVICE + "Stop", request, StopResponse.parser(), UNARY_DEADLINE);
    }

    public StatusResponse status(StatusRequest request) {
        return channel.unary(SERVICE + "Status", request, StatusResponse.parser(), UNARY_DEADLINE);
    }

    public ListResponse list(ListRequest request) {
        return channel.unary(SERVICE + "List", request, ListResponse.parser(), UNARY_DEADLINE);
    }

    /** The job's log records, then one trailer; errors surface as StatusRuntimeException from the iterator. */
    public Iterator<LogChunk> logs(LogsRequest request) {
        return channel.serverStreaming(SERVICE + "Logs", request, LogChunk.parser());
    }

    @Override
    public void close() {
        channel.close();
    }
}
