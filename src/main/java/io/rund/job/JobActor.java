package io.rund.job;

import io.rund.cgroup.Accounting;
import io.rund.cgroup.Cgroup;
import io.rund.cgroup.CgroupException;
import io.rund.cgroup.EventCounters;
import io.rund.linux.CgroupEventWatcher;
import io.rund.linux.CgroupFileWatcher;
import io.rund.linux.Fds;
import io.rund.linux.KeptJob;
import io.rund.linux.OutputPump;
import io.rund.linux.ProcessExit;
import io.rund.linux.Signals;
import io.rund.linux.SpawnedProcess;
import io.rund.logs.LogStore;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.BehaviorBuilder;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Owns one job: its cgroup, its process and its log, from spawn to removal. Its life is one behavior per state, each
 * handling only the messages that make sense in it (the others are named, and ignored or logged as unexpected):
 * <pre>
 *  starting ──Launched──▶ running ──Stop──▶ stopping: SIGTERM sent ─▶ grace timer ─▶ expired: cgroup.kill
 *     │  (a Stop while starting: stopping once launched)       │
 *     │ LaunchFailed          │ ProcessExited                  │ ProcessExited
 *     ▼                       └───────────────┬────────────────┘
 *  stopped (FAILED_TO_START)                  ▼
 *                   ending: waits for the cgroup to empty ("populated 0" as an event; leftovers killed, and
 *                   killed again on a timer while it does not come), reads its accounting and removes it;
 *                   and waits for the output to end
 *                                             │ both done: the final status is published
 *                                             ▼
 *                   ended ──Forget──▶ removed (log deleted, actor stopped)
 * </pre>
 * A Stop while starting is kept and acted on once the job runs; while ending or ended it waits for, or answers with,
 * the final status. All blocking work runs on the job dispatcher and comes back as messages; no thread ever waits
 * on one job. While the job's log cannot be written its output is held (the pump stops reading; the job blocks,
 * nothing is lost) and its status says so; a job that exits meanwhile ends once its output is written, but a stopped
 * job's held output is discarded once its processes are gone, so that Stop and shutdown never wait for disk space.
 */
public final class JobActor {

    public sealed interface Command {}

    /** Stop the job; the reply is its final status once it has ended. */
    public record Stop(ActorRef<JobRegistry.StatusResult> replyTo) implements Command {}

    public record OpenLog(ActorRef<JobRegistry.LogResult> replyTo) implements Command {}

    /** Job control (signal, pause, resume, stop with a grace or forced, a new deadline); see {@link JobControl}. */
    public record Control(JobControl control, ActorRef<JobRegistry.ControlResult> replyTo) implements Command {}

    /** The job's processes are frozen (Pause) since {@code at}, or freezing failed ({@code error}). */
    private record Paused(Instant at, String error, ActorRef<JobRegistry.ControlResult> replyTo) implements Command {}

    /** The job's processes are thawed (Resume) since {@code at}, or thawing failed ({@code error}). */
    private record Resumed(Instant at, String error, ActorRef<JobRegistry.ControlResult> replyTo) implements Command {}

    /** The job's deadline has passed: it is stopped (grace, then kill). */
    private record DeadlineExpired() implements Command {}

    /** The registry no longer keeps this finished job: delete its log, tell {@code whenDeleted}, and stop. */
    public record Forget(ActorRef<JobRegistry.JobDeleted> whenDeleted) implements Command {}

    private record Launched(JobLauncher.Launch launch) implements Command {}

    private record LaunchFailed(JobError error) implements Command {}

    private record ProcessExited(ProcessExit exit) implements Command {}

    /** From the job's {@link LogSink}: its output has ended (and its log is ended). */
    record OutputClosed() implements Command {}

    /** From the job's {@link LogSink}: its log cannot be written, so its output is held; {@code why} for its status. */
    record OutputHeld(String why) implements Command {}

    /** From the job's {@link LogSink}: the held output was written; output flows again. */
    record OutputResumed() implements Command {}

    /** From the job's {@link LogSink}: held output was discarded because the job was stopped; says how much. */
    record OutputDiscarded(String what) implements Command {}

    /** SIGTERM has been sent to every process of the job (or, if it could not be, the job was killed instead). */
    private record TerminationSent(boolean killedInstead) implements Command {}

    private record GraceExpired() implements Command {}

    /** After the exit the cgroup still held processes: they were killed, and {@code watch} waits for it to empty. */
    private record CgroupPopulated(CgroupEventWatcher.Watch watch) implements Command {}

    /** From the cgroup event watcher: no process is left in the job's cgroup. */
    private record CgroupEmptied() implements Command {}

    /** The cgroup has not emptied within {@link #EMPTY_WAIT} of the last kill: kill it again. */
    private record EmptyOverdue() implements Command {}

    /** Reading the emptied cgroup's accounting or removing it failed unexpectedly (a bug): check it again. */
    private record CollectFailed() implements Command {}

    /** The cgroup emptied: its final accounting and counters (null if unread), and whether it could be removed. */
    private record CgroupEnded(Accounting usage, boolean oomKilled, boolean removed, EventCounters counters)
            implements Command {}

    /**
     * The job's counter files (memory.events, pids.events) are watched for changes ({@code watch}; null if not: the
     * watches' bound is reached), and {@code counters} were read once after the watch began (null if unreadable).
     */
    private record CountersWatched(CgroupFileWatcher.Watch watch, EventCounters counters) implements Command {}

    /** From the cgroup file watcher: memory.events or pids.events changed. */
    private record CountersChanged() implements Command {}

    /** The counters read after a change (null: unreadable, the cgroup is going). */
    private record CountersRead(EventCounters counters) implements Command {}

    private static final CountersChanged COUNTERS_CHANGED = new CountersChanged();

    private static final int SIGTERM = 15;
    private static final int SIGKILL = 9;
    /** How long a killed cgroup may take to empty before it is killed again (a process in D state, say). */
    private static final Duration EMPTY_WAIT = Duration.ofSeconds(5);
    private static final Object GRACE_TIMER = "grace";
    private static final Object EMPTY_TIMER = "empty";
    private static final Object DEADLINE_TIMER = "deadline";
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(JobActor.class);

    static JobStatus initialStatus(String id, JobSpec spec, Instant now) {
        return new JobStatus(id, spec.command(), spec.args(), JobState.STARTING, null, null, null, null,
                false, false, false, now, null, null, null, null, null,
                JobControlState.NONE.withDeadline(spec.timeout() == null ? null : now.plus(spec.timeout())), spec.labels());
    }

    /**
     * What the actor's setup takes once: the spec and initial status, whose arguments and environment can be 1 MiB,
     * and the asker of Start, whose answer holds the running status (and so the arguments) as long as it is held.
     */
    private record Launching(JobStatus initial, JobSpec spec, ActorRef<JobRegistry.StartResult> startReplyTo) {}

    static Behavior<Command> create(JobStatus initial, JobSpec spec, Set<String> owner, JobRuntime runtime,
                                    ActorRef<JobRegistry.Command> registry,
                                    ActorRef<JobRegistry.StartResult> startReplyTo) {
        // The setup closure is the actor's initial behavior, kept as long as the actor lives: it must not hold the spec
        // or the Start's asker (a finished job would keep its arguments and environment in memory for life), so it
        // takes them from a holder it empties.
        AtomicReference<Launching> once = new AtomicReference<>(new Launching(initial, spec, startReplyTo));
        return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
            Launching launching = once.getAndSet(null);
            return new JobActor(context, timers, launching.initial(), runtime, registry)
                    .launch(launching.spec(), owner, launching.startReplyTo());
        }));
    }

    /**
     * A job an earlier daemon started, whose processes (or exit) the keeper held while no daemon ran: the actor takes
     * it over where that daemon left it. Its log is reopened for appending (offsets continue), its pipes are read
     * again, and its exit comes from the keeper, at once if it ended meanwhile. {@code identity}: the uid it runs as,
     * held again, if it is one of the job identities.
     */
    static Behavior<Command> adopt(JobRecord record, KeptJob kept, Optional<JobIdentity> identity, JobRuntime runtime,
                                   ActorRef<JobRegistry.Command> registry) {
        AtomicReference<JobRecord> once = new AtomicReference<>(record); // not held for life: see create
        return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
            JobRecord adopted = once.getAndSet(null);
            return new JobActor(context, timers, adopted.status(), runtime, registry).adopting(adopted, kept, identity);
        }));
    }

    private final ActorContext<Command> context;
    private final TimerScheduler<Command> timers;
    private final JobRuntime runtime;
    private final ActorRef<JobRegistry.Command> registry;
    /** Callers of Stop, answered with the final status. */
    private final List<ActorRef<JobRegistry.StatusResult>> stopWaiters = new ArrayList<>();

    private JobStatus status;
    /** What the launch made (set in {@link #onLaunched}): the job's cgroup, its log and its output pump. */
    private Cgroup cgroup;
    private LogStore log;
    private OutputPump.Pumping output;
    /** The identity the job runs as, if it was lent one; released once its cgroup is empty and removed. */
    private JobIdentity identity;
    /** An adopted job's Stop in progress (its record's {@link JobRecord#stopKillAt()}): carried on once adopted. */
    private Instant carriedStopKillAt;
    /** Callers of a job-control Stop, answered with the final status as {@link #stopWaiters} are. */
    private final List<ActorRef<JobRegistry.ControlResult>> controlStopWaiters = new ArrayList<>();
    /**
     * The job's main process as Signal finds it again: its pid and its start time (clock ticks after boot, from
     * /proc/PID/stat), read at launch while it could not have been reaped. A pidfd opened at signal time refers to
     * it only if the start time still matches, so a reused pid never gets the signal, and no descriptor is held per
     * job for it. Null: none (an adopted job that ended while no daemon ran).
     */
    private JobControlOps.MainProcess mainProcess;
    /** The Stop's grace period when a client gave one (null: the configured one), or kill at once ({@link #stopForce}). */
    private Duration stopGrace;
    private boolean stopForce;
    /** The deadline ended the job: its final status says so. */
    private boolean stopByDeadline;
    /**
     * Job-control work on the cgroup (freeze, thaw, signals, the Stop's SIGTERM) runs off the actor, one piece after
     * another in the order asked, so that a Signal to every process never thaws a job a Pause froze meanwhile.
     */
    private CompletableFuture<?> controlChain = CompletableFuture.completedFuture(null);
    /** Whether the job is frozen by a Pause; read and written only by the pieces of {@link #controlChain}. */
    private final java.util.concurrent.atomic.AtomicBoolean pausedByRequest = new java.util.concurrent.atomic.AtomicBoolean();
    /**
     * Live OOM-kill and pids.max events: the watch of the job's counter files while it lives (null: none yet, or not
     * watched), the counts already published (from 0: an adopted job's earlier kills are published once, here), and
     * whether a read of them is under way (one at a time; a change meanwhile asks for one more).
     */
    private CgroupFileWatcher.Watch countersWatch;
    private EventCounters countersPublished = EventCounters.NONE;
    private boolean countersReading;
    private boolean countersChangedMeanwhile;

    private JobActor(ActorContext<Command> context, TimerScheduler<Command> timers, JobStatus initial,
                     JobRuntime runtime, ActorRef<JobRegistry.Command> registry) {
        this.context = context;
        this.timers = timers;
        this.runtime = runtime;
        this.registry = registry;
        this.status = initial;
    }

    // ---- starting: the launch (cgroup, log, spawn) runs on the job dispatcher ----

    private Behavior<Command> launch(JobSpec spec, Set<String> owner, ActorRef<JobRegistry.StartResult> startReplyTo) {
        JobLauncher launcher = new JobLauncher(runtime);
        String id = status.id();
        JobStatus initial = status;
        context.pipeToSelf(
                CompletableFuture.supplyAsync(() -> {
                    try {
                        runtime.records().created(spec, owner, initial); // before the spawn: no job runs unrecorded
                    } catch (IOException e) {
                        throw new java.util.concurrent.CompletionException(new JobLauncher.LaunchFailed(
                                JobError.unavailable("cannot write the job's record: " + e.getMessage()), e));
                    }
                    try {
                        return launcher.launch(id, spec, owner);
                    } catch (JobLauncher.LaunchFailed e) {
                        runtime.records().startFailed(id);
                        throw new java.util.concurrent.CompletionException(e);
                    }
                }, runtime.blocking()),
                (launch, failure) -> launch != null ? new Launched(launch) : new LaunchFailed(errorOf(failure)));
        return starting(startReplyTo, new ArrayList<>(), false);
    }

    /** Adoption is a launch whose pieces exist already: its cgroup, its log (reopened) and its process. */
    private Behavior<Command> adopting(JobRecord record, KeptJob kept, Optional<JobIdentity> identity) {
        String id = status.id();
        carriedStopKillAt = record.status().state() == JobState.STOPPING ? record.stopKillAt() : null;
        Instant startedAt = status.startedAt() != null ? status.startedAt() : status.createdAt();
        int uid = identity.map(JobIdentity::uid).orElse(status.uid() != null ? status.uid() : -1);
        context.pipeToSelf(CompletableFuture.supplyAsync(() -> {
                    Cgroup cgroup = runtime.cgroups().existing(id);
                    if (kept.exit().isEmpty() && !cgroup.exists()) {
                        // It runs, but not where this daemon's subtree says (rund.cgroup.root changed?): it cannot be
                        // limited, stopped or accounted here. Killed; its exit comes from the keeper as any other.
                        LOG.error("Job {} (pid {}) runs outside this daemon's cgroup subtree ({} is missing); killing it",
                                id, kept.pid(), cgroup.path());
                        try {
                            Signals.kill(kept.pid(), SIGKILL); // the keeper has not reaped it: the pid is still its own
                        } catch (io.rund.linux.LinuxException e) {
                            LOG.error("Job {}: cannot kill pid {}: {}", id, kept.pid(), e.getMessage());
                        }
                    }
                    pausedByRequest.set(JobControlOps.frozen(cgroup)); // a daemon earlier paused it: FROZEN here too
                    try {
                        LogStore reopened = runtime.reopenLog(id, record.owner());
                        return new JobLauncher.Launch(cgroup, reopened, new SpawnedProcess(kept.pid(), kept.pidfd(),
                                kept.stdoutFd(), kept.stderrFd()), uid, identity.orElse(null), startedAt, kept.exit(),
                                status.groups() != null ? status.groups() : JobGroupsOfProcess.read(kept.pid()));
                    } catch (IOException | RuntimeException e) {
                        killQuietly(cgroup, id);
                        throw new java.util.concurrent.CompletionException(new JobLauncher.LaunchFailed(
                                JobError.unavailable("cannot adopt job " + id + ": cannot reopen its log: " + e.getMessage()), e));
                    }
                }, runtime.blocking()),
                (launch, failure) -> launch != null ? new Launched(launch) : new LaunchFailed(errorOf(failure)));
        return starting(context.getSystem().ignoreRef(), new ArrayList<>(), false);
    }

    private Behavior<Command> starting(ActorRef<JobRegistry.StartResult> startReplyTo,
                                       List<ActorRef<JobRegistry.LogResult>> logWaiters, boolean stopRequested) {
        return Behaviors.receive(Command.class)
                .onMessage(Launched.class, launched -> onLaunched(launched.launch(), startReplyTo, logWaiters, stopRequested))
                .onMessage(LaunchFailed.class, failed -> failedToStart(failed.error(), startReplyTo, logWaiters))
                .onMessage(Stop.class, stop -> {
                    stopWaiters.add(stop.replyTo()); // acted on once the job runs: there is nothing to signal yet
                    return starting(startReplyTo, logWaiters, true);
                })
                .onMessage(OpenLog.class, open -> {
                    logWaiters.add(open.replyTo()); // answered once the log exists
                    return Behaviors.same();
                })
                .onMessage(Control.class, control -> {
                    if (control.control().kind() != JobControl.Kind.STOP) {
                        return refuse(control);
                    }
                    acceptStop(control); // acted on once the job runs, as Stop
                    return starting(startReplyTo, logWaiters, true);
                })
                .onAnyMessage(this::unexpected)
                .build();
    }

    private Behavior<Command> onLaunched(JobLauncher.Launch launch, ActorRef<JobRegistry.StartResult> startReplyTo,
                                         List<ActorRef<JobRegistry.LogResult>> logWaiters, boolean stopRequested) {
        cgroup = launch.cgroup();
        log = launch.log();
        identity = launch.identity();
        ActorRef<Command> self = context.getSelf();
        try {
            if (launch.exitedWhileAway().isPresent()) { // an adopted job that ended while no daemon ran
                Fds.close(launch.process().pidfd());
                self.tell(new ProcessExited(launch.exitedWhileAway().get()));
            } else {
                mainProcess = JobControlOps.mainProcess(launch.process().pid(), status.id()); // before the watch can reap it
                runtime.exits().watch(launch.process().pid(), launch.process().pidfd(), exit -> self.tell(new ProcessExited(exit)));
            }
        } catch (io.rund.linux.LinuxException e) {
            // Without its exit watch the job could never be reaped: a bug. Kill the job and fail the actor.
            killQuietly(cgroup, status.id());
            throw new IllegalStateException("cannot watch job " + status.id() + "'s process", e);
        }
        output = runtime.output().pump(launch.process().stdoutFd(), launch.process().stderrFd(),
                new LogSink(status.id(), log, runtime.blocking(), self, runtime.records().forcesAtEnd(log.path())));
        // The job is running: its spawn is done, its exit watched (the point a durable record says "running").
        update(with(JobState.RUNNING, launch.process().pid(), launch.uid(),
                launch.startedAt() != null ? launch.startedAt() : runtime.clock().instant()).withGroups(launch.groups()));
        if (pausedByRequest.get()) { // adopted frozen
            update(status.withState(JobState.FROZEN).withControl(status.control().frozenAt(runtime.clock().instant())));
        }
        if (launch.exitedWhileAway().isEmpty()) {
            watchCounters();
        }
        startDeadlineTimer();
        if (carriedStopKillAt != null) {
            logWaiters.forEach(waiter -> waiter.tell(new JobRegistry.LogAvailable(status.id(), log)));
            return resumeStop(carriedStopKillAt);
        }
        runtime.records().started(status);
        startReplyTo.tell(new JobRegistry.JobStarted(status.id(), status));
        logWaiters.forEach(waiter -> waiter.tell(new JobRegistry.LogAvailable(status.id(), log)));
        return stopRequested ? beginStop(false) : running(false);
    }

    private Behavior<Command> failedToStart(JobError error, ActorRef<JobRegistry.StartResult> startReplyTo,
                                            List<ActorRef<JobRegistry.LogResult>> logWaiters) {
        context.getLog().info("Job {} failed to start: {}", status.id(), error);
        status = new JobStatus(status.id(), status.command(), status.args(), JobState.FAILED_TO_START, null, null, null, null,
                false, false, false, status.createdAt(), null, runtime.clock().instant(), null, error.toString(),
                null, status.control(), status.labels());
        // A final status (the point a durable record says "failed to start").
        registry.tell(new JobRegistry.JobUpdated(status));
        startReplyTo.tell(new JobRegistry.StartRejected(error));
        stopWaiters.forEach(waiter -> waiter.tell(new JobRegistry.StatusReport(status)));
        controlStopWaiters.forEach(waiter -> waiter.tell(new JobRegistry.StatusReport(status)));
        logWaiters.forEach(waiter -> waiter.tell(new JobRegistry.JobNotFound(status.id())));
        return Behaviors.stopped();
    }

    // ---- running ----

    /** @param outputEnded whether the job has closed its stdout and stderr (it may run on without them) */
    private Behavior<Command> running(boolean outputEnded) {
        return whileLive(Behaviors.receive(Command.class)
                .onMessage(Stop.class, stop -> {
                    stopWaiters.add(stop.replyTo());
                    return beginStop(outputEnded);
                })
                .onMessage(ProcessExited.class, exited -> beginEnding(exited.exit(), false, outputEnded))
                .onMessage(OutputClosed.class, closed -> running(true))
                .onMessage(Control.class, control -> onControlWhileRunning(control, outputEnded))
                .onMessage(DeadlineExpired.class, expired -> {
                    context.getLog().info("Job {} reached its deadline {}; stopping it", status.id(), status.control().deadline());
                    stopByDeadline = true;
                    return beginStop(outputEnded);
                })
                .onSignal(PostStop.class, signal -> onPostStop()));
    }

    // ---- stopping: SIGTERM, then the grace period counted from when it was sent, then cgroup.kill ----

    /** SIGTERM to every process of the job, off the actor's thread; the grace period starts once it was sent. */
    private Behavior<Command> beginStop(boolean outputEnded) {
        timers.cancel(DEADLINE_TIMER);
        update(withStopping());
        Cgroup target = cgroup;
        String id = status.id();
        boolean force = stopForce;
        context.pipeToSelf(serially(() -> {
                    boolean killedInstead;
                    if (force) {
                        killQuietly(target, id);
                        killedInstead = true;
                    } else {
                        killedInstead = signalAll(target, id); // thaws a paused job, so that SIGTERM lands
                    }
                    pausedByRequest.set(false);
                    return killedInstead;
                }),
                (killedInstead, failure) -> new TerminationSent(failure != null || killedInstead));
        return stopping(outputEnded);
    }

    private Behavior<Command> stopping(boolean outputEnded) {
        return whileLive(Behaviors.receive(Command.class)
                .onMessage(TerminationSent.class, this::onTerminationSent)
                .onMessage(GraceExpired.class, this::onGraceExpired)
                .onMessage(Stop.class, stop -> {
                    stopWaiters.add(stop.replyTo()); // already stopping: wait for the end with the others
                    return Behaviors.same();
                })
                .onMessage(ProcessExited.class, exited -> beginEnding(exited.exit(), true, outputEnded))
                .onMessage(OutputClosed.class, closed -> stopping(true))
                .onMessage(Control.class, this::onControlWhileStopping)
                .onMessage(DeadlineExpired.class, expired -> Behaviors.same()) // stopping already
                .onSignal(PostStop.class, signal -> onPostStop()));
    }

    private Behavior<Command> onTerminationSent(TerminationSent sent) {
        if (!sent.killedInstead()) {
            Duration grace = stopGrace != null ? stopGrace : runtime.settings().stopGracePeriod();
            timers.startSingleTimer(GRACE_TIMER, new GraceExpired(), grace);
            recordStop(runtime.clock().instant().plus(grace));
        }
        return Behaviors.same();
    }

    /**
     * Records the Stop in progress, so that a daemon that dies before the job ends leaves it to the next one, which
     * kills the job at {@code killAt} as this one would have (the log line says once it is written).
     */
    private void recordStop(Instant killAt) {
        String id = status.id();
        runtime.records().stopping(status, killAt).thenRun(() ->
                LOG.info("Job {} is stopping: SIGTERM sent, killed at {} unless it ends first (recorded)", id, killAt));
    }

    /**
     * An adopted job whose previous daemon had sent SIGTERM for a Stop: it is stopping again here, and is killed when
     * the grace that daemon gave it ends (at once if it ended while no daemon ran); it ends stopped by request.
     */
    private Behavior<Command> resumeStop(Instant killAt) {
        update(withStopping());
        Duration left = Duration.between(runtime.clock().instant(), killAt);
        context.getLog().info("Job {} was stopping when the previous daemon went away: its grace ends at {}{}", status.id(),
                killAt, left.isNegative() || left.isZero() ? ", passed already: killing it" : "");
        recordStop(killAt);
        if (left.isNegative() || left.isZero()) {
            context.getSelf().tell(new GraceExpired());
        } else {
            timers.startSingleTimer(GRACE_TIMER, new GraceExpired(), left);
        }
        return stopping(false);
    }

    private Behavior<Command> onGraceExpired(GraceExpired expired) {
        context.getLog().info("Job {} outlived its stop grace period; killing its cgroup", status.id());
        Cgroup target = cgroup;
        String id = status.id();
        runtime.blocking().execute(() -> killQuietly(target, id));
        return Behaviors.same();
    }

    // ---- ending: the process has exited; the cgroup must empty (and be removed) and the output end ----

    /** What ending waits for; touched only by the actor. */
    private static final class Ending {
        final ProcessExit exit;
        final boolean stoppedByRequest;
        boolean outputEnded;
        /** Stop was asked: once the processes are gone, held output is discarded rather than waited for. */
        boolean discardHeldOutput;
        /** Set while the cgroup's emptying is watched as an event. */
        CgroupEventWatcher.Watch watch;
        /** Set while its accounting is read and it is removed, so a second "empty" starts nothing. */
        boolean collecting;
        CgroupEnded cgroupEnded;

        Ending(ProcessExit exit, boolean stoppedByRequest, boolean outputEnded) {
            this.exit = exit;
            this.stoppedByRequest = stoppedByRequest;
            this.outputEnded = outputEnded;
            this.discardHeldOutput = stoppedByRequest;
        }
    }

    private Behavior<Command> beginEnding(ProcessExit exit, boolean stoppedByRequest, boolean outputEnded) {
        timers.cancel(GRACE_TIMER);
        timers.cancel(DEADLINE_TIMER);
        Ending ending = new Ending(exit, stoppedByRequest, outputEnded);
        checkCgroup();
        return whileLive(Behaviors.receive(Command.class)
                .onMessage(CgroupPopulated.class, populated -> onCgroupPopulated(ending, populated))
                .onMessage(CgroupEmptied.class, emptied -> onCgroupEmptied(ending))
                .onMessage(EmptyOverdue.class, overdue -> onEmptyOverdue(ending))
                .onMessage(CgroupEnded.class, ended -> onCgroupEnded(ending, ended))
                .onMessage(CollectFailed.class, failed -> {
                    ending.collecting = false;
                    checkCgroup();
                    return Behaviors.same();
                })
                .onMessage(OutputClosed.class, closed -> {
                    ending.outputEnded = true;
                    return finishIfEnded(ending);
                })
                .onMessage(Stop.class, stop -> {
                    stopWaiters.add(stop.replyTo()); // the job is ending anyway: wait for its final status
                    ending.discardHeldOutput = true;
                    if (ending.cgroupEnded != null && !ending.outputEnded) {
                        output.discardUnwritable(); // its processes are gone; only held output keeps it from ending
                    }
                    return Behaviors.same();
                })
                .onMessage(Control.class, control -> {
                    if (control.control().kind() != JobControl.Kind.STOP) {
                        control.replyTo().tell(new JobRegistry.ControlRefused(JobError.precondition("job_id", "job "
                                + status.id() + "'s process has exited and the job is ending; it cannot be "
                                + (control.control().kind() == JobControl.Kind.SIGNAL ? "signalled" : "paused, resumed or changed"))));
                        return Behaviors.same();
                    }
                    controlStopWaiters.add(control.replyTo()); // ending anyway: as Stop above
                    ending.discardHeldOutput = true;
                    if (ending.cgroupEnded != null && !ending.outputEnded) {
                        output.discardUnwritable();
                    }
                    return Behaviors.same();
                })
                .onMessage(DeadlineExpired.class, expired -> Behaviors.same()) // it ends anyway
                .onMessage(TerminationSent.class, sent -> Behaviors.same()) // the stop's SIGTERM, sent as it exited
                .onMessage(GraceExpired.class, expired -> Behaviors.same()) // fired just before it was cancelled
                .onSignal(PostStop.class, signal -> {
                    if (ending.watch != null) {
                        ending.watch.cancel();
                    }
                    return onPostStop();
                }));
    }

    /**
     * One trip to the blocking executor (every hop is exit latency): an empty cgroup is read and removed at once;
     * one that still holds processes (whatever the job left running) has them killed and is watched for "empty".
     */
    private void checkCgroup() {
        Cgroup target = cgroup;
        String id = status.id();
        ActorRef<Command> self = context.getSelf();
        CgroupEventWatcher events = runtime.cgroupEvents();
        context.pipeToSelf(CompletableFuture.supplyAsync(() -> endOrWatch(target, events, self, id, runtime.rdt()), runtime.blocking()),
                (result, failure) -> {
                    if (failure == null) {
                        return result;
                    }
                    LOG.warn("Job {}: ending its cgroup failed unexpectedly; trying again", id, failure);
                    return new CgroupPopulated(null);
                });
    }

    private static Command endOrWatch(Cgroup cgroup, CgroupEventWatcher events, ActorRef<Command> self, String jobId,
                                      io.rund.resctrl.RdtGroups rdt) {
        if (!cgroup.exists()) { // an adopted job's, removed before this daemon came: nothing to empty or account
            RdtPlacement.remove(rdt, jobId);
            return new CgroupEnded(null, false, true, null);
        }
        try {
            if (!cgroup.populated()) {
                return collectAndRemove(cgroup, jobId, rdt);
            }
            cgroup.kill();
            return new CgroupPopulated(cgroup.whenEmpty(events, () -> self.tell(new CgroupEmptied())));
        } catch (CgroupException e) {
            LOG.warn("Job {}: {}; trying again in {}", jobId, e.getMessage(), EMPTY_WAIT);
            return new CgroupPopulated(null);
        }
    }

    private Behavior<Command> onCgroupPopulated(Ending ending, CgroupPopulated populated) {
        if (ending.cgroupEnded != null || ending.collecting || ending.watch != null) {
            if (populated.watch() != null) {
                populated.watch().cancel(); // a late duplicate: one watch is enough
            }
            return Behaviors.same();
        }
        ending.watch = populated.watch();
        timers.startTimerWithFixedDelay(EMPTY_TIMER, new EmptyOverdue(), EMPTY_WAIT);
        return Behaviors.same();
    }

    private Behavior<Command> onCgroupEmptied(Ending ending) {
        if (ending.cgroupEnded != null || ending.collecting) {
            return Behaviors.same();
        }
        ending.watch = null; // a watch that fired is over
        timers.cancel(EMPTY_TIMER);
        ending.collecting = true;
        Cgroup target = cgroup;
        String id = status.id();
        context.pipeToSelf(CompletableFuture.supplyAsync(() -> collectAndRemove(target, id, runtime.rdt()), runtime.blocking()),
                (ended, failure) -> {
                    if (failure == null) {
                        return ended;
                    }
                    LOG.warn("Job {}: removing its cgroup failed unexpectedly; trying again", id, failure);
                    return new CollectFailed();
                });
        return Behaviors.same();
    }

    /** The killed cgroup has not emptied yet (its processes cannot die yet): kill again; no thread waits meanwhile. */
    private Behavior<Command> onEmptyOverdue(Ending ending) {
        if (ending.cgroupEnded != null || ending.collecting) {
            timers.cancel(EMPTY_TIMER);
            return Behaviors.same();
        }
        context.getLog().warn("Job {}: its cgroup {} is not empty {} after it was killed; killing it again",
                status.id(), cgroup.path(), EMPTY_WAIT);
        if (ending.watch == null) {
            timers.cancel(EMPTY_TIMER);
            checkCgroup(); // watching failed: check, kill and watch again
        } else {
            Cgroup target = cgroup;
            String id = status.id();
            runtime.blocking().execute(() -> killQuietly(target, id));
        }
        return Behaviors.same();
    }

    /** Reads the job's accounting and removes its cgroup, and its resctrl group if it has one (both empty now). */
    private static CgroupEnded collectAndRemove(Cgroup cgroup, String jobId, io.rund.resctrl.RdtGroups rdt) {
        Accounting usage = null;
        boolean oomKilled = false;
        EventCounters counters = null;
        try {
            usage = cgroup.accounting();
            counters = cgroup.eventCounters();
            oomKilled = counters.oomKills() > 0;
        } catch (CgroupException e) {
            LOG.warn("Job {}: cannot read its accounting: {}", jobId, e.getMessage());
        }
        boolean removed = true;
        try {
            cgroup.remove();
        } catch (CgroupException e) {
            LOG.error("Job {}: cannot remove its cgroup: {}", jobId, e.getMessage());
            removed = false;
        }
        RdtPlacement.remove(rdt, jobId);
        return new CgroupEnded(usage, oomKilled, removed, counters);
    }

    private Behavior<Command> onCgroupEnded(Ending ending, CgroupEnded ended) {
        if (ending.cgroupEnded != null) {
            return Behaviors.same();
        }
        ending.collecting = false;
        ending.cgroupEnded = ended;
        timers.cancel(EMPTY_TIMER);
        if (ending.discardHeldOutput && !ending.outputEnded) {
            // Every process of the stopped job is gone: what is left in its pipes is read to the end now, and output
            // its log cannot take is discarded rather than held, so that Stop (and shutdown) never wait for space.
            output.discardUnwritable();
        }
        Behavior<Command> next = finishIfEnded(ending);
        releaseIdentity(ended.removed());
        return next;
    }

    /** The final status is published once the process has exited, its cgroup is gone and its output has ended. */
    private Behavior<Command> finishIfEnded(Ending ending) {
        if (!ending.outputEnded || ending.cgroupEnded == null) {
            return Behaviors.same();
        }
        ProcessExit exit = ending.exit;
        // Kills and refusals the live watch has not reported yet are published now, before the exit (never twice).
        if (ending.cgroupEnded.counters() != null) {
            publishNewCounts(ending.cgroupEnded.counters());
        }
        stopWatchingCounters();
        status = new JobStatus(status.id(), status.command(), status.args(), JobState.EXITED, status.pid(),
                status.uid(), exit.exitCode(), exit.signal(), exit.coreDumped(),
                ending.cgroupEnded.oomKilled() || countersPublished.oomKills() > 0,
                ending.stoppedByRequest, status.createdAt(), status.startedAt(), exit.at(), ending.cgroupEnded.usage(),
                null, status.outputHeld(), endControl(exit.at()), status.labels(), status.groups());
        // The durable record says so, with its exit and accounting; once it is written, the keeper may forget the job
        // (until then a crash of the daemon leaves the exit with the keeper, for the next daemon).
        String id = status.id();
        runtime.records().ended(status).thenRun(() -> runtime.spawner().release(id));
        registry.tell(new JobRegistry.JobUpdated(status));
        stopWaiters.forEach(waiter -> waiter.tell(new JobRegistry.StatusReport(status)));
        stopWaiters.clear();
        controlStopWaiters.forEach(waiter -> waiter.tell(new JobRegistry.StatusReport(status)));
        controlStopWaiters.clear();
        context.getLog().debug("Job {} ended: {}", status.id(), exit.describe());
        // What an ended job keeps is small: its arguments are in its record (and the registry's entry), its cgroup is
        // gone and its output pump done with; only the log stays, for readers until the job is removed.
        status = status.withArgs(List.of());
        cgroup = null;
        output = null;
        return ended();
    }

    // ---- ended: the log is kept until the registry forgets the job, which holds its final status ----

    private Behavior<Command> ended() {
        return Behaviors.receive(Command.class)
                .onMessage(Stop.class, stop -> {
                    // Sent before the registry saw the end: it has the final status by now (it follows our JobUpdated).
                    registry.tell(new JobRegistry.AnswerFinalStatus(status.id(), stop.replyTo()));
                    return Behaviors.same();
                })
                .onMessage(OpenLog.class, this::onOpenLog)
                .onMessage(Forget.class, this::removed)
                // Late news of a life that is over: its status is final.
                .onMessage(OutputHeld.class, held -> Behaviors.same())
                .onMessage(OutputResumed.class, resumed -> Behaviors.same())
                .onMessage(OutputDiscarded.class, discarded -> Behaviors.same())
                .onMessage(TerminationSent.class, sent -> Behaviors.same())
                .onMessage(GraceExpired.class, expired -> Behaviors.same())
                .onMessage(CgroupPopulated.class, populated -> {
                    if (populated.watch() != null) {
                        populated.watch().cancel();
                    }
                    return Behaviors.same();
                })
                .onMessage(CgroupEmptied.class, emptied -> Behaviors.same())
                .onMessage(EmptyOverdue.class, overdue -> Behaviors.same())
                .onMessage(CountersWatched.class, watched -> {
                    if (watched.watch() != null) {
                        watched.watch().cancel(); // the job ended before its watch began
                    }
                    return Behaviors.same();
                })
                .onMessage(CountersChanged.class, changed -> Behaviors.same())
                .onMessage(CountersRead.class, read -> Behaviors.same())
                .onMessage(Control.class, control -> {
                    if (control.control().kind() == JobControl.Kind.STOP) {
                        registry.tell(new JobRegistry.AnswerFinalControl(status.id(), control.replyTo()));
                        return Behaviors.same();
                    }
                    return refuse(control);
                })
                .onMessage(Paused.class, paused -> replyAfterControl(paused.replyTo(), paused.error()))
                .onMessage(Resumed.class, resumed -> replyAfterControl(resumed.replyTo(), resumed.error()))
                .onMessage(DeadlineExpired.class, expired -> Behaviors.same())
                .onSignal(PostStop.class, signal -> onPostStop())
                .onAnyMessage(this::unexpected)
                .build();
    }

    /** Removed: the registry forgot the job; its log is closed and deleted off the actor's thread, and it stops. */
    private Behavior<Command> removed(Forget forget) {
        runtime.records().delete(status.id());
        LogStore forgotten = log;
        log = null; // so PostStop has nothing left to close
        String id = status.id();
        JobRegistry.JobDeleted deleted = new JobRegistry.JobDeleted(id);
        if (forgotten == null) {
            forget.whenDeleted().tell(deleted);
        } else {
            runtime.blocking().execute(() -> {
                try {
                    forgotten.close();
                    Files.deleteIfExists(forgotten.path());
                } catch (IOException e) {
                    LOG.warn("Job {}: cannot delete its log {}: {}", id, forgotten.path(), e.getMessage());
                }
                forget.whenDeleted().tell(deleted);
            });
        }
        return Behaviors.stopped();
    }

    // ---- handlers shared by several states ----

    /**
     * A state of a job whose output may still flow (running, stopping, ending): besides its own messages it takes
     * the output's news and OpenLog alike; anything else is unexpected there.
     */
    private Behavior<Command> whileLive(BehaviorBuilder<Command> state) {
        return state
                .onMessage(OutputHeld.class, this::onOutputHeld)
                .onMessage(OutputResumed.class, this::onOutputResumed)
                .onMessage(OutputDiscarded.class, this::onOutputDiscarded)
                .onMessage(OpenLog.class, this::onOpenLog)
                .onMessage(Paused.class, this::onPaused)
                .onMessage(Resumed.class, this::onResumed)
                .onMessage(CountersWatched.class, this::onCountersWatched)
                .onMessage(CountersChanged.class, changed -> onCountersChanged())
                .onMessage(CountersRead.class, this::onCountersRead)
                .onAnyMessage(this::unexpected)
                .build();
    }

    private Behavior<Command> onOutputHeld(OutputHeld held) {
        update(status.withOutputHeld(held.why()));
        return Behaviors.same();
    }

    private Behavior<Command> onOutputResumed(OutputResumed resumed) {
        update(status.withOutputHeld(null));
        return Behaviors.same();
    }

    private Behavior<Command> onOutputDiscarded(OutputDiscarded discarded) {
        update(status.withOutputHeld(discarded.what()));
        return Behaviors.same();
    }

    private Behavior<Command> onOpenLog(OpenLog open) {
        open.replyTo().tell(new JobRegistry.LogAvailable(status.id(), log));
        return Behaviors.same();
    }

    /** A message this state never expects (Forget before the end, an exit before the launch): a bug, logged. */
    private Behavior<Command> unexpected(Command message) {
        LOG.error("Job {}: unexpected {} while {}", status.id(), message.getClass().getSimpleName(), status.state());
        return Behaviors.same();
    }

    private Behavior<Command> onPostStop() {
        stopWatchingCounters();
        if (log != null) {
            try {
                if (status.state().isFinal()) {
                    log.close();
                } else { // the daemon goes while the job runs on with the keeper: the next daemon appends to its log
                    log.closeUnsealed();
                }
            } catch (IOException e) {
                context.getLog().warn("Job {}: cannot close its log: {}", status.id(), e.getMessage());
            }
        }
        return Behaviors.same();
    }

    /**
     * Freezing the cgroup first makes its pid list stable: a frozen process cannot exit by itself, so no pid can
     * be reused by a stranger between reading cgroup.procs and signalling. (A frozen process does die of the
     * fatal signal sent here, and the job may then end, and its cgroup be removed, before the thaw: a cgroup
     * gone by then needs no thaw and no kill.) Returns true if the job had to be killed outright because it
     * could not be frozen.
     */
    private static boolean signalAll(Cgroup cgroup, String jobId) {
        try {
            cgroup.freeze();
            try {
                for (int pid : cgroup.pids()) {
                    Signals.kill(pid, SIGTERM);
                }
            } finally {
                thawUnlessGone(cgroup);
            }
            return false;
        } catch (IOException e) {
            if (gone(cgroup)) {
                return false;
            }
            LOG.warn("Job {}: cannot deliver SIGTERM to its processes ({}); killing it instead", jobId, e.getMessage());
            killQuietly(cgroup, jobId);
            return true;
        }
    }

    private static void thawUnlessGone(Cgroup cgroup) throws CgroupException {
        try {
            cgroup.thaw();
        } catch (CgroupException e) {
            if (!gone(cgroup)) {
                throw e;
            }
        }
    }

    /** The job ended and its cgroup was removed meanwhile. */
    private static boolean gone(Cgroup cgroup) {
        return !cgroup.exists();
    }

    /**
     * No process runs as the job's uid any more (its cgroup is empty): its home and leftovers are removed and the
     * id freed, off the path to the final status. A cgroup that could not be removed keeps its id out of use.
     */
    private void releaseIdentity(boolean cgroupRemoved) {
        if (identity == null) {
            return;
        }
        JobIdentity released = identity;
        identity = null;
        if (!cgroupRemoved) {
            context.getLog().error("Job {}: uid {} stays out of use: its cgroup could not be removed",
                    status.id(), released.uid());
            return;
        }
        try {
            runtime.blocking().execute(() -> runtime.identities().release(released));
        } catch (RuntimeException e) { // the dispatcher is gone: the daemon is stopping, the next one removes the home
            context.getLog().warn("Job {}: cannot release uid {}: {}", status.id(), released.uid(), e.toString());
        }
    }

    private void update(JobStatus newStatus) {
        status = newStatus;
        registry.tell(new JobRegistry.JobUpdated(status));
    }

    private JobStatus with(JobState state, int pid, int uid, Instant startedAt) {
        return new JobStatus(status.id(), status.command(), status.args(), state, pid, uid, null, null,
                false, false, false, status.createdAt(), startedAt, null, null, null, status.outputHeld(), status.control(), status.labels());
    }

    private JobStatus withStopping() {
        return new JobStatus(status.id(), status.command(), status.args(), JobState.STOPPING, status.pid(), status.uid(), null, null,
                false, false, true, status.createdAt(), status.startedAt(), null, null, null, status.outputHeld(),
                status.control().thawedAt(runtime.clock().instant()), status.labels(), status.groups()); // Stop thaws a paused job
    }

    private static void killQuietly(Cgroup cgroup, String jobId) {
        try {
            cgroup.kill();
        } catch (CgroupException e) {
            if (gone(cgroup)) {
                return;
            }
            LOG.error("Job {}: cannot kill its cgroup: {}", jobId, e.getMessage());
        }
    }

    private static JobError errorOf(Throwable failure) {
        Throwable cause = failure instanceof java.util.concurrent.CompletionException ? failure.getCause() : failure;
        if (cause instanceof JobLauncher.LaunchFailed launchFailed) {
            return launchFailed.error();
        }
        LOG.error("Launching a job failed unexpectedly", cause);
        return JobError.unavailable("internal error while starting the job: " + cause);
    }

    // ---- job control: signal, pause/resume, stop with a grace or forced, the deadline ----

    private Behavior<Command> onControlWhileRunning(Control control, boolean outputEnded) {
        JobControl asked = control.control();
        switch (asked.kind()) {
            case SIGNAL -> signal(control);
            case PAUSE -> {
                if (status.state() == JobState.FROZEN) {
                    return refuse(control);
                }
                Cgroup target = cgroup;
                context.pipeToSelf(serially(() -> {
                    try {
                        target.freeze();
                        pausedByRequest.set(true);
                        return (String) null;
                    } catch (CgroupException e) {
                        return e.getMessage();
                    }
                }), (error, failure) -> new Paused(runtime.clock().instant(),
                        failure != null ? failure.toString() : error, control.replyTo()));
            }
            case RESUME -> {
                if (status.state() != JobState.FROZEN) {
                    return refuse(control);
                }
                Cgroup target = cgroup;
                context.pipeToSelf(serially(() -> {
                    try {
                        target.thaw();
                        pausedByRequest.set(false);
                        return (String) null;
                    } catch (CgroupException e) {
                        return e.getMessage();
                    }
                }), (error, failure) -> new Resumed(runtime.clock().instant(),
                        failure != null ? failure.toString() : error, control.replyTo()));
            }
            case STOP -> {
                acceptStop(control);
                return beginStop(outputEnded);
            }
            case SET_DEADLINE -> {
                update(status.withControl(status.control().withDeadline(asked.deadline())));
                timers.cancel(DEADLINE_TIMER);
                startDeadlineTimer();
                runtime.records().started(status); // an adopting daemon keeps the new deadline
                control.replyTo().tell(new JobRegistry.StatusReport(status));
            }
        }
        return Behaviors.same();
    }

    private Behavior<Command> onControlWhileStopping(Control control) {
        JobControl asked = control.control();
        switch (asked.kind()) {
            case SIGNAL -> signal(control); // a stopping job may still be signalled (SIGKILL before its grace ends, say)
            case STOP -> {
                controlStopWaiters.add(control.replyTo()); // already stopping: wait for the end with the others
                if (asked.force() && !stopForce) {
                    stopForce = true;
                    Cgroup target = cgroup;
                    String id = status.id();
                    serially(() -> {
                        killQuietly(target, id);
                        return null;
                    });
                }
            }
            default -> {
                return refuse(control);
            }
        }
        return Behaviors.same();
    }

    /** A Stop through job control: its grace period (or force) is this Stop's; answered with the final status. */
    private void acceptStop(Control control) {
        controlStopWaiters.add(control.replyTo());
        stopGrace = control.control().grace();
        stopForce = control.control().force();
    }

    /**
     * Sends the signal off the actor and answers once it was sent, with the status the job had when asked; refused
     * if no process was there to receive it (the job is ending).
     */
    private void signal(Control control) {
        JobControl asked = control.control();
        JobStatus asOfNow = status;
        Cgroup target = cgroup;
        JobControlOps.MainProcess main = mainProcess;
        String id = status.id();
        serially(() -> {
            try {
                return asked.all() ? JobControlOps.signalEvery(target, asked.signal(), pausedByRequest.get()) > 0
                        : JobControlOps.signalMain(main, asked.signal());
            } catch (IOException e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        }).whenComplete((sent, failure) -> control.replyTo().tell(
                failure != null ? new JobRegistry.ControlRefused(JobError.unavailable("cannot send "
                        + io.rund.linux.Signals.name(asked.signal()) + " to job " + id + ": " + failure.getMessage()))
                        : sent ? new JobRegistry.StatusReport(asOfNow)
                        : new JobRegistry.ControlRefused(JobError.precondition("job_id", "job " + id
                        + " has no process left to signal: it is ending"))));
    }

    private Behavior<Command> onPaused(Paused paused) {
        if (paused.error() == null && status.state() == JobState.RUNNING) {
            update(status.withState(JobState.FROZEN).withControl(status.control().frozenAt(paused.at())));
            context.getLog().info("Job {} is paused (frozen)", status.id());
        }
        return replyAfterControl(paused.replyTo(), paused.error());
    }

    private Behavior<Command> onResumed(Resumed resumed) {
        if (resumed.error() == null && status.state() == JobState.FROZEN) {
            update(status.withState(JobState.RUNNING).withControl(status.control().thawedAt(resumed.at())));
            context.getLog().info("Job {} is resumed (thawed)", status.id());
        }
        return replyAfterControl(resumed.replyTo(), resumed.error());
    }

    private Behavior<Command> replyAfterControl(ActorRef<JobRegistry.ControlResult> replyTo, String error) {
        replyTo.tell(error != null
                ? new JobRegistry.ControlRefused(JobError.unavailable("job " + status.id() + ": " + error))
                : new JobRegistry.StatusReport(status));
        return Behaviors.same();
    }

    private Behavior<Command> refuse(Control control) {
        control.replyTo().tell(new JobRegistry.ControlRefused(refusal(status.id(), status.state(), control.control())));
        return Behaviors.same();
    }

    /** Why a job in {@code state} refuses {@code control}: FAILED_PRECONDITION naming the state and what to do. */
    static JobError refusal(String jobId, JobState state, JobControl control) {
        String verb = switch (control.kind()) {
            case SIGNAL -> "signal it";
            case PAUSE -> "pause it";
            case RESUME -> "resume it";
            case STOP -> "stop it";
            case SET_DEADLINE -> "change its deadline";
        };
        String hint = switch (state) {
            case STARTING -> "; try again once it runs";
            case FROZEN -> control.kind() == JobControl.Kind.PAUSE ? " already" : "";
            case RUNNING -> control.kind() == JobControl.Kind.RESUME ? ", not FROZEN: there is nothing to resume" : "";
            case STOPPING -> ": it is ending";
            case EXITED, FAILED_TO_START -> ": it has ended";
        };
        return JobError.precondition("job_id", "job " + jobId + " is " + state + hint + "; cannot " + verb);
    }

    private void startDeadlineTimer() {
        Instant deadline = status.control().deadline();
        if (deadline == null) {
            return;
        }
        Duration left = Duration.between(runtime.clock().instant(), deadline);
        if (left.isNegative() || left.isZero()) {
            context.getSelf().tell(new DeadlineExpired()); // passed while no daemon ran, say
        } else {
            timers.startSingleTimer(DEADLINE_TIMER, new DeadlineExpired(), left);
        }
    }

    /** The control part of the final status: the last freeze (if any) ends at the exit. */
    private JobControlState endControl(Instant at) {
        JobControlState control = status.control().thawedAt(at);
        return stopByDeadline ? control.markedEndedByDeadline() : control;
    }

    /** Runs {@code work} on the job dispatcher after every control work asked before it (whether that failed or not). */
    private <T> CompletableFuture<T> serially(java.util.function.Supplier<T> work) {
        CompletableFuture<T> next = controlChain.handle((result, failure) -> null)
                .thenApplyAsync(ignored -> work.get(), runtime.blocking());
        controlChain = next;
        return next;
    }

    // ---- live OOM-kill and pids.max events: the kernel's counters, watched as file changes on the exit-watcher thread ----

    /** Watches the job's counter files off the actor, then reads them once (a change before the watch is not missed). */
    private void watchCounters() {
        Cgroup target = cgroup;
        CgroupFileWatcher files = runtime.cgroupFiles();
        ActorRef<Command> self = context.getSelf();
        String id = status.id();
        context.pipeToSelf(CompletableFuture.supplyAsync(() -> {
                    CgroupFileWatcher.Watch watch = null;
                    try {
                        if (files.watch(target.path(), EventCounters.FILES, () -> self.tell(COUNTERS_CHANGED))
                                instanceof CgroupFileWatcher.Watching watching) {
                            watch = watching.watch();
                        } // else the bound is reached (logged by the watcher): its counts are published at its end
                    } catch (io.rund.linux.LinuxException e) {
                        LOG.warn("Job {}: no live OOM-kill and pids.max events ({}); they are published when it ends",
                                id, e.getMessage());
                    }
                    return new CountersWatched(watch, readCounters(target));
                }, runtime.blocking()),
                (watched, failure) -> failure == null ? watched : new CountersWatched(null, null));
    }

    private Behavior<Command> onCountersWatched(CountersWatched watched) {
        countersWatch = watched.watch();
        if (watched.counters() != null) {
            publishNewCounts(watched.counters());
        }
        return Behaviors.same();
    }

    private Behavior<Command> onCountersChanged() {
        if (countersReading) {
            countersChangedMeanwhile = true;
        } else {
            readCountersOffActor();
        }
        return Behaviors.same();
    }

    private void readCountersOffActor() {
        countersReading = true;
        Cgroup target = cgroup;
        context.pipeToSelf(CompletableFuture.supplyAsync(() -> readCounters(target), runtime.blocking()),
                (counters, failure) -> new CountersRead(failure == null ? counters : null));
    }

    private Behavior<Command> onCountersRead(CountersRead read) {
        countersReading = false;
        if (read.counters() != null) {
            publishNewCounts(read.counters());
        }
        if (countersChangedMeanwhile) {
            countersChangedMeanwhile = false;
            readCountersOffActor();
        }
        return Behaviors.same();
    }

    /** Publishes what grew since the counts already published: one OOM_KILL, one PIDS_MAX, each with how many. */
    private void publishNewCounts(EventCounters now) {
        long kills = now.oomKills() - countersPublished.oomKills();
        long refusals = now.pidsMaxRefusals() - countersPublished.pidsMaxRefusals();
        if (kills > 0) {
            registry.tell(new JobRegistry.PublishEvent(status.id(), JobEventType.OOM_KILL, kills
                    + (kills == 1 ? " process" : " processes") + " killed by the kernel's OOM killer (memory.events oom_kill "
                    + now.oomKills() + ")"));
        }
        if (refusals > 0) {
            registry.tell(new JobRegistry.PublishEvent(status.id(), JobEventType.PIDS_MAX, refusals
                    + (refusals == 1 ? " fork" : " forks") + " refused at pids.max (pids.events max " + now.pidsMaxRefusals() + ")"));
        }
        countersPublished = countersPublished.atLeast(now);
    }

    private void stopWatchingCounters() {
        if (countersWatch != null) {
            countersWatch.cancel();
            countersWatch = null;
        }
    }

    /** The cgroup's counters, or null if they cannot be read (it is being removed). */
    private static EventCounters readCounters(Cgroup cgroup) {
        try {
            return cgroup.eventCounters();
        } catch (CgroupException e) {
            return null;
        }
    }
}
