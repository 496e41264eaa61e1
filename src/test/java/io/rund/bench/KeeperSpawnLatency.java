package io.rund.bench;

import io.rund.linux.ExitWatcher;
import io.rund.linux.Fds;
import io.rund.linux.Keeper;
import io.rund.linux.ProcessSpawner;
import io.rund.linux.SpawnRequest;
import io.rund.linux.SpawnedProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Prints the p50 and p99 of one spawn of /bin/true, spawn call to reply, in this JVM (clone3 through FFM, as the
 * daemon did before the keeper) and through rund-keeper (a request over its socket, the reply with three fds),
 * alternating, in a cgroup root given as the first argument. Each job is reaped before the next starts.
 */
public final class KeeperSpawnLatency {
    private static final int WARM_UP = 500;
    private static final int SAMPLES = 2000;

    private KeeperSpawnLatency() {}

    public static void main(String[] args) throws Exception {
        Path cgroupRoot = Path.of(args[0]);
        Path state = Files.createTempDirectory("rund-keeper-latency-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        SpawnRequest request = new SpawnRequest("/bin/true", List.of("true"), List.of("PATH=/bin"), Path.of("/"),
                SpawnRequest.NO_CGROUP, SpawnRequest.KEEP_ID, SpawnRequest.KEEP_ID, null, false, 1024);
        try (Keeper keeper = Keeper.connectOrStart(new Keeper.Location(state, cgroupRoot.resolve("rund-keeper")));
             ExitWatcher exits = new ExitWatcher()) {
            exits.attach(keeper);
            long[] inJvm = new long[SAMPLES];
            long[] viaKeeper = new long[SAMPLES];
            for (int i = -WARM_UP; i < SAMPLES; i++) {
                long a = once(ProcessSpawner.IN_DAEMON, "j" + i, request, exits);
                long b = once(keeper, "k" + i, request, exits);
                if (i >= 0) {
                    inJvm[i] = a;
                    viaKeeper[i] = b;
                }
            }
            report("in the JVM (FFM clone3)", inJvm);
            report("through rund-keeper", viaKeeper);
        }
    }

    private static long once(ProcessSpawner spawner, String id, SpawnRequest request, ExitWatcher exits) throws Exception {
        long start = System.nanoTime();
        SpawnedProcess process = spawner.spawn(id, request);
        long took = System.nanoTime() - start;
        CompletableFuture<Object> ended = new CompletableFuture<>();
        exits.watch(process.pid(), process.pidfd(), ended::complete);
        ended.get();
        Fds.close(process.stdoutFd());
        Fds.close(process.stderrFd());
        return took;
    }

    private static void report(String what, long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        System.out.printf("spawn of /bin/true %s: p50 %d µs, p99 %d µs (%d samples)%n", what,
                sorted[sorted.length / 2] / 1000, sorted[sorted.length * 99 / 100] / 1000, sorted.length);
    }
}
