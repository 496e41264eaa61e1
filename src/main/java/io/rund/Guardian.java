package io.rund;

import io.rund.job.JobIdentities;
import io.rund.job.JobRecord;
import io.rund.job.JobRecords;
import io.rund.job.JobRegistry;
import io.rund.job.EventSettings;
import io.rund.job.JobRuntime;
import io.rund.resctrl.RdtGroups;
import io.rund.job.JobSettings;
import io.rund.cgroup.CgroupManager;
import io.rund.linux.ExitWatcher;
import io.rund.linux.OutputPump;
import io.rund.linux.ProcessSpawner;
import io.rund.logs.LogSpace;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.ChildFailed;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * The root actor: wires the job runtime to the blocking dispatcher, starts the registry, and watches it. A registry
 * that stops or fails is not restarted: its state is the jobs (their actors are its children and stop with it), so a
 * fresh one would have lost track of every running job, answer NOT_FOUND for them and let their exits go unrecorded.
 * rund fails fast instead: one ERROR line, then the coordinated shutdown with {@link #REGISTRY_ENDED} as its reason,
 * which leaves the running jobs with rund-keeper as a crash would, for the next rund serve to adopt from their records.
 */
final class Guardian {

    static final String BLOCKING_DISPATCHER = "rund.blocking-dispatcher";
    /** Why the coordinated shutdown ran when the registry ended on its own: rund serve then exits with failure. */
    static final CoordinatedShutdown.Reason REGISTRY_ENDED = new CoordinatedShutdown.Reason() {
        @Override
        public String toString() {
            return "the job registry ended";
        }
    };
    private static final Logger LOG = LoggerFactory.getLogger(Guardian.class);

    private Guardian() {}

    /**
     * {@code registry} is completed with the registry once it runs; {@code registryEnded}, with how it ended, if it
     * ends while the daemon runs (a bug), so that shutdown does not wait on it.
     */
    static Behavior<Void> create(JobSettings settings, CgroupManager cgroups, ExitWatcher exits, OutputPump output,
                                 LogSpace logs, JobIdentities identities, ProcessSpawner spawner, JobRecords records,
                                 RdtGroups rdt, List<JobRecord> restored, List<JobRegistry.Adoption> adopted,
                                 CompletableFuture<ActorRef<JobRegistry.Command>> registry,
                                 CompletableFuture<String> registryEnded) {
        return Behaviors.setup(context -> {
            Executor blocking = context.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(BLOCKING_DISPATCHER));
            JobRuntime runtime = new JobRuntime(settings, cgroups, exits, output, logs, identities, spawner, records,
                    blocking, Clock.systemUTC(), rdt);
            EventSettings events = EventSettings.fromConfig(context.getSystem().settings().config().getConfig("rund"));
            ActorRef<JobRegistry.Command> jobs = context.spawn(JobRegistry.create(runtime, restored, adopted, events), "jobs");
            context.watch(jobs);
            registry.complete(jobs);
            return Behaviors.receive(Void.class)
                    .onSignal(Terminated.class, ended -> onRegistryEnded(context, ended, registryEnded))
                    .build();
        });
    }

    private static Behavior<Void> onRegistryEnded(ActorContext<Void> context, Terminated ended,
                                                  CompletableFuture<String> registryEnded) {
        String how = ended instanceof ChildFailed failed ? "failed (" + failed.getCause() + ")" : "stopped";
        registryEnded.complete(how);
        CoordinatedShutdown shutdown = CoordinatedShutdown.get(context.getSystem());
        LOG.error("The job registry {}: rund cannot answer for its jobs without it, so it shuts down now and exits with"
                + " status 1; the running jobs are left with rund-keeper, and the next rund serve adopts them", how);
        shutdown.runAll(REGISTRY_ENDED);
        return Behaviors.same();
    }
}
