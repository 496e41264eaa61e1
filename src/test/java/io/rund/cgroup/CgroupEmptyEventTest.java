package io.rund.cgroup;

import io.rund.linux.CgroupEventWatcher;
import io.rund.linux.ExitWatcher;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Cgroup#whenEmpty}: a cgroup's "populated 0" arrives as an event on the exit watcher's one thread, for
 * real processes in real cgroups, holding one fd per watched cgroup and no thread.
 */
final class CgroupEmptyEventTest {
    /** Not a timing threshold: only keeps a broken watcher from hanging the build. */
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int MANY = 200;

    @TempDir
    Path workingDirectory;

    private Path mount;
    private Path root;
    private CgroupManager manager;
    private ExitWatcher exits;
    private final List<Process> started = new ArrayList<>();

    @BeforeEach
    void openManagerAndWatcher() throws Exception {
        mount = CgroupTestSupport.cgroup2MountOrSkip();
        root = CgroupTestSupport.newTestRoot(mount);
        manager = CgroupManager.open(Optional.of(root));
        exits = new ExitWatcher();
    }

    @AfterEach
    void removeEverything() throws Exception {
        try {
            if (exits != null) {
                exits.close();
            }
            CgroupTestSupport.stopAll(started);
        } finally {
            if (root != null) {
                CgroupTestSupport.destroy(mount, root);
            }
        }
    }

    @Test
    void aCgroupEmptyingArrivesOnceAsAnEventOnTheExitWatchersThread() throws Exception {
        Cgroup job = manager.create("job-1", Limits.none(), workingDirectory);
        Process sleep = CgroupTestSupport.startSleepIn(job.path(), started);
        CompletableFuture<String> emptied = new CompletableFuture<>();
        AtomicInteger calls = new AtomicInteger();
        job.whenEmpty(exits.cgroupEvents(), () -> {
            calls.incrementAndGet();
            emptied.complete(Thread.currentThread().getName());
        });
        // The watcher reads each new watch's file in order: once a later, empty cgroup has answered, the populated
        // one's first reading has been made too, and said "populated 1".
        Cgroup alreadyEmpty = manager.create("job-2", Limits.none(), workingDirectory);
        CompletableFuture<Void> answered = new CompletableFuture<>();
        alreadyEmpty.whenEmpty(exits.cgroupEvents(), () -> answered.complete(null));
        answered.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertFalse(emptied.isDone(), "a cgroup with a live process is not reported empty");

        sleep.destroyForcibly(); // by its pid: the only process in the cgroup
        assertEquals(ExitWatcher.THREAD_NAME, emptied.get(WAIT.toSeconds(), TimeUnit.SECONDS));
        assertFalse(job.populated());
        job.remove(); // the kernel agrees it is empty
        assertEquals(0, exits.cgroupEvents().watchedCount(), "a watch that fired holds nothing");
        assertEquals(1, calls.get());
    }

    @Test
    void manyWatchedCgroupsCostOneFdEachAndNoThread() throws Exception {
        var threads = ManagementFactory.getThreadMXBean();
        List<Cgroup> jobs = new ArrayList<>();
        for (int i = 0; i < MANY; i++) {
            Cgroup job = manager.create("job-" + i, Limits.none(), workingDirectory);
            CgroupTestSupport.startSleepIn(job.path(), started);
            jobs.add(job);
        }
        int threadsBefore = threads.getThreadCount();
        CountDownLatch emptied = new CountDownLatch(MANY);
        for (Cgroup job : jobs) {
            job.whenEmpty(exits.cgroupEvents(), emptied::countDown);
        }
        assertEquals(MANY, exits.cgroupEvents().watchedCount());
        assertEquals(MANY, openEventFiles(), "one open cgroup.events per watched cgroup");
        assertEquals(threadsBefore, threads.getThreadCount(), "watching starts no thread");

        for (Cgroup job : jobs) {
            job.kill();
        }
        assertTrue(emptied.await(WAIT.toSeconds(), TimeUnit.SECONDS), "cgroups not reported empty: " + emptied.getCount());
        assertEquals(0, exits.cgroupEvents().watchedCount());
        assertEquals(0, openEventFiles(), "every watch's fd is closed once it fired");
        for (Cgroup job : jobs) {
            job.remove();
        }
    }

    @Test
    void aCancelledWatchNeverFiresAndClosesItsFd() throws Exception {
        Cgroup job = manager.create("job-1", Limits.none(), workingDirectory);
        Process sleep = CgroupTestSupport.startSleepIn(job.path(), started);
        AtomicInteger calls = new AtomicInteger();
        CgroupEventWatcher.Watch watch = job.whenEmpty(exits.cgroupEvents(), calls::incrementAndGet);
        assertEquals(1, openEventFiles());
        watch.cancel();
        awaitWatched(0);
        assertEquals(0, openEventFiles());

        sleep.destroyForcibly();
        assertTrue(sleep.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS));
        // A later watch on the same cgroup answers (it is empty now); the cancelled one stays silent.
        CompletableFuture<Void> answered = new CompletableFuture<>();
        job.whenEmpty(exits.cgroupEvents(), () -> answered.complete(null));
        answered.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(0, calls.get());
    }

    @Test
    void closingTheExitWatcherClosesTheWatchedCgroupsFds() throws Exception {
        Cgroup job = manager.create("job-1", Limits.none(), workingDirectory);
        CgroupTestSupport.startSleepIn(job.path(), started);
        job.whenEmpty(exits.cgroupEvents(), () -> {});
        assertEquals(1, openEventFiles());
        exits.close();
        assertEquals(0, openEventFiles());
        assertEquals(0, exits.cgroupEvents().watchedCount());
    }

    private void awaitWatched(int count) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (exits.cgroupEvents().watchedCount() != count) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("still " + exits.cgroupEvents().watchedCount() + " watched, expected " + count);
            }
            Thread.sleep(5);
        }
    }

    /** This JVM's open fds on a cgroup.events file (what a watch holds). */
    private static long openEventFiles() throws IOException {
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).endsWith("cgroup.events");
                } catch (IOException gone) { // the listing's own fd, closed by now
                    return false;
                }
            }).count();
        }
    }
}
