package io.rund;

import io.rund.cgroup.TestCgroupMount;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Where tests and benchmarks put their cgroups, on any host rund runs on: the cgroup2 mount found as rund finds it
 * (/proc/self/mountinfo, never a fixed path: /sys/fs/cgroup on pure cgroup v2 hosts, /sys/fs/cgroup/unified on hybrid
 * ones), a fresh subtree directly under it per test (the root cgroup is exempt from cgroup v2's no-internal-processes
 * rule, so controllers can be enabled down to it wherever the test JVM itself sits), and its removal however the test
 * ended.
 */
public final class TestCgroups {

    /** How long one cgroup may stay busy (its killed processes not yet gone) before removing it fails. */
    private static final Duration REMOVE_TIMEOUT = Duration.ofSeconds(10);
    private static final long RETRY_MILLIS = 5;
    private static final int ROOT_UID = 0;

    private TestCgroups() {}

    /** The cgroup2 mount point; an IOException saying what is missing on a host without one. */
    public static Path mount() throws IOException {
        return TestCgroupMount.find();
    }

    /** Why this process cannot make cgroups of its own here (not root, no cgroup2, not writable); empty if it can. */
    public static Optional<String> whyUnusable() {
        try {
            int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            if (uid != ROOT_UID) {
                return Optional.of("needs root to create cgroups and run jobs as other users; running as uid " + uid);
            }
            Path mount = mount();
            if (!Files.isWritable(mount.resolve("cgroup.procs"))) {
                return Optional.of("the cgroup2 mount " + mount + " is not writable");
            }
            return Optional.empty();
        } catch (IOException e) {
            return Optional.of("no usable cgroup2 hierarchy on this host: " + e.getMessage());
        }
    }

    /** The cgroup2 mount, or the calling test skipped (the reason printed too) when {@link #whyUnusable()} says so. */
    public static Path mountOrSkip() {
        whyUnusable().ifPresent(why -> {
            System.out.println("SKIPPED: " + why);
            Assumptions.abort(why);
        });
        try {
            return mount();
        } catch (IOException e) {
            throw new AssertionError("the cgroup2 mount was found a moment ago", e);
        }
    }

    /**
     * A fresh, not yet created cgroup directly under the mount, {@code <prefix>-<random>} (e.g. rund-test-1f2e3d4c),
     * for a daemon's {@code rund.cgroup.root}; the test removes it with {@link #removeTree} when done. Skips the
     * calling test as {@link #mountOrSkip()} does.
     */
    public static Path newRoot(String prefix) {
        return mountOrSkip().resolve(prefix + "-" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt()));
    }

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
