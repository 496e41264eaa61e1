package io.rund;

import io.rund.job.JobIdentities;
import io.rund.job.JobRecord;
import io.rund.job.JobRecords;
import io.rund.job.JobRegistry;
import io.rund.job.JobRuntime;
import io.rund.job.JobSettings;
import io.rund.cgroup.CgroupManager;
import io.rund.linux.ExitWatcher;
import io.rund.linux.OutputPump;
import io.rund.linux.ProcessSpawner;
import io.rund.logs.LogSpace;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/** The root actor: wires the job runtime to the blocking dispatcher and starts the registry. Nothing else. */
final class Guardian {

    static final String BLOCKING_DISPATCHER = "rund.blocking-dispatcher";

    private Guardian() {}

    static Behavior<Void> create(JobSettings settings, CgroupManager cgroups, ExitWatcher exits, OutputPump output,
                                 LogSpace logs, JobIdentities identities, ProcessSpawner spawner, JobRecords records,
                                 List<JobRecord> restored, List<JobRegistry.Adoption> adopted,
                                 CompletableFuture<ActorRef<JobRegistry.Command>> registry) {
        return Behaviors.setup(context -> {
            Executor blocking = context.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(BLOCKING_DISPATCHER));
            JobRuntime runtime = new JobRuntime(settings, cgroups, exits, output, logs, identities, spawner, records,
                    blocking, Clock.systemUTC());
            registry.complete(context.spawn(JobRegistry.create(runtime, restored, adopted), "jobs"));
            return Behaviors.empty();
        });
    }
}
