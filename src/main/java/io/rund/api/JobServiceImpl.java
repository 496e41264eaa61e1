package io.rund.api;

import com.google.protobuf.CodedOutputStream;
import io.grpc.Status;
import io.rund.cluster.Fleet;
import io.rund.cluster.FleetPage;
import io.rund.cluster.HostUnreachableException;
import io.rund.cluster.LogOpening;
import io.rund.cluster.NodeInfo;
import io.rund.cluster.StatsReading;
import io.rund.job.ClientText;
import io.rund.job.JobError;
import io.rund.job.JobRegistry;
import io.rund.job.JobSpec;
import io.rund.job.JobState;
import io.rund.job.JobStatus;
import io.rund.job.EventWindowExceededException;
import io.rund.job.LabelSelector;
import io.rund.job.LabelSettings;
import io.rund.job.GroupRequest;
import io.rund.job.GroupSettings;
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
import io.rund.proto.v1.StatsRequest;
import io.rund.proto.v1.StatsSample;
import io.rund.proto.v1.StatusRequest;
import io.rund.proto.v1.StatusResponse;
import io.rund.proto.v1.StopRequest;
import io.rund.proto.v1.StopResponse;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.pf.PFBuilder;
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
public final class JobServiceImpl implements JobControllerPowerApi, LogsMessage.Service {

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
    private final Duration minStatsInterval;
    private final ControlSettings control;
    private final LabelSettings labelSettings;
    private final GroupSettings groupSettings;

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
        this.minStatsInterval = system.settings().config().getDuration(MIN_STATS_INTERVAL);
        this.control = ControlSettings.fromConfig(system.settings().config().getConfig("rund"));
        this.labelSettings = LabelSettings.fromConfig(system.settings().config().getConfig("rund"));
        this.groupSettings = GroupSettings.fromConfig(system.settings().config().getConfig("rund"));
    }

    @Override
    public CompletionStage<StartResponse> start(StartRequest in, Metadata metadata) {
        Set<String> caller = PeerIdentityHeader.read(metadata);
        JobSpec spec;
        try {
            spec = ProtoMapping.fromProto(in);
            if (in.hasTimeout()) {
                spec = spec.withTimeout(timeout(in.getTimeout()));
            }
        } catch (InvalidRequestException e) {
            return CompletableFuture.failedFuture(failure(e.error()));
        }
        Map<String, String> labels = spec.labels();
        Optional<JobError> tooManyLabels = Labels.validate(labels)
                .or(() -> Labels.validateCaps(labels, labelSettings.maxCount(), labelSettings.maxBytes()));
        if (tooManyLabels.isPresent()) {
            return CompletableFuture.failedFuture(failure(tooManyLabels.get()));
        }
        GroupRequest groups = ProtoMapping.groupsOf(in);
        Optional<JobError> badGroups = groups.validate(groupSettings.maxGroups());
        if (badGroups.isPresent()) {
            return CompletableFuture.failedFuture(failure(badGroups.get()));
        }
        spec = spec.withGroups(groups);
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
        if (in.hasGracePeriod() || in.getForce()) {
            io.rund.job.JobControl asked;
            try {
                asked = stopControl(in);
            } catch (InvalidRequestException e) {
                return CompletableFuture.failedFuture(failure(e.error()));
            }
            return withValidId(in.getJobId(), jobId -> controlled(jobId, caller, asked))
                    .thenApply(status -> StopResponse.newBuilder().setStatus(toProto(status)).build());
        }
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
                        .setReachable(node.reachable()).setRunningJobs(node.runningJobs()).setOtherCluster(node.otherCluster()));
            }
            return reply.build();
        });
    }

    @Override
    public Source<LogChunk, NotUsed> logs(LogsRequest in, Metadata metadata) {
        return logMessages(in, metadata).map(LogsMessage::toChunk);
    }

    /** Logs as the API's own handler serves it: records stay records until they are serialized. */
    @Override
    public Source<LogsMessage, NotUsed> logMessages(LogsRequest in, Metadata metadata) {
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
        CompletionStage<Source<LogsMessage, NotUsed>> opened = answer(fleet.follow(jobId, caller, query, follower))
                .thenApply(result -> switch (result) {
                    case LogOpening.Opened available -> available.records()
                            .<LogsMessage>map(record -> new LogsMessage.Output(record, timestamps))
                            .mapError(LOG_FAILURES)
                            // concatLazy: a stream cancelled by its client never asks for the trailer's status
                            .concatLazy(Source.lazyCompletionStage(() -> (query.follow()
                                            ? finalStatus(jobId, caller)
                                            : currentStatus(jobId, caller))
                                    .<LogsMessage>thenApply(status -> new LogsMessage.Chunk(ProtoMapping.trailer(status, fleet.hostOf(jobId))))));
                    case LogOpening.NotFound notFound -> Source.<LogsMessage>failed(notFound(notFound.jobId()));
                });
        return Source.completionStageSource(opened).mapMaterializedValue(ignored -> NotUsed.notUsed());
    }

    /** How a Logs stream's failures reach its client: one stage per follower rather than three. */
    private static final scala.PartialFunction<Throwable, Throwable> LOG_FAILURES = new PFBuilder<Throwable, Throwable>()
            .match(OffsetDroppedException.class, JobServiceImpl::outOfRange)
            .match(HostUnreachableException.class, ApiErrors::hostUnreachable)
            .match(FollowerLimitException.class, e -> ApiErrors.refusal(Status.Code.RESOURCE_EXHAUSTED,
                    ApiErrors.TOO_MANY_FOLLOWERS, Map.of(), e.getMessage()))
            .build();

    private static GrpcServiceException outOfRange(OffsetDroppedException e) {
        String retainedFrom = Long.toString(e.firstRetainedOffset());
        return ApiErrors.refusal(Status.Code.OUT_OF_RANGE, ApiErrors.OFFSET_DROPPED,
                Map.of(ApiErrors.FIELD, "from_offset", ApiErrors.RETAINED_FROM, retainedFrom), e.getMessage(),
                Map.of(RETAINED_FROM_KEY, retainedFrom));
    }

    /** Changes a running job's limits on its host; the reply holds those in force, read back from its cgroup. */
    @Override
    public CompletionStage<io.rund.proto.v1.UpdateResponse> update(io.rund.proto.v1.UpdateRequest in, Metadata metadata) {
        Set<String> caller = PeerIdentityHeader.read(metadata);
        io.rund.cgroup.LimitChange change = new io.rund.cgroup.LimitChange(ProtoMapping.fromProto(in.getLimits()),
                Set.copyOf(in.getClearList()));
        boolean limitsAsked = !change.set().isEmpty() || !change.lifted().isEmpty();
        Optional<Duration> timeout;
        try {
            timeout = in.hasTimeout() ? Optional.of(timeout(in.getTimeout())) : Optional.empty();
        } catch (InvalidRequestException e) {
            return CompletableFuture.failedFuture(failure(e.error()));
        }
        return withValidId(in.getJobId(), jobId -> {
            // Limits first (an empty change without a timeout is refused there, naming what to give), then the deadline.
            CompletionStage<io.rund.proto.v1.UpdateResponse.Builder> limits = limitsAsked || timeout.isEmpty()
                    ? answer(fleet.update(jobId, caller, change)).thenCompose(result -> switch (result) {
                        case JobRegistry.LimitsUpdated updated -> CompletableFuture.completedFuture(
                                io.rund.proto.v1.UpdateResponse.newBuilder().setLimits(ProtoMapping.toProto(updated.inForce()))
                                        .setOomKills(updated.oomKills()));
                        case JobRegistry.UpdateRefused refused -> CompletableFuture.<io.rund.proto.v1.UpdateResponse.Builder>failedFuture(failure(refused.error()));
                        case JobRegistry.JobNotFound notFound -> CompletableFuture.<io.rund.proto.v1.UpdateResponse.Builder>failedFuture(notFound(notFound.jobId()));
                    })
                    : CompletableFuture.completedFuture(io.rund.proto.v1.UpdateResponse.newBuilder());
            if (timeout.isEmpty()) {
                return limits.thenApply(io.rund.proto.v1.UpdateResponse.Builder::build);
            }
            java.time.Instant deadline = java.time.Instant.now().plus(timeout.get());
            return limits.thenCompose(reply -> controlled(jobId, caller, io.rund.job.JobControl.setDeadline(deadline))
                    .thenApply(status -> reply.setDeadline(com.google.protobuf.Timestamp.newBuilder()
                            .setSeconds(deadline.getEpochSecond()).setNanos(deadline.getNano())).build()));
        });
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
        io.rund.proto.v1.JobStatus proto = ProtoMapping.toProto(status); // with job control's part (frozen_for, deadline)
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

    // ---- Stats (issue 14): samples of the job's cgroup, read on its host ----

    /** A Stats stream's longest interval: the scheduler's ticks have a bound, and an hour apart is no longer "live". */
    static final Duration MAX_STATS_INTERVAL = Duration.ofHours(1);

    /** The setting that bounds a Stats stream's interval below. */
    static final String MIN_STATS_INTERVAL = "rund.stats.min-interval";

    /**
     * One sample, or (with an interval) one at once and then one per interval until the job has ended: the stream
     * polls the fleet (one-sample requests, routed to the job's host) and ends OK when the job has ended or is gone.
     * A job that has already ended fails with FAILED_PRECONDITION naming its state.
     */
    @Override
    public Source<StatsSample, NotUsed> stats(StatsRequest in, Metadata metadata) {
        Set<String> caller = PeerIdentityHeader.read(metadata);
        String jobId;
        try {
            jobId = JobIds.canonical(in.getJobId());
        } catch (InvalidRequestException e) {
            return Source.failed(failure(e.error()));
        }
        String host = fleet.hostOf(jobId);
        Source<StatsSample, NotUsed> first = Source.completionStage(answer(fleet.stats(jobId, caller))
                .thenCompose(reading -> firstSample(jobId, reading, host)));
        if (!in.hasInterval()) {
            return first;
        }
        Duration interval = Duration.ofSeconds(in.getInterval().getSeconds(), in.getInterval().getNanos());
        Duration minInterval = minStatsInterval();
        if (interval.compareTo(MAX_STATS_INTERVAL) > 0) {
            return Source.failed(ApiErrors.invalidField("interval", "interval: must be at most "
                    + MAX_STATS_INTERVAL.toMinutes() + " minutes, was " + interval.toSeconds() + " s"));
        }
        if (interval.compareTo(minInterval) < 0) {
            return Source.failed(ApiErrors.invalidField("interval", "interval: must be at least " + minInterval.toMillis()
                    + " ms (" + MIN_STATS_INTERVAL + "), was " + interval.toMillis() + " ms"));
        }
        Source<StatsSample, NotUsed> rest = Source.tick(interval, interval, NotUsed.notUsed())
                .mapAsync(1, tick -> answer(fleet.stats(jobId, caller)))
                .takeWhile(reading -> !(reading instanceof StatsReading.NotFound)
                        && !(reading instanceof StatsReading.Ended ended && ended.status().state().isFinal()))
                .filter(reading -> reading instanceof StatsReading.Sampled)
                .map(reading -> StatsMapping.toProto(((StatsReading.Sampled) reading).status(),
                        ((StatsReading.Sampled) reading).sample(), host))
                .mapMaterializedValue(cancellable -> NotUsed.notUsed());
        return first.concatLazy(rest);
    }

    private Duration minStatsInterval() {
        return minStatsInterval;
    }

    private static CompletionStage<StatsSample> firstSample(String jobId, StatsReading reading, String host) {
        return switch (reading) {
            case StatsReading.Sampled sampled -> CompletableFuture.completedFuture(
                    StatsMapping.toProto(sampled.status(), sampled.sample(), host));
            case StatsReading.NotFound notFound -> CompletableFuture.failedFuture(notFound(notFound.jobId()));
            case StatsReading.Ended ended -> CompletableFuture.failedFuture(ApiErrors.refusal(
                    Status.Code.FAILED_PRECONDITION, ended.status().state().isFinal()
                            ? "job " + jobId + " has ended (" + ended.status().state() + "): it has no live usage; its final usage is in Status"
                            : "job " + jobId + " is " + ended.status().state() + ": its cgroup cannot be read yet; ask again"));
        };
    }

    // ---- job control: Signal, Pause, Resume, Stop's grace period and force, Start's timeout ----

    @Override
    public CompletionStage<io.rund.proto.v1.SignalResponse> signal(io.rund.proto.v1.SignalRequest in, Metadata metadata) {
        Set<String> caller = PeerIdentityHeader.read(metadata);
        java.util.OptionalInt signal = io.rund.linux.Signals.parse(in.getSignal());
        if (signal.isEmpty()) {
            return CompletableFuture.failedFuture(failure(JobError.invalid("signal", ClientText.quote(in.getSignal())
                    + " is not a signal: give a name (HUP, SIGTERM, RTMIN+1) or a number from 1 to 64")));
        }
        return withValidId(in.getJobId(), jobId -> controlled(jobId, caller,
                        io.rund.job.JobControl.signal(signal.getAsInt(), in.getAll())))
                .thenApply(status -> io.rund.proto.v1.SignalResponse.newBuilder().setStatus(toProto(status)).build());
    }

    @Override
    public CompletionStage<io.rund.proto.v1.PauseResponse> pause(io.rund.proto.v1.PauseRequest in, Metadata metadata) {
        Set<String> caller = PeerIdentityHeader.read(metadata);
        return withValidId(in.getJobId(), jobId -> controlled(jobId, caller, io.rund.job.JobControl.pause()))
                .thenApply(status -> io.rund.proto.v1.PauseResponse.newBuilder().setStatus(toProto(status)).build());
    }

    @Override
    public CompletionStage<io.rund.proto.v1.ResumeResponse> resume(io.rund.proto.v1.ResumeRequest in, Metadata metadata) {
        Set<String> caller = PeerIdentityHeader.read(metadata);
        return withValidId(in.getJobId(), jobId -> controlled(jobId, caller, io.rund.job.JobControl.resume()))
                .thenApply(status -> io.rund.proto.v1.ResumeResponse.newBuilder().setStatus(toProto(status)).build());
    }

    private CompletionStage<JobStatus> controlled(String jobId, Set<String> caller, io.rund.job.JobControl asked) {
        return answer(fleet.control(jobId, caller, asked))
                .thenCompose(result -> switch (result) {
                    case JobRegistry.StatusReport report -> CompletableFuture.completedFuture(report.status());
                    case JobRegistry.ControlRefused refused -> CompletableFuture.<JobStatus>failedFuture(failure(refused.error()));
                    case JobRegistry.JobNotFound notFound -> CompletableFuture.<JobStatus>failedFuture(notFound(notFound.jobId()));
                });
    }

    /** Stop with its own grace period, or forced; INVALID_ARGUMENT for a grace period out of bounds, or with force. */
    private io.rund.job.JobControl stopControl(StopRequest in) throws InvalidRequestException {
        if (!in.hasGracePeriod()) {
            return io.rund.job.JobControl.stop(null, true);
        }
        if (in.getForce()) {
            throw new InvalidRequestException(JobError.invalid("grace_period",
                    "must be absent with force (a forced Stop kills at once)"));
        }
        Duration grace = ProtoMapping.fromProto(in.getGracePeriod(), "grace_period");
        if (grace.isNegative() || grace.compareTo(control.maxStopGracePeriod()) > 0) {
            throw new InvalidRequestException(JobError.invalid("grace_period", "must be from 0 to "
                    + control.maxStopGracePeriod().toSeconds() + "s (rund.control.max-stop-grace-period), was " + grace));
        }
        return io.rund.job.JobControl.stop(grace, false);
    }

    private Duration timeout(com.google.protobuf.Duration proto) throws InvalidRequestException {
        Duration timeout = ProtoMapping.fromProto(proto, "timeout");
        if (timeout.isNegative() || timeout.isZero() || timeout.compareTo(control.maxTimeout()) > 0) {
            throw new InvalidRequestException(JobError.invalid("timeout", "must be above 0 and at most "
                    + control.maxTimeout().toSeconds() + "s (rund.control.max-timeout), was " + timeout));
        }
        return timeout;
    }

    private static final String LABEL_SELECTOR_FIELD = "label_selector";

    /** Every Watch stream delivers the same journal events: each is mapped to its proto once for all of them. */
    private final WatchEventProtos watchEventProtos = new WatchEventProtos();

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
                            .map(event -> watchEventProtos.toProto(event, events.host()))
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
