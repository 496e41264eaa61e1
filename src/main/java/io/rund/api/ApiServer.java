package io.rund.api;

import grpc.reflection.v1alpha.reflection.ReflectionProto;
import io.grpc.health.v1.HealthHandlerFactory;
import io.grpc.health.v1.HealthProto;
import io.rund.auth.TlsContexts;
import io.rund.auth.TlsSetupException;
import io.rund.proto.v1.JobControllerPowerApi;
import io.rund.proto.v1.JobControllerPowerApiHandlerFactory;
import io.rund.proto.v1.RundProto;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.javadsl.ServerReflection;
import org.apache.pekko.grpc.javadsl.ServiceHandler;
import org.apache.pekko.http.impl.engine.http2.Http2;
import org.apache.pekko.http.impl.engine.http2.TelemetrySpi;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.japi.function.Function;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * rund's network door: the gRPC service, gRPC health ({@link HealthService}) and server reflection (v1 and v1alpha,
 * {@link ReflectionVersions}) on a pekko-http HTTP/2 binding with mutual TLS
 * (TLS 1.3 only, client certificate required and verified against the configured CA). Each request is given
 * the caller's identity from its TLS session before the generated handler sees it ({@link PeerIdentityHeader}), and
 * passes {@link RequestGuard}, which bounds and checks it ({@code rund.api.max-request-bytes}).
 * Start, Stop and Delete are recorded in the audit log ({@link AuditedJobService}).
 * The binding stops accepting on coordinated shutdown and lets in-flight requests finish for a while.
 * Before authentication every connection passes the {@link ConnectionDoor} (handshake deadline, caps in all and
 * per source), plugged into pekko-http's binding by configuration; each connection's TLS engine closes it after
 * an HTTP/2 connection error such as an unanswered PING ({@link ConnectionErrorClosingEngine}).
 */
public final class ApiServer {

    /**
     * Stripped from every request but Logs so that those responses go uncompressed (they are small), and from Logs by
     * its handler once it has decided: pekko-grpc would compress each follower's copy of each chunk, a CPU cost that
     * grows with the followers (measured: half the fan-out throughput), where {@link SharedCompression} compresses
     * a record once for all of them.
     */
    static final String ACCEPT_ENCODING = "grpc-accept-encoding";

    /** How long in-flight requests may run on after shutdown begins. */
    public static final Duration SHUTDOWN_DRAIN = Duration.ofSeconds(10);

    /** On every reply: the server's version and commit, which `rund version` prints beside the client's. */
    private static final List<HttpHeader> VERSION_HEADERS = List.of(
            RawHeader.create(BuildVersion.VERSION_HEADER, BuildVersion.version()),
            RawHeader.create(BuildVersion.COMMIT_HEADER, BuildVersion.commit()));

    private final ServerBinding binding;

    private ApiServer(ServerBinding binding) {
        this.binding = binding;
    }

    /** Binds the API; the stage fails if the TLS files are unusable or the port cannot be bound. */
    public static CompletionStage<ApiServer> start(ActorSystem<?> system, ApiSettings settings, JobControllerPowerApi service)
            throws TlsSetupException {
        SSLContext tls = TlsContexts.server(settings.tls());
        AuditLog audit;
        try {
            audit = AuditLog.open(AuditSettings.fromConfig(system.settings().config().getConfig("rund")));
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "close-audit-log",
                () -> {
                    audit.close();
                    return CompletableFuture.completedFuture(Done.getInstance());
                });
        RequestLimits limits = RequestLimits.fromConfig(system.settings().config().getConfig("rund.api"));
        ApiErrors errors = new ApiErrors(new BadRequestLog(limits.badRequestLogsPerMinute()));
        ConnectionDoor door = requireDoor(system);
        JobControllerPowerApi audited = new AuditedJobService(service, audit);
        LogsHandler logs = new LogsHandler(audited, errors.mapper(), system, settings.logCompression());
        Function<HttpRequest, CompletionStage<HttpResponse>> others = ServiceHandler.concatOrNotFound(
                JobControllerPowerApiHandlerFactory.create(audited, errors.mapper(), system),
                HealthHandlerFactory.create(new HealthService(system), errors.mapper(), system),
                ServerReflection.create(DocumentedDescriptors.services(), system));
        // Logs decides for itself what to compress; the others answer uncompressed whatever the client accepts.
        Function<HttpRequest, CompletionStage<HttpResponse>> grpc = request -> LogsHandler.handles(request)
                ? logs.apply(request) : others.apply(request.removeHeader(ACCEPT_ENCODING));
        RequestGuard guard = new RequestGuard(grpc, List.of(RundProto.getDescriptor(), HealthProto.getDescriptor(),
                ReflectionProto.javaDescriptor()), limits, errors, system);
        Function<HttpRequest, CompletionStage<HttpResponse>> handler = request -> guard.apply(
                ReflectionVersions.servedAsV1alpha(PeerAddressHeader.attach(PeerIdentityHeader.attach(request))))
                .thenApply(response -> response.addHeaders(VERSION_HEADERS));
        return Http.get(system)
                .newServerAt(settings.bindHost(), settings.port())
                .enableHttps(ConnectionContext.httpsServer(
                        () -> new ConnectionErrorClosingEngine(TlsContexts.serverEngine(tls), door)))
                .adaptSettings(server -> server
                        .withEnableHttp2(true)
                        // The door finds each connection's guard by the peer's address once HTTP/2 has begun.
                        .withRemoteAddressAttribute(true)
                        .withParserSettings(server.getParserSettings().withIncludeSslSessionAttribute(true)))
                .bind(handler)
                .thenApply(binding -> {
                    binding.addToCoordinatedShutdown(SHUTDOWN_DRAIN, system);
                    return new ApiServer(binding);
                });
    }

    /**
     * The door pekko-http's HTTP/2 extension loaded from {@value ConnectionDoor#TELEMETRY_CLASS_KEY}; without it
     * nothing would limit connections before authentication, so the API does not start.
     */
    private static ConnectionDoor requireDoor(ActorSystem<?> system) {
        TelemetrySpi telemetry = Http2.get(system.classicSystem()).telemetry();
        if (telemetry instanceof ConnectionDoor door) {
            return door;
        }
        throw new IllegalStateException("the API's connection door is not installed: set "
                + ConnectionDoor.TELEMETRY_CLASS_KEY + " = \"" + ConnectionDoor.class.getName()
                + "\" (application.conf has it), found " + telemetry.getClass().getName());
    }

    public InetSocketAddress localAddress() {
        return binding.localAddress();
    }

    /** Stops accepting connections and ends those open after {@link #SHUTDOWN_DRAIN}. */
    public CompletionStage<?> stop() {
        return binding.terminate(SHUTDOWN_DRAIN);
    }
}
