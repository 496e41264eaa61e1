package io.rund.job;

import io.rund.cgroup.Accounting;
import io.rund.cgroup.Cgroup;
import io.rund.cgroup.CgroupException;
import io.rund.linux.OutputPump;
import io.rund.linux.ProcessExit;
import io.rund.linux.Signals;
import io.rund.logs.LogStore;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Owns one job: its cgroup, its process and its log, from spawn to removal. A job has ended when its main
 * process has exited, its cgroup is empty (whatever the job left running is killed) and its output has been
 * read to the end; only then is the cgroup removed and the final status published. Stop sends SIGTERM to
 * every process of the job and kills the whole cgroup after the grace period. All blocking work runs on the
 * job dispatcher and comes back as messages; the actor outlives its job to answer with the final status.
 * While the job's log cannot be written its output is held (the pump stops reading; the job blocks, nothing is
 * lost) and its status says so; a job that exits meanwhile ends once its output is written, but a stopped job's
 * held output is discarded once its processes are gone, so that Stop and shutdown never wait for disk space.
 */
public final class JobActor extends AbstractBehavior<JobActor.Command> {

    public sealed interface Command {}

    /** Stop the job; the reply is its final status once it has ended. */
    public record Stop(ActorRef<JobRegistry.StatusResult> replyTo) implements Command {}

    public record OpenLog(ActorRef<JobRegistry.LogResult> replyTo) implements Command {}

    /** The registry no longer keeps this finished job: delete its log and stop. */
    public record Forget() implements Command {}

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

    /** The cgroup after the exit: emptied (then read and removed, if it could be), or not empty yet. */
    private record CgroupEnded(boolean empty, Accounting usage, boolean oomKilled, boolean removed) implements Command {}

    private record TerminationSent(boolean killedInstead) implements Command {}

    private record GraceExpired() implements Command {}


    private static final int SIGTERM = 15;
    /** How long one attempt waits for a killed cgroup to empty before it is tried again. */
    private static final Duration EMPTY_WAIT = Duration.ofSeconds(5);
    private static final Object GRACE_TIMER = "grace";
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(JobActor.class);

    static JobStatus initialStatus(String id, JobSpec spec, Instant now) {
        return new JobStatus(id, spec.command(), spec.args(), JobState.STARTING, null, null, null, null,
                false, false, false, now, null, null, null, null, null);
    }

    static Behavior<Command> create(JobStatus initial, JobSpec spec, Set<String> owner, JobRuntime runtime,
                                    ActorRef<JobRegistry.Command> registry,
                                    ActorRef<JobRegistry.StartResult> startReplyTo) {
        return Behaviors.setup(context -> Behaviors.withTimers(timers ->
                new JobActor(context, timers, initial, spec, owner, runtime, registry, startReplyTo)));
    }

    private final TimerScheduler<Command> timers;
    private final JobRuntime runtime;
    private final ActorRef<JobRegistry.Command> registry;
    private final ActorRef<JobRegistry.StartResult> startReplyTo;
    private final List<ActorRef<JobRegistry.StatusResult>> stopWaiters = new ArrayList<>();
    private final List<ActorRef<JobRegistry.LogResult>> logWaiters = new ArrayList<>();

    private JobStatus status;
    private Cgroup cgroup;
    /** The identity the job runs as, if it was lent one; released once its cgroup is empty and removed. */
    private JobIdentity identity;
    private LogStore log;
    private OutputPump.Pumping output;
    private ProcessExit exit;
    private boolean stopRequested;
    private boolean outputClosed;
    private CgroupEnded cgroupEnded;

    private JobActor(ActorContext<Command> context, TimerScheduler<Command> timers, JobStatus initial, JobSpec spec,
                     Set<String> owner, JobRuntime runtime, ActorRef<JobRegistry.Command> registry,
                     ActorRef<JobRegistry.StartResult> startReplyTo) {
        super(context);
        this.timers = timers;
        this.runtime = runtime;
        this.registry = registry;
        this.startReplyTo = startReplyTo;
        this.status = initial;
        JobLauncher launcher = new JobLauncher(runtime);
        context.pipeToSelf(
                CompletableFuture.supplyAsync(() -> {
                    try {
                        runtime.records().created(spec, owner, initial); // before the spawn: no job runs unrecorded
                    } catch (IOException e) {
                        throw new java.util.concurrent.CompletionException(new JobLauncher.LaunchFailed(
                                JobError.unavailable("cannot write the job's record: " + e.getMessage()), e));
                    }
                    try {
                        return launcher.launch(initial.id(), spec, owner);
                    } catch (JobLauncher.LaunchFailed e) {
                        runtime.records().startFailed(initial.id());
                        throw new java.util.concurrent.CompletionException(e);
                    }
                }, runtime.blocking()),
                (launch, failure) -> launch != null ? new Launched(launch) : new LaunchFailed(errorOf(failure)));
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Launched.class, this::onLaunched)
                .onMessage(LaunchFailed.class, this::onLaunchFailed)
                .onMessage(Stop.class, this::onStop)
                .onMessage(OpenLog.class, this::onOpenLog)
                .onMessage(ProcessExited.class, this::onProcessExited)
                .onMessage(OutputClosed.class, this::onOutputClosed)
                .onMessage(OutputHeld.class, this::onOutputHeld)
                .onMessage(OutputResumed.class, this::onOutputResumed)
                .onMessage(OutputDiscarded.class, this::onOutputDiscarded)
                .onMessage(CgroupEnded.class, this::onCgroupEnded)
                .onMessage(TerminationSent.class, this::onTerminationSent)
                .onMessage(GraceExpired.class, this::onGraceExpired)
                .onMessage(Forget.class, this::onForget)
                .onSignal(PostStop.class, signal -> onPostStop())
                .build();
    }

    private Behavior<Command> onLaunched(Launched launched) {
        JobLauncher.Launch launch = launched.launch();
        cgroup = launch.cgroup();
        log = launch.log();
        identity = launch.identity();
        ActorRef<Command> self = getContext().getSelf();
        try {
            runtime.exits().watch(launch.process().pid(), launch.process().pidfd(), exit -> self.tell(new ProcessExited(exit)));
        } catch (io.rund.linux.LinuxException e) {
            // Without its exit watch the job could never be reaped: a bug. Kill the job and fail the actor.
            killQuietly(cgroup, status.id());
            throw new IllegalStateException("cannot watch job " + status.id() + "'s process", e);
        }
        output = runtime.output().pump(launch.process().stdoutFd(), launch.process().stderrFd(),
                new LogSink(status.id(), log, runtime.blocking(), self));
        update(with(JobState.RUNNING, launch.process().pid(), launch.uid(), runtime.clock().instant()));
        runtime.records().started(status);
        startReplyTo.tell(new JobRegistry.JobStarted(status.id(), status));
        logWaiters.forEach(waiter -> waiter.tell(new JobRegistry.LogAvailable(status.id(), log)));
        logWaiters.clear();
        if (stopRequested) {
            beginStop();
        }
        return this;
    }

    private Behavior<Command> onLaunchFailed(LaunchFailed failed) {
        getContext().getLog().info("Job {} failed to start: {}", status.id(), failed.error());
        status = new JobStatus(status.id(), status.command(), status.args(), JobState.FAILED_TO_START, null, null, null, null,
                false, false, false, status.createdAt(), null, runtime.clock().instant(), null, failed.error().toString(),
                null);
        registry.tell(new JobRegistry.JobUpdated(status));
        startReplyTo.tell(new JobRegistry.StartRejected(failed.error()));
        stopWaiters.forEach(waiter -> waiter.tell(new JobRegistry.StatusReport(status)));
        logWaiters.forEach(waiter -> waiter.tell(new JobRegistry.JobNotFound(status.id())));
        return Behaviors.stopped();
    }

    private Behavior<Command> onStop(Stop stop) {
        if (status.state().isFinal()) {
            stop.replyTo().tell(new JobRegistry.StatusReport(status));
            return this;
        }
        stopWaiters.add(stop.replyTo());
        if (status.state() == JobState.STARTING) {
            stopRequested = true;
        } else if (status.state() == JobState.RUNNING && exit == null) {
            beginStop();
        } else if (cgroupEnded != null && !outputClosed) {
            output.discardUnwritable(); // its processes are gone; only held output keeps it from ending
        }
        return this;
    }

    /** SIGTERM to every process of the job, then the whole cgroup is killed once the grace period is over. */
    private void beginStop() {
        update(withStopping());
        Cgroup target = cgroup;
        String id = status.id();
        getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> signalAll(target, id), runtime.blocking()),
                (killedInstead, failure) -> new TerminationSent(failure != null || killedInstead));
        timers.startSingleTimer(GRACE_TIMER, new GraceExpired(), runtime.settings().stopGracePeriod());
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

    private Behavior<Command> onTerminationSent(TerminationSent sent) {
        if (sent.killedInstead()) {
            timers.cancel(GRACE_TIMER);
        }
        return this;
    }

    private Behavior<Command> onGraceExpired(GraceExpired expired) {
        if (exit == null) {
            getContext().getLog().info("Job {} outlived its {} grace period; killing its cgroup",
                    status.id(), runtime.settings().stopGracePeriod());
            Cgroup target = cgroup;
            String id = status.id();
            runtime.blocking().execute(() -> killQuietly(target, id));
        }
        return this;
    }

    private Behavior<Command> onProcessExited(ProcessExited exited) {
        exit = exited.exit();
        timers.cancel(GRACE_TIMER);
        endCgroup();
        return this;
    }

    /**
     * Whatever the job left running dies with it; then, in the same trip to the blocking executor (every hop is
     * exit latency), its final accounting is read and the cgroup removed.
     */
    private void endCgroup() {
        Cgroup target = cgroup;
        String id = status.id();
        getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> emptyCollectAndRemove(target, id), runtime.blocking()),
                (ended, failure) -> {
                    if (failure == null) {
                        return ended;
                    }
                    LOG.warn("Job {}: ending its cgroup failed unexpectedly; trying again", id, failure);
                    return new CgroupEnded(false, null, false, false);
                });
    }

    private static CgroupEnded emptyCollectAndRemove(Cgroup cgroup, String jobId) {
        try {
            if (cgroup.populated()) {
                cgroup.kill();
                if (!cgroup.awaitEmpty(EMPTY_WAIT)) {
                    return new CgroupEnded(false, null, false, false);
                }
            }
        } catch (CgroupException e) {
            LOG.warn("Job {}: {}", jobId, e.getMessage());
            return new CgroupEnded(false, null, false, false);
        }
        Accounting usage = null;
        boolean oomKilled = false;
        try {
            usage = cgroup.accounting();
            oomKilled = cgroup.oomKilled();
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
        return new CgroupEnded(true, usage, oomKilled, removed);
    }

    private Behavior<Command> onCgroupEnded(CgroupEnded ended) {
        if (!ended.empty()) {
            getContext().getLog().warn("Job {}: its cgroup {} is not empty yet; killing it again", status.id(), cgroup.path());
            endCgroup();
            return this;
        }
        cgroupEnded = ended;
        if (stopRequested && !outputClosed) {
            // Every process of the stopped job is gone: what is left in its pipes is read to the end now, and output
            // its log cannot take is discarded rather than held, so that Stop (and shutdown) never wait for space.
            output.discardUnwritable();
        }
        Behavior<Command> next = finishIfEnded();
        releaseIdentity(ended.removed());
        return next;
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
            getContext().getLog().error("Job {}: uid {} stays out of use: its cgroup could not be removed",
                    status.id(), released.uid());
            return;
        }
        try {
            runtime.blocking().execute(() -> runtime.identities().release(released));
        } catch (RuntimeException e) { // the dispatcher is gone: the daemon is stopping, the next one removes the home
            getContext().getLog().warn("Job {}: cannot release uid {}: {}", status.id(), released.uid(), e.toString());
        }
    }

    private Behavior<Command> onOutputClosed(OutputClosed closed) {
        outputClosed = true;
        return finishIfEnded();
    }

    private Behavior<Command> onOutputHeld(OutputHeld held) {
        if (!status.state().isFinal()) {
            update(status.withOutputHeld(held.why()));
        }
        return this;
    }

    private Behavior<Command> onOutputResumed(OutputResumed resumed) {
        if (!status.state().isFinal()) {
            update(status.withOutputHeld(null));
        }
        return this;
    }

    private Behavior<Command> onOutputDiscarded(OutputDiscarded discarded) {
        if (!status.state().isFinal()) {
            update(status.withOutputHeld(discarded.what()));
        }
        return this;
    }

    /** The final status is published once the process has exited, its cgroup is gone and its output has ended. */
    private Behavior<Command> finishIfEnded() {
        if (exit == null || !outputClosed || cgroupEnded == null || status.state().isFinal()) {
            return this;
        }
        status = new JobStatus(status.id(), status.command(), status.args(), JobState.EXITED, status.pid(),
                status.uid(), exit.exitCode(), exit.signal(), exit.coreDumped(), cgroupEnded.oomKilled(), stopRequested,
                status.createdAt(), status.startedAt(), exit.at(), cgroupEnded.usage(), null, status.outputHeld());
        runtime.records().ended(status);
        registry.tell(new JobRegistry.JobUpdated(status));
        stopWaiters.forEach(waiter -> waiter.tell(new JobRegistry.StatusReport(status)));
        stopWaiters.clear();
        getContext().getLog().debug("Job {} ended: {}", status.id(), exit.describe());
        return this;
    }

    private Behavior<Command> onOpenLog(OpenLog open) {
        if (log != null) {
            open.replyTo().tell(new JobRegistry.LogAvailable(status.id(), log));
        } else {
            logWaiters.add(open.replyTo());
        }
        return this;
    }

    private Behavior<Command> onForget(Forget forget) {
        if (!status.state().isFinal()) {
            throw new IllegalStateException("job " + status.id() + " told to forget itself while " + status.state());
        }
        runtime.records().delete(status.id());
        LogStore forgotten = log;
        log = null; // closed and deleted off the actor's thread, so PostStop has nothing left to close
        if (forgotten != null) {
            String id = status.id();
            runtime.blocking().execute(() -> {
                try {
                    forgotten.close();
                    Files.deleteIfExists(forgotten.path());
                } catch (IOException e) {
                    LOG.warn("Job {}: cannot delete its log {}: {}", id, forgotten.path(), e.getMessage());
                }
            });
        }
        return Behaviors.stopped();
    }

    private Behavior<Command> onPostStop() {
        if (log != null) {
            try {
                log.close();
            } catch (IOException e) {
                getContext().getLog().warn("Job {}: cannot close its log: {}", status.id(), e.getMessage());
            }
        }
        return this;
    }

    private void update(JobStatus newStatus) {
        status = newStatus;
        registry.tell(new JobRegistry.JobUpdated(status));
    }

    private JobStatus with(JobState state, int pid, int uid, Instant startedAt) {
        return new JobStatus(status.id(), status.command(), status.args(), state, pid, uid, null, null,
                false, false, false, status.createdAt(), startedAt, null, null, null, status.outputHeld());
    }

    private JobStatus withStopping() {
        stopRequested = true;
        return new JobStatus(status.id(), status.command(), status.args(), JobState.STOPPING, status.pid(), status.uid(), null, null,
                false, false, true, status.createdAt(), status.startedAt(), null, null, null, status.outputHeld());
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
}
