package io.rund;

import com.typesafe.config.ConfigFactory;
import io.rund.auth.ExampleCertificates;
import io.rund.job.JobRegistry;
import io.rund.job.JobSpec;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

import java.time.Duration;
import java.util.Set;

/**
 * A real daemon in its own JVM, started as rund serve starts it ({@link Rund}, the API on a free loopback port), for
 * {@link DaemonLifecycleTest}: args are the state directory, the cgroup root and
 * the number of jobs to start (each of a kind that must not outlive rund: a plain sleeper, one that leaves a
 * setsid'd grandchild, one that ignores SIGTERM). Prints READY once they run; then waits for a signal.
 */
public final class DaemonWithJobs {

    private static final JobSpec[] KINDS = {
            JobSpec.of("sleep", "1000"),
            JobSpec.of("sh", "-c", "(setsid sleep 1000 &); sleep 1000"),
            JobSpec.of("sh", "-c", "trap '' TERM; while :; do sleep 1; done"),
    };

    /** Generous: a cold JVM's first start takes over 10 s under the VM suite's software emulation. */
    private static final Duration START_TIMEOUT = Duration.ofMinutes(2);

    public static void main(String[] args) throws Exception {
        Rund rund = Rund.start(ConfigFactory.parseString(
                "rund.state-directory = \"" + args[0] + "\"\n"
                        + "rund.cgroup.root = \"" + args[1] + "\"\n"
                        + "rund.jobs.stop-grace-period = 2s\n")
                .withFallback(ExampleCertificates.serverOnFreeLoopbackPort())
                .withFallback(ConfigFactory.load()));
        rund.stopOnSignals();
        Daemon daemon = rund.engine();
        int jobs = Integer.parseInt(args[2]);
        for (int i = 0; i < jobs; i++) {
            JobSpec spec = KINDS[i % KINDS.length];
            JobRegistry.StartResult result = AskPattern.<JobRegistry.Command, JobRegistry.StartResult>ask(daemon.registry(),
                    replyTo -> new JobRegistry.StartJob(spec, Set.of("DNS:test"), replyTo),
                    START_TIMEOUT, daemon.system().scheduler()).toCompletableFuture()
                    .exceptionally(failure -> null).join();
            if (!(result instanceof JobRegistry.JobStarted)) {
                // Exit, so that the test reads EOF instead of READY rather than wait on a daemon that lives on.
                System.err.println("job did not start within " + START_TIMEOUT + ": " + result);
                System.exit(1);
            }
        }
        System.out.println("READY");
        System.out.flush();
        System.exit(rund.awaitTermination() == Rund.Ending.SHUT_DOWN ? 0 : 1);
    }
}
