package io.rund.job;

import com.github.f4b6a3.ulid.UlidCreator;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import io.rund.logs.LogStore;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Maps job ids (monotonic ULIDs) to their {@link JobActor}s and owner SAN sets, and authorizes every request.
 * It keeps each job's last published status so that listing needs no round trip, and learns of a job
 * actor's end through {@code watchWith}. A job the caller may not see is answered exactly like one that
 * does not exist. On {@link StopAll} it refuses new jobs and replies once every job has reached its end.
 */
public final class JobRegistry extends AbstractBehavior<JobRegistry.Command> {

    public sealed interface Command {}

    public record StartJob(JobSpec spec, Set<String> owner, ActorRef<StartResult> replyTo) implements Command {}

    public record GetStatus(String jobId, Set<String> caller, ActorRef<StatusResult> replyTo) implements Command {}

    public record StopJob(String jobId, Set<String> caller, ActorRef<StatusResult> replyTo) implements Command {}

    public record ListJobs(Set<String> caller, ActorRef<JobList> replyTo) implements Command {}

    public record OpenLog(String jobId, Set<String> caller, ActorRef<LogResult> replyTo) implements Command {}

    /**
     * Replies with the job's final status once it has ended (at once if it has): a following log stream asks
     * this after the job's output has ended, to close with the job's exit.
     */
    public record AwaitEnd(String jobId, Set<String> caller, ActorRef<StatusResult> replyTo) implements Command {}

    /** Daemon shutdown: stop every job (grace, then kill) and reply once all have ended. */
    public record StopAll(ActorRef<AllStopped> replyTo) implements Command {}

    /** Sent by a job actor on every change of its status. */
    record JobUpdated(JobStatus status) implements Command {}

    private record JobTerminated(String jobId) implements Command {}

    public sealed interface StartResult {}

    public record JobStarted(String jobId, JobStatus status) implements StartResult {}

    public record StartRejected(JobError error) implements StartResult {}

    public sealed interface StatusResult {}

    public sealed interface LogResult {}

    public record StatusReport(JobStatus status) implements StatusResult {}

    public record LogAvailable(String jobId, LogStore log) implements LogResult {}

    /** No such job, or one the caller may not see: the two are indistinguishable on purpose. */
    public record JobNotFound(String jobId) implements StatusResult, LogResult {}

    public record JobList(List<JobStatus> jobs) {}

    public record AllStopped(int jobsStopped) {}

    private record Entry(ActorRef<JobActor.Command> actor, Set<String> owner, JobStatus status) {
        Entry with(JobStatus newStatus) {
            return new Entry(actor, owner, newStatus);
        }
    }

    public static Behavior<Command> create(JobRuntime runtime) {
        return Behaviors.setup(context -> new JobRegistry(context, runtime));
    }

    private final JobRuntime runtime;
    private final Authorizer authorizer;
    private final Map<String, Entry> jobs = new HashMap<>();
    private final List<ActorRef<AllStopped>> shutdownWaiters = new ArrayList<>();
    private boolean shuttingDown;
    private int stoppedAtShutdown;

    private JobRegistry(ActorContext<Command> context, JobRuntime runtime) {
        super(context);
        this.runtime = runtime;
        this.authorizer = new Authorizer(runtime.settings().adminSans());
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(StartJob.class, this::onStartJob)
                .onMessage(GetStatus.class, this::onGetStatus)
                .onMessage(StopJob.class, this::onStopJob)
                .onMessage(ListJobs.class, this::onListJobs)
                .onMessage(OpenLog.class, this::onOpenLog)
                .onMessage(AwaitEnd.class, this::onAwaitEnd)
                .onMessage(StopAll.class, this::onStopAll)
                .onMessage(JobUpdated.class, this::onJobUpdated)
                .onMessage(JobTerminated.class, this::onJobTerminated)
                .build();
    }

    private Behavior<Command> onStartJob(StartJob start) {
        Optional<JobError> refusal = refusalFor(start);
        if (refusal.isPresent()) {
            start.replyTo().tell(new StartRejected(refusal.get()));
            return this;
        }
        String id = UlidCreator.getMonotonicUlid().toString();
        JobStatus initial = JobActor.initialStatus(id, start.spec(), runtime.clock().instant());
        ActorRef<JobActor.Command> actor = getContext().spawn(
                JobActor.create(initial, start.spec(), runtime, getContext().getSelf(), start.replyTo()), id);
        getContext().watchWith(actor, new JobTerminated(id));
        jobs.put(id, new Entry(actor, Set.copyOf(start.owner()), initial));
        return this;
    }

    private Optional<JobError> refusalFor(StartJob start) {
        if (shuttingDown) {
            return Optional.of(JobError.unavailable("rund is shutting down"));
        }
        if (start.owner().isEmpty()) {
            return Optional.of(JobError.precondition("identity", "the client certificate carries no subject alternative names"));
        }
        Optional<JobError> invalid = start.spec().validate();
        if (invalid.isPresent()) {
            return invalid;
        }
        long active = jobs.values().stream().filter(e -> !e.status().state().isFinal()).count();
        if (active >= runtime.settings().maxActiveJobs()) {
            return Optional.of(new JobError(JobError.Kind.RESOURCE_EXHAUSTED, "",
                    "this host already runs " + active + " jobs, the configured maximum"));
        }
        return Optional.empty();
    }

    private Behavior<Command> onGetStatus(GetStatus get) {
        visible(get.jobId(), get.caller()).ifPresentOrElse(
                entry -> get.replyTo().tell(new StatusReport(entry.status())),
                () -> get.replyTo().tell(new JobNotFound(get.jobId())));
        return this;
    }

    private Behavior<Command> onStopJob(StopJob stop) {
        visible(stop.jobId(), stop.caller()).ifPresentOrElse(
                entry -> {
                    if (entry.status().state().isFinal()) {
                        stop.replyTo().tell(new StatusReport(entry.status()));
                    } else {
                        entry.actor().tell(new JobActor.Stop(stop.replyTo()));
                    }
                },
                () -> stop.replyTo().tell(new JobNotFound(stop.jobId())));
        return this;
    }

    private Behavior<Command> onListJobs(ListJobs list) {
        List<JobStatus> mine = jobs.values().stream()
                .filter(entry -> authorizer.mayAccess(entry.owner(), list.caller()))
                .map(Entry::status)
                .sorted(Comparator.comparing(JobStatus::id))
                .toList();
        list.replyTo().tell(new JobList(mine));
        return this;
    }

    private Behavior<Command> onOpenLog(OpenLog open) {
        visible(open.jobId(), open.caller()).ifPresentOrElse(
                entry -> entry.actor().tell(new JobActor.OpenLog(open.replyTo())),
                () -> open.replyTo().tell(new JobNotFound(open.jobId())));
        return this;
    }

    private Behavior<Command> onAwaitEnd(AwaitEnd await) {
        visible(await.jobId(), await.caller()).ifPresentOrElse(
                entry -> {
                    if (entry.status().state().isFinal()) {
                        await.replyTo().tell(new StatusReport(entry.status()));
                    } else {
                        entry.actor().tell(new JobActor.AwaitEnd(await.replyTo()));
                    }
                },
                () -> await.replyTo().tell(new JobNotFound(await.jobId())));
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
        if (entry != null && status.state() == JobState.FAILED_TO_START) {
            jobs.remove(status.id()); // its client got the error and never learnt the id
        } else if (entry != null) {
            jobs.put(status.id(), entry.with(status));
        }
        return replyIfAllEnded();
    }

    private Behavior<Command> onJobTerminated(JobTerminated terminated) {
        Entry entry = jobs.get(terminated.jobId());
        if (entry != null && !entry.status().state().isFinal()) {
            // Only a bug stops a job actor early; its cgroup is left for the next start's orphan sweep.
            getContext().getLog().error("Job actor {} stopped while its job was {}", terminated.jobId(), entry.status().state());
            jobs.remove(terminated.jobId());
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

    private Optional<Entry> visible(String jobId, Set<String> caller) {
        Entry entry = jobs.get(jobId);
        return entry != null && authorizer.mayAccess(entry.owner(), caller) ? Optional.of(entry) : Optional.empty();
    }
}
