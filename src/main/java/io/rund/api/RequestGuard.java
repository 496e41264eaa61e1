package io.rund.api;

import com.google.protobuf.Descriptors;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status;
import io.rund.job.ClientText;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcProtocol;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.Trailers;
import org.apache.pekko.grpc.internal.GrpcProtocolNative;
import org.apache.pekko.grpc.internal.Identity$;
import org.apache.pekko.grpc.javadsl.GrpcExceptionHandler;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaType;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Stands between the HTTP/2 connection and pekko-grpc, so that no request can cost the daemon more than
 * {@link RequestLimits#maxRequestBytes()} of memory, fail anything but its own call, or be answered INTERNAL.
 * It refuses gRPC over HTTP/1.1 and gRPC-Web, unknown methods and encodings (UNIMPLEMENTED, not the GOAWAY that
 * pekko-grpc's failed future caused), and reads a request's one message itself ({@link GrpcFrames}): refused as soon
 * as its length prefix announces too much, or a second message follows; its wire format checked against the method's
 * input type ({@link MessageCheck}); then handed on as one uncompressed frame. A refused request's remaining body is
 * read and dropped for a while rather than cancelled at once: pekko-http resets a stream whose body is cancelled,
 * and a reset that overtook the answer would reach the client as CANCELLED instead of the reason. Whatever fails,
 * the call gets a gRPC status ({@link ApiErrors}) and the connection and its other streams go on.
 */
final class RequestGuard implements Function<HttpRequest, CompletionStage<HttpResponse>> {

    /** pekko-http's protocol value for a request that came over HTTP/2. */
    private static final String HTTP_2 = "HTTP/2.0";
    static final String ENCODING_HEADER = "grpc-encoding";
    static final String ACCEPT_ENCODING_HEADER = "grpc-accept-encoding";
    private static final String ACCEPTED_ENCODINGS = "identity,gzip";
    /** A refused body is read and dropped up to this many times the message limit, then its stream is reset. */
    private static final int DRAIN_LIMITS = 4;
    private static final Set<String> GRPC_SUBTYPES = Set.of("grpc", "grpc+proto");
    private static final GrpcProtocol.GrpcProtocolWriter WRITER = GrpcProtocolNative.newWriter(Identity$.MODULE$);

    private final Function<HttpRequest, CompletionStage<HttpResponse>> grpc;
    private final Map<String, Descriptors.MethodDescriptor> methods;
    private final RequestLimits limits;
    private final ApiErrors errors;
    private final RequestBudget budget;
    private final ActorSystem<?> system;
    private final Materializer materializer;

    /** Guards {@code grpc}, which serves the services of {@code served} (their methods are the only ones let in). */
    RequestGuard(Function<HttpRequest, CompletionStage<HttpResponse>> grpc, List<Descriptors.FileDescriptor> served,
                 RequestLimits limits, ApiErrors errors, ActorSystem<?> system) {
        this.grpc = grpc;
        this.methods = methodsByPath(served);
        this.limits = limits;
        this.errors = errors;
        this.budget = new RequestBudget(limits.maxBufferedRequestBytes());
        this.system = system;
        this.materializer = Materializer.matFromSystem(system);
    }

    @Override
    public CompletionStage<HttpResponse> apply(HttpRequest request) {
        CompletionStage<HttpResponse> response;
        try {
            response = guarded(request);
        } catch (Throwable failure) {
            response = CompletableFuture.failedFuture(failure);
        }
        // A failed future would fail the whole HTTP/2 connection: every failure becomes this call's status.
        return response.exceptionally(failure -> errorResponse(request, failure));
    }

    private CompletionStage<HttpResponse> guarded(HttpRequest request) throws Exception {
        if (!request.protocol().value().equals(HTTP_2)) {
            return refuseHttp(request, StatusCodes.HTTPVERSION_NOT_SUPPORTED,
                    "rund serves gRPC over HTTP/2 only (this request came over " + request.protocol().value() + ")\n");
        }
        MediaType mediaType = request.entity().getContentType().mediaType();
        if (!mediaType.mainType().equals("application") || !GRPC_SUBTYPES.contains(mediaType.subType())) {
            return refuseHttp(request, StatusCodes.UNSUPPORTED_MEDIA_TYPE,
                    "rund serves gRPC (content-type application/grpc); not " + ClientText.quote(mediaType.toString())
                            + " (gRPC-Web is not supported)\n");
        }
        Descriptors.MethodDescriptor method = methods.get(request.getUri().path());
        if (method == null) {
            throw refused(request, Status.Code.UNIMPLEMENTED, "no method " + ClientText.quote(request.getUri().path())
                    + " (rund serves rund.v1.JobController, grpc.health.v1.Health and grpc.reflection.v1 and v1alpha's"
                    + " ServerReflection)");
        }
        GrpcFrames.Encoding encoding = encodingOf(request);
        ContentType contentType = request.entity().getContentType();
        HttpRequest identity = request.removeHeader(ENCODING_HEADER);
        if (method.isClientStreaming()) {
            return grpc.apply(identity.withEntity(HttpEntities.createChunked(contentType,
                    request.entity().getDataBytes().via(checkedMessages(method, encoding)))));
        }
        GrpcFrames frames = new GrpcFrames(limits.maxRequestBytes(), encoding, budget, false);
        return readOneMessage(request.entity().getDataBytes(), frames)
                .thenCompose(message -> {
                    MessageCheck.check(method.getInputType(), UnsafeByteOperations.unsafeWrap(message.asByteBuffer()));
                    try {
                        return grpc.apply(identity.withEntity(HttpEntities.create(contentType, GrpcFrames.frame(message))));
                    } catch (Exception e) {
                        return CompletableFuture.failedFuture(e);
                    }
                })
                .whenComplete((response, failure) -> frames.release());
    }

    /**
     * The one message of a unary-request call: refused at once if its prefix announces too much or anything follows
     * it; the rest of a refused body is read and dropped.
     */
    private CompletionStage<ByteString> readOneMessage(Source<ByteString, ?> body, GrpcFrames frames) {
        CompletableFuture<ByteString> result = new CompletableFuture<>();
        ByteString[] message = {null};
        long[] drained = {0};
        body.runForeach(chunk -> {
            if (result.isDone()) {
                // Refused and answered: a gRPC client stops sending when the answer comes; one that goes on is cut
                // once it has sent this much more (reset, as pekko-http does to a stream whose body is cancelled).
                drained[0] += chunk.size();
                if (drained[0] > drainBudget()) {
                    throw new DrainedEnough();
                }
                return;
            }
            try {
                for (ByteString complete : frames.feed(chunk)) {
                    if (message[0] != null) {
                        throw twoMessages();
                    }
                    message[0] = complete;
                }
                if (message[0] != null && frames.hasPending()) {
                    throw twoMessages();
                }
            } catch (GrpcServiceException refusal) {
                result.completeExceptionally(refusal);
            }
        }, materializer).whenComplete((done, failure) -> {
            if (result.isDone()) {
                return;
            }
            if (failure != null) {
                result.completeExceptionally(failure);
                return;
            }
            try {
                frames.finish();
                if (message[0] == null) {
                    throw ApiErrors.refusal(Status.Code.INVALID_ARGUMENT, "the call carries no request message (empty body)");
                }
                result.complete(message[0]);
            } catch (GrpcServiceException refusal) {
                result.completeExceptionally(refusal);
            }
        });
        return result;
    }

    /**
     * How much of a refused body is read and dropped before its stream is reset: the answer has long gone out by
     * then (a reset that overtook it would reach the client as CANCELLED), and a client that ignores it cannot make
     * the daemon read (and allocate) without end.
     */
    private long drainBudget() {
        return DRAIN_LIMITS * (long) limits.maxRequestBytes();
    }

    /** Reads and drops a refused request's body, up to {@link #drainBudget()}. */
    private void drain(HttpRequest request) {
        long[] drained = {0};
        request.entity().getDataBytes().runForeach(chunk -> {
            drained[0] += chunk.size();
            if (drained[0] > drainBudget()) {
                throw new DrainedEnough();
            }
        }, materializer);
    }

    /** Ends the reading of a refused body that its client keeps sending. */
    private static final class DrainedEnough extends RuntimeException {
        DrainedEnough() {
            super("refused request body drained", null, false, false);
        }
    }

    /** A client-streaming call's messages, each within the limit and checked, re-framed uncompressed. */
    private Flow<ByteString, ByteString, ?> checkedMessages(Descriptors.MethodDescriptor method, GrpcFrames.Encoding encoding) {
        GrpcFrames reader = new GrpcFrames(limits.maxRequestBytes(), encoding, budget, true);
        return Flow.of(ByteString.class)
                .watchTermination((mat, done) -> {
                    done.whenComplete((ok, failure) -> reader.release());
                    return mat;
                })
                .statefulMap(() -> reader,
                        (frames, chunk) -> Pair.create(frames, frames.feed(chunk)),
                        frames -> {
                            frames.finish();
                            return Optional.<List<ByteString>>empty();
                        })
                .mapConcat(messages -> messages)
                .map(message -> {
                    MessageCheck.check(method.getInputType(), UnsafeByteOperations.unsafeWrap(message.asByteBuffer()));
                    return GrpcFrames.frame(message);
                });
    }

    private static GrpcServiceException twoMessages() {
        return ApiErrors.refusal(Status.Code.INVALID_ARGUMENT,
                "a unary call carries exactly one request message; this one carries more bytes after it");
    }

    private GrpcFrames.Encoding encodingOf(HttpRequest request) {
        Optional<HttpHeader> header = request.getHeader(ENCODING_HEADER);
        if (header.isEmpty()) {
            return GrpcFrames.Encoding.IDENTITY;
        }
        return switch (header.get().value().toLowerCase(Locale.ROOT)) {
            case "identity" -> GrpcFrames.Encoding.IDENTITY;
            case "gzip" -> GrpcFrames.Encoding.GZIP;
            default -> throw refused(request, Status.Code.UNIMPLEMENTED, "grpc-encoding " + ClientText.quote(header.get().value())
                    + " is not supported; rund accepts " + ACCEPTED_ENCODINGS);
        };
    }

    /** A refusal before the body is read: the body is drained ({@link #drain}) and the call answered. */
    private GrpcServiceException refused(HttpRequest request, Status.Code code, String description) {
        drain(request);
        return ApiErrors.refusal(code, description);
    }

    private CompletionStage<HttpResponse> refuseHttp(HttpRequest request, org.apache.pekko.http.javadsl.model.StatusCode status,
                                                     String text) {
        drain(request);
        errors.refused(describe(request), status.intValue() + " " + text.strip());
        return CompletableFuture.completedFuture(HttpResponse.create().withStatus(status).withEntity(text));
    }

    private HttpResponse errorResponse(HttpRequest request, Throwable failure) {
        Trailers trailers = errors.trailers(failure, describe(request));
        HttpResponse response = GrpcExceptionHandler.standard(failure, system -> ignored -> trailers, WRITER, system);
        return trailers.getStatus().getCode() == Status.Code.UNIMPLEMENTED
                ? response.addHeader(RawHeader.create(ACCEPT_ENCODING_HEADER, ACCEPTED_ENCODINGS))
                : response;
    }

    /** "Start from DNS:alice" for the log: the method (or the quoted path) and the caller's SANs. */
    private String describe(HttpRequest request) {
        String path = request.getUri().path();
        Descriptors.MethodDescriptor method = methods.get(path);
        String call = method != null ? method.getName() : ClientText.quote(path);
        String caller = request.getHeader(PeerIdentityHeader.NAME).map(HttpHeader::value).orElse("no certificate");
        return call + " from " + ClientText.excerpt(caller);
    }

    private static Map<String, Descriptors.MethodDescriptor> methodsByPath(List<Descriptors.FileDescriptor> files) {
        Map<String, Descriptors.MethodDescriptor> methods = new HashMap<>();
        for (Descriptors.FileDescriptor file : files) {
            for (Descriptors.ServiceDescriptor service : file.getServices()) {
                for (Descriptors.MethodDescriptor method : service.getMethods()) {
                    methods.put("/" + service.getFullName() + "/" + method.getName(), method);
                }
            }
        }
        return Map.copyOf(methods);
    }
}
