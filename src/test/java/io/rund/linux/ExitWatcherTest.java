package io.rund.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ExitWatcherTest {
    private static final int JOBS = 200;
    private static final int DISTINCT_EXIT_CODES = 50;
    /** Not a timing threshold: only keeps a broken watcher from hanging the build forever. */
    private static final long HANG_GUARD_SECONDS = 120;

    @Test
    void deliversEveryExitOnceWithItsCodeOnOneThread() throws Exception {
        Map<Integer, List<ProcessExit>> exits = new ConcurrentHashMap<>();
        Map<Integer, Integer> expectedCodes = new ConcurrentHashMap<>();
        Map<Integer, Boolean> zombieAfterExit = new ConcurrentHashMap<>();
        CountDownLatch delivered = new CountDownLatch(JOBS);
        List<SpawnedProcess> started = new ArrayList<>();
        ExitWatcher watcher = new ExitWatcher();
        try {
            for (int i = 0; i < JOBS; i++) {
                int code = i % DISTINCT_EXIT_CODES;
                String script = (i % 2 == 0 ? "sleep 0." + (i % 10) + "; " : "") + "exit " + code;
                SpawnedProcess process = Spawner.spawn(TestJobs.request("sh", "-c", script));
                started.add(process);
                Fds.close(process.stdoutFd());
                Fds.close(process.stderrFd());
                expectedCodes.put(process.pid(), code);
                watcher.watch(process.pid(), process.pidfd(), exit -> {
                    exits.computeIfAbsent(exit.pid(), pid -> new CopyOnWriteArrayList<>()).add(exit);
                    zombieAfterExit.put(exit.pid(), isOurZombie(exit.pid()));
                    delivered.countDown();
                });
            }
            assertEquals(1, Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().equals(ExitWatcher.THREAD_NAME)).count());
            assertTrue(delivered.await(HANG_GUARD_SECONDS, TimeUnit.SECONDS), "exits still missing: "
                    + delivered.getCount());
            assertEquals(0, watcher.watchedCount());
        } finally {
            watcher.close(); // joins the watcher thread: no callback can still be on its way after this
            killUndelivered(started, exits);
        }
        assertEquals(JOBS, exits.size());
        exits.forEach((pid, list) -> {
            assertEquals(1, list.size(), "exits delivered for pid " + pid);
            assertEquals(expectedCodes.get(pid), list.getFirst().exitCode(), "exit code of pid " + pid);
            assertNull(list.getFirst().signal());
            assertFalse(zombieAfterExit.get(pid), "pid " + pid + " was still a zombie when its exit arrived");
        });
    }

    @Test
    void aFailingCallbackDoesNotStopTheWatcher() throws Exception {
        CountDownLatch second = new CountDownLatch(1);
        try (ExitWatcher watcher = new ExitWatcher()) {
            SpawnedProcess first = spawnSilent("true");
            watcher.watch(first.pid(), first.pidfd(), exit -> {
                throw new IllegalStateException("callback failure the watcher must survive");
            });
            SpawnedProcess next = spawnSilent("true");
            watcher.watch(next.pid(), next.pidfd(), exit -> second.countDown());
            assertTrue(second.await(HANG_GUARD_SECONDS, TimeUnit.SECONDS));
        }
    }

    @Test
    void closeReleasesRunningProcessesPidfdsAndRefusesNewWork() throws Exception {
        ExitWatcher watcher = new ExitWatcher();
        SpawnedProcess sleeper = spawnSilent("sleep", "1000");
        int pidfdForTest = Pidfd.open(sleeper.pid()); // ours, to kill and reap after the watcher closes
        try {
            watcher.watch(sleeper.pid(), sleeper.pidfd(), exit -> { });
            assertEquals(1, watcher.watchedCount());
            watcher.close();
            assertEquals(0, watcher.watchedCount());
            assertThrows(IllegalStateException.class, () -> watcher.watch(1, 1, exit -> { }));
        } finally {
            Pidfd.sendSignal(pidfdForTest, Signals.SIGKILL);
            assertEquals(Signals.SIGKILL, Pidfd.waitExit(pidfdForTest).signal());
            Fds.close(pidfdForTest);
        }
    }

    @Test
    void watchingSomethingThatIsNotAnFdFails() throws Exception {
        try (ExitWatcher watcher = new ExitWatcher()) {
            LinuxException e = assertThrows(LinuxException.class, () -> watcher.watch(1, 999_999, exit -> { }));
            assertTrue(e.getMessage().startsWith("epoll_ctl(ADD)(999999): Bad file descriptor"), e.getMessage());
            assertEquals(0, watcher.watchedCount());
        }
    }

    private static SpawnedProcess spawnSilent(String... argv) throws Exception {
        SpawnedProcess process = Spawner.spawn(TestJobs.request(argv));
        Fds.close(process.stdoutFd());
        Fds.close(process.stderrFd());
        return process;
    }

    /** True if pid is still a zombie child of this JVM (a pid reused by another process is not). */
    private static boolean isOurZombie(int pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] afterComm = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return afterComm[0].equals("Z") && Long.parseLong(afterComm[1]) == ProcessHandle.current().pid();
        } catch (java.io.IOException gone) {
            return false;
        }
    }

    /**
     * Cleanup for a failed run, after the watcher closed: a process whose exit was not delivered
     * was not reaped, so its pid still names our child and cannot have been reused.
     */
    private static void killUndelivered(List<SpawnedProcess> started, Map<Integer, List<ProcessExit>> exits)
            throws LinuxException {
        for (SpawnedProcess process : started) {
            if (!exits.containsKey(process.pid())) {
                Signals.kill(process.pid(), Signals.SIGKILL);
            }
        }
    }
}
