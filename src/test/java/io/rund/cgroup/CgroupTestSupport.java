package io.rund.cgroup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/** Host checks, a throwaway cgroup root, and processes the tests place into cgroups. */
final class CgroupTestSupport {
    private static final Duration CLEANUP_WAIT = Duration.ofSeconds(10);
    private static final long CLEANUP_POLL_MILLIS = 5;
    private static final int ROOT_UID = 0;

    private CgroupTestSupport() {
    }

    /** Skips (loudly) unless we are root and a cgroup2 hierarchy is mounted; returns its mount. */
    static Path cgroup2MountOrSkip() {
        try {
            int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
            if (uid != ROOT_UID) {
                skip("cgroup tests need root to create cgroups; running as uid " + uid);
            }
            Path mount = CgroupLocation.ofCurrentProcess().mount();
            if (!Files.isWritable(mount.resolve("cgroup.procs"))) {
                skip("the cgroup2 mount " + mount + " is not writable");
            }
            return mount;
        } catch (IOException e) {
            skip("no usable cgroup2 hierarchy on this host: " + e.getMessage());
            throw new AssertionError("unreachable");
        }
    }

    static void skip(String reason) {
        System.out.println("SKIPPED: " + reason);
        Assumptions.abort(reason);
    }

    /** A fresh, not yet existing directory name under the mount: rund-test-<random>. */
    static Path newTestRoot(Path mount) {
        byte[] random = new byte[6];
        new SecureRandom().nextBytes(random);
        return mount.resolve("rund-test-" + HexFormat.of().formatHex(random));
    }

    /** A whole disk of this host from /sys/block (real disks before loop, ram and zram ones). */
    static Optional<String> someWholeDisk() throws IOException {
        try (Stream<Path> disks = Files.list(Path.of("/sys/block"))) {
            List<String> names = disks.map(p -> p.getFileName().toString())
                    .filter(name -> Files.exists(Path.of("/dev", name)))
                    .sorted().toList();
            return names.stream().filter(name -> !isVirtualDisk(name)).findFirst()
                    .or(() -> names.stream().findFirst());
        }
    }

    private static boolean isVirtualDisk(String name) {
        return name.startsWith("loop") || name.startsWith("ram") || name.startsWith("zram");
    }

    static BlockDevice sysBlockNumbers(String disk) throws IOException {
        return BlockDevice.parse(Files.readString(Path.of("/sys/block", disk, "dev"))).orElseThrow();
    }

    /** Starts `sleep 1000` and moves it into the cgroup. */
    static Process startSleepIn(Path cgroup, List<Process> started) throws IOException {
        Process sleep = new ProcessBuilder("sleep", "1000").start();
        started.add(sleep);
        moveInto(sleep, cgroup);
        return sleep;
    }

    static void moveInto(Process process, Path cgroup) throws IOException {
        Files.writeString(cgroup.resolve("cgroup.procs"), Long.toString(process.pid()));
    }

    /** Kills (by their own handles, i.e. by pid) the processes a test started, and reaps them. */
    static void stopAll(List<Process> started) throws InterruptedException {
        for (Process process : started) {
            process.destroyForcibly();
            process.waitFor(CLEANUP_WAIT.toSeconds(), TimeUnit.SECONDS);
        }
        started.clear();
    }

    /**
     * Removes a test root however the test left it: kills what is inside, removes child cgroups
     * deepest first. Moves this JVM out first if a test left it inside.
     */
    static void destroy(Path mount, Path root) throws IOException, InterruptedException {
        if (!Files.exists(root)) {
            return;
        }
        if (CgroupLocation.ofCurrentProcess().ownCgroup().startsWith(root)) {
            Files.writeString(mount.resolve("cgroup.procs"), Long.toString(ProcessHandle.current().pid()));
        }
        List<IOException> failures = new ArrayList<>();
        killAndRemove(root, failures);
        if (!failures.isEmpty()) {
            IOException first = failures.getFirst();
            failures.stream().skip(1).forEach(first::addSuppressed);
            throw first;
        }
    }

    private static void killAndRemove(Path cgroup, List<IOException> failures) throws InterruptedException {
        try (Stream<Path> entries = Files.list(cgroup)) {
            for (Path child : entries.filter(Files::isDirectory).toList()) {
                killAndRemove(child, failures);
            }
            Path kill = cgroup.resolve("cgroup.kill");
            if (Files.exists(kill)) {
                Files.writeString(kill, "1");
            }
            long deadline = System.nanoTime() + CLEANUP_WAIT.toNanos();
            while (Files.readString(cgroup.resolve("cgroup.events")).contains("populated 1")
                    && System.nanoTime() < deadline) {
                Thread.sleep(CLEANUP_POLL_MILLIS);
            }
            Files.delete(cgroup);
        } catch (IOException e) {
            failures.add(e);
        }
    }
}
