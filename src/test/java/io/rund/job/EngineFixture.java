package io.rund.job;

import com.typesafe.config.ConfigFactory;
import io.rund.cgroup.CgroupManager;
import io.rund.TestCgroups;
import io.rund.TestFiles;
import io.rund.linux.AccountIds;
import io.rund.linux.ExitWatcher;
import io.rund.linux.OutputPump;
import io.rund.logs.LogRecord;
import io.rund.logs.LogStore;
import io.rund.logs.LogStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.DispatcherSelector;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/**
 * The real engine for tests: a private cgroup v2 subtree directly under the host's cgroup2 mount (found as rund finds
 * it: {@link TestCgroups}), the real exit-watcher
 * and output-pump threads, and a job registry in an ActorTestKit. {@link #close()} stops every job, then removes
 * the subtree, also when the test failed.
 */
final class EngineFixture implements AutoCloseable {

    static final Set<String> ALICE = Set.of("DNS:alice.example", "URI:spiffe://rund/team-a");
    static final Duration WAIT = Duration.ofSeconds(30);

    final ActorTestKit testKit;
    final CgroupManager cgroups;
    final ExitWatcher exits;
    final JobRecords records;
    final OutputPump output;
    final ActorRef<JobRegistry.Command> registry;
    final Path cgroupRoot;
    /** Where the jobs' private homes live: beside the state directory, as the daemon's default puts them. */
    final Path homeRoot;
    final JobIdentities identities;

    /** Skips the calling test, saying why, on a host without a writable cgroup v2 tree. */
    static void assumeCgroupV2() {
        TestCgroups.mountOrSkip();
    }

    EngineFixture(Path stateDir, Duration grace) throws IOException {
        this(stateDir, grace, Set.of(), Set.of());
    }

    EngineFixture(Path stateDir, Duration grace, Set<String> adminSans, Set<String> allowedUsers) throws IOException {
        this(stateDir, grace, adminSans, allowedUsers, TenantSettings.unlimited());
    }

    /** An engine with the given per-identity caps; the other constructors set none (tests start thousands of jobs). */
    EngineFixture(Path stateDir, Duration grace, Set<String> adminSans, Set<String> allowedUsers, TenantSettings tenants)
            throws IOException {
        this(stateDir, grace, adminSans, allowedUsers, tenants, Clock.systemUTC());
    }

    /** An engine whose registry and jobs read the time from {@code clock}. */
    EngineFixture(Path stateDir, Duration grace, Set<String> adminSans, Set<String> allowedUsers, TenantSettings tenants,
                  Clock clock) throws IOException {
        this(stateDir, grace, adminSans, allowedUsers, tenants, clock, ConfigFactory.empty());
    }

    /** An engine whose settings are rund's defaults with {@code overrides} over them. */
    EngineFixture(Path stateDir, Duration grace, Set<String> adminSans, Set<String> allowedUsers, TenantSettings tenants,
                  Clock clock, com.typesafe.config.Config overrides) throws IOException {
        assumeCgroupV2();
        cgroupRoot = TestCgroups.newRoot("rund-test");
        testKit = ActorTestKit.create(overrides.withFallback(ConfigFactory.load()));
        JobSettings settings = JobSettings.fromConfig(testKit.system().settings().config().getConfig("rund"))
                .withStateDirectory(stateDir)
                .withStopGracePeriod(grace)
                .withAdminSans(adminSans)
                .withAllowedUsers(allowedUsers)
                .withTenants(tenants);
        StateDirectory.prepare(stateDir);
        homeRoot = IdentitySettings.defaultHomeRoot(stateDir);
        identities = JobIdentities.open(IdentitySettings.fromConfig(testKit.system().settings().config().getConfig("rund"))
                .withHomeRoot(homeRoot), AccountIds.system());
        cgroups = CgroupManager.open(Optional.of(cgroupRoot));
        exits = new ExitWatcher();
        output = new OutputPump();
        Executor blocking = testKit.system().dispatchers().lookup(DispatcherSelector.fromConfig("rund.blocking-dispatcher"));
        records = JobRecords.open(stateDir, RecordSettings.fromConfig(testKit.system().settings().config().getConfig("rund")));
        registry = testKit.spawn(JobRegistry.create(new JobRuntime(settings, cgroups, exits, output,
                io.rund.logs.LogSpace.create(io.rund.logs.LogSettings.unlimited()), identities,
                io.rund.linux.ProcessSpawner.IN_DAEMON, records, blocking, clock)));
    }

    JobRegistry.StartResult start(JobSpec spec) {
        return start(spec, ALICE);
    }

    JobRegistry.StartResult start(JobSpec spec, Set<String> owner) {
        TestProbe<JobRegistry.StartResult> probe = testKit.createTestProbe();
        registry.tell(new JobRegistry.StartJob(spec, owner, probe.ref()));
        return probe.receiveMessage(WAIT);
    }

    String started(JobSpec spec) {
        JobRegistry.StartResult result = start(spec);
        return assertInstanceOf(JobRegistry.JobStarted.class, result, () -> "the start was refused: " + result).jobId();
    }

    JobRegistry.StatusResult status(String id, Set<String> caller) {
        TestProbe<JobRegistry.StatusResult> probe = testKit.createTestProbe();
        registry.tell(new JobRegistry.GetStatus(id, caller, probe.ref()));
        return probe.receiveMessage(WAIT);
    }

    JobStatus status(String id) {
        return assertInstanceOf(JobRegistry.StatusReport.class, status(id, ALICE)).status();
    }

    JobStatus stop(String id, Duration wait) {
        TestProbe<JobRegistry.StatusResult> probe = testKit.createTestProbe();
        registry.tell(new JobRegistry.StopJob(id, ALICE, probe.ref()));
        return assertInstanceOf(JobRegistry.StatusReport.class, probe.receiveMessage(wait)).status();
    }

    /** Every job {@code caller} may see, page after page. */
    List<JobStatus> list(Set<String> caller) {
        TestProbe<JobRegistry.JobPage> probe = testKit.createTestProbe();
        List<JobStatus> all = new ArrayList<>();
        Optional<String> after = Optional.empty();
        do {
            registry.tell(new JobRegistry.ListJobs(caller, Set.of(), after, 0, probe.ref()));
            JobRegistry.JobPage page = probe.receiveMessage(WAIT);
            all.addAll(page.jobs());
            after = page.resumeAfter();
        } while (after.isPresent());
        return all;
    }

    /** Polls the job's status until it has ended. */
    JobStatus awaitEnd(String id) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            JobStatus status = status(id);
            if (status.state().isFinal()) {
                return status;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("job " + id + " did not end within " + WAIT + ": " + status(id));
    }

    LogStore log(String id) {
        TestProbe<JobRegistry.LogResult> probe = testKit.createTestProbe();
        registry.tell(new JobRegistry.OpenLog(id, ALICE, probe.ref()));
        return assertInstanceOf(JobRegistry.LogAvailable.class, probe.receiveMessage(WAIT)).log();
    }

    /** Everything the job wrote to one stream, in order. */
    byte[] output(String id, LogStream stream) throws IOException {
        LogStore log = log(id);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        long offset = 0;
        while (true) {
            List<LogRecord> records = log.read(offset, 1 << 20);
            if (records.isEmpty()) {
                return bytes.toByteArray();
            }
            for (LogRecord record : records) {
                if (record.stream() == stream) {
                    bytes.write(record.bytes());
                }
                offset = record.offset() + record.bytes().length;
            }
        }
    }

    String stdout(String id) throws IOException {
        return new String(output(id, LogStream.STDOUT), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Names of the cgroups currently under the test subtree. */
    List<String> cgroupsLeft() throws IOException {
        try (var children = Files.list(cgroupRoot)) {
            return children.filter(Files::isDirectory).map(p -> p.getFileName().toString()).toList();
        }
    }

    @Override
    public void close() throws Exception {
        try {
            TestProbe<JobRegistry.AllStopped> probe = testKit.createTestProbe();
            registry.tell(new JobRegistry.StopAll(probe.ref()));
            probe.receiveMessage(Duration.ofSeconds(60));
            // The ended jobs' homes and residue are removed on the blocking dispatcher, after their final status.
            identities.whenAllReleased().get(60, java.util.concurrent.TimeUnit.SECONDS);
            try (var homes = Files.list(homeRoot)) {
                assertEquals(List.of(), homes.toList(), "every ended job's home is removed");
            }
        } finally {
            testKit.shutdownTestKit();
            records.close();
            output.close();
            exits.close();
            cgroups.close();
            TestFiles.deleteTree(homeRoot);
            assertEquals(false, Files.exists(cgroupRoot), "the test's cgroup subtree must be gone: " + cgroupRoot);
        }
    }
}
