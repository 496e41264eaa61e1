package io.rund.vm;

import com.typesafe.config.ConfigFactory;
import io.rund.Daemon;
import io.rund.job.JobRegistry;
import io.rund.job.JobSpec;
import io.rund.job.JobStatus;
import io.rund.logs.LogRecord;
import io.rund.logs.LogStore;
import io.rund.logs.LogStream;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.japi.function.Function;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The real rund engine ({@link Daemon}: cgroup manager, spawner, exit watcher, job actors, registry) started in this
 * JVM inside the test VM with the VM suite's settings, and the registry requests the VM proofs make, answered as the
 * gRPC service would be. No API server: the proofs talk to the registry directly. Jobs go under the cgroup
 * {@link #CGROUP_ROOT}; {@link #shutdown()} stops every job and removes it.
 */
final class VmDaemon {

    static final Path CGROUP_ROOT = Path.of("/sys/fs/cgroup/rund-vm");
    static final Set<String> OWNER = Set.of("DNS:vm-proof");
    private static final String STATE_DIRECTORY = "/tmp/rund-vm-state";
    private static final String STOP_GRACE = "2s";
    private static final Duration ASK = Duration.ofMinutes(5);
    private static final long POLL_MILLIS = 100;
    private static final int OUTPUT_POLLS = 600;

    private final Daemon daemon;

    private VmDaemon(Daemon daemon) {
        this.daemon = daemon;
    }

    /** Starts the engine; {@code settings} (rund.* paths) override the VM suite's defaults. */
    static VmDaemon start(Map<String, String> settings) throws Exception {
        Map<String, String> config = new HashMap<>(Map.of(
                "rund.state-directory", STATE_DIRECTORY,
                "rund.cgroup.root", CGROUP_ROOT.getFileName().toString(),
                "rund.jobs.stop-grace-period", STOP_GRACE));
        config.putAll(settings);
        return new VmDaemon(Daemon.start(ConfigFactory.parseMap(config).withFallback(ConfigFactory.load())));
    }

    /** Stops every job (grace, then kill), removes rund's cgroups and terminates the actor system. */
    void shutdown() throws Exception {
        daemon.shutdown().get();
    }

    Daemon engine() {
        return daemon;
    }

    /** Starts a job as {@link #OWNER}; its id once it runs. Throws IllegalStateException if rund refused it. */
    String start(JobSpec spec) {
        JobRegistry.StartResult result = ask(replyTo -> new JobRegistry.StartJob(spec, OWNER, replyTo));
        if (result instanceof JobRegistry.JobStarted started) {
            return started.jobId();
        }
        throw new IllegalStateException("start refused: " + result);
    }

    JobStatus run(JobSpec spec) throws InterruptedException {
        return awaitEnd(start(spec));
    }

    JobStatus status(String id) {
        return report(id, ask(replyTo -> new JobRegistry.GetStatus(id, OWNER, replyTo)));
    }

    /** Stops a job as the Stop RPC does: the reply is its final status, once it has ended. */
    JobStatus stop(String id) {
        return report(id, ask(replyTo -> new JobRegistry.StopJob(id, OWNER, replyTo)));
    }

    /** Every job {@link #OWNER} may see, as the List RPC returns them. */
    List<JobStatus> list() {
        List<JobStatus> all = new java.util.ArrayList<>();
        java.util.Optional<String> after = java.util.Optional.empty();
        do {
            java.util.Optional<String> from = after;
            JobRegistry.JobPage page = this.<JobRegistry.JobPage>ask(
                    replyTo -> new JobRegistry.ListJobs(OWNER, java.util.Set.of(), from, 0, replyTo));
            all.addAll(page.jobs());
            after = page.resumeAfter();
        } while (after.isPresent());
        return all;
    }

    JobStatus awaitEnd(String id) throws InterruptedException {
        while (true) {
            JobStatus status = status(id);
            if (status.state().isFinal()) {
                return status;
            }
            Thread.sleep(POLL_MILLIS);
        }
    }

    /** Waits (at most a minute) until the job's stdout contains {@code text}. */
    void awaitOutput(String id, String text) throws Exception {
        for (int i = 0; i < OUTPUT_POLLS && !output(id, LogStream.STDOUT).contains(text); i++) {
            Thread.sleep(POLL_MILLIS);
        }
    }

    String output(String id, LogStream stream) throws Exception {
        JobRegistry.LogResult result = ask(replyTo -> new JobRegistry.OpenLog(id, OWNER, replyTo));
        if (!(result instanceof JobRegistry.LogAvailable available)) {
            throw new IllegalStateException("no log for job " + id + ": " + result);
        }
        LogStore log = available.log();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (LogRecord record : log.read(0, Integer.MAX_VALUE)) {
            if (record.stream() == stream) {
                bytes.write(record.bytes());
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    static Path cgroupOf(String id) {
        return CGROUP_ROOT.resolve(id);
    }

    /** The value of an environment variable run.sh sets in the guest; fails clearly outside the VM. */
    static String env(String name) {
        String value = System.getenv(name);
        if (value == null) {
            throw new IllegalStateException(name + " is not set: run this inside the VM (src/test/vm/run.sh)");
        }
        return value;
    }

    private static JobStatus report(String id, JobRegistry.StatusResult result) {
        if (result instanceof JobRegistry.StatusReport report) {
            return report.status();
        }
        throw new IllegalStateException("job " + id + ": " + result);
    }

    private <T> T ask(Function<ActorRef<T>, JobRegistry.Command> message) {
        return AskPattern.ask(daemon.registry(), message::apply, ASK, daemon.system().scheduler()).toCompletableFuture().join();
    }
}
