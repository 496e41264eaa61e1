package io.rund.api;

import io.grpc.StatusRuntimeException;
import io.rund.proto.v1.DeleteRequest;
import io.rund.proto.v1.DeleteResponse;
import io.rund.proto.v1.JobControllerPowerApi;
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
import org.apache.pekko.NotUsed;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.stream.javadsl.Source;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * The service with an {@link AuditLog} line for each mutating call once it has ended: Start, Stop and Delete (and any
 * mutating method added later must be added here). Reads pass through. The outcome is OK or the gRPC code and the
 * ErrorInfo reason the client got ({@link ApiErrors}); requests refused before the service (malformed, too large)
 * never reach it and are in the daemon's bad-request log instead.
 */
final class AuditedJobService implements JobControllerPowerApi, LogsMessage.Service {

    private static final String INTERNAL = "INTERNAL";

    private final JobControllerPowerApi service;
    private final AuditLog audit;

    AuditedJobService(JobControllerPowerApi service, AuditLog audit) {
        this.service = service;
        this.audit = audit;
    }

    @Override
    public CompletionStage<StartResponse> start(StartRequest in, Metadata metadata) {
        return audited("Start", metadata, in.getCommand(), in.getArgsList(), StartResponse::getJobId, "",
                () -> service.start(in, metadata));
    }

    @Override
    public CompletionStage<StopResponse> stop(StopRequest in, Metadata metadata) {
        return audited("Stop", metadata, null, List.of(), response -> in.getJobId(), in.getJobId(),
                () -> service.stop(in, metadata));
    }

    @Override
    public CompletionStage<DeleteResponse> delete(DeleteRequest in, Metadata metadata) {
        return audited("Delete", metadata, null, List.of(), response -> in.getJobId(), in.getJobId(),
                () -> service.delete(in, metadata));
    }

    @Override
    public CompletionStage<io.rund.proto.v1.UpdateResponse> update(io.rund.proto.v1.UpdateRequest in, Metadata metadata) {
        return audited("Update", metadata, null, List.of(), response -> in.getJobId(), in.getJobId(),
                () -> service.update(in, metadata));
    }

    @Override
    public CompletionStage<io.rund.proto.v1.NodesResponse> nodes(io.rund.proto.v1.NodesRequest in, Metadata metadata) {
        return service.nodes(in, metadata); // reads only: not audited
    }

    @Override
    public CompletionStage<StatusResponse> status(StatusRequest in, Metadata metadata) {
        return service.status(in, metadata);
    }

    @Override
    public CompletionStage<ListResponse> list(ListRequest in, Metadata metadata) {
        return service.list(in, metadata);
    }

    @Override
    public Source<LogChunk, NotUsed> logs(LogsRequest in, Metadata metadata) {
        return service.logs(in, metadata);
    }

    @Override
    public Source<LogsMessage, NotUsed> logMessages(LogsRequest in, Metadata metadata) {
        return LogsMessage.of(service, in, metadata);
    }

    @Override
    public Source<io.rund.proto.v1.JobEvent, NotUsed> watch(io.rund.proto.v1.WatchRequest in, Metadata metadata) {
        return service.watch(in, metadata); // reads only: not audited
    }

    private interface Call<R> {
        CompletionStage<R> run();
    }

    /**
     * Runs {@code call} and records how it ended; {@code command} is null for calls that carry none, the job id is
     * taken from the response when it succeeded and is {@code requestedJobId} otherwise.
     */
    private <R> CompletionStage<R> audited(String method, Metadata metadata, String command, List<String> args,
                                           Function<R, String> jobIdOf, String requestedJobId, Call<R> call) {
        CompletionStage<R> result;
        try {
            result = call.run();
        } catch (RuntimeException e) {
            result = CompletableFuture.failedFuture(e);
        }
        return result.whenComplete((response, failure) -> {
            String outcome = AuditLog.OK;
            String reason = "";
            if (failure != null) {
                Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
                switch (cause) {
                    case GrpcServiceException e -> {
                        outcome = e.getStatus().getCode().name();
                        reason = String.valueOf(ApiErrors.reasonOf(e.getMetadata()));
                    }
                    case StatusRuntimeException e -> outcome = e.getStatus().getCode().name();
                    default -> outcome = INTERNAL;
                }
            }
            audit.record(new AuditLog.Entry(method, PeerIdentityHeader.read(metadata), PeerAddressHeader.read(metadata),
                    failure == null ? jobIdOf.apply(response) : requestedJobId, command, args, outcome, reason));
        });
    }

    @Override
    public Source<io.rund.proto.v1.StatsSample, NotUsed> stats(io.rund.proto.v1.StatsRequest in, Metadata metadata) {
        return service.stats(in, metadata); // reads only: not audited
    }

    @Override
    public CompletionStage<io.rund.proto.v1.SignalResponse> signal(io.rund.proto.v1.SignalRequest in, Metadata metadata) {
        return audited("Signal", metadata, null, List.of(), response -> in.getJobId(), in.getJobId(),
                () -> service.signal(in, metadata));
    }

    @Override
    public CompletionStage<io.rund.proto.v1.PauseResponse> pause(io.rund.proto.v1.PauseRequest in, Metadata metadata) {
        return audited("Pause", metadata, null, List.of(), response -> in.getJobId(), in.getJobId(),
                () -> service.pause(in, metadata));
    }

    @Override
    public CompletionStage<io.rund.proto.v1.ResumeResponse> resume(io.rund.proto.v1.ResumeRequest in, Metadata metadata) {
        return audited("Resume", metadata, null, List.of(), response -> in.getJobId(), in.getJobId(),
                () -> service.resume(in, metadata));
    }
}
