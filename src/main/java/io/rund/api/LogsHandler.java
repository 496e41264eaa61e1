package io.rund.api;

import io.grpc.Status;
import io.rund.proto.v1.JobController;
import io.rund.proto.v1.JobControllerPowerApi;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.grpc.GrpcProtocol;
import org.apache.pekko.grpc.Trailers;
import org.apache.pekko.grpc.internal.GrpcEntityHelpers;
import org.apache.pekko.grpc.internal.TelemetryExtension;
import org.apache.pekko.grpc.internal.TelemetrySpi;
import org.apache.pekko.grpc.javadsl.GrpcExceptionHandler;
import org.apache.pekko.grpc.javadsl.GrpcMarshalling;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.grpc.javadsl.MetadataBuilder;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.scaladsl.model.HttpEntity;
import org.apache.pekko.http.scaladsl.model.HttpEntity.ChunkStreamPart;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SystemMaterializer;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.util.ByteStringBuilder;

import java.nio.ByteOrder;

/**
 * The Logs method's handler: what pekko-grpc generates for it (negotiate the protocol, read the request, call the
 * service, stream its chunks, map failures to a status), with two differences that matter when a job has many
 * followers. Chunks are serialized by {@link LogChunkSerializer}, so no follower copies the output into a protobuf
 * array of its own; and for a client that accepts gzip, a shared record's message is compressed once for all
 * followers ({@link SharedCompression}), each message flagged compressed or not on its own as gRPC allows. Every
 * other path answers 404, so the generated handler placed after it in {@code ServiceHandler.concatOrNotFound}
 * serves the rest.
 */
final class LogsHandler implements Function<HttpRequest, CompletionStage<HttpResponse>> {

    private static final String METHOD = "Logs";
    private static final CompletionStage<HttpResponse> NOT_MINE =
            CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.NOT_FOUND));
    private static final CompletionStage<HttpResponse> UNSUPPORTED_MEDIA_TYPE =
            CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.UNSUPPORTED_MEDIA_TYPE));
    private static final String MESSAGE_ENCODING = "grpc-encoding";

    private final JobControllerPowerApi service;
    private final org.apache.pekko.japi.Function<ActorSystem, org.apache.pekko.japi.Function<Throwable, Trailers>> errors;
    private final ClassicActorSystemProvider system;
    private final Materializer materializer;
    private final TelemetrySpi telemetry;
    private final boolean compression;

    /** {@code compression}: whether a client that accepts gzip gets compressed messages. */
    LogsHandler(JobControllerPowerApi service,
                org.apache.pekko.japi.Function<ActorSystem, org.apache.pekko.japi.Function<Throwable, Trailers>> errors,
                ClassicActorSystemProvider system, boolean compression) {
        this.service = service;
        this.errors = errors;
        this.system = system;
        this.materializer = SystemMaterializer.get(system).materializer();
        this.telemetry = TelemetryExtension.get(system).spi();
        this.compression = compression;
    }

    /** Whether {@code request} is a call of Logs (the request this handler answers). */
    static boolean handles(HttpRequest request) {
        Iterator<String> segments = request.getUri().pathSegments().iterator();
        return segments.hasNext() && segments.next().equals(JobController.name)
                && segments.hasNext() && segments.next().equals(METHOD) && !segments.hasNext();
    }

    @Override
    public CompletionStage<HttpResponse> apply(HttpRequest request) {
        if (!handles(request)) {
            return NOT_MINE;
        }
        boolean gzip = compression && acceptsGzip(request);
        // Without the header the negotiated writer is identity: this handler decides per message, not pekko-grpc.
        HttpRequest observed = telemetry.onRequest(JobController.name, METHOD, request.removeHeader(ApiServer.ACCEPT_ENCODING));
        return GrpcMarshalling.<HttpResponse>negotiated(observed, (reader, writer) -> {
            Metadata metadata = MetadataBuilder.fromHeaders(observed.getHeaders());
            return GrpcMarshalling.unmarshal(observed.entity(), JobController.Serializers.LogsRequestSerializer,
                            materializer, reader)
                    .thenApply(in -> nativeGrpc(observed)
                            ? response(LogsMessage.of(service, in, metadata), gzip, writer)
                            : GrpcMarshalling.marshalStream(service.logs(in, metadata), LogChunkSerializer.INSTANCE,
                                    writer, system, errors))
                    .exceptionally(e -> GrpcExceptionHandler.standard(e, errors, writer, system));
        }).orElseGet(() -> UNSUPPORTED_MEDIA_TYPE);
    }

    /** The stream as gRPC frames, then the OK trailer, or the failure's status as the trailer. */
    private HttpResponse response(Source<LogsMessage, NotUsed> messages, boolean gzip,
                                  org.apache.pekko.grpc.GrpcProtocol.GrpcProtocolWriter writer) {
        Source<ChunkStreamPart, NotUsed> parts = messages
                .map(message -> frame(message, gzip))
                .concat(Source.lazySingle(() -> trailer(writer, new Trailers(Status.OK))))
                .recover(new PFBuilder<Throwable, ChunkStreamPart>()
                        .matchAny(failure -> trailer(writer, errors.apply(system.classicSystem()).apply(failure)))
                        .build());
        return HttpResponse.create()
                .withHeaders(List.of(RawHeader.create(MESSAGE_ENCODING, gzip ? SharedCompression.GZIP : "identity")))
                .withEntity(HttpEntity.Chunked$.MODULE$.apply(writer.contentType(), parts.<Object>mapMaterializedValue(ignored -> ignored).asScala()));
    }

    private static ChunkStreamPart frame(LogsMessage message, boolean gzip) {
        ByteString bytes;
        boolean compressed = false;
        if (gzip && message instanceof LogsMessage.Output output) {
            SharedCompression.Message shared = SharedCompression.of(output.record(), output.timestamps());
            bytes = shared.bytes();
            compressed = shared.compressed();
        } else {
            bytes = LogChunkSerializer.INSTANCE.serialize(message.toChunk());
        }
        ByteString header = new ByteStringBuilder()
                .putByte((byte) (compressed ? 1 : 0))
                .putInt(bytes.size(), ByteOrder.BIG_ENDIAN)
                .result();
        return new HttpEntity.Chunk(header.concat(bytes), "");
    }

    private static ChunkStreamPart trailer(GrpcProtocol.GrpcProtocolWriter writer, Trailers trailers) {
        return writer.encodeFrame().apply(GrpcEntityHelpers.trailer(trailers.status(), trailers.metadata()));
    }

    /** gRPC itself rather than gRPC-Web, whose trailers travel in the body: that one is served as generated. */
    private static boolean nativeGrpc(HttpRequest request) {
        return !request.entity().getContentType().mediaType().subType().startsWith("grpc-web");
    }

    /** Whether the client named gzip among the encodings it accepts (grpc-accept-encoding: a comma-separated list). */
    private static boolean acceptsGzip(HttpRequest request) {
        return request.getHeader(ApiServer.ACCEPT_ENCODING)
                .map(header -> java.util.Arrays.stream(header.value().split(","))
                        .anyMatch(encoding -> encoding.trim().equalsIgnoreCase(SharedCompression.GZIP)))
                .orElse(false);
    }
}
