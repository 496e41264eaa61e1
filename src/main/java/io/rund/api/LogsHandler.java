package io.rund.api;

import io.rund.proto.v1.JobController;
import io.rund.proto.v1.JobControllerPowerApi;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.grpc.Trailers;
import org.apache.pekko.grpc.internal.TelemetryExtension;
import org.apache.pekko.grpc.internal.TelemetrySpi;
import org.apache.pekko.grpc.javadsl.GrpcExceptionHandler;
import org.apache.pekko.grpc.javadsl.GrpcMarshalling;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.grpc.javadsl.MetadataBuilder;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SystemMaterializer;

/**
 * The Logs method's handler: what pekko-grpc generates for it (negotiate the protocol, read the request, call the
 * service, stream its chunks, map failures to a status), with the chunks serialized by {@link LogChunkSerializer}
 * so that no follower copies the output into a protobuf array of its own. Every other path answers 404, so the
 * generated handler placed after it in {@code ServiceHandler.concatOrNotFound} serves the rest.
 */
final class LogsHandler implements Function<HttpRequest, CompletionStage<HttpResponse>> {

    private static final String METHOD = "Logs";
    private static final CompletionStage<HttpResponse> NOT_MINE =
            CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.NOT_FOUND));
    private static final CompletionStage<HttpResponse> UNSUPPORTED_MEDIA_TYPE =
            CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.UNSUPPORTED_MEDIA_TYPE));

    private final JobControllerPowerApi service;
    private final org.apache.pekko.japi.Function<ActorSystem, org.apache.pekko.japi.Function<Throwable, Trailers>> errors;
    private final ClassicActorSystemProvider system;
    private final Materializer materializer;
    private final TelemetrySpi telemetry;

    LogsHandler(JobControllerPowerApi service,
                org.apache.pekko.japi.Function<ActorSystem, org.apache.pekko.japi.Function<Throwable, Trailers>> errors,
                ClassicActorSystemProvider system) {
        this.service = service;
        this.errors = errors;
        this.system = system;
        this.materializer = SystemMaterializer.get(system).materializer();
        this.telemetry = TelemetryExtension.get(system).spi();
    }

    @Override
    public CompletionStage<HttpResponse> apply(HttpRequest request) {
        Iterator<String> segments = request.getUri().pathSegments().iterator();
        if (!(segments.hasNext() && segments.next().equals(JobController.name)
                && segments.hasNext() && segments.next().equals(METHOD) && !segments.hasNext())) {
            return NOT_MINE;
        }
        HttpRequest observed = telemetry.onRequest(JobController.name, METHOD, request);
        return GrpcMarshalling.<HttpResponse>negotiated(observed, (reader, writer) -> {
            Metadata metadata = MetadataBuilder.fromHeaders(observed.getHeaders());
            return GrpcMarshalling.unmarshal(observed.entity(), JobController.Serializers.LogsRequestSerializer,
                            materializer, reader)
                    .thenApply(in -> GrpcMarshalling.marshalStream(service.logs(in, metadata),
                            LogChunkSerializer.INSTANCE, writer, system, errors))
                    .exceptionally(e -> GrpcExceptionHandler.standard(e, errors, writer, system));
        }).orElseGet(() -> UNSUPPORTED_MEDIA_TYPE);
    }
}
