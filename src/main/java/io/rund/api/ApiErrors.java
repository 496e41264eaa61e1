package io.rund.api;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.job.ClientText;
import io.rund.job.JobError;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.Trailers;
import org.apache.pekko.grpc.internal.MissingParameterException;
import org.apache.pekko.grpc.javadsl.BytesEntry;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.grpc.javadsl.MetadataBuilder;
import org.apache.pekko.grpc.javadsl.MetadataEntry;
import org.apache.pekko.grpc.javadsl.StringEntry;
import org.apache.pekko.http.scaladsl.model.http2.PeerClosedStreamException;
import org.apache.pekko.japi.Function;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.util.ByteString;

import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Turns whatever a call failed with into the gRPC status its client gets: the one such mapping of the API. Expected
 * failures keep their code and message (escaped and bounded); a bad request is logged in one line
 * ({@link BadRequestLog}); anything else is a bug, answered INTERNAL with a message that says so and logged with its
 * stack trace. Every error also carries, in {@value #DETAILS_KEY}, a {@code google.rpc.Status} holding one
 * {@code google.rpc.ErrorInfo}: domain {@value #DOMAIN}, a stable reason (README lists them: a job error's
 * {@link JobError.Reason}, or rund's own such as {@value #JOB_NOT_FOUND}, or else the code's name) and the field at
 * fault in its metadata. Given to pekko-grpc as the handlers' exception mapper, and used by {@link RequestGuard} for
 * the requests it refuses itself.
 */
final class ApiErrors {

    /** The codes that mean "the client sent something rund will not take": each such call is logged. */
    private static final Set<Status.Code> REFUSALS =
            EnumSet.of(Status.Code.INVALID_ARGUMENT, Status.Code.UNIMPLEMENTED, Status.Code.RESOURCE_EXHAUSTED);

    /** The trailer gRPC's rich error model reads: a binary google.rpc.Status with the details. */
    static final String DETAILS_KEY = "grpc-status-details-bin";
    /** ErrorInfo.domain of every rund error. */
    static final String DOMAIN = "rund.io";
    /** ErrorInfo.metadata key naming the request field at fault. */
    static final String FIELD = "field";
    /** ErrorInfo.metadata key naming the job an error concerns. */
    static final String JOB_ID = "jobId";
    /** ErrorInfo.metadata key of OFFSET_DROPPED: the first offset still retained (also in its own trailer). */
    static final String RETAINED_FROM = "retainedFrom";
    // rund's own reasons beyond JobError.Reason and the code names.
    static final String JOB_NOT_FOUND = "JOB_NOT_FOUND";
    static final String OFFSET_DROPPED = "OFFSET_DROPPED";
    /** A Watch asked for events its host no longer keeps (or another daemon's): OUT_OF_RANGE with the oldest kept. */
    static final String EVENTS_DROPPED = "EVENTS_DROPPED";
    static final String TOO_MANY_FOLLOWERS = "TOO_MANY_FOLLOWERS";
    static final String REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE";
    static final String NO_ANSWER = "NO_ANSWER";
    static final String HOST_UNREACHABLE = "HOST_UNREACHABLE";
    /** ErrorInfo.metadata key of HOST_UNREACHABLE: the node that owns the job (or was asked) and cannot be reached. */
    static final String HOST = "host";

    private final BadRequestLog log;

    ApiErrors(BadRequestLog log) {
        this.log = log;
    }

    /** A refusal of the request, with its description escaped and bounded; its reason is the code's name. */
    static GrpcServiceException refusal(Status.Code code, String description) {
        return refusal(code, code.name(), Map.of(), description);
    }

    /** A refusal of a request whose {@code field} is at fault (ErrorInfo metadata "field"). */
    static GrpcServiceException invalidField(String field, String description) {
        return refusal(Status.Code.INVALID_ARGUMENT, Status.Code.INVALID_ARGUMENT.name(), Map.of(FIELD, field), description);
    }

    /** The job layer's expected failure: its kind decides the code, its reason and field the details. */
    static GrpcServiceException refusal(JobError error) {
        Status.Code code = switch (error.kind()) {
            case INVALID_ARGUMENT -> Status.Code.INVALID_ARGUMENT;
            case FAILED_PRECONDITION -> Status.Code.FAILED_PRECONDITION;
            case RESOURCE_EXHAUSTED -> Status.Code.RESOURCE_EXHAUSTED;
            case UNAVAILABLE -> Status.Code.UNAVAILABLE;
        };
        return refusal(code, error.reason().name(), error.field().isEmpty() ? Map.of() : Map.of(FIELD, error.field()),
                error.toString());
    }

    /** A job on a cluster node this one cannot reach now: UNAVAILABLE naming the host (retry once it is back). */
    static GrpcServiceException hostUnreachable(io.rund.cluster.HostUnreachableException e) {
        return refusal(Status.Code.UNAVAILABLE, HOST_UNREACHABLE, Map.of(HOST, e.host()), e.getMessage());
    }

    /** A job that does not exist, or that the caller may not see (the same answer, on purpose). */
    static GrpcServiceException jobNotFound(String jobId) {
        return refusal(Status.Code.NOT_FOUND, JOB_NOT_FOUND, Map.of(JOB_ID, jobId), "job " + jobId + " not found");
    }

    /**
     * A refusal with code, reason and ErrorInfo metadata; {@code trailers} are further plain trailers (such as
     * rund-retained-from, which predates the details).
     */
    static GrpcServiceException refusal(Status.Code code, String reason, Map<String, String> info, String description,
                                        Map<String, String> trailers) {
        Status status = Status.fromCode(code).withDescription(ClientText.escape(description));
        MetadataBuilder metadata = new MetadataBuilder();
        trailers.forEach(metadata::addText);
        metadata.addBinary(DETAILS_KEY, details(status, reason, info));
        return new GrpcServiceException(status, metadata.build());
    }

    static GrpcServiceException refusal(Status.Code code, String reason, Map<String, String> info, String description) {
        return refusal(code, reason, info, description, Map.of());
    }

    /** The reason a refusal's details carry, or {@code null} when they carry none (read back for the audit log). */
    static String reasonOf(Metadata metadata) {
        return metadata.getBinary(DETAILS_KEY).map(bytes -> {
            try {
                for (Any detail : com.google.rpc.Status.parseFrom(bytes.toArray()).getDetailsList()) {
                    if (detail.is(ErrorInfo.class)) {
                        return detail.unpack(ErrorInfo.class).getReason();
                    }
                }
                return null;
            } catch (InvalidProtocolBufferException e) {
                return null;
            }
        }).orElse(null);
    }

    private static ByteString details(Status status, String reason, Map<String, String> info) {
        ErrorInfo errorInfo = ErrorInfo.newBuilder().setDomain(DOMAIN).setReason(reason).putAllMetadata(info).build();
        com.google.rpc.Status rich = com.google.rpc.Status.newBuilder()
                .setCode(status.getCode().value())
                .setMessage(status.getDescription() == null ? "" : status.getDescription())
                .addDetails(Any.pack(errorInfo))
                .build();
        return ByteString.fromArrayUnsafe(rich.toByteArray());
    }

    /** The exception mapper for pekko-grpc's generated handlers. */
    Function<ActorSystem, Function<Throwable, Trailers>> mapper() {
        return system -> failure -> trailers(failure, "a call");
    }

    /** Logs a request refused outside gRPC (plain HTTP: another protocol version or content type). */
    void refused(String call, String answer) {
        log.refused(call, answer);
    }

    /** The trailers that answer a call which failed with {@code failure}; {@code call} names it in the log. */
    Trailers trailers(Throwable failure, String call) {
        Throwable cause = unwrap(failure);
        Trailers trailers = switch (cause) {
            case GrpcServiceException e -> new Trailers(bounded(e.getStatus()), e.getMetadata());
            case StatusRuntimeException e -> new Trailers(bounded(e.getStatus()));
            case InvalidProtocolBufferException e -> new Trailers(Status.INVALID_ARGUMENT.withDescription(
                    ClientText.escape("request is not a valid protobuf message: " + e.getMessage())));
            case MissingParameterException e -> new Trailers(Status.INVALID_ARGUMENT.withDescription(
                    "the call carries no request message"));
            case PeerClosedStreamException e -> new Trailers(Status.CANCELLED.withDescription("the client reset the stream"));
            default -> {
                log.internalError(call, cause);
                yield new Trailers(Status.INTERNAL.withDescription("internal error in rund (logged by the server): "
                        + ClientText.escape(cause.getClass().getSimpleName())));
            }
        };
        trailers = withDetails(trailers.getStatus(), trailers.getMetadata());
        if (REFUSALS.contains(trailers.getStatus().getCode())) {
            log.refused(call, trailers.getStatus().getCode() + " " + trailers.getStatus().getDescription());
        }
        return trailers;
    }

    /**
     * {@code status} with {@code metadata}, adding details with the code's name as reason where they lack: every
     * error a client gets carries an ErrorInfo, whatever raised it (pekko-grpc, a library, rund's own code).
     */
    private static Trailers withDetails(Status status, Metadata metadata) {
        if (status.isOk() || metadata.getBinary(DETAILS_KEY).isPresent()) {
            return new Trailers(status, metadata);
        }
        MetadataBuilder added = new MetadataBuilder();
        for (Pair<String, MetadataEntry> entry : metadata.asList()) {
            switch (entry.second()) {
                case StringEntry text -> added.addText(entry.first(), text.getValue());
                case BytesEntry bytes -> added.addBinary(entry.first(), bytes.getValue());
                default -> { }
            }
        }
        added.addBinary(DETAILS_KEY, details(status, status.getCode().name(), Map.of()));
        return new Trailers(status, added.build());
    }

    private static Status bounded(Status status) {
        return status.getDescription() == null ? status : status.withDescription(ClientText.escape(status.getDescription()));
    }

    private static Throwable unwrap(Throwable failure) {
        Throwable cause = failure;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }
}
