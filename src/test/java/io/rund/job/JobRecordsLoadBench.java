package io.rund.job;

import com.typesafe.config.ConfigFactory;
import io.rund.TestFiles;
import io.rund.cgroup.Accounting;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;

/**
 * A program, not a test: writes N final job records ({@code sh -c 'echo ...'}, an owner, accounting) into a fresh
 * state directory, then measures what a starting daemon pays for them: {@link JobRecords#restore} (read and decode
 * every file; the page cache is warm, as the files were just written) beside a baseline that only lists and reads the
 * files, and the live heap the registry keeps per
 * restored job (after GC, the records themselves released). Usage: {@code JobRecordsLoadBench N [N...]}.
 */
public final class JobRecordsLoadBench {

    private JobRecordsLoadBench() {}

    public static void main(String[] args) throws Exception {
        for (String arg : args) {
            if (arg.startsWith("writes=")) {
                writes(Integer.parseInt(arg.substring("writes=".length())));
            } else {
                run(Integer.parseInt(arg));
            }
        }
        System.exit(0);
    }

    private static void run(int count) throws Exception {
        Path state = Files.createTempDirectory("rund-records-bench-");
        try {
            StateDirectory.prepare(state);
            Path jobs = StateDirectory.jobsOf(state);
            Instant t = Instant.parse("2026-12-01T00:00:00Z");
            for (int i = 0; i < count; i++) {
                String id = com.github.f4b6a3.ulid.UlidCreator.getMonotonicUlid().toString();
                JobSpec spec = JobSpec.of("sh", "-c", "echo job " + i);
                JobStatus status = new JobStatus(id, spec.command(), spec.args(), JobState.EXITED, 1000 + i, 65536 + i % 1000,
                        0, null, false, false, false, t, t, t.plusMillis(3),
                        new Accounting(1200, 800, 400, OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(),
                                OptionalLong.empty(), OptionalLong.empty()), null, null);
                Files.write(jobs.resolve(id), JobRecordCodec.encode(new JobRecord(spec, Set.of("DNS:alice.example"), Map.of(), status)));
            }
            long files = Files.size(jobs.resolve(Files.list(jobs).findFirst().orElseThrow().getFileName()));

            long floorBegan = System.nanoTime();
            try (var listing = Files.newDirectoryStream(jobs)) {
                for (Path file : listing) {
                    Files.readAllBytes(file);
                }
            }
            long floorMillis = (System.nanoTime() - floorBegan) / 1_000_000;

            ActorTestKit kit = ActorTestKit.create(ConfigFactory.load());
            JobRecords records = JobRecords.open(state, new RecordSettings(true, 256));
            long heapBefore = usedHeapAfterGc();
            long began = System.nanoTime();
            List<JobRecord> restored = records.restore(Instant.now(), Set.of()).ended();
            long restoreMillis = (System.nanoTime() - began) / 1_000_000;

            JobSettings settings = JobSettings.fromConfig(ConfigFactory.load().getConfig("rund")).withStateDirectory(state)
                    .withTenants(new TenantSettings(1000, 100, 200, Long.MAX_VALUE, Long.MAX_VALUE));
            JobRuntime runtime = new JobRuntime(settings, null, null, null, null, null, null, records, Runnable::run, Clock.systemUTC());
            long registryBegan = System.nanoTime();
            var registry = kit.spawn(JobRegistry.create(runtime, restored));
            TestProbe<JobRegistry.JobPage> probe = kit.createTestProbe();
            registry.tell(new JobRegistry.ListJobs(Set.of("DNS:alice.example"), java.util.EnumSet.allOf(JobState.class),
                    java.util.Optional.empty(), 0, probe.ref()));
            int listed = probe.receiveMessage(Duration.ofMinutes(2)).jobs().size();
            long registryMillis = (System.nanoTime() - registryBegan) / 1_000_000;
            restored = null; // the registry keeps what it needs; the records go
            long heapAfter = usedHeapAfterGc();
            System.out.printf("%,d records (%d bytes each): baseline (list and read every file, no decoding) %,d ms; restore %,d ms (%.1f µs per record); registry ready and listed %,d in %,d ms;"
                            + " live heap %.0f bytes per restored job%n", count, files, floorMillis, restoreMillis,
                    restoreMillis * 1000.0 / count, listed, registryMillis, (heapAfter - heapBefore) / (double) count);
            kit.shutdownTestKit();
            records.close();
        } finally {
            TestFiles.deleteTree(state);
        }
    }

    /**
     * What the job's life costs in record writes: {@link JobRecords#created} on the Start path (p50, p99), and how long
     * the writer takes to apply {@code count} queued start and final updates, the finals forced to disk in group
     * commits, beside the same with sync-final off.
     */
    private static void writes(int count) throws Exception {
        for (boolean sync : new boolean[] {false, true}) {
            Path state = Files.createTempDirectory("rund-records-bench-");
            try {
                StateDirectory.prepare(state);
                JobRecords records = JobRecords.open(state, new RecordSettings(sync, 256));
                long[] created = new long[count];
                List<JobStatus> finals = new java.util.ArrayList<>(count);
                Instant t = Instant.now();
                for (int i = 0; i < count; i++) {
                    String id = com.github.f4b6a3.ulid.UlidCreator.getMonotonicUlid().toString();
                    JobSpec spec = JobSpec.of("/bin/true");
                    JobStatus initial = JobActor.initialStatus(id, spec, t);
                    long began = System.nanoTime();
                    records.created(spec, Set.of("DNS:alice.example"), initial);
                    created[i] = System.nanoTime() - began;
                    finals.add(new JobStatus(id, spec.command(), spec.args(), JobState.EXITED, 1, 65536, 0, null, false,
                            false, false, t, t, t, null, null, null));
                }
                long began = System.nanoTime();
                for (JobStatus status : finals) {
                    records.started(status.withOutputHeld(null));
                    records.ended(status);
                }
                records.close(); // waits until every update is applied
                long drainMillis = (System.nanoTime() - began) / 1_000_000;
                java.util.Arrays.sort(created);
                System.out.printf("%,d jobs, sync-final %s: created() p50 %.0f µs, p99 %.0f µs; %,d started + %,d final updates applied"
                                + " in %,d ms (%.0f µs per job)%n", count, sync ? "on" : "off", created[count / 2] / 1e3,
                        created[count * 99 / 100] / 1e3, count, count, drainMillis, drainMillis * 1000.0 / count);
            } finally {
                TestFiles.deleteTree(state);
            }
        }
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
