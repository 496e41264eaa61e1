package io.rund.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inotify watch of counter files on the exit watcher's thread, against real files: a write to a watched file is
 * reported on that thread, a file that is not there is left out, a cancelled watch reports nothing and gives its
 * watches back, the bound refuses a job's watch until watches are free again, and a file that goes gives its watch
 * back by itself (as a removed cgroup's files do). Cgroup files themselves are proven in the VM (LiveEventsTest).
 */
class CgroupFileWatcherTest {

    /** Not a timing threshold: only keeps a broken watcher from hanging the build. */
    private static final long HANG_GUARD_SECONDS = 30;
    private static final List<String> FILES = List.of("memory.events", "pids.events");

    @TempDir
    Path directory;

    @Test
    void aWriteToAWatchedFileIsReportedOnTheExitWatchersThread() throws Exception {
        Path cgroup = Files.createDirectory(directory.resolve("job"));
        Files.writeString(cgroup.resolve("memory.events"), "oom_kill 0\n"); // no pids.events: no pids controller
        LinkedBlockingQueue<String> calls = new LinkedBlockingQueue<>();
        try (ExitWatcher exits = new ExitWatcher(4)) {
            CgroupFileWatcher.Outcome outcome = exits.cgroupFiles().watch(cgroup, FILES,
                    () -> calls.add(Thread.currentThread().getName()));

            CgroupFileWatcher.Watching watching = assertInstanceOf(CgroupFileWatcher.Watching.class, outcome);
            assertEquals(List.of(cgroup.resolve("memory.events")), watching.files());
            assertEquals(1, exits.cgroupFiles().watchCount());
            Files.writeString(cgroup.resolve("memory.events"), "oom_kill 1\n");
            assertEquals(ExitWatcher.THREAD_NAME, calls.poll(HANG_GUARD_SECONDS, TimeUnit.SECONDS));

            watching.watch().cancel();
            awaitTrue(() -> exits.cgroupFiles().watchCount() == 0, "the cancelled watch was given back");
            calls.clear();
            Files.writeString(cgroup.resolve("memory.events"), "oom_kill 2\n");
            // A later watch's report proves the loop has handled the write above: the cancelled one said nothing.
            Path other = Files.createDirectory(directory.resolve("other"));
            Files.writeString(other.resolve("pids.events"), "max 0\n");
            exits.cgroupFiles().watch(other, FILES, () -> calls.add("other"));
            Files.writeString(other.resolve("pids.events"), "max 1\n");
            assertEquals("other", calls.poll(HANG_GUARD_SECONDS, TimeUnit.SECONDS));
            // Files.writeString truncates, then writes: two IN_MODIFY events, which may come as two reports of the
            // other watch; none may come from the cancelled one.
            assertTrue(calls.stream().allMatch("other"::equals), "reported after its cancel: " + calls);
        }
    }

    @Test
    void theBoundRefusesAWatchUntilWatchesAreFreeAgain() throws Exception {
        Path first = cgroupWithBothFiles("first");
        Path second = cgroupWithBothFiles("second");
        try (ExitWatcher exits = new ExitWatcher(3)) {
            CgroupFileWatcher files = exits.cgroupFiles();
            assertEquals(3, files.maxWatches());
            CgroupFileWatcher.Watching watching = assertInstanceOf(CgroupFileWatcher.Watching.class,
                    files.watch(first, FILES, () -> {}));

            CgroupFileWatcher.AtLimit refused = assertInstanceOf(CgroupFileWatcher.AtLimit.class,
                    files.watch(second, FILES, () -> {}));
            assertTrue(refused.why().contains("rund.events.max-file-watches"), refused.why());
            assertEquals(2, files.watchCount(), "a refused watch holds none");

            watching.watch().cancel();
            awaitTrue(() -> files.watchCount() == 0, "the cancelled watches were given back");
            assertInstanceOf(CgroupFileWatcher.Watching.class, files.watch(second, FILES, () -> {}));
            assertEquals(2, files.watchCount());
        }
    }

    @Test
    void aFileThatGoesGivesItsWatchBack() throws Exception {
        Path cgroup = cgroupWithBothFiles("job");
        try (ExitWatcher exits = new ExitWatcher(2)) {
            CgroupFileWatcher files = exits.cgroupFiles();
            CgroupFileWatcher.Watching watching = assertInstanceOf(CgroupFileWatcher.Watching.class,
                    files.watch(cgroup, FILES, () -> {}));
            Files.delete(cgroup.resolve("memory.events"));
            Files.delete(cgroup.resolve("pids.events"));

            awaitTrue(() -> files.watchCount() == 0, "the kernel's IN_IGNORED gave both watches back");
            watching.watch().cancel(); // after the kernel removed them: nothing left to remove, nothing counted twice
            assertInstanceOf(CgroupFileWatcher.Watching.class, files.watch(cgroupWithBothFiles("next"), FILES, () -> {}));
            assertEquals(2, files.watchCount());
        }
    }

    private Path cgroupWithBothFiles(String name) throws Exception {
        Path cgroup = Files.createDirectory(directory.resolve(name));
        Files.writeString(cgroup.resolve("memory.events"), "oom_kill 0\n");
        Files.writeString(cgroup.resolve("pids.events"), "max 0\n");
        return cgroup;
    }

    private static void awaitTrue(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HANG_GUARD_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + HANG_GUARD_SECONDS + " s: " + what);
            }
            Thread.sleep(10);
        }
    }
}
