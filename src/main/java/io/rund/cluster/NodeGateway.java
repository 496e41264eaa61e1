package io.rund.cluster;

import io.rund.job.JobError;
import io.rund.job.JobRegistry;
import io.rund.job.JobSpec;
import io.rund.job.JobState;
import io.rund.job.LabelSelector;
import io.rund.job.JobStatus;
import io.rund.logs.LogQuery;
import io.rund.logs.LogStart;
import io.rund.logs.LogStream;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SourceRef;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * This node's door for the others (one per node, in the cluster system, registered with the Receptionist under
 * {@link #KEY}): serves their requests against this host's registry through the {@link LocalFleet}, which authorizes
 * them with the caller's SANs carried as data. It keeps no state: each request is one local ask whose answer goes
 * back to the asking node's reply actor. Failures of the local ask (no answer in time) travel as a reply's text.
 */
public final class NodeGateway {

    public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "rund-gateway");

    private NodeGateway() {}

    public sealed interface Command extends NodeMessage {}

    public record Start(JobSpec spec, Set<String> caller, ActorRef<StartReply> replyTo) implements Command {}

    public record GetStatus(String jobId, Set<String> caller, ActorRef<StatusReply> replyTo) implements Command {}

    public record Stop(String jobId, Set<String> caller, ActorRef<StatusReply> replyTo) implements Command {}

    public record AwaitEnd(String jobId, Set<String> caller, Duration atMost, ActorRef<StatusReply> replyTo) implements Command {}

    /** {@code selector}: a label selector's text (null or empty: any labels), parsed again on the job's host. */
    public record ListJobs(Set<String> caller, Set<JobState> states, String after, int pageSize, ActorRef<PageReply> replyTo,
                           String selector) implements Command {}

    public record Delete(String jobId, Set<String> caller, ActorRef<DeleteReply> replyTo) implements Command {}

    public record CountActive(ActorRef<CountReply> replyTo) implements Command {}

    /**
     * {@code compressedOutput}: the asking node takes output deflated where it compresses ({@link LogFrame.Output});
     * a node that predates compression leaves it out (false) and gets bytes, so mixed versions still follow logs.
     */
    public record OpenLog(String jobId, Set<String> caller, WireQuery query, String follower, ActorRef<LogReply> replyTo,
                          boolean compressedOutput) implements Command {}

    public record Update(String jobId, Set<String> caller, io.rund.cgroup.LimitChange change, ActorRef<UpdateReply> replyTo)
            implements Command {}

    /** The limits in force after the change ({@code inForce}), a refusal ({@code error}), not found (neither), or a failure. */
    public record UpdateReply(String jobId, io.rund.cgroup.Limits inForce, long oomKills, JobError error, String failure)
            implements NodeMessage {}

    public record GetStats(String jobId, Set<String> caller, ActorRef<StatsReply> replyTo) implements Command {}

    /** Job control of one of this node's jobs; see {@link io.rund.job.JobControl}. */
    public record Control(String jobId, Set<String> caller, io.rund.job.JobControl control, ActorRef<ControlReply> replyTo)
            implements Command {}

    /** A started job ({@code jobId} and {@code status}), a refusal ({@code error}), or a failure ({@code failure}). */
    public record StartReply(String jobId, JobStatus status, JobError error, String failure) implements NodeMessage {}

    /** The job's status; null status: not found (for this caller). */
    public record StatusReply(String jobId, JobStatus status, String failure) implements NodeMessage {}

    public record PageReply(List<JobStatus> jobs, String resumeAfter, String failure) implements NodeMessage {}

    /** Deleted, refused ({@code error}) or not found (neither). */
    public record DeleteReply(String jobId, boolean deleted, JobError error, String failure) implements NodeMessage {}

    public record CountReply(int running, String failure) implements NodeMessage {}

    /** The log as a stream ref, or (null) no such job for this caller. */
    public record LogReply(String jobId, SourceRef<LogFrame> log, String failure) implements NodeMessage {}

    /** A sample ({@code status} and {@code sample}), the job ended (status, no sample), or not found (neither). */
    public record StatsReply(String jobId, JobStatus status, io.rund.cgroup.UsageSample sample, String failure)
            implements NodeMessage {}
    /** The job's status after the control, a refusal ({@code error}), not found (neither), or a failure. */
    public record ControlReply(String jobId, JobStatus status, JobError error, String failure) implements NodeMessage {}

    /** A {@link LogQuery} as it crosses: where to start (one of offset, last lines, since), follow, the streams. */
    public record WireQuery(Long offset, Long lastLines, Instant since, boolean follow, Set<LogStream> streams) {

        static WireQuery of(LogQuery query) {
            return switch (query.start()) {
                case LogStart.AtOffset at -> new WireQuery(at.offset(), null, null, query.follow(), query.streams());
                case LogStart.LastLines last -> new WireQuery(null, last.lines(), null, query.follow(), query.streams());
                case LogStart.Since since -> new WireQuery(null, null, since.time(), query.follow(), query.streams());
                case LogStart.Oldest oldest -> new WireQuery(null, null, null, query.follow(), query.streams());
            };
        }

        LogQuery query() {
            LogStart start = offset != null ? new LogStart.AtOffset(offset)
                    : lastLines != null ? new LogStart.LastLines(lastLines)
                    : since != null ? new LogStart.Since(since)
                    : new LogStart.Oldest();
            return new LogQuery(start, follow, streams);
        }
    }

    public static Behavior<Command> create(LocalFleet local, Materializer materializer) {
        return Behaviors.setup(context -> {
            context.getSystem().receptionist().tell(Receptionist.register(KEY, context.getSelf()));
            return Behaviors.receive(Command.class)
                    .onMessage(Start.class, m -> reply(local.start(m.spec(), m.caller(), Optional.empty()), m.replyTo(),
                            result -> switch (result) {
                                case JobRegistry.JobStarted started -> new StartReply(started.jobId(), started.status(), null, null);
                                case JobRegistry.StartRejected rejected -> new StartReply(null, null, rejected.error(), null);
                            }, failure -> new StartReply(null, null, null, failure)))
                    .onMessage(GetStatus.class, m -> reply(local.status(m.jobId(), m.caller()), m.replyTo(),
                            result -> statusReply(m.jobId(), result), failure -> new StatusReply(m.jobId(), null, failure)))
                    .onMessage(Stop.class, m -> reply(local.stop(m.jobId(), m.caller()), m.replyTo(),
                            result -> statusReply(m.jobId(), result), failure -> new StatusReply(m.jobId(), null, failure)))
                    .onMessage(AwaitEnd.class, m -> reply(local.awaitEnd(m.jobId(), m.caller(), m.atMost()), m.replyTo(),
                            result -> statusReply(m.jobId(), result), failure -> new StatusReply(m.jobId(), null, failure)))
                    .onMessage(ListJobs.class, m -> reply(withSelector(m.selector(), selector ->
                                    local.list(m.caller(), m.states(), Optional.ofNullable(m.after()), m.pageSize(), selector)),
                            m.replyTo(), page -> new PageReply(page.jobs(), page.resumeAfter().orElse(null), null),
                            failure -> new PageReply(List.of(), null, failure)))
                    .onMessage(Delete.class, m -> reply(local.delete(m.jobId(), m.caller()), m.replyTo(),
                            result -> switch (result) {
                                case JobRegistry.JobDeleted deleted -> new DeleteReply(m.jobId(), true, null, null);
                                case JobRegistry.DeleteRefused refused -> new DeleteReply(m.jobId(), false, refused.error(), null);
                                case JobRegistry.JobNotFound notFound -> new DeleteReply(m.jobId(), false, null, null);
                            }, failure -> new DeleteReply(m.jobId(), false, null, failure)))
                    .onMessage(CountActive.class, m -> reply(local.activeJobs(), m.replyTo(),
                            count -> new CountReply(count, null), failure -> new CountReply(-1, failure)))
                    .onMessage(OpenLog.class, m -> reply(local.follow(m.jobId(), m.caller(), m.query().query(),
                                    m.follower()), m.replyTo(),
                            opening -> switch (opening) {
                                case LogOpening.Opened opened -> new LogReply(m.jobId(),
                                        LogRelay.offer(opened.records(), m.compressedOutput(), materializer), null);
                                case LogOpening.NotFound notFound -> new LogReply(m.jobId(), null, null);
                            }, failure -> new LogReply(m.jobId(), null, failure)))
                    .onMessage(Update.class, m -> reply(local.update(m.jobId(), m.caller(), m.change()), m.replyTo(),
                            result -> switch (result) {
                                case JobRegistry.LimitsUpdated updated -> new UpdateReply(m.jobId(), updated.inForce(), updated.oomKills(), null, null);
                                case JobRegistry.UpdateRefused refused -> new UpdateReply(m.jobId(), null, 0, refused.error(), null);
                                case JobRegistry.JobNotFound notFound -> new UpdateReply(m.jobId(), null, 0, null, null);
                            }, failure -> new UpdateReply(m.jobId(), null, 0, null, failure)))
                    .onMessage(GetStats.class, m -> reply(local.stats(m.jobId(), m.caller()), m.replyTo(),
                            reading -> switch (reading) {
                                case StatsReading.Sampled sampled -> new StatsReply(m.jobId(), sampled.status(), sampled.sample(), null);
                                case StatsReading.Ended ended -> new StatsReply(m.jobId(), ended.status(), null, null);
                                case StatsReading.NotFound notFound -> new StatsReply(m.jobId(), null, null, null);
                            }, failure -> new StatsReply(m.jobId(), null, null, failure)))
                    .onMessage(Control.class, m -> reply(local.control(m.jobId(), m.caller(), m.control()), m.replyTo(),
                            result -> switch (result) {
                                case JobRegistry.StatusReport report -> new ControlReply(m.jobId(), report.status(), null, null);
                                case JobRegistry.ControlRefused refused -> new ControlReply(m.jobId(), null, refused.error(), null);
                                case JobRegistry.JobNotFound notFound -> new ControlReply(m.jobId(), null, null, null);
                            }, failure -> new ControlReply(m.jobId(), null, null, failure)))
                    .onMessage(OpenEvents.class, m -> reply(withSelector(m.selector(), selector ->
                                    local.watch(m.caller(), Optional.of(m.jobId()), selector, Optional.ofNullable(m.after()))),
                            m.replyTo(),
                            opening -> switch (opening) {
                                case EventOpening.Opened opened -> new EventsReply(m.jobId(), EventRelay.offer(opened.events(), materializer), null);
                                case EventOpening.NotFound notFound -> new EventsReply(m.jobId(), null, null);
                            }, failure -> new EventsReply(m.jobId(), null, failure)))
                    .build();
        });
    }

    /** {@code call} with the selector {@code text} states; one that does not parse (the API checked it) fails it. */
    private static <T> CompletionStage<T> withSelector(String text,
                                                       java.util.function.Function<LabelSelector, CompletionStage<T>> call) {
        try {
            return call.apply(text == null ? LabelSelector.everything() : LabelSelector.parse(text));
        } catch (LabelSelector.InvalidSelectorException e) {
            return java.util.concurrent.CompletableFuture.failedFuture(new IllegalArgumentException("label selector " + e.getMessage()));
        }
    }

    private static StatusReply statusReply(String jobId, JobRegistry.StatusResult result) {
        return switch (result) {
            case JobRegistry.StatusReport report -> new StatusReply(jobId, report.status(), null);
            case JobRegistry.JobNotFound notFound -> new StatusReply(jobId, null, null);
        };
    }

    /** Answers {@code replyTo} when the local call completes; the actor goes on at once (never blocks). */
    private static <T, R> Behavior<Command> reply(CompletionStage<T> call, ActorRef<R> replyTo, Function<T, R> answer,
                                                  Function<String, R> failed) {
        Consumer<R> send = replyTo::tell;
        call.whenComplete((value, error) -> send.accept(error == null
                ? answer.apply(value)
                : failed.apply("the node did not answer: " + error.getMessage())));
        return Behaviors.same();
    }

    /** Opens the events of job {@code jobId} on its host, after sequence {@code after} (null: from now on). */
    public record OpenEvents(String jobId, Set<String> caller, String selector, Long after, ActorRef<EventsReply> replyTo)
            implements Command {}

    /** The job's events as a stream ref, or (null) no such job for this caller. */
    public record EventsReply(String jobId, SourceRef<EventFrame> events, String failure) implements NodeMessage {}
}
