package io.rund.api;

import com.google.protobuf.CodedOutputStream;
import io.grpc.Status;
import io.rund.cluster.Fleet;
import io.rund.cluster.FleetPage;
import io.rund.cluster.HostUnreachableException;
import io.rund.cluster.LogOpening;
import io.rund.cluster.NodeInfo;
import io.rund.job.ClientText;
import io.rund.job.JobError;
import io.rund.job.JobRegistry;
import io.rund.job.JobSpec;
import io.rund.job.JobState;
import io.rund.job.JobStatus;
import io.rund.job.EventWindowExceededException;
import io.rund.job.LabelSelector;
import io.rund.job.LabelSettings;
import io.rund.job.Labels;
import io.rund.cluster.EventOpening;
import io.rund.proto.v1.JobEvent;
import io.rund.proto.v1.WatchRequest;
import io.rund.logs.FollowerLimitException;
import io.rund.logs.LogQuery;
import io.rund.logs.LogSpace;
import io.rund.logs.OffsetDroppedException;
import io.rund.proto.v1.DeleteRequest;
import io.rund.proto.v1.DeleteResponse;
import io.rund.proto.v1.JobControllerPowerApi;
import io.rund.proto.v1.ListRequest;
import io.rund.proto.v1.ListResponse;
import io.rund.proto.v1.Node;
import io.rund.proto.v1.NodesRequest;
import io.rund.proto.v1.NodesResponse;
import io.rund.proto.v1.LogChunk;
import io.rund.proto.v1.LogsRequest;
import io.rund.proto.v1.StartRequest;
import io.rund.proto.v1.StartResponse;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StatusResponse;
import io.rund.proto.v1.StopRequest;
import io.rund.proto.v1.StopResponse;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcServiceException;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.stream.javadsl.Source;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;

/**
 * The gRPC service: the one place where proto messages, gRPC status codes and the job layer's types meet.
 * Each call reads the caller's SANs (put there from the TLS session by {@link ApiServer}), asks the {@link Fleet}
 * (this host's {@link JobRegistry}, or the job's host in a cluster) with a timeout longer than a stop can take, and
 * maps the typed reply to a response or,
 * through {@link ApiErrors}, to a gRPC status. A job the caller may not see answers NOT_FOUND, as does one that
 * does not exist. A Logs stream is the job's log as a Pekko Streams source (HTTP/2 flow control is its
 * back-pressure), then a trailer with the job's status: for a following stream, the final one, which the job's
 * actor sends once the job has ended.
 */
public final class JobServiceImpl implements JobControllerPowerApi {

    /**
     * How long a following Logs stream whose output has ended waits for the job to end. Normally that is at once
     * (the output ends as the job exits); a job that closed its stdout and stderr but runs on keeps its
     * followers waiting, up to this long, after which the trailer carries the status it has then.
     */
    static final Duration FINAL_STATUS_WAIT = Duration.ofDays(1);
    /** Trailing metadata of an OUT_OF_RANGE Logs call: the offset where the retained output starts. */
    public static final String RETAINED_FROM_KEY = "rund-retained-from";
    /** A call waiting for the job's end gives up this much before its ask would time out. */
    static final Duration AWAIT_END_MARGIN = Duration.ofSeconds(1);

    /** The setting that bounds a List reply's encoded size. */
    static final String MAX_LIST_REPLY_BYTES = "rund.api.max-list-reply-bytes";
    private static final String PAGE_TOKEN_FIELD = "page_token";
    private static final int JOBS_FIELD = ListResponse.JOBS_FIELD_NUMBER;

    private final Fleet fleet;
    private final Duration askTimeout;
    private final long maxListReplyBytes;
    private final LabelSettings labelSettings;

    /**
     * The service over {@code fleet}: this host's jobs alone, or a cluster's ({@link io.rund.cluster.Fleets}).
     * {@code askTimeout} must exceed the stop grace period: Stop answers once the job has ended. The List reply's byte
     * budget is read from the system's configuration ({@value #MAX_LIST_REPLY_BYTES}).
     */
    public JobServiceImpl(Fleet fleet, ActorSystem<?> system, Duration askTimeout) {
        this.fleet = fleet;
        this.askTimeout = askTimeout;
        this.maxListReplyBytes = system.settings().config().getBytes(MAX_LIST_REPLY_BYTES);
        if (maxListReplyBytes < 1) {
            throw new IllegalArgumentException(MAX_LIST_REPLY_BYTES + " must be > 0, was " + maxListReplyBytes);
        }
        this.labelSettings = LabelSettings.fromConfig(system.settings().config().getConfig("rund"));
    }

    @Override
    public CompletionStage<StartResponse> start(StartRequest in, Metadata metadata) {
        Set<String> caller = PeerIdentityHeader.read(metadata);
        JobSpec spec;
        try {
            spec = ProtoMapping.fromProto(in);
        } catch (InvalidRequestException e) {
            return CompletableFuture.failedFuture(failure(e.error()));
        }
        Optional<JobError> tooManyLabels = Labels.validate(spec.labels())
                .or(() -> Labels.validateCaps(spec.labels(), labelSettings.maxCount(), labelSettings.maxBytes()));
        if (tooManyLabels.isPresent()) {
            return CompletableFuture.failedFuture(failure(tooManyLabels.get()));
        }
        Optional<String> host = in.getHost().isEmpty() ? Optional.empty() : Optional.of(in.getHost());
        return answer(fleet.start(spec, caller, host))
                .thenCompose(result -> switch (result) {
                    case JobRegistry.JobStarted started -> CompletableFuture.completedFuture(StartResponse.newBuilder()
                            .setJobId(started.jobId())
                            .setStatus(toProto(started.status()))
                            .build());
                    case JobRegistry.StartRejected rejected -> CompletableFuture.failedFuture(failure(rejected.error()));
                });
    }

    @Override
    public CompletionStage<StopResponse> stop(StopRequest in, Metadata metadata) {
        Set<String> caller = PeerIdentityHeader.read(metadata);
        return withValidId(in.getJobId(), jobId -> answer(fleet.stop(jobId, caller))
                .thenCompose(result -> statusOrNotFound(result))
                .thenApply(status -> StopResponse.newBuilder().setStatus(toProto(status)).build()));
    }

    @Override
    public CompletionStage<StatusResponse> status(StatusRequest in, Metadata metadata) {
        Set<String> caller = PeerIdentityHeader.read(metadata);
        return withValidId(in.getJobId(), jobId -> (in.getWaitForEnd()
                        ? endStatus(jobId, caller, GrpcDeadline.of(metadata))
                        : currentStatus(jobId, caller))
                .thenApply(status -> StatusResponse.newBuilder().setStatus(toProto(status)).build()));
    }

    /**
     * One page of the registry's (bounded in count and in jobs examined), cut short here before the encoded reply
     * would pass {@link #maxListReplyBytes}; the token then names the last job sent. A reply holds at least one job.
     */
    @Override
    public CompletionStage<ListResponse> list(ListRequest in, Metadata metadata) {
        Set<String> caller = PeerIdentityHeader.read(metadata);
        Set<JobState> states;
        Optional<String> after;
        LabelSelector selector;
        try {
            states = ProtoMapping.fromProto(in.getStatesList());
            after = pageToken(in.getPageToken());
            selector = selector(LABEL_SELECTOR_FIELD, in.getLabelSelector());
        } catch (InvalidRequestException e) {
            return CompletableFuture.failedFuture(failure(e.error()));
        }
        return answer(fleet.list(caller, states, after, in.getPageSize(), selector))
                .thenApply(this::listResponse);
    }

    private ListResponse listResponse(FleetPage page) {
        ListResponse.Builder reply = ListResponse.newBuilder().addAllUnreachableHosts(page.unreachableHosts());
        long bytes = 0;
        for (JobStatus job : page.jobs()) {
            io.rund.proto.v1.JobStatus status = toProto(job);
            int size = CodedOutputStream.computeMessageSize(JOBS_FIELD, status);
            if (reply.getJobsCount() > 0 && bytes + size > maxListReplyBytes) {
                return reply.setNextPageToken(reply.getJobs(reply.getJobsCount() - 1).getId()).build();
            }
            bytes += size;
            reply.addJobs(status);
        }
        page.resumeAfter().ifPresent(reply::setNextPageToken);
        return reply.build();
    }

    /** The id a page token names (empty: the first page). Tokens are job ids today; clients must not rely on it. */
    private static Optional<String> pageToken(String token) throws InvalidRequestException {
        if (token.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(JobIds.canonical(token));
        } catch (InvalidRequestException e) {
            throw new InvalidRequestException(JobError.invalid(PAGE_TOKEN_FIELD, ClientText.quote(token)
                    + " is not a token from an earlier List reply: pass next_page_token as it came, or none for the first page"));
        }
    }

    @Override
    public CompletionStage<DeleteResponse> delete(DeleteRequest in, Metadata metadata) {
        Set<String> caller = PeerIdentityHeader.read(metadata);
        return withValidId(in.getJobId(), jobId -> answer(fleet.delete(jobId, caller))
                .thenCompose(result -> switch (result) {
                    case JobRegistry.JobDeleted deleted -> CompletableFuture.completedFuture(DeleteResponse.getDefaultInstance());
                    case JobRegistry.DeleteRefused refused -> CompletableFuture.<DeleteResponse>failedFuture(failure(refused.error()));
                    case JobRegistry.JobNotFound notFound -> CompletableFuture.<DeleteResponse>failedFuture(notFound(notFound.jobId()));
                }));
    }

    /** The cluster's members as this node sees them (standalone: itself, unnamed). Any authenticated caller may ask. */
    @Override
    public CompletionStage<NodesResponse> nodes(NodesRequest in, Metadata metadata) {
        return answer(fleet.nodes()).thenApply(nodes -> {
            NodesResponse.Builder reply = NodesResponse.newBuilder();
            for (NodeInfo node : nodes) {
                reply.addNodes(Node.newBuilder().setName(node.name()).setAddress(node.address()).setIndex(node.index())
                        .setReachable(node.reachable()).setRunningJobs(node.runningJobs()));
            }
            return reply.build();
        });
    }

    @Override
    public Source<LogChunk, NotUsed> logs(LogsRequest in, Metadata metadata) {
        Set<String> caller = PeerIdentityHeader.read(metadata);
        String jobId;
        LogQuery query;
        try {
            jobId = JobIds.canonical(in.getJobId());
            query = ProtoMapping.fromProto(in);
        } catch (InvalidRequestException e) {
            return Source.failed(failure(e.error()));
        }
        boolean timestamps = in.getTimestamps();
        String follower = LogSpace.identityOf(caller);
        CompletionStage<Source<LogChunk, NotUsed>> opened = answer(fleet.follow(jobId, caller, query, follower))
                .thenApply(result -> switch (result) {
                    case LogOpening.Opened available -> available.records()
                            .map(record -> ProtoMapping.toProto(record, timestamps))
                            .mapError(OffsetDroppedException.class, JobServiceImpl::outOfRange)
                            .mapError(HostUnreachableException.class, ApiErrors::hostUnreachable)
                            .mapError(FollowerLimitException.class, e -> ApiErrors.refusal(Status.Code.RESOURCE_EXHAUSTED,
                                    ApiErrors.TOO_MANY_FOLLOWERS, Map.of(), e.getMessage()))
                            // concatLazy: a stream cancelled by its client never asks for the trailer's status
                            .concatLazy(Source.lazyCompletionStage(() -> (query.follow()
                                            ? finalStatus(jobId, caller)
                                            : currentStatus(jobId, caller))
                                    .thenApply(status -> ProtoMapping.trailer(status, fleet.hostOf(jobId)))));
                    case LogOpening.NotFound notFound -> Source.<LogChunk>failed(notFound(notFound.jobId()));
                });
        return Source.completionStageSource(opened).mapMaterializedValue(ignored -> NotUsed.notUsed());
    }

    private static GrpcServiceException outOfRange(OffsetDroppedException e) {
        String retainedFrom = Long.toString(e.firstRetainedOffset());
        return ApiErrors.refusal(Status.Code.OUT_OF_RANGE, ApiErrors.OFFSET_DROPPED,
                Map.of(ApiErrors.FIELD, "from_offset", ApiErrors.RETAINED_FROM, retainedFrom), e.getMessage(),
                Map.of(RETAINED_FROM_KEY, retainedFrom));
    }

    private static GrpcServiceException failure(JobError error) {
        return ApiErrors.refusal(error);
    }

    private static GrpcServiceException notFound(String jobId) {
        return ApiErrors.jobNotFound(jobId);
    }

    private interface Call<T> {
        CompletionStage<T> run(String canonicalJobId);
    }

    /** Runs {@code call} with the job id in its canonical form ({@link JobIds}), or fails naming the field. */
    private static <T> CompletionStage<T> withValidId(String jobId, Call<T> call) {
        try {
            return call.run(JobIds.canonical(jobId));
        } catch (InvalidRequestException e) {
            return CompletableFuture.failedFuture(failure(e.error()));
        }
    }

    private CompletionStage<JobStatus> currentStatus(String jobId, Set<String> caller) {
        return answer(fleet.status(jobId, caller))
                .thenCompose(JobServiceImpl::statusOrNotFound);
    }

    /**
     * The job's status once it has ended. The wait holds no thread (the registry answers when the job's final status
     * arrives) and is bounded only by the client's deadline (grpc-timeout): it answers, with the status the job has
     * then, {@link #AWAIT_END_MARGIN} before that deadline, so the client gets a status rather than DEADLINE_EXCEEDED.
     * Without a deadline it waits as long as the job runs, in waits of {@link #FINAL_STATUS_WAIT} each.
     */
    private CompletionStage<JobStatus> endStatus(String jobId, Set<String> caller, Optional<Duration> deadline) {
        Duration atMost = deadline.map(left -> left.compareTo(AWAIT_END_MARGIN.multipliedBy(2)) > 0
                        ? left.minus(AWAIT_END_MARGIN) : left.dividedBy(2))
                .orElse(FINAL_STATUS_WAIT);
        return answer(fleet.awaitEnd(jobId, caller, atMost))
                .thenCompose(JobServiceImpl::statusOrNotFound)
                .thenCompose(status -> status.state().isFinal() || deadline.isPresent()
                        ? CompletableFuture.completedFuture(status)
                        : endStatus(jobId, caller, deadline));
    }

    /**
     * The job's status once it is final, for a following Logs stream's trailer. Its output ends just before its
     * exit is published (the pump drains the pipes first), so this usually answers within milliseconds.
     */
    private CompletionStage<JobStatus> finalStatus(String jobId, Set<String> caller) {
        return answer(fleet.awaitEnd(jobId, caller, FINAL_STATUS_WAIT))
                .thenCompose(JobServiceImpl::statusOrNotFound);
    }

    private static CompletionStage<JobStatus> statusOrNotFound(JobRegistry.StatusResult result) {
        return switch (result) {
            case JobRegistry.StatusReport report -> CompletableFuture.completedFuture(report.status());
            case JobRegistry.JobNotFound notFound -> CompletableFuture.failedFuture(notFound(notFound.jobId()));
        };
    }

    /** The job's status in proto form, naming its host in a cluster. */
    private io.rund.proto.v1.JobStatus toProto(JobStatus status) {
        String host = fleet.hostOf(status.id());
        io.rund.proto.v1.JobStatus proto = ProtoMapping.toProto(status);
        return host.isEmpty() ? proto : proto.toBuilder().setHost(host).build();
    }

    /** The fleet's answer, its expected failures (no answer in time, an unreachable host) as gRPC statuses. */
    private <R> CompletionStage<R> answer(CompletionStage<R> call) {
        return call.exceptionallyCompose(e -> {
            Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof HostUnreachableException unreachable) {
                return CompletableFuture.failedFuture(ApiErrors.hostUnreachable(unreachable));
            }
            if (cause instanceof TimeoutException) {
                return CompletableFuture.failedFuture(ApiErrors.refusal(Status.Code.UNAVAILABLE, ApiErrors.NO_ANSWER, Map.of(),
                        "rund did not answer within " + askTimeout.toSeconds() + "s"));
            }
            return CompletableFuture.failedFuture(cause);
        });
    }

    private static final String LABEL_SELECTOR_FIELD = "label_selector";

    /** The selector {@code text} states (empty: any labels), or INVALID_ARGUMENT naming the field and position. */
    private static LabelSelector selector(String field, String text) throws InvalidRequestException {
        try {
            return LabelSelector.parse(text);
        } catch (LabelSelector.InvalidSelectorException e) {
            throw new InvalidRequestException(JobError.invalid(field, e.getMessage() + " in " + ClientText.quote(text)));
        }
    }

    /**
     * The job's events (or every visible job's, or a selector's) as they happen, after the sequence the client names.
     * The stream reads the host's journal only as the client asks for more (HTTP/2 flow control); a client that falls
     * behind the journal's ring gets OUT_OF_RANGE with the oldest sequence kept, as one resuming too late does.
     */
    @Override
    public Source<JobEvent, NotUsed> watch(WatchRequest in, Metadata metadata) {
        Set<String> caller = PeerIdentityHeader.read(metadata);
        Optional<String> jobId;
        LabelSelector selector;
        try {
            jobId = in.getJobId().isEmpty() ? Optional.empty() : Optional.of(JobIds.canonical(in.getJobId()));
            selector = selector(LABEL_SELECTOR_FIELD, in.getLabelSelector());
        } catch (InvalidRequestException e) {
            return Source.failed(failure(e.error()));
        }
        Optional<Long> after = in.hasAfterSequence() ? Optional.of(in.getAfterSequence().getValue()) : Optional.empty();
        if (after.isPresent() && after.get() < 0) {
            return Source.failed(ApiErrors.invalidField("after_sequence", "must be below 2^63, was "
                    + Long.toUnsignedString(after.get())));
        }
        CompletionStage<Source<JobEvent, NotUsed>> opened = answer(fleet.watch(caller, jobId, selector, after))
                .thenApply(opening -> switch (opening) {
                    case EventOpening.Opened events -> events.events()
                            .map(event -> ProtoMapping.toProto(event, events.host()))
                            .mapError(EventWindowExceededException.class, JobServiceImpl::windowExceeded)
                            .mapError(HostUnreachableException.class, ApiErrors::hostUnreachable);
                    case EventOpening.NotFound notFound -> Source.<JobEvent>failed(notFound(notFound.jobId()));
                });
        return Source.completionStageSource(opened).mapMaterializedValue(ignored -> NotUsed.notUsed());
    }

    private static GrpcServiceException windowExceeded(EventWindowExceededException e) {
        String oldest = Long.toString(e.oldestRetained());
        return ApiErrors.refusal(Status.Code.OUT_OF_RANGE, ApiErrors.EVENTS_DROPPED,
                Map.of(ApiErrors.FIELD, "after_sequence", ApiErrors.RETAINED_FROM, oldest), e.getMessage(),
                Map.of(RETAINED_FROM_KEY, oldest));
    }
}
