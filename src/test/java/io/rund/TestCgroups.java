package io.rund;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Cleanup for tests and benchmarks that run a daemon in a process of their own, under a cgroup root they chose. */
public final class TestCgroups {

    /** How long one cgroup may stay busy (its killed processes not yet gone) before removing it fails. */
    private static final Duration REMOVE_TIMEOUT = Duration.ofSeconds(10);
    private static final long RETRY_MILLIS = 5;

    private TestCgroups() {}

    /** Kills whatever still runs in {@code root}'s cgroups and removes them, innermost first; nothing if none. */
    public static void removeTree(Path root) throws IOException, InterruptedException {
        if (!Files.isDirectory(root)) {
            return;
        }
        List<Path> cgroups;
        try (Stream<Path> entries = Files.walk(root)) {
            cgroups = entries.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList();
        }
        for (Path cgroup : cgroups) {
            Path kill = cgroup.resolve("cgroup.kill");
            if (Files.exists(kill)) {
                Files.writeString(kill, "1");
            }
        }
        for (Path cgroup : cgroups) {
            long deadline = System.nanoTime() + REMOVE_TIMEOUT.toNanos();
            while (true) {
                try {
                    Files.delete(cgroup);
                    break;
                } catch (IOException busy) {
                    if (System.nanoTime() > deadline) {
                        throw busy;
                    }
                    Thread.sleep(RETRY_MILLIS);
                }
            }
        }
    }
}
