package io.rund.cluster;

import io.rund.job.JobError;
import io.rund.job.JobIds;
import io.rund.job.JobRegistry;
import io.rund.job.JobSpec;
import io.rund.job.JobState;
import io.rund.job.LabelSelector;
import io.rund.job.JobStatus;
import io.rund.logs.LogQuery;
import io.rund.logs.LogRecord;
import org.apache.pekko.NotUsed;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.RemoteStreamRefActorTerminatedException;
import org.apache.pekko.stream.javadsl.AsPublisher;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.japi.function.Function;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

/**
 * The fleet of a cluster node: a job's id names its host (the node index in its ULID), so each request goes to this
 * node's {@link LocalFleet} or, as one ask, to the owner's {@link NodeGateway}; an id naming no known member is looked
 * up here. Requests pending on a host fail with {@link HostUnreachableException} as soon as the {@link Directory}
 * says it is unreachable (not at their timeout); so do log streams from it. Start goes to the named host, or to the
 * one with fewer running jobs of two reachable hosts picked at random; List merges every reachable host's page by id.
 */
final class ClusteredFleet implements Fleet {

    /** An await-end ask waits this much longer than the owner's own wait, so that the owner answers first. */
    private static final Duration AWAIT_MARGIN = Duration.ofSeconds(2);
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ClusteredFleet.class);

    private final LocalFleet local;
    private final Duration askTimeout;
    private final Map<Integer, Set<CompletableFuture<?>>> pending = new ConcurrentHashMap<>();
    private final Map<Integer, CompletableFuture<String>> lossWatchers = new ConcurrentHashMap<>();
    private volatile Directory directory;
    private volatile ClusterNode node;

    ClusteredFleet(LocalFleet local, Duration askTimeout, Directory initial) {
        this.local = local;
        this.askTimeout = askTimeout;
        this.directory = initial;
    }

    void attach(ClusterNode node) {
        this.node = node;
    }

    ClusterNode node() {
        return node;
    }

    /** A new picture of the fleet: what is pending on a host that cannot be reached now fails at once. */
    void onDirectory(Directory changed) {
        directory = changed;
        pending.forEach((index, calls) -> {
            if (!changed.reachable(index)) {
                HostUnreachableException lost = unreachable(changed.peer(index).map(Directory.Peer::name).orElse("#" + index));
                if (!calls.isEmpty()) {
                    LOG.info("{} request(s) pending on {} answer UNAVAILABLE: it cannot be reached now", calls.size(), lost.host());
                }
                List.copyOf(calls).forEach(call -> call.completeExceptionally(lost));
            }
        });
        lossWatchers.forEach((index, watcher) -> {
            if (!changed.reachable(index)) {
                lossWatchers.remove(index, watcher);
                watcher.complete(changed.peer(index).map(Directory.Peer::name).orElse("#" + index));
            }
        });
    }

    private static HostUnreachableException unreachable(String host) {
        return new HostUnreachableException(host, "the host " + host + " that owns the job cannot be reached now; try again once it is back");
    }

    /** The remote owner of {@code jobId}, or empty: this node's own job (or one of no known member). */
    private Optional<Directory.Peer> owner(String jobId) {
        int index = JobIds.nodeIndex(jobId);
        Directory now = directory;
        return index == now.selfIndex() ? Optional.empty() : now.peer(index);
    }

    @Override
    public String hostOf(String jobId) {
        return owner(jobId).map(Directory.Peer::name).orElse(directory.selfName());
    }

    @Override
    public CompletionStage<JobRegistry.StartResult> start(JobSpec spec, Set<String> caller, Optional<String> host) {
        Directory now = directory;
        if (host.isPresent()) {
            if (host.get().equals(now.selfName())) {
                return local.start(spec, caller, host);
            }
            Optional<Directory.Peer> named = now.peerNamed(host.get());
            if (named.isEmpty()) {
                List<String> known = new ArrayList<>();
                known.add(now.selfName());
                now.others().forEach(peer -> known.add(peer.name()));
                return CompletableFuture.completedFuture(new JobRegistry.StartRejected(JobError.invalid("host",
                        "no cluster node is named " + quote(host.get()) + ": the nodes are " + String.join(", ", known.stream().sorted().toList()))));
            }
            return startOn(named.get(), spec, caller);
        }
        List<Optional<Directory.Peer>> candidates = new ArrayList<>();
        candidates.add(Optional.empty());
        now.others().stream().filter(peer -> now.reachable(peer.index())).forEach(peer -> candidates.add(Optional.of(peer)));
        if (candidates.size() == 1) {
            return local.start(spec, caller, host);
        }
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int first = random.nextInt(candidates.size());
        int second = (first + 1 + random.nextInt(candidates.size() - 1)) % candidates.size();
        List<Optional<Directory.Peer>> picked = List.of(candidates.get(first), candidates.get(second));
        List<CompletableFuture<Integer>> loads = picked.stream()
                .map(candidate -> load(candidate).toCompletableFuture().exceptionally(e -> Integer.MAX_VALUE)).toList();
        return CompletableFuture.allOf(loads.toArray(CompletableFuture[]::new)).thenCompose(done -> {
            Optional<Directory.Peer> least = loads.get(0).join() <= loads.get(1).join() ? picked.get(0) : picked.get(1);
            return least.isEmpty() ? local.start(spec, caller, host) : startOn(least.get(), spec, caller);
        });
    }

    private CompletionStage<Integer> load(Optional<Directory.Peer> candidate) {
        if (candidate.isEmpty()) {
            return local.activeJobs();
        }
        return this.<NodeGateway.CountReply>ask(candidate.get(), NodeGateway.CountActive::new, askTimeout)
                .thenCompose(reply -> reply.failure() == null ? done(reply.running()) : failedAnswer(reply.failure()));
    }

    private CompletionStage<JobRegistry.StartResult> startOn(Directory.Peer peer, JobSpec spec, Set<String> caller) {
        return this.<NodeGateway.StartReply>ask(peer, replyTo -> new NodeGateway.Start(spec, caller, replyTo), askTimeout)
                .thenCompose(reply -> reply.failure() != null ? failedAnswer(reply.failure())
                        : reply.error() != null ? done(new JobRegistry.StartRejected(reply.error()))
                        : done(new JobRegistry.JobStarted(reply.jobId(), reply.status())));
    }

    @Override
    public CompletionStage<JobRegistry.StatusResult> status(String jobId, Set<String> caller) {
        Optional<Directory.Peer> owner = owner(jobId);
        return owner.isEmpty() ? local.status(jobId, caller)
                : statusAsk(owner.get(), replyTo -> new NodeGateway.GetStatus(jobId, caller, replyTo), askTimeout);
    }

    @Override
    public CompletionStage<JobRegistry.StatusResult> stop(String jobId, Set<String> caller) {
        Optional<Directory.Peer> owner = owner(jobId);
        return owner.isEmpty() ? local.stop(jobId, caller)
                : statusAsk(owner.get(), replyTo -> new NodeGateway.Stop(jobId, caller, replyTo), askTimeout);
    }

    @Override
    public CompletionStage<JobRegistry.StatusResult> awaitEnd(String jobId, Set<String> caller, Duration atMost) {
        Optional<Directory.Peer> owner = owner(jobId);
        return owner.isEmpty() ? local.awaitEnd(jobId, caller, atMost)
                : statusAsk(owner.get(), replyTo -> new NodeGateway.AwaitEnd(jobId, caller, atMost, replyTo), atMost.plus(AWAIT_MARGIN));
    }

    private CompletionStage<JobRegistry.StatusResult> statusAsk(Directory.Peer peer,
                                                                Function<ActorRef<NodeGateway.StatusReply>, NodeGateway.Command> message,
                                                                Duration timeout) {
        return this.<NodeGateway.StatusReply>ask(peer, message, timeout)
                .thenCompose(reply -> reply.failure() != null ? failedAnswer(reply.failure())
                        : reply.status() == null ? done(new JobRegistry.JobNotFound(reply.jobId()))
                        : done(new JobRegistry.StatusReport(reply.status())));
    }

    @Override
    public CompletionStage<JobRegistry.DeleteResult> delete(String jobId, Set<String> caller) {
        Optional<Directory.Peer> owner = owner(jobId);
        if (owner.isEmpty()) {
            return local.delete(jobId, caller);
        }
        return this.<NodeGateway.DeleteReply>ask(owner.get(), replyTo -> new NodeGateway.Delete(jobId, caller, replyTo), askTimeout)
                .thenCompose(reply -> reply.failure() != null ? failedAnswer(reply.failure())
                        : reply.deleted() ? done(new JobRegistry.JobDeleted(jobId))
                        : reply.error() != null ? done(new JobRegistry.DeleteRefused(reply.error()))
                        : done(new JobRegistry.JobNotFound(jobId)));
    }

    /**
     * Every reachable host's page after {@code after}, merged by id. A host whose page stopped short (it has more)
     * bounds the merged page: nothing past its last id is sent, so the next call, from the merged page's last id,
     * misses none of its jobs. The token is a job id, valid on every node.
     */
    @Override
    public CompletionStage<FleetPage> list(Set<String> caller, Set<JobState> states, Optional<String> after, int pageSize,
                                           LabelSelector selector) {
        Directory now = directory;
        List<String> unreachable = new ArrayList<>();
        List<CompletableFuture<Optional<FleetPage>>> pages = new ArrayList<>();
        pages.add(local.list(caller, states, after, pageSize, selector).thenApply(Optional::of).toCompletableFuture());
        for (Directory.Peer peer : now.others()) {
            if (!now.reachable(peer.index())) {
                unreachable.add(peer.name());
                continue;
            }
            pages.add(this.<NodeGateway.PageReply>ask(peer,
                            replyTo -> new NodeGateway.ListJobs(caller, states, after.orElse(null), pageSize, replyTo,
                                    selector.text()), askTimeout)
                    .thenApply(reply -> reply.failure() != null ? Optional.<FleetPage>empty()
                            : Optional.of(new FleetPage(reply.jobs(), Optional.ofNullable(reply.resumeAfter()), List.of())))
                    .toCompletableFuture()
                    .exceptionally(e -> {
                        synchronized (unreachable) {
                            unreachable.add(peer.name());
                        }
                        return Optional.empty();
                    }));
        }
        int limit = local.pageSize(pageSize);
        return CompletableFuture.allOf(pages.toArray(CompletableFuture[]::new)).thenApply(done -> {
            List<JobStatus> merged = new ArrayList<>();
            Optional<String> bound = Optional.empty();
            for (CompletableFuture<Optional<FleetPage>> page : pages) {
                Optional<FleetPage> answered = page.join();
                if (answered.isEmpty()) {
                    continue;
                }
                merged.addAll(answered.get().jobs());
                Optional<String> more = answered.get().resumeAfter();
                if (more.isPresent() && (bound.isEmpty() || more.get().compareTo(bound.get()) < 0)) {
                    bound = more;
                }
            }
            merged.sort(Comparator.comparing(JobStatus::id));
            Optional<String> cut = bound;
            List<JobStatus> jobs = merged.stream().filter(job -> cut.isEmpty() || job.id().compareTo(cut.get()) <= 0)
                    .limit(limit).collect(Collectors.toList());
            boolean more = bound.isPresent() || jobs.size() < merged.size();
            Optional<String> resumeAfter = !more ? Optional.empty()
                    : jobs.isEmpty() ? bound : Optional.of(jobs.getLast().id());
            List<String> lost;
            synchronized (unreachable) {
                lost = List.copyOf(unreachable);
            }
            return new FleetPage(jobs, resumeAfter, lost.stream().sorted().toList());
        });
    }

    @Override
    public CompletionStage<LogOpening> follow(String jobId, Set<String> caller, LogQuery query, String follower) {
        Optional<Directory.Peer> owner = owner(jobId);
        if (owner.isEmpty()) {
            return local.follow(jobId, caller, query, follower);
        }
        Directory.Peer peer = owner.get();
        return this.<NodeGateway.LogReply>ask(peer,
                        replyTo -> new NodeGateway.OpenLog(jobId, caller, NodeGateway.WireQuery.of(query), follower, replyTo,
                                true), askTimeout)
                .thenCompose(reply -> reply.failure() != null ? failedAnswer(reply.failure())
                        : reply.log() == null ? done(new LogOpening.NotFound(jobId))
                        : done(new LogOpening.Opened(inClusterSystem(LogRelay.receive(reply.log(), lossOf(peer.index()))
                                // The owner's stream stage ended without an end before its loss was reported (its
                                // cluster layer stopped): the follower learns which host, not Pekko's actor paths.
                                .mapError(RemoteStreamRefActorTerminatedException.class, e -> new HostUnreachableException(
                                        peer.name(), "the job's host " + peer.name() + " ended its log stream without an"
                                        + " end (its cluster layer stopped); resume from the last offset once it is back"))))));
    }

    /**
     * {@code records} run in the cluster system and handed over as a Reactive Streams publisher (demand still flows
     * end to end): a stream ref's receiving stage must belong to the system that crosses the wire, or the owner's
     * answers go to an address it cannot reach (measured: RemoteStreamCompleted went to dead letters).
     */
    private <T> Source<T, NotUsed> inClusterSystem(Source<T, NotUsed> records) {
        Materializer materializer = Materializer.matFromSystem(node.system());
        return Source.fromPublisher(records.runWith(Sink.asPublisher(AsPublisher.WITHOUT_FANOUT), materializer));
    }

    /** Completes with the host's name once {@code index} is seen unreachable (at once if it is now). */
    private CompletionStage<String> lossOf(int index) {
        CompletableFuture<String> watcher = lossWatchers.computeIfAbsent(index, i -> new CompletableFuture<>());
        Directory now = directory;
        if (!now.reachable(index)) {
            lossWatchers.remove(index, watcher);
            watcher.complete(now.peer(index).map(Directory.Peer::name).orElse("#" + index));
        }
        return watcher;
    }

    @Override
    public CompletionStage<List<NodeInfo>> nodes() {
        Directory now = directory;
        List<CompletableFuture<NodeInfo>> nodes = new ArrayList<>();
        nodes.add(local.activeJobs().thenApply(count -> new NodeInfo(now.selfName(), now.selfAddress(), now.selfIndex(), true, count))
                .toCompletableFuture());
        Map<Integer, SplitWatch.Split> elsewhere = new java.util.TreeMap<>();
        ClusterNode membership = node;
        if (membership != null) {
            membership.splits().values().forEach(split -> elsewhere.put(split.seen().index(), split));
        }
        for (SplitWatch.Split split : elsewhere.values()) {
            if (now.peer(split.seen().index()).isEmpty()) {
                nodes.add(CompletableFuture.completedFuture(new NodeInfo(split.seen().name(), split.seen().address(),
                        split.seen().index(), false, -1, true)));
            }
        }
        for (Directory.Peer peer : now.others()) {
            NodeInfo lost = new NodeInfo(peer.name(), peer.address(), peer.index(), false, -1, elsewhere.containsKey(peer.index()));
            if (!now.reachable(peer.index())) {
                nodes.add(CompletableFuture.completedFuture(lost));
                continue;
            }
            nodes.add(load(Optional.of(peer))
                    .thenApply(count -> new NodeInfo(peer.name(), peer.address(), peer.index(), true, count))
                    .toCompletableFuture()
                    .exceptionally(e -> lost));
        }
        return CompletableFuture.allOf(nodes.toArray(CompletableFuture[]::new))
                .thenApply(done -> nodes.stream().map(CompletableFuture::join).sorted(Comparator.comparing(NodeInfo::name)).toList());
    }

    /**
     * One ask of {@code peer}'s gateway through the current cluster system, failed at once with
     * {@link HostUnreachableException} if the peer is or becomes unreachable before it answers.
     */
    private <R> CompletionStage<R> ask(Directory.Peer peer, Function<ActorRef<R>, NodeGateway.Command> message, Duration timeout) {
        Directory now = directory;
        ClusterNode current = node;
        if (!now.reachable(peer.index()) || current == null) {
            return CompletableFuture.failedFuture(unreachable(peer.name()));
        }
        ActorRef<NodeGateway.Command> gateway = now.peer(peer.index()).flatMap(Directory.Peer::gateway).orElseThrow();
        CompletableFuture<R> result = new CompletableFuture<>();
        Set<CompletableFuture<?>> calls = pending.computeIfAbsent(peer.index(), index -> ConcurrentHashMap.newKeySet());
        calls.add(result);
        result.whenComplete((value, error) -> calls.remove(result));
        if (!directory.reachable(peer.index())) { // lost while registering: onDirectory may have missed this call
            result.completeExceptionally(unreachable(peer.name()));
            return result;
        }
        AskPattern.ask(gateway, message, timeout, current.system().scheduler()).whenComplete((value, error) -> {
            if (error == null) {
                result.complete(value);
            } else {
                Throwable cause = error.getCause() != null && error instanceof java.util.concurrent.CompletionException ? error.getCause() : error;
                result.completeExceptionally(cause instanceof TimeoutException ? cause
                        : new TimeoutException("the host " + peer.name() + " did not answer: " + cause.getMessage()));
            }
        });
        return result;
    }

    @Override
    public CompletionStage<StatsReading> stats(String jobId, Set<String> caller) {
        Optional<Directory.Peer> owner = owner(jobId);
        if (owner.isEmpty()) {
            return local.stats(jobId, caller);
        }
        return this.<NodeGateway.StatsReply>ask(owner.get(), replyTo -> new NodeGateway.GetStats(jobId, caller, replyTo), askTimeout)
                .thenCompose(reply -> reply.failure() != null ? failedAnswer(reply.failure())
                        : reply.status() == null ? done(new StatsReading.NotFound(reply.jobId()))
                        : reply.sample() == null ? done(new StatsReading.Ended(reply.status()))
                        : done(new StatsReading.Sampled(reply.status(), reply.sample())));
    }

    private static <T> CompletionStage<T> done(T value) {
        return CompletableFuture.completedFuture(value);
    }

    private static <T> CompletionStage<T> failedAnswer(String failure) {
        return CompletableFuture.failedFuture(new TimeoutException(failure));
    }

    private static String quote(String text) {
        return "\"" + (text.length() > 64 ? text.substring(0, 64) + "..." : text) + "\"";
    }

    @Override
    public CompletionStage<JobRegistry.UpdateResult> update(String jobId, Set<String> caller, io.rund.cgroup.LimitChange change) {
        Optional<Directory.Peer> owner = owner(jobId);
        if (owner.isEmpty()) {
            return local.update(jobId, caller, change);
        }
        return this.<NodeGateway.UpdateReply>ask(owner.get(), replyTo -> new NodeGateway.Update(jobId, caller, change, replyTo), askTimeout)
                .thenCompose(reply -> reply.failure() != null ? failedAnswer(reply.failure())
                        : reply.error() != null ? done(new JobRegistry.UpdateRefused(reply.error()))
                        : reply.inForce() == null ? done(new JobRegistry.JobNotFound(jobId))
                        : done(new JobRegistry.LimitsUpdated(jobId, reply.inForce(), reply.oomKills())));
    }

    @Override
    public CompletionStage<JobRegistry.ControlResult> control(String jobId, Set<String> caller, io.rund.job.JobControl control) {
        Optional<Directory.Peer> owner = owner(jobId);
        if (owner.isEmpty()) {
            return local.control(jobId, caller, control);
        }
        return this.<NodeGateway.ControlReply>ask(owner.get(), replyTo -> new NodeGateway.Control(jobId, caller, control, replyTo),
                        askTimeout.plus(control.extraWait()))
                .thenCompose(reply -> reply.failure() != null ? failedAnswer(reply.failure())
                        : reply.status() != null ? done(new JobRegistry.StatusReport(reply.status()))
                        : reply.error() != null ? done(new JobRegistry.ControlRefused(reply.error()))
                        : done(new JobRegistry.JobNotFound(jobId)));
    }

    /**
     * One job's events come from its host (relayed with back-pressure; its loss fails the stream naming it). A watch of
     * every job, or of a selector, is answered by this node alone with its own jobs' events and sequences: a client
     * that wants the whole cluster's watches each node (README, "Watch").
     */
    @Override
    public CompletionStage<EventOpening> watch(Set<String> caller, Optional<String> jobId, LabelSelector selector,
                                               Optional<Long> after) {
        Optional<Directory.Peer> owner = jobId.flatMap(this::owner);
        if (owner.isEmpty()) {
            return local.watch(caller, jobId, selector, after);
        }
        Directory.Peer peer = owner.get();
        return this.<NodeGateway.EventsReply>ask(peer, replyTo -> new NodeGateway.OpenEvents(jobId.get(), caller,
                        selector.text(), after.orElse(null), replyTo), askTimeout)
                .thenCompose(reply -> reply.failure() != null ? failedAnswer(reply.failure())
                        : reply.events() == null ? done(new EventOpening.NotFound(jobId.get()))
                        : done(new EventOpening.Opened(inClusterSystem(EventRelay.receive(reply.events(), peer.name())),
                                peer.name())));
    }
}
