package io.rund.job;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import io.rund.logs.LogStore;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;

/**
 * Maps job ids (monotonic ULIDs) to their {@link JobActor}s and owner SAN sets, and authorizes every request.
 * It keeps each job's last published status so that listing needs no round trip, and learns of a job
 * actor's end through {@code watchWith}. A job the caller may not see is answered exactly like one that
 * does not exist. It answers {@link AwaitEnd} when a job's final status arrives, so that clients need not poll.
 * On {@link StopAll} it refuses new jobs and replies once every job has reached its end. Each client identity's
 * share is capped ({@link Tenants}): running jobs, start rate, and the bytes kept of jobs, past which the oldest
 * finished jobs are forgotten. Finished jobs are also removed by age and count ({@link Retention}, on a timer) and
 * by Delete, always through {@link #removeFinished}. Jobs are kept ordered by id, so that List seeks its page token
 * and each call examines at most {@code rund.jobs.list-scan-budget} jobs, whatever the registry holds.
 */
public final class JobRegistry extends AbstractBehavior<JobRegistry.Command> {

    public sealed interface Command {}

    public record StartJob(JobSpec spec, Set<String> owner, ActorRef<StartResult> replyTo) implements Command {}

    public record GetStatus(String jobId, Set<String> caller, ActorRef<StatusResult> replyTo) implements Command {}

    /**
     * The job's status once it has ended: at once if it has, else when it does, or after {@code atMost} with the
     * status it has then (not final). A client waits for an exit without polling.
     */
    public record AwaitEnd(String jobId, Set<String> caller, Duration atMost, ActorRef<StatusResult> replyTo)
            implements Command {}

    public record StopJob(String jobId, Set<String> caller, ActorRef<StatusResult> replyTo) implements Command {}

    /**
     * One page of the jobs {@code caller} may see, in id order: those after {@code after} (empty: from the first),
     * in one of {@code states} (empty: any), at most {@code pageSize} (0: the configured default).
     */
    public record ListJobs(Set<String> caller, Set<JobState> states, Optional<String> after, int pageSize,
                           ActorRef<JobPage> replyTo, LabelSelector selector) implements Command {

        public ListJobs {
            states = states.isEmpty() ? EnumSet.allOf(JobState.class) : EnumSet.copyOf(states);
            selector = selector == null ? LabelSelector.everything() : selector;
        }

        /** Any labels. */
        public ListJobs(Set<String> caller, Set<JobState> states, Optional<String> after, int pageSize,
                        ActorRef<JobPage> replyTo) {
            this(caller, states, after, pageSize, replyTo, LabelSelector.everything());
        }

        /** The first page of every job {@code caller} may see, of the default size. */
        public ListJobs(Set<String> caller, ActorRef<JobPage> replyTo) {
            this(caller, Set.of(), Optional.empty(), 0, replyTo);
        }
    }

    /** Removes a finished job and its log at once; answered once its log file is deleted. */
    public record DeleteJob(String jobId, Set<String> caller, ActorRef<DeleteResult> replyTo) implements Command {}

    public record OpenLog(String jobId, Set<String> caller, ActorRef<LogResult> replyTo) implements Command {}

    /** How many jobs have not ended yet: a cluster places a new job on the host with fewer. */
    public record CountActive(ActorRef<ActiveJobs> replyTo) implements Command {}

    public record ActiveJobs(int count) {}

    /** Daemon shutdown: stop every job (grace, then kill) and reply once all have ended. */
    public record StopAll(ActorRef<AllStopped> replyTo) implements Command {}

    /**
     * Job control of a job that runs (signal, pause, resume, stop with a grace or forced, a new deadline); refused
     * with {@link ControlRefused} naming the state where the job's state forbids it. A Stop answers once the job ended.
     */
    public record ControlJob(String jobId, Set<String> caller, JobControl control, ActorRef<ControlResult> replyTo)
            implements Command {}

    /** From an ended job actor asked for job control (a Stop): the registry answers with the final status. */
    record AnswerFinalControl(String jobId, ActorRef<ControlResult> replyTo) implements Command {}

    /** Sent by a job actor on every change of its status. */
    record JobUpdated(JobStatus status) implements Command {}

    /** From an ended job actor asked to Stop: the registry, which holds the job's final status, answers it. */
    record AnswerFinalStatus(String jobId, ActorRef<StatusResult> replyTo) implements Command {}

    private record JobTerminated(String jobId) implements Command {}

    private record AwaitExpired(String jobId, ActorRef<StatusResult> replyTo) implements Command {}

    /** The retention timer: the oldest finished job kept may be due. */
    private enum RetentionDue implements Command { INSTANCE }

    public sealed interface StartResult {}

    public record JobStarted(String jobId, JobStatus status) implements StartResult {}

    public record StartRejected(JobError error) implements StartResult {}

    public sealed interface StatusResult {}

    public sealed interface LogResult {}

    /** What answers both a status request and a job-control one: the job's status, or not found. */
    public sealed interface StatusAnswer extends StatusResult, ControlResult {}

    public record StatusReport(JobStatus status) implements StatusAnswer {}

    public record LogAvailable(String jobId, LogStore log) implements LogResult {}

    /** No such job, or one the caller may not see: the two are indistinguishable on purpose. */
    public record JobNotFound(String jobId) implements StatusAnswer, LogResult, DeleteResult, UpdateResult,
            EventsResult {}

    /**
     * A page of jobs, and the id after which the next page starts if there may be more (the page may be short, even
     * empty, when the call's scan budget ran out first).
     */
    public record JobPage(List<JobStatus> jobs, Optional<String> resumeAfter) {}

    public sealed interface DeleteResult {}

    /** The job and its log are gone. */
    public record JobDeleted(String jobId) implements DeleteResult {}

    public record DeleteRefused(JobError error) implements DeleteResult {}

    public record AllStopped(int jobsStopped) {}

    /** Changes a running (or frozen) job's limits; answered with the limits then in force, read back. */
    public record UpdateLimits(String jobId, Set<String> caller, io.rund.cgroup.LimitChange change,
                               ActorRef<UpdateResult> replyTo) implements Command {}

    public sealed interface UpdateResult {}

    /** The job's limits now in force, and how many of its processes the OOM killer ended during the change. */
    public record LimitsUpdated(String jobId, io.rund.cgroup.Limits inForce, long oomKills) implements UpdateResult {}

    public record UpdateRefused(JobError error) implements UpdateResult {}
    /** The answer to {@link ControlJob}: the job's status after it ({@link StatusReport}), not found, or refused. */
    public sealed interface ControlResult {}

    /** The job's state forbids the request (FAILED_PRECONDITION, naming the state). */
    public record ControlRefused(JobError error) implements ControlResult {}

    /**
     * Tells every watcher that {@code type} happened to job {@code jobId} now (with its status as the registry holds
     * it): the one call another part of rund makes to publish an event. Ignored for a job the registry no longer has.
     */
    public record PublishEvent(String jobId, JobEventType type, String detail) implements Command {}

    /**
     * Opens the event journal for {@code caller}: events of job {@code jobId} only (absent: of every job), of jobs
     * {@code selector} selects, and only of jobs the caller may see. A job id the caller may not see is JobNotFound.
     */
    public record OpenEvents(Set<String> caller, Optional<String> jobId, LabelSelector selector,
                             ActorRef<EventsResult> replyTo) implements Command {}

    public sealed interface EventsResult {}

    /** The journal, and the filter the caller's stream applies to it (authorization included). */
    public record EventsAvailable(EventJournal journal, java.util.function.Predicate<JobEvent> wanted) implements EventsResult {}

    /**
     * One job; {@code actor} is null for a job restored from its record until it is first needed ({@link #actorOf}).
     * {@code argsOnDiskBytes}: 0, or the job has finished and its arguments, too big to keep in memory (this many bytes
     * of heap), are only in its record ({@code status} holds none); a reply that shows them reads them back
     * ({@link #withArgs}).
     */
    private record Entry(ActorRef<JobActor.Command> actor, Set<String> owner, JobStatus status, long argsOnDiskBytes) {
        Entry(ActorRef<JobActor.Command> actor, Set<String> owner, JobStatus status) {
            this(actor, owner, status, 0);
        }

        boolean argsOnDisk() {
            return argsOnDiskBytes > 0;
        }

        Entry with(JobStatus newStatus) {
            return new Entry(actor, owner, newStatus, argsOnDiskBytes);
        }

        Entry withActor(ActorRef<JobActor.Command> newActor) {
            return new Entry(newActor, owner, status, argsOnDiskBytes);
        }
    }

    public static Behavior<Command> create(JobRuntime runtime) {
        return create(runtime, List.of());
    }

    /**
     * A registry that knows again the jobs of {@code restored}, records of jobs that ended before this daemon
     * started (all final), with their ids, owners and statuses; they count against their owners' budgets as finished
     * jobs, oldest-finished first.
     */
    public static Behavior<Command> create(JobRuntime runtime, List<JobRecord> restored) {
        return create(runtime, restored, List.of());
    }

    /**
     * A job an earlier daemon started that still runs, or ended while no daemon ran: its record, and what the keeper
     * held of it (its pidfd, pipes, and exit if it ended).
     */
    public record Adoption(JobRecord record, io.rund.linux.KeptJob kept) {}

    /** As {@link #create(JobRuntime, List)}, and takes over the running jobs of {@code adopted}. */
    public static Behavior<Command> create(JobRuntime runtime, List<JobRecord> restored, List<Adoption> adopted) {
        return create(runtime, restored, adopted, EventSettings.defaults());
    }

    /** As {@link #create(JobRuntime, List, List)}, with a journal of recent events as {@code events} sets. */
    public static Behavior<Command> create(JobRuntime runtime, List<JobRecord> restored, List<Adoption> adopted,
                                           EventSettings events) {
        return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
            JobRegistry registry = new JobRegistry(context, timers, runtime, events);
            registry.restore(restored);
            adopted.forEach(registry::adopt);
            return registry;
        }));
    }

    private final JobRuntime runtime;
    private final Authorizer authorizer;
    private final Tenants tenants;
    private final Retention retention;
    /** Recent job events for Watch streams: appended here, read by the streams. */
    private final EventJournal events;
    private final TimerScheduler<Command> timers;
    /** Ordered by id, that is by creation: List seeks its page token here. */
    private final NavigableMap<String, Entry> jobs = new TreeMap<>();
    /** Callers of {@link AwaitEnd} by job id, answered when the job's final status arrives or their time is up. */
    private final Map<String, List<ActorRef<StatusResult>>> endWaiters = new HashMap<>();
    private final List<ActorRef<AllStopped>> shutdownWaiters = new ArrayList<>();
    /** Jobs not in a final state: kept as a count so that admitting a job does not scan every job ever run. */
    private int activeJobs;
    private boolean shuttingDown;
    private int stoppedAtShutdown;
    /** Adopted jobs whose actor has not said yet that they run: their STARTED event (ADOPTED_DETAIL) is still due. */
    private final Set<String> adoptedNotYetRunning = new java.util.HashSet<>();
    /** {@link JobEventType#STARTED}'s detail for a job an earlier daemon started. */
    public static final String ADOPTED_DETAIL = "adopted: started by an earlier daemon, taken over by this one";
    /** When the retention timer fires next, if it is set. */
    private Optional<Instant> retentionTimerAt = Optional.empty();

    private JobRegistry(ActorContext<Command> context, TimerScheduler<Command> timers, JobRuntime runtime,
                        EventSettings eventSettings) {
        super(context);
        this.events = new EventJournal(eventSettings, runtime.clock().instant(), runtime.blocking());
        this.timers = timers;
        this.runtime = runtime;
        this.authorizer = new Authorizer(runtime.settings().adminSans());
        this.tenants = new Tenants(runtime.settings().tenants());
        this.retention = new Retention(runtime.settings().registry());
    }

    private void restore(List<JobRecord> restored) {
        Instant now = runtime.clock().instant();
        List<JobRecord> oldestEndedFirst = restored.stream()
                .sorted(Comparator.comparing((JobRecord r) -> r.status().endedAt(), Comparator.nullsFirst(Comparator.naturalOrder()))
                        .thenComparing(JobRecord::id))
                .toList();
        for (JobRecord record : oldestEndedFirst) {
            if (!record.status().state().isFinal()) {
                throw new IllegalArgumentException("job " + record.id() + " is restored while " + record.status().state());
            }
            Entry entry = finished(new Entry(null, record.owner(), record.status()), record.status());
            jobs.put(record.id(), entry);
            retention.ended(record.id(), record.status().endedAt() != null ? record.status().endedAt() : now);
            tenants.restored(record.id(), record.owner(), Tenants.finishedChargeOf(entry.status(), !entry.argsOnDisk()), now)
                    .forEach(this::forget);
        }
        if (!restored.isEmpty()) {
            getContext().getLog().info("Knows again {} jobs that ended before this daemon started", jobs.size());
        }
        removeDue(); // those kept past their retention go now; the timer is set for the next
    }

    /**
     * Takes over a job an earlier daemon started: it counts as running (against its owner's caps too), with its
     * identity held again so no new job gets its uid, and its actor picks up its process, pipes and log.
     */
    private void adopt(Adoption adoption) {
        JobRecord record = adoption.record();
        JobStatus status = record.status();
        Optional<JobIdentity> identity = Optional.empty();
        Integer uid = status.uid() != null ? status.uid() : uidOf(adoption.kept().pid());
        if (record.spec().user().isEmpty() && uid != null) {
            identity = runtime.identities().adopt(record.id(), uid);
        }
        ActorRef<JobActor.Command> actor = getContext().spawn(
                JobActor.adopt(record, adoption.kept(), identity, runtime, getContext().getSelf()), record.id());
        getContext().watchWith(actor, new JobTerminated(record.id()));
        jobs.put(record.id(), new Entry(actor, record.owner(), status));
        adoptedNotYetRunning.add(record.id());
        activeJobs++;
        tenants.started(record.id(), record.owner(), Tenants.chargeOf(record.spec()), runtime.clock().instant())
                .forEach(this::forget);
        getContext().getLog().info("Adopted job {} (pid {}{}) of {}, started by an earlier daemon", record.id(),
                adoption.kept().pid(), adoption.kept().exit().map(exit -> ", which ended meanwhile: " + exit.describe()).orElse(""),
                String.join(",", new TreeSet<>(record.owner())));
    }

    /** The real uid of process {@code pid} (from /proc), or null if it is gone: for a job recorded before it ran. */
    private static Integer uidOf(int pid) {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc", Integer.toString(pid), "status"))) {
                if (line.startsWith("Uid:")) {
                    return Integer.parseInt(line.substring(4).trim().split("\\s+")[0]);
                }
            }
        } catch (java.io.IOException | RuntimeException e) {
            // gone: it ended while no daemon ran
        }
        return null;
    }

    /** The job's actor; for a job restored from its record, spawned now (its first use). */
    private ActorRef<JobActor.Command> actorOf(String jobId, Entry entry) {
        if (entry.actor() != null) {
            return entry.actor();
        }
        ActorRef<JobActor.Command> actor = getContext().spawn(RestoredJob.create(entry.status(), entry.owner(), runtime), jobId);
        getContext().watchWith(actor, new JobTerminated(jobId));
        jobs.put(jobId, entry.withActor(actor));
        return actor;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(StartJob.class, this::onStartJob)
                .onMessage(GetStatus.class, this::onGetStatus)
                .onMessage(AwaitEnd.class, this::onAwaitEnd)
                .onMessage(AwaitExpired.class, this::onAwaitExpired)
                .onMessage(StopJob.class, this::onStopJob)
                .onMessage(ListJobs.class, this::onListJobs)
                .onMessage(DeleteJob.class, this::onDeleteJob)
                .onMessage(UpdateLimits.class, this::onUpdateLimits)
                .onMessageEquals(RetentionDue.INSTANCE, this::onRetentionDue)
                .onMessage(OpenLog.class, this::onOpenLog)
                .onMessage(StopAll.class, this::onStopAll)
                .onMessage(CountActive.class, count -> {
                    count.replyTo().tell(new ActiveJobs(activeJobs));
                    return this;
                })
                .onMessage(JobUpdated.class, this::onJobUpdated)
                .onMessage(AnswerFinalStatus.class, this::onAnswerFinalStatus)
                .onMessage(JobTerminated.class, this::onJobTerminated)
                .onMessage(LocateCgroup.class, this::onLocateCgroup)
                .onMessage(GetFigures.class, this::onGetFigures)
                .onMessage(ControlJob.class, this::onControlJob)
                .onMessage(AnswerFinalControl.class, answer -> {
                    Entry entry = jobs.get(answer.jobId());
                    if (entry != null) {
                        answerStatus(entry, answer.replyTo());
                    } else {
                        answer.replyTo().tell(new JobNotFound(answer.jobId()));
                    }
                    return this;
                })
                .onMessage(PublishEvent.class, this::onPublishEvent)
                .onMessage(OpenEvents.class, this::onOpenEvents)
                .build();
    }

    private Behavior<Command> onStartJob(StartJob start) {
        Instant now = runtime.clock().instant();
        Set<String> owner = Set.copyOf(start.owner());
        Optional<JobError> refusal = refusalFor(start);
        long charge = 0;
        if (refusal.isEmpty()) { // a valid spec: what keeping it costs may be weighed against its owner's caps
            charge = Tenants.chargeOf(start.spec());
            refusal = tenants.refusal(owner, charge, now);
        }
        if (refusal.isPresent()) {
            start.replyTo().tell(new StartRejected(refusal.get()));
            publishTransition(Optional.empty(), Optional.empty(), true);
            return this;
        }
        String id = JobIds.mint(runtime.settings().nodeIndex());
        JobStatus initial = JobActor.initialStatus(id, start.spec(), now);
        ActorRef<JobActor.Command> actor = getContext().spawn(
                JobActor.create(initial, start.spec(), start.owner(), runtime, getContext().getSelf(), start.replyTo()), id);
        getContext().watchWith(actor, new JobTerminated(id));
        jobs.put(id, new Entry(actor, owner, initial));
        activeJobs++;
        tenants.started(id, owner, charge, now).forEach(this::forget);
        publishTransition(Optional.empty(), Optional.of(initial), false);
        return this;
    }

    private Optional<JobError> refusalFor(StartJob start) {
        if (shuttingDown) {
            return Optional.of(JobError.unavailable("rund is shutting down").because(JobError.Reason.SHUTTING_DOWN));
        }
        if (start.owner().isEmpty()) {
            return Optional.of(JobError.precondition("identity", "the client certificate carries no subject alternative names")
                    .because(JobError.Reason.NO_IDENTITY));
        }
        Optional<JobError> invalid = start.spec().validate();
        if (invalid.isPresent()) {
            return invalid;
        }
        if (activeJobs >= runtime.settings().maxActiveJobs()) {
            return Optional.of(new JobError(JobError.Kind.RESOURCE_EXHAUSTED, "",
                    "this host already runs " + activeJobs + " jobs, the most it accepts at once"
                            + " (rund.jobs.max-active, within what the open-file limit holds)"));
        }
        return Optional.empty();
    }

    /** A finished job kept beyond a byte budget: removed with its log. */
    private void forget(Tenants.Forget forget) {
        removeFinished(forget.jobId(), "keeping it would pass " + forget.budget(), getContext().getSystem().ignoreRef());
    }

    /**
     * Removes finished job {@code jobId} (retention, a byte budget or Delete: the one way a kept job leaves): it leaves
     * the registry and every count, and its actor deletes its log, tells {@code whenDeleted}, and stops. Clients asking
     * for it from now on get NOT_FOUND, as for a job that never existed.
     */
    private void removeFinished(String jobId, String why, ActorRef<JobDeleted> whenDeleted) {
        Entry known = jobs.get(jobId);
        if (known == null) {
            whenDeleted.tell(new JobDeleted(jobId));
            return;
        }
        ActorRef<JobActor.Command> actor = actorOf(jobId, known); // a restored job's actor deletes its record and log too
        Entry entry = jobs.remove(jobId);
        tenants.forgotten(jobId);
        retention.removed(jobId);
        publish(JobEventType.REMOVED, entry.status(), entry.owner(), why);
        actor.tell(new JobActor.Forget(whenDeleted));
        getContext().getLog().info("Removed finished job {} of {} (ended {}) and its log: {}",
                jobId, String.join(",", new TreeSet<>(entry.owner())), entry.status().endedAt(), why);
    }

    private Behavior<Command> onDeleteJob(DeleteJob delete) {
        visible(delete.jobId(), delete.caller()).ifPresentOrElse(
                entry -> {
                    if (entry.status().state().isFinal()) {
                        removeFinished(delete.jobId(), "deleted by a client", delete.replyTo().narrow());
                    } else {
                        delete.replyTo().tell(new DeleteRefused(new JobError(JobError.Kind.FAILED_PRECONDITION, "",
                                "job " + delete.jobId() + " is still running (" + entry.status().state() + "); stop it first",
                                JobError.Reason.JOB_RUNNING)));
                    }
                },
                () -> delete.replyTo().tell(new JobNotFound(delete.jobId())));
        return this;
    }

    /** The retention timer fired: removes the finished jobs now due, and sets the timer for the next. */
    private Behavior<Command> onRetentionDue() {
        retentionTimerAt = Optional.empty();
        removeDue();
        return this;
    }

    private void removeDue() {
        Instant now = runtime.clock().instant();
        for (Retention.Due due : retention.due(now)) {
            removeFinished(due.jobId(), "kept past " + due.reason(), getContext().getSystem().ignoreRef());
        }
        retention.nextDue().ifPresent(next -> {
            if (retentionTimerAt.isEmpty() || next.isBefore(retentionTimerAt.get())) {
                retentionTimerAt = Optional.of(next);
                timers.startSingleTimer(RetentionDue.INSTANCE, RetentionDue.INSTANCE,
                        Duration.between(now, next).isNegative() ? Duration.ZERO : Duration.between(now, next));
            }
        });
    }

    private Behavior<Command> onGetStatus(GetStatus get) {
        visible(get.jobId(), get.caller()).ifPresentOrElse(
                entry -> answerStatus(entry, get.replyTo()),
                () -> get.replyTo().tell(new JobNotFound(get.jobId())));
        return this;
    }

    private Behavior<Command> onAwaitEnd(AwaitEnd await) {
        Optional<Entry> entry = visible(await.jobId(), await.caller());
        if (entry.isEmpty()) {
            await.replyTo().tell(new JobNotFound(await.jobId()));
        } else if (entry.get().status().state().isFinal()) {
            answerStatus(entry.get(), await.replyTo());
        } else {
            endWaiters.computeIfAbsent(await.jobId(), id -> new ArrayList<>(1)).add(await.replyTo());
            // Keyed by the waiter, so that each one has its own timer.
            timers.startSingleTimer(await.replyTo(), new AwaitExpired(await.jobId(), await.replyTo()), await.atMost());
        }
        return this;
    }

    private Behavior<Command> onAwaitExpired(AwaitExpired expired) {
        List<ActorRef<StatusResult>> waiters = endWaiters.get(expired.jobId());
        if (waiters != null && waiters.remove(expired.replyTo())) {
            if (waiters.isEmpty()) {
                endWaiters.remove(expired.jobId());
            }
            Entry entry = jobs.get(expired.jobId());
            if (entry != null) {
                answerStatus(entry, expired.replyTo());
            } else {
                expired.replyTo().tell(new JobNotFound(expired.jobId()));
            }
        }
        return this;
    }

    private void answerEndWaiters(JobStatus status) {
        List<ActorRef<StatusResult>> waiters = endWaiters.remove(status.id());
        if (waiters != null) {
            for (ActorRef<StatusResult> waiter : waiters) {
                timers.cancel(waiter);
                waiter.tell(new StatusReport(status));
            }
        }
    }

    private Behavior<Command> onStopJob(StopJob stop) {
        visible(stop.jobId(), stop.caller()).ifPresentOrElse(
                entry -> {
                    if (entry.status().state().isFinal()) {
                        answerStatus(entry, stop.replyTo());
                    } else {
                        entry.actor().tell(new JobActor.Stop(stop.replyTo()));
                    }
                },
                () -> stop.replyTo().tell(new JobNotFound(stop.jobId())));
        return this;
    }

    /**
     * One page: seeks the token in the ordered map and examines at most the scan budget, so a call costs the same
     * however many jobs the registry holds or the caller may not see.
     */
    private Behavior<Command> onListJobs(ListJobs list) {
        RegistrySettings limits = runtime.settings().registry();
        int pageSize = limits.pageSize(list.pageSize());
        Map<String, Entry> rest = list.after().map(after -> jobs.tailMap(after, false)).orElse(jobs);
        List<Entry> page = new ArrayList<>(Math.min(pageSize, jobs.size())); // not rest.size(): a view counts in O(n)
        Iterator<Map.Entry<String, Entry>> candidates = rest.entrySet().iterator();
        String lastExamined = null;
        int examined = 0;
        long readBack = 0;
        while (candidates.hasNext() && page.size() < pageSize && examined < limits.listScanBudget()
                && readBack < limits.listReadBackBytes()) {
            Map.Entry<String, Entry> candidate = candidates.next();
            examined++;
            lastExamined = candidate.getKey();
            Entry entry = candidate.getValue();
            if (list.states().contains(entry.status().state()) && list.selector().matches(entry.status().labels())
                    && authorizer.mayAccess(entry.owner(), list.caller())) {
                page.add(entry);
                readBack += entry.argsOnDiskBytes();
            }
        }
        answerPage(page, candidates.hasNext() ? Optional.of(lastExamined) : Optional.empty(), list.replyTo());
        return this;
    }

    /** {@code entry}'s status, with its arguments read back from its record if they are only there. */
    private void answerStatus(Entry entry, ActorRef<? super StatusAnswer> replyTo) {
        if (!entry.argsOnDisk()) {
            replyTo.tell(new StatusReport(entry.status()));
            return;
        }
        String id = entry.status().id();
        withArgs(List.of(entry)).whenComplete((statuses, failure) -> replyTo.tell(
                failure == null && !statuses.isEmpty() ? new StatusReport(statuses.getFirst()) : new JobNotFound(id)));
    }

    /** The page's statuses, those of finished jobs whose arguments are only on disk read back off the registry's thread. */
    private void answerPage(List<Entry> page, Optional<String> resumeAfter, ActorRef<JobPage> replyTo) {
        if (page.stream().noneMatch(Entry::argsOnDisk)) {
            replyTo.tell(new JobPage(page.stream().map(Entry::status).toList(), resumeAfter));
            return;
        }
        withArgs(page).whenComplete((statuses, failure) -> replyTo.tell(
                new JobPage(failure == null ? statuses : List.of(), resumeAfter)));
    }

    /**
     * The statuses of {@code entries} with their arguments, each read from its record (on the job dispatcher) where
     * the entry keeps none. A job whose record is gone meanwhile was removed: it is left out, as it would be a moment
     * later. A record that cannot be read is logged and its job shown without arguments.
     */
    private CompletableFuture<List<JobStatus>> withArgs(List<Entry> entries) {
        JobRecords records = runtime.records();
        org.slf4j.Logger log = getContext().getLog();
        return CompletableFuture.supplyAsync(() -> {
            List<JobStatus> statuses = new ArrayList<>(entries.size());
            for (Entry entry : entries) {
                if (!entry.argsOnDisk()) {
                    statuses.add(entry.status());
                    continue;
                }
                try {
                    records.argsOf(entry.status().id()).ifPresent(args -> statuses.add(entry.status().withArgs(args)));
                } catch (java.io.IOException e) {
                    log.warn("Job {}: cannot read its arguments back from its record: {}", entry.status().id(), e.getMessage());
                    statuses.add(entry.status());
                }
            }
            return statuses;
        }, runtime.blocking());
    }

    /**
     * {@code entry} for a job whose final status is {@code status}: its arguments stay in memory only if they take at
     * most {@code rund.jobs.finished-args-in-memory}; else they are in its record alone (written when it was created).
     */
    private Entry finished(Entry entry, JobStatus status) {
        long argsBytes = Tenants.argsBytes(status.args());
        if (argsBytes <= runtime.settings().registry().finishedArgsInMemory()) {
            return new Entry(entry.actor(), entry.owner(), status, 0);
        }
        return new Entry(entry.actor(), entry.owner(), status.withArgs(List.of()), argsBytes);
    }

    private Behavior<Command> onOpenLog(OpenLog open) {
        visible(open.jobId(), open.caller()).ifPresentOrElse(
                entry -> actorOf(open.jobId(), entry).tell(new JobActor.OpenLog(open.replyTo())),
                () -> open.replyTo().tell(new JobNotFound(open.jobId())));
        return this;
    }

    private Behavior<Command> onStopAll(StopAll stopAll) {
        shuttingDown = true;
        shutdownWaiters.add(stopAll.replyTo());
        ActorRef<StatusResult> ignore = getContext().getSystem().ignoreRef();
        for (Entry entry : jobs.values()) {
            if (!entry.status().state().isFinal()) {
                stoppedAtShutdown++;
                entry.actor().tell(new JobActor.Stop(ignore));
            }
        }
        return replyIfAllEnded();
    }

    private Behavior<Command> onJobUpdated(JobUpdated updated) {
        JobStatus status = updated.status();
        Entry entry = jobs.get(status.id());
        if (entry == null) {
            return replyIfAllEnded();
        }
        Entry updatedEntry = status.state() == JobState.EXITED ? finished(entry, status) : entry.with(status);
        if (entry.status().state() != status.state()) {
            publishTransition(Optional.of(entry.status().state()), Optional.of(status), false);
        }
        if (adoptedNotYetRunning.remove(status.id()) && status.state() == JobState.RUNNING) {
            // Its first update here: whatever state its record said, this daemon's watchers see it start once.
            publish(JobEventType.STARTED, status, entry.owner(), ADOPTED_DETAIL);
        } else {
            publishChange(entry.status(), status, entry.owner());
        }
        if (status.state().isFinal() && !entry.status().state().isFinal()) {
            activeJobs--;
            tenants.ended(status.id(), Tenants.finishedChargeOf(updatedEntry.status(), !updatedEntry.argsOnDisk()));
            if (status.state() == JobState.EXITED) {
                retention.ended(status.id(), status.endedAt() != null ? status.endedAt() : runtime.clock().instant());
            }
        }
        if (status.state() == JobState.FAILED_TO_START) {
            jobs.remove(status.id()); // its client got the error and never learnt the id
            tenants.forgotten(status.id());
        } else {
            jobs.put(status.id(), updatedEntry);
        }
        if (status.state().isFinal()) {
            answerEndWaiters(status);
            removeDue();
        }
        return replyIfAllEnded();
    }

    private Behavior<Command> onAnswerFinalStatus(AnswerFinalStatus answer) {
        Entry entry = jobs.get(answer.jobId());
        if (entry != null) {
            answerStatus(entry, answer.replyTo());
        } else {
            answer.replyTo().tell(new JobNotFound(answer.jobId()));
        }
        return this;
    }

    private Behavior<Command> onJobTerminated(JobTerminated terminated) {
        Entry entry = jobs.get(terminated.jobId());
        if (entry != null && !entry.status().state().isFinal()) {
            // Only a bug stops a job actor early; its cgroup is left for the next start's orphan sweep.
            getContext().getLog().error("Job actor {} stopped while its job was {}", terminated.jobId(), entry.status().state());
            jobs.remove(terminated.jobId());
            activeJobs--;
            tenants.forgotten(terminated.jobId());
            List<ActorRef<StatusResult>> waiters = endWaiters.remove(terminated.jobId());
            if (waiters != null) {
                waiters.forEach(waiter -> {
                    timers.cancel(waiter);
                    waiter.tell(new JobNotFound(terminated.jobId()));
                });
            }
        }
        return replyIfAllEnded();
    }

    private Behavior<Command> replyIfAllEnded() {
        if (!shutdownWaiters.isEmpty() && jobs.values().stream().allMatch(e -> e.status().state().isFinal())) {
            shutdownWaiters.forEach(waiter -> waiter.tell(new AllStopped(stoppedAtShutdown)));
            shutdownWaiters.clear();
        }
        return this;
    }

    /** A running job's limits change off the registry's thread ({@link LimitUpdater}); other states are refused. */
    private Behavior<Command> onUpdateLimits(UpdateLimits update) {
        Optional<Entry> entry = visible(update.jobId(), update.caller());
        if (entry.isEmpty()) {
            update.replyTo().tell(new JobNotFound(update.jobId()));
            return this;
        }
        JobState state = entry.get().status().state();
        if (state != JobState.RUNNING && state != JobState.FROZEN) {
            update.replyTo().tell(new UpdateRefused(JobError.precondition("job_id", "job " + update.jobId() + " is "
                    + state + (state == JobState.STARTING ? ": change its limits once it runs" : "; only a running job's limits can change"))));
            return this;
        }
        LimitUpdater.apply(runtime, update.jobId(), update.change()).thenAccept(update.replyTo()::tell);
        return this;
    }

    private Optional<Entry> visible(String jobId, Set<String> caller) {
        Entry entry = jobs.get(jobId);
        return entry != null && authorizer.mayAccess(entry.owner(), caller) ? Optional.of(entry) : Optional.empty();
    }

    // ---- live usage (issue 14: Stats and metrics): the registry only says where to read; the asker reads ----

    /** Where job {@code jobId}'s live usage can be read, if {@code caller} may see it ({@link CgroupLookup}). */
    public record LocateCgroup(String jobId, Set<String> caller, ActorRef<CgroupLookup> replyTo) implements Command {}

    /** The metrics endpoint's figures: jobs by state, and at most {@code maxLive} live jobs' cgroups, oldest first. */
    public record GetFigures(int maxLive, ActorRef<JobFigures> replyTo) implements Command {}

    /**
     * Published on the actor system's event stream for the metrics: a job's status changed ({@code previous} empty
     * for a new job), or a start was refused ({@code refused}). Local only, never sent across nodes.
     */
    public record JobTransition(Optional<JobState> previous, Optional<JobStatus> status, boolean refused,
                                Instant observedAt) implements org.apache.pekko.actor.NoSerializationVerificationNeeded {}

    private Behavior<Command> onLocateCgroup(LocateCgroup locate) {
        Optional<Entry> entry = visible(locate.jobId(), locate.caller());
        if (entry.isEmpty()) {
            locate.replyTo().tell(new CgroupLookup.NotFound(locate.jobId()));
        } else if (entry.get().status().state().isFinal()) {
            locate.replyTo().tell(new CgroupLookup.Ended(entry.get().status()));
        } else {
            locate.replyTo().tell(new CgroupLookup.Live(entry.get().status(), runtime.cgroups().existing(locate.jobId())));
        }
        return this;
    }

    private Behavior<Command> onGetFigures(GetFigures get) {
        Map<JobState, Integer> byState = new java.util.EnumMap<>(JobState.class);
        for (JobState state : JobState.values()) {
            byState.put(state, 0);
        }
        List<CgroupLookup.Live> live = new ArrayList<>();
        int liveJobs = 0;
        for (var job : jobs.entrySet()) {
            JobState state = job.getValue().status().state();
            byState.merge(state, 1, Integer::sum);
            if (!state.isFinal()) {
                liveJobs++;
                if (live.size() < get.maxLive()) {
                    live.add(new CgroupLookup.Live(job.getValue().status(), runtime.cgroups().existing(job.getKey())));
                }
            }
        }
        get.replyTo().tell(new JobFigures(byState, liveJobs, live));
        return this;
    }

    private void publishTransition(Optional<JobState> previous, Optional<JobStatus> status, boolean refused) {
        getContext().getSystem().eventStream().tell(new org.apache.pekko.actor.typed.eventstream.EventStream.Publish<>(
                new JobTransition(previous, status, refused, runtime.clock().instant())));
    }

    /**
     * Job control goes to the job's actor, which knows its state; a job that has ended refuses it here, except a
     * Stop, which answers with the final status as Stop does.
     */
    private Behavior<Command> onControlJob(ControlJob control) {
        visible(control.jobId(), control.caller()).ifPresentOrElse(
                entry -> {
                    if (!entry.status().state().isFinal()) {
                        entry.actor().tell(new JobActor.Control(control.control(), control.replyTo()));
                    } else if (control.control().kind() == JobControl.Kind.STOP) {
                        answerStatus(entry, control.replyTo());
                    } else {
                        control.replyTo().tell(new ControlRefused(JobActor.refusal(entry.status().id(), entry.status().state(),
                                control.control())));
                    }
                },
                () -> control.replyTo().tell(new JobNotFound(control.jobId())));
        return this;
    }

    /**
     * Sets (or, with null, removes) the deadline of a job that runs: it is stopped (grace, then kill) once it passes.
     * For the Update call to come; answered with the job's status, or refused once the job is stopping or has ended.
     */
    public static ControlJob setDeadline(String jobId, Set<String> caller, java.time.Instant deadline,
                                         ActorRef<ControlResult> replyTo) {
        return new ControlJob(jobId, caller, JobControl.setDeadline(deadline), replyTo);
    }

    /** The events a change of a job's status from {@code before} to {@code after} makes. */
    private void publishChange(JobStatus before, JobStatus after, Set<String> owner) {
        if (before.state() == after.state()) {
            return;
        }
        switch (after.state()) {
            case RUNNING -> publish(before.state() == JobState.FROZEN ? JobEventType.THAWED : JobEventType.STARTED, after, owner, "");
            case FROZEN -> publish(JobEventType.FROZEN, after, owner, "");
            case STOPPING -> {
                if (after.control().deadline() != null && !after.control().deadline().isAfter(runtime.clock().instant())) {
                    publish(JobEventType.DEADLINE, after, owner, "its deadline " + after.control().deadline() + " passed");
                }
                publish(JobEventType.STOPPING, after, owner, "");
            }
            case EXITED -> publish(JobEventType.EXITED, after, owner, ""); // its actor published OOM_KILL before, if any
            case FAILED_TO_START -> publish(JobEventType.FAILED_TO_START, after, owner, after.failure());
            default -> { } // STARTING is where every job begins
        }
    }

    /** Appends an event; its status is shown without arguments (they may be big; Status has them). */
    private void publish(JobEventType type, JobStatus status, Set<String> owner, String detail) {
        events.publish(type, status.args().isEmpty() ? status : status.withArgs(List.of()), owner,
                runtime.clock().instant(), detail);
    }

    private Behavior<Command> onPublishEvent(PublishEvent event) {
        Entry entry = jobs.get(event.jobId());
        if (entry != null) {
            publish(event.type(), entry.status(), entry.owner(), event.detail());
        }
        return this;
    }

    private Behavior<Command> onOpenEvents(OpenEvents open) {
        if (open.jobId().isPresent() && visible(open.jobId().get(), open.caller()).isEmpty()) {
            open.replyTo().tell(new JobNotFound(open.jobId().get()));
            return this;
        }
        Set<String> caller = Set.copyOf(open.caller());
        Optional<String> jobId = open.jobId();
        LabelSelector selector = open.selector();
        Authorizer mayAccess = authorizer;
        open.replyTo().tell(new EventsAvailable(events, event -> jobId.map(event.jobId()::equals).orElse(true)
                && selector.matches(event.status().labels()) && mayAccess.mayAccess(event.owner(), caller)));
        return this;
    }
}
