package io.rund.bench;

import io.rund.TestCgroups;
import io.rund.cgroup.Cgroup;
import io.rund.cgroup.CgroupManager;
import io.rund.cgroup.Limits;
import io.rund.linux.Fds;
import io.rund.linux.Pidfd;
import io.rund.linux.SpawnRequest;
import io.rund.linux.SpawnedProcess;
import io.rund.linux.Spawner;
import io.rund.linux.UserAccount;

import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The floor for starting a job: rund's own native path in this process, with no daemon, no RPC and no actors.
 * Each job gets a fresh cgroup under {@code rund-bench-floor-<random>}, is spawned there by the clone3 helper as
 * the same unprivileged user rund's jobs run as, and afterwards is reaped and its cgroup removed.
 */
final class NativeSpawnFloor implements AutoCloseable {

    /** What rund's jobs get when the client sets no PATH (rund.jobs.default-path). */
    private static final List<String> ENVIRONMENT = List.of("PATH=/usr/local/bin:/usr/bin:/bin");
    private static final Path WORKING_DIRECTORY = Path.of("/");

    /** A spawned job and the cgroup it runs in; {@code startNanos} is what creating both took. */
    record Job(Cgroup cgroup, SpawnedProcess process, long startNanos) {}

    private final CgroupManager cgroups;
    private final UserAccount user;
    private final AtomicLong names = new AtomicLong();

    private NativeSpawnFloor(CgroupManager cgroups, UserAccount user) {
        this.cgroups = cgroups;
        this.user = user;
    }

    static NativeSpawnFloor open(String userName) throws Exception {
        UserAccount user = UserAccount.lookup(userName)
                .orElseThrow(() -> new IllegalStateException("no local account '" + userName + "' for the floor's jobs"));
        String id = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        return new NativeSpawnFloor(CgroupManager.open(Optional.of(TestCgroups.mount().resolve("rund-bench-floor-" + id))), user);
    }

    /** Creates a cgroup and spawns {@code argv} (argv[0] an absolute path) in it, as rund's launcher does. */
    Job start(List<String> argv) throws Exception {
        long begin = System.nanoTime();
        Cgroup cgroup = cgroups.create("f" + names.incrementAndGet(), Limits.none(), WORKING_DIRECTORY);
        int cgroupFd = Fds.openDirectoryPath(cgroup.path());
        SpawnedProcess process;
        try {
            process = Spawner.spawn(new SpawnRequest(argv.getFirst(), argv, ENVIRONMENT, WORKING_DIRECTORY, cgroupFd,
                    user.uid(), user.gid(), user.groups(), true));
        } finally {
            Fds.close(cgroupFd);
        }
        return new Job(cgroup, process, System.nanoTime() - begin);
    }

    /** Reaps the job (blocking until it exits), closes its fds and removes its cgroup. */
    void finish(Job job) throws Exception {
        Pidfd.waitExit(job.process().pidfd());
        Fds.close(job.process().pidfd());
        Fds.close(job.process().stdoutFd());
        Fds.close(job.process().stderrFd());
        job.cgroup().remove();
    }

    /** One whole job: start, reap, clean up. Returns the start part. */
    long runOnce(List<String> argv) throws Exception {
        Job job = start(argv);
        finish(job);
        return job.startNanos();
    }

    @Override
    public void close() throws Exception {
        cgroups.close();
    }
}
