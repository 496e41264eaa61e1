package io.rund.cluster;

import io.rund.job.JobRegistry;
import io.rund.job.JobSpec;
import io.rund.job.JobState;
import io.rund.job.LabelSelector;
import io.rund.job.EventWindowExceededException;
import org.apache.pekko.stream.javadsl.Source;
import io.rund.logs.LogQuery;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.japi.function.Function;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * The jobs of this host: every call is one ask of the engine's {@link JobRegistry}, which authorizes it. Standalone
 * rund serves with this fleet alone (the cluster of one); in a cluster it answers for this node's own jobs and its
 * gateway serves other nodes' requests with it. {@code askTimeout} must exceed the stop grace period.
 */
public final class LocalFleet implements Fleet {

    /** An {@link #awaitEnd} ask waits this much longer than the registry's own wait, so that it answers first. */
    private static final Duration AWAIT_MARGIN = Duration.ofSeconds(1);

    private final ActorRef<JobRegistry.Command> registry;
    private final ActorSystem<?> engine;
    private final Duration askTimeout;
    private final String hostName;
    private final int defaultPageSize;
    /** Where cgroup files are read for Stats: never on an actor's thread. */
    private final java.util.concurrent.Executor blockingIo;
    private final io.rund.cgroup.UsageSampler sampler;

    /** {@code hostName}: this node's name in a cluster, empty standalone. */
    public LocalFleet(ActorRef<JobRegistry.Command> registry, ActorSystem<?> engine, Duration askTimeout, String hostName) {
        this.registry = registry;
        this.engine = engine;
        this.askTimeout = askTimeout;
        this.hostName = hostName;
        this.defaultPageSize = engine.settings().config().getInt("rund.jobs.list-page-size");
        this.blockingIo = engine.dispatchers().lookup(org.apache.pekko.actor.typed.DispatcherSelector.fromConfig("rund.blocking-dispatcher"));
        this.sampler = new io.rund.cgroup.UsageSampler(java.time.Clock.systemUTC());
    }

    public Duration askTimeout() {
        return askTimeout;
    }

    /** The page size a request of {@code requested} (0: default) is served with. */
    int pageSize(int requested) {
        return requested > 0 ? requested : defaultPageSize;
    }

    @Override
    public CompletionStage<JobRegistry.StartResult> start(JobSpec spec, Set<String> caller, Optional<String> host) {
        return ask(replyTo -> new JobRegistry.StartJob(spec, caller, replyTo), askTimeout);
    }

    @Override
    public CompletionStage<JobRegistry.StatusResult> status(String jobId, Set<String> caller) {
        return ask(replyTo -> new JobRegistry.GetStatus(jobId, caller, replyTo), askTimeout);
    }

    @Override
    public CompletionStage<JobRegistry.StatusResult> stop(String jobId, Set<String> caller) {
        return ask(replyTo -> new JobRegistry.StopJob(jobId, caller, replyTo), askTimeout);
    }

    @Override
    public CompletionStage<JobRegistry.StatusResult> awaitEnd(String jobId, Set<String> caller, Duration atMost) {
        return ask(replyTo -> new JobRegistry.AwaitEnd(jobId, caller, atMost, replyTo), atMost.plus(AWAIT_MARGIN));
    }

    @Override
    public CompletionStage<FleetPage> list(Set<String> caller, Set<JobState> states, Optional<String> after, int pageSize,
                                           LabelSelector selector) {
        return this.<JobRegistry.JobPage>ask(replyTo -> new JobRegistry.ListJobs(caller, states, after, pageSize, replyTo,
                        selector), askTimeout)
                .thenApply(page -> new FleetPage(page.jobs(), page.resumeAfter(), List.of()));
    }

    @Override
    public CompletionStage<JobRegistry.DeleteResult> delete(String jobId, Set<String> caller) {
        return ask(replyTo -> new JobRegistry.DeleteJob(jobId, caller, replyTo), askTimeout);
    }

    @Override
    public CompletionStage<LogOpening> follow(String jobId, Set<String> caller, LogQuery query, String follower) {
        return this.<JobRegistry.LogResult>ask(replyTo -> new JobRegistry.OpenLog(jobId, caller, replyTo), askTimeout)
                .thenApply(result -> switch (result) {
                    case JobRegistry.LogAvailable available -> new LogOpening.Opened(available.log().follow(query, follower));
                    case JobRegistry.JobNotFound notFound -> new LogOpening.NotFound(notFound.jobId());
                });
    }

    @Override
    public CompletionStage<EventOpening> watch(Set<String> caller, Optional<String> jobId, LabelSelector selector,
                                               Optional<Long> after) {
        return this.<JobRegistry.EventsResult>ask(replyTo -> new JobRegistry.OpenEvents(caller, jobId, selector, replyTo), askTimeout)
                .thenApply(result -> switch (result) {
                    case JobRegistry.EventsAvailable available -> {
                        try {
                            Source<io.rund.job.JobEvent, org.apache.pekko.NotUsed> events = available.journal().follow(after, available.wanted());
                            // One job's watch completes after its REMOVED event: nothing can happen to it afterwards.
                            yield new EventOpening.Opened(jobId.isPresent()
                                    ? events.takeWhile(event -> event.type() != io.rund.job.JobEventType.REMOVED, true)
                                    : events, hostName);
                        } catch (EventWindowExceededException e) {
                            yield new EventOpening.Opened(Source.failed(e), hostName);
                        }
                    }
                    case JobRegistry.JobNotFound notFound -> new EventOpening.NotFound(notFound.jobId());
                });
    }

    /** How many of this host's jobs have not ended. */
    public CompletionStage<Integer> activeJobs() {
        return this.<JobRegistry.ActiveJobs>ask(JobRegistry.CountActive::new, askTimeout).thenApply(JobRegistry.ActiveJobs::count);
    }

    @Override
    public CompletionStage<List<NodeInfo>> nodes() {
        return activeJobs().thenApply(count -> List.of(new NodeInfo(hostName, "", 0, true, count)));
    }

    @Override
    public String hostOf(String jobId) {
        return hostName;
    }

    /**
     * The registry says where the job's cgroup is (after authorizing); its files are read on Pekko's blocking-IO
     * dispatcher. A cgroup gone between the two (the job just ended) answers with the job's status now.
     */
    @Override
    public CompletionStage<StatsReading> stats(String jobId, Set<String> caller) {
        return this.<io.rund.job.CgroupLookup>ask(replyTo -> new JobRegistry.LocateCgroup(jobId, caller, replyTo), askTimeout)
                .thenCompose(lookup -> switch (lookup) {
                    case io.rund.job.CgroupLookup.NotFound notFound ->
                            java.util.concurrent.CompletableFuture.<StatsReading>completedFuture(new StatsReading.NotFound(notFound.jobId()));
                    case io.rund.job.CgroupLookup.Ended ended ->
                            java.util.concurrent.CompletableFuture.<StatsReading>completedFuture(new StatsReading.Ended(ended.status()));
                    case io.rund.job.CgroupLookup.Live live -> read(live).thenCompose(sample -> sample.isPresent()
                            ? java.util.concurrent.CompletableFuture.<StatsReading>completedFuture(new StatsReading.Sampled(live.status(), sample.get()))
                            : status(jobId, caller).thenApply(result -> switch (result) {
                                case JobRegistry.StatusReport report -> new StatsReading.Ended(report.status());
                                case JobRegistry.JobNotFound notFound -> new StatsReading.NotFound(notFound.jobId());
                            }));
                });
    }

    /** The sample, or empty if the cgroup is gone (or not made yet); on the blocking-IO dispatcher. */
    private CompletionStage<Optional<io.rund.cgroup.UsageSample>> read(io.rund.job.CgroupLookup.Live live) {
        return java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return Optional.of(sampler.sample(live.cgroup()));
            } catch (io.rund.cgroup.UsageSampler.CgroupGoneException gone) {
                return Optional.empty();
            } catch (io.rund.cgroup.CgroupException e) {
                if (!live.cgroup().exists()) {
                    return Optional.empty(); // removed while its files were read
                }
                throw new java.util.concurrent.CompletionException(e);
            }
        }, blockingIo);
    }

    private <R> CompletionStage<R> ask(Function<ActorRef<R>, JobRegistry.Command> message, Duration timeout) {
        return AskPattern.ask(registry, message, timeout, engine.scheduler());
    }

    @Override
    public CompletionStage<JobRegistry.UpdateResult> update(String jobId, Set<String> caller, io.rund.cgroup.LimitChange change) {
        return ask(replyTo -> new JobRegistry.UpdateLimits(jobId, caller, change, replyTo), askTimeout);
    }

    @Override
    public CompletionStage<JobRegistry.ControlResult> control(String jobId, Set<String> caller, io.rund.job.JobControl control) {
        return ask(replyTo -> new JobRegistry.ControlJob(jobId, caller, control, replyTo), askTimeout.plus(control.extraWait()));
    }
}
