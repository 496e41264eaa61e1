package io.rund.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonParser;
import io.rund.TestProcesses;
import io.rund.cli.RundCli;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A real `rund serve` whose jobs are spawned by rund-keeper: kill -9 of the daemon leaves a writing job alive (no
 * SIGPIPE) and the next daemon does not sweep it away; SIGTERM still leaves nothing, unless RUND_ON_EXIT=keep;
 * jobs get the usual soft open-file limit back whatever the daemon raised its own to.
 */
final class KeeperDaemonTest {

    private record Output(int exitCode, String out, String err) {}

    @Test
    void aJobStartsWithSoftOpenFileLimit1024WhileTheDaemonsIsRaised() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.start(Map.of())) {
            long daemonSoft = softOpenFiles(daemon.pid());
            assumeTrue(daemonSoft > 1024, "the daemon could not raise its soft limit above 1024 (hard limit too low)");
            Output run = cli(daemon, "run", "--", "sh", "-c", "ulimit -Sn");
            assertEquals(0, run.exitCode(), run.err());
            assertEquals("1024\n", run.out(), "the job's soft limit, while the daemon's is " + daemonSoft);
        }
    }

    @Test
    void killMinus9OfTheDaemonLeavesAWritingJobAliveAndTheNextDaemonSparesIt() throws Exception {
        DaemonProcess first = DaemonProcess.start(Map.of());
        DaemonProcess next = null;
        try {
            Output started = cli(first, "start", "--", "sh", "-c", "while :; do echo tick; done");
            assertEquals(0, started.exitCode(), started.err());
            String id = started.out().trim();
            int pid = JsonParser.parseString(cli(first, "status", id).out()).getAsJsonObject().get("pid").getAsInt();
            assertTrue(TestProcesses.isAlive(pid));

            first.killHard();
            // Before: the job's pipe lost its only reader and the writer died of SIGPIPE at its next write.
            next = DaemonProcess.restartAfter(first, Map.of());
            assertTrue(TestProcesses.isAlive(pid), "the writing job survived the daemon's kill -9 and the restart");
            String kept = String.join("\n", next.logLines());
            assertTrue(kept.contains("Adopted job " + id + " (pid " + pid), kept);
            assertFalse(kept.contains("Removed cgroup " + id), "the next daemon swept the kept job's cgroup away");
        } finally {
            if (next != null) {
                next.close(); // removes the cgroups, the keeper and the kept job with them
            } else {
                first.close();
            }
        }
    }

    @Test
    void sigtermStopsEveryJobAndTheKeeperExits() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.start(Map.of())) {
            int pid = startSleeper(daemon);
            int keeper = keeperPid(daemon.stateDirectory());
            assertEquals(0, daemon.terminate());
            assertFalse(TestProcesses.isAlive(pid), "the job was stopped");
            assertFalse(TestProcesses.isAlive(keeper), "the keeper exited once it held no job");
            assertFalse(Files.exists(daemon.stateDirectory().resolve("keeper.sock")));
            assertEquals(0, daemon.jobCgroups(), "no job cgroup left");
            assertFalse(Files.exists(daemon.cgroupRoot().resolve("rund-keeper")), "the keeper's leaf was removed");
        }
    }

    @Test
    void withOnExitKeepSigtermLeavesTheJobsRunningWithTheKeeper() throws Exception {
        try (DaemonProcess daemon = DaemonProcess.start(Map.of("RUND_ON_EXIT", "keep"))) {
            int pid = startSleeper(daemon);
            int keeper = keeperPid(daemon.stateDirectory());
            assertEquals(0, daemon.terminate());
            assertTrue(TestProcesses.isAlive(pid), "the job runs on after the daemon exited");
            assertTrue(TestProcesses.isAlive(keeper), "the keeper holds it");
        } // close() kills the job and the keeper through their cgroups
    }

    /** Starts `sleep 1000` as a job and returns its pid. */
    private static int startSleeper(DaemonProcess daemon) {
        Output started = cli(daemon, "start", "--", "sleep", "1000");
        assertEquals(0, started.exitCode(), started.err());
        return JsonParser.parseString(cli(daemon, "status", started.out().trim()).out()).getAsJsonObject()
                .get("pid").getAsInt();
    }

    /** The keeper's pid, from the line it logs when it starts listening. */
    private static int keeperPid(Path state) throws IOException {
        for (String line : Files.readAllLines(state.resolve("keeper.log"))) {
            int at = line.indexOf("rund-keeper[");
            if (at >= 0 && line.contains("listening on")) {
                return Integer.parseInt(line.substring(at + "rund-keeper[".length(), line.indexOf(']', at)));
            }
        }
        throw new IOException("no keeper start in " + state.resolve("keeper.log"));
    }

    private static long softOpenFiles(long pid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "limits"))) {
            if (line.startsWith("Max open files")) {
                return Long.parseLong(line.substring("Max open files".length()).trim().split("\\s+")[0]);
            }
        }
        throw new IOException("no open-file limit in /proc/" + pid + "/limits");
    }

    private static Output cli(DaemonProcess daemon, String command, String... args) {
        List<String> line = new ArrayList<>();
        line.add(command);
        line.addAll(daemon.cliFlags("alice"));
        line.addAll(List.of(args));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = RundCli.execute(new PrintStream(out, true), new PrintStream(err, true), line.toArray(String[]::new));
        return new Output(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
