package io.rund.api;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.rund.job.ClientText;
import io.rund.job.JobError;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.Trailers;
import org.apache.pekko.grpc.internal.MissingParameterException;
import org.apache.pekko.http.scaladsl.model.http2.PeerClosedStreamException;
import org.apache.pekko.japi.Function;

import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Turns whatever a call failed with into the gRPC status its client gets: the one such mapping of the API (the
 * job layer's typed errors go through {@link JobServiceImpl#statusOf}). Expected failures keep their code and
 * message (escaped and bounded); a bad request is logged in one line ({@link BadRequestLog}); anything else is a bug,
 * answered INTERNAL with a message that says so and logged with its stack trace. Given to pekko-grpc as the handlers'
 * exception mapper, and used by {@link RequestGuard} for the requests it refuses itself.
 */
final class ApiErrors {

    /** The codes that mean "the client sent something rund will not take": each such call is logged. */
    private static final Set<Status.Code> REFUSALS =
            EnumSet.of(Status.Code.INVALID_ARGUMENT, Status.Code.UNIMPLEMENTED, Status.Code.RESOURCE_EXHAUSTED);

    private final BadRequestLog log;

    ApiErrors(BadRequestLog log) {
        this.log = log;
    }

    /** A refusal of the request, with its description escaped and bounded. */
    static GrpcServiceException refusal(Status.Code code, String description) {
        return new GrpcServiceException(Status.fromCode(code).withDescription(ClientText.escape(description)));
    }

    static GrpcServiceException refusal(JobError error) {
        return new GrpcServiceException(JobServiceImpl.statusOf(error));
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
        if (REFUSALS.contains(trailers.getStatus().getCode())) {
            log.refused(call, trailers.getStatus().getCode() + " " + trailers.getStatus().getDescription());
        }
        return trailers;
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
