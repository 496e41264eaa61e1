package io.rund.job;

import io.rund.logs.LogSpace;
import io.rund.logs.LogStore;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

import java.io.IOException;
import java.nio.file.Files;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Stands for a job that ended before this daemon started, known from its record ({@link JobRecords}): it answers
 * Stop with the final status, opens the job's log read-only when a client first asks for it (on the blocking
 * dispatcher, then shared by every later reader), and on Forget deletes the record and the log. The registry
 * spawns one only when such a job is first used, so that thousands of old jobs cost no actor. It speaks
 * {@link JobActor}'s protocol, as the "ended" state of a job actor would.
 */
final class RestoredJob {

    private RestoredJob() {}

    static Behavior<JobActor.Command> create(JobStatus status, Set<String> owner, JobRuntime runtime) {
        return Behaviors.setup(context -> new State(context, status, owner, runtime).behavior());
    }

    private static final class State {
        private final ActorContext<JobActor.Command> context;
        private final JobStatus status;
        private final Set<String> owner;
        private final JobRuntime runtime;
        /** The log, once a client asked for it; touched only on the actor's thread, completed on the dispatcher. */
        private CompletableFuture<LogStore> log;

        State(ActorContext<JobActor.Command> context, JobStatus status, Set<String> owner, JobRuntime runtime) {
            this.context = context;
            this.status = status;
            this.owner = owner;
            this.runtime = runtime;
        }

        Behavior<JobActor.Command> behavior() {
            return Behaviors.receive(JobActor.Command.class)
                    .onMessage(JobActor.Stop.class, stop -> {
                        stop.replyTo().tell(new JobRegistry.StatusReport(status));
                        return Behaviors.same();
                    })
                    .onMessage(JobActor.OpenLog.class, this::onOpenLog)
                    .onMessage(JobActor.Forget.class, this::onForget)
                    .onSignal(PostStop.class, stopped -> onPostStop())
                    .build();
        }

        private Behavior<JobActor.Command> onOpenLog(JobActor.OpenLog open) {
            if (log == null) {
                log = CompletableFuture.supplyAsync(this::openLog, runtime.blocking());
            }
            String id = status.id();
            log.whenComplete((store, failure) -> open.replyTo().tell(store != null
                    ? new JobRegistry.LogAvailable(id, store) : new JobRegistry.JobNotFound(id)));
            return Behaviors.same();
        }

        private LogStore openLog() {
            try {
                return runtime.logs().openFinishedLog(runtime.logFileOf(status.id()), LogSpace.identityOf(owner));
            } catch (IOException e) {
                context.getLog().warn("Job {} (from before this daemon started): cannot open its log: {}", status.id(), e.getMessage());
                throw new java.io.UncheckedIOException(e);
            }
        }

        private Behavior<JobActor.Command> onForget(JobActor.Forget forget) {
            String id = status.id();
            runtime.records().delete(id);
            CompletableFuture<LogStore> opened = log != null ? log : CompletableFuture.completedFuture(null);
            log = null; // closed and deleted below, so PostStop has nothing left to close
            opened.whenCompleteAsync((store, failure) -> {
                try {
                    if (store != null) {
                        store.close();
                    }
                    Files.deleteIfExists(runtime.logFileOf(id));
                    if (store == null) {
                        runtime.logs().claimEarlierFile(runtime.logFileOf(id)); // never opened: its bytes counted till now
                    }
                } catch (IOException e) {
                    org.slf4j.LoggerFactory.getLogger(RestoredJob.class).warn("Job {}: cannot delete its log: {}", id, e.getMessage());
                }
                forget.whenDeleted().tell(new JobRegistry.JobDeleted(id));
            }, runtime.blocking());
            return Behaviors.stopped();
        }

        private Behavior<JobActor.Command> onPostStop() {
            if (log != null) {
                log.thenAccept(store -> {
                    try {
                        store.close();
                    } catch (IOException e) {
                        org.slf4j.LoggerFactory.getLogger(RestoredJob.class).warn("Job {}: cannot close its log: {}",
                                status.id(), e.getMessage());
                    }
                });
            }
            return Behaviors.same();
        }
    }
}
