package io.rund.cli;

import io.rund.api.ApiFixture;
import io.rund.cli.CliCalls.Output;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CLI agent path bin/rund takes (src/main/c/rund-cli.c in front of {@link CliAgent}) against a real daemon: the
 * same bytes and exit codes as a command run in-process, one TLS connection reused by later commands, TLS files
 * re-read when they change, signals forwarded, and the agent gone once idle. The front end's fallback here is
 * /bin/false, so a command the agent did not serve cannot pass; each test's agent is its own process, stopped by pid.
 */
class CliAgentTest {

    private static final Path FRONT_END = Path.of("target/classes/native/linux-x86_64/rund-cli");
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final byte[] STDOUT = {'o', 'u', 't', '\n', 0, (byte) 0xff, '\r', 'x'};
    private static final String PRINT = "printf 'out\\n\\000\\377\\rx'; printf 'err\\n' >&2";

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture();

    @TempDir
    Path directory;

    private Path socket;
    private Process agent;

    @BeforeEach
    void startAgent() throws Exception {
        assumeTrue(Files.isExecutable(FRONT_END), "the build makes " + FRONT_END + " (gcc)");
        socket = directory.resolve("agent/agent.sock");
        agent = startAgent("PT5M");
    }

    @AfterEach
    void stopAgent() throws Exception {
        if (agent != null) {
            agent.destroy();
            if (!agent.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)) {
                agent.destroyForcibly().waitFor();
            }
        }
    }

    @Test
    void commandsThroughTheAgentGiveTheBytesAndExitCodesOfACommandInItsOwnProcess() throws Exception {
        List<List<String>> lines = List.of(
                List.of("run", "--", "sh", "-c", PRINT + "; exit 7"),
                List.of("run", "--", "sh", "-c", "kill -9 $$"),
                List.of("status", "01ARZ3NDEKTSV4RRFFQ69G5FAV"),
                List.of("status", "not-an-id"),
                List.of("start", "--memory-max", "0", "--", "true"),
                List.of("start", "--no-such-flag", "--", "true"),
                List.of("list", "--addr", "localhost:1"));
        for (List<String> line : lines) {
            Output direct = CliCalls.run(rund.flags("alice"), line.toArray(String[]::new));
            Output viaAgent = throughAgent(rund.flags("alice"), Map.of(), line);
            assertEquals(direct.exitCode(), viaAgent.exitCode(), line + ": " + viaAgent.errText());
            assertArrayEquals(direct.out(), viaAgent.out(), line + " stdout");
            assertEquals(direct.errText(), viaAgent.errText(), line + " stderr");
        }
        Output run = throughAgent(rund.flags("alice"), Map.of(), List.of("run", "--", "sh", "-c", PRINT));
        assertArrayEquals(STDOUT, run.out());
        assertEquals("err\n", run.errText());

        Output untrusted = throughAgent(rund.flags("untrusted-client"), Map.of(), List.of("list"));
        assertEquals(ExitCodes.PERMISSION, untrusted.exitCode(), untrusted.errText());
        assertEquals(1, untrusted.errText().lines().count(), untrusted.errText());
    }

    @Test
    void theEnvironmentOfEachCommandIsItsOwn() throws Exception {
        List<String> flags = rund.flags("alice");
        Map<String, String> env = Map.of("RUND_ADDR", flags.get(1), "RUND_CA", flags.get(3), "RUND_CERT", flags.get(5),
                "RUND_KEY", flags.get(7));
        Output started = throughAgent(List.of(), env, List.of("start", "--", "true"));
        assertEquals(0, started.exitCode(), started.errText());
        Output unreachable = throughAgent(List.of(), Map.of("RUND_ADDR", "localhost:1", "RUND_CA", flags.get(3),
                "RUND_CERT", flags.get(5), "RUND_KEY", flags.get(7)), List.of("list"));
        assertEquals(ExitCodes.UNAVAILABLE, unreachable.exitCode(), unreachable.errText());
    }

    @Test
    void aSecondCommandReusesTheFirstOnesConnection() throws Exception {
        String id = started(rund.flags("alice"));
        for (int i = 0; i < 3; i++) {
            Output status = throughAgent(rund.flags("alice"), Map.of(), List.of("status", id));
            assertEquals(0, status.exitCode(), status.errText());
        }
        assertEquals(1, connectionsToTheDaemon(agent.pid()), "one TLS connection for four commands");
    }

    @Test
    void aChangedKeyFileIsReadAgainNotReused() throws Exception {
        Path cert = directory.resolve("me.pem");
        Path key = directory.resolve("me-key.pem");
        List<String> alice = rund.flags("alice");
        Files.copy(Path.of(alice.get(5)), cert);
        Files.copy(Path.of(alice.get(7)), key);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        List<String> mine = List.of("--addr", alice.get(1), "--ca", alice.get(3), "--cert", cert.toString(), "--key", key.toString());
        String id = started(mine);

        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
        Output exposed = throughAgent(mine, Map.of(), List.of("status", id));
        assertEquals(ExitCodes.USAGE, exposed.exitCode(), "a key others can read is refused, as without the agent: "
                + exposed.errText());

        // carol shares no SAN with alice: her job is not carol's to see.
        List<String> carol = rund.flags("carol");
        Files.copy(Path.of(carol.get(5)), cert, StandardCopyOption.REPLACE_EXISTING);
        Files.copy(Path.of(carol.get(7)), key, StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        Output asCarol = throughAgent(mine, Map.of(), List.of("status", id));
        assertEquals(ExitCodes.NOT_FOUND, asCarol.exitCode(), "the new identity, not the kept connection: " + asCarol.errText());
    }

    @Test
    void aSignalToTheFrontEndStopsTheJobOfRun() throws Exception {
        List<String> command = frontEnd(rund.flags("alice"), List.of("run", "--", "sh", "-c", "echo started; exec sleep 1000"));
        Process run = new ProcessBuilder(command).start();
        CompletableFuture<byte[]> err = stderrOf(run);
        // Its output is copied once the job started and run registered what an interrupt does.
        byte[] started = run.getInputStream().readNBytes("started\n".length());
        assertEquals("started\n", new String(started, java.nio.charset.StandardCharsets.UTF_8));
        new ProcessBuilder("kill", "-TERM", Long.toString(run.pid())).start().waitFor();
        assertTrue(run.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS));
        assertEquals(128 + 15, run.exitValue());
        String message = new String(err.get(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(message.startsWith("rund: interrupted: stopped job "), message);
        String id = message.strip().substring("rund: interrupted: stopped job ".length());
        Output status = CliCalls.run(rund.flags("alice"), "status", id);
        assertTrue(status.outText().contains("\"stoppedByRequest\":true"),
                "status of " + id + ": " + status.outText() + status.errText() + " after: " + message);
    }

    @Test
    void theAgentExitsWhenIdleAndRemovesItsSocket() throws Exception {
        stopAgent();
        agent = startAgent("PT3S");
        assertEquals(0, throughAgent(rund.flags("alice"), Map.of(), List.of("list")).exitCode());
        assertTrue(agent.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "gone after 3 s without a command");
        assertFalse(Files.exists(socket), "its socket removed");
        Output fallback = throughAgent(rund.flags("alice"), Map.of(), List.of("list"));
        assertEquals(1, fallback.exitCode(), "no agent: the fallback (/bin/false here) runs");
    }

    private Process startAgent(String idle) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Drund.agent.idle=" + idle,
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), CliAgent.class.getName(), socket.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(Path.of("target", "cli-agent-test-" + System.nanoTime() + ".log").toFile());
        builder.environment().keySet().removeIf(name -> name.startsWith("RUND_"));
        Process started = builder.start();
        long deadline = System.nanoTime() + WAIT.toNanos();
        // The socket's file appears at bind(2), a moment before listen(2): a connect in between is refused, and the
        // front end then runs its fallback (seen once under load). So wait until it listens.
        while (!listening(socket) && started.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(listening(socket), "the agent serves " + socket);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket.getParent())));
        return started;
    }

    /** Whether a Unix socket bound at {@code path} listens (/proc/net/unix: flag __SO_ACCEPTCON, 0x10000). */
    private static boolean listening(Path path) throws IOException {
        String name = path.toAbsolutePath().toString();
        for (String line : Files.readAllLines(Path.of("/proc/net/unix"))) {
            // Num RefCount Protocol Flags Type St Inode Path
            String[] fields = line.trim().split("\\s+");
            if (fields.length >= 8 && fields[7].equals(name) && fields[3].matches("[0-9A-Fa-f]+")
                    && (Long.parseLong(fields[3], 16) & 0x10000) != 0) {
                return true;
            }
        }
        return false;
    }

    private String started(List<String> flags) throws Exception {
        Output started = throughAgent(flags, Map.of(), List.of("start", "--", "true"));
        assertEquals(0, started.exitCode(), started.errText());
        return started.outText().strip();
    }

    /** The front end's command line: the agent's socket, /bin/false as the fallback, then the command with its flags. */
    private List<String> frontEnd(List<String> flags, List<String> line) {
        List<String> command = new ArrayList<>(List.of(FRONT_END.toAbsolutePath().toString(), socket.toString(), "1", "/bin/false"));
        List<String> args = new ArrayList<>(line);
        int at = args.indexOf("--") < 0 ? args.size() : args.indexOf("--");
        args.addAll(Math.min(at, 1), flags);
        command.addAll(args);
        return command;
    }

    private Output throughAgent(List<String> flags, Map<String, String> env, List<String> line) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(frontEnd(flags, line));
        builder.environment().keySet().removeIf(name -> name.startsWith("RUND_"));
        builder.environment().putAll(env);
        Process process = builder.start();
        CompletableFuture<byte[]> err = stderrOf(process);
        byte[] out = process.getInputStream().readAllBytes();
        assertTrue(process.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), line + " ended");
        return new Output(process.exitValue(), out, err.get());
    }

    /**
     * The process's stderr, read on a thread of its own: not the common pool, whose one worker on a 2-core machine the
     * in-JVM daemon needs too.
     */
    private static CompletableFuture<byte[]> stderrOf(Process process) {
        CompletableFuture<byte[]> err = new CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> {
            try {
                err.complete(process.getErrorStream().readAllBytes());
            } catch (IOException e) {
                err.completeExceptionally(e);
            }
        });
        return err;
    }

    /** Established TCP connections from process {@code pid} to the fixture's daemon (its socket inodes in /proc/net/tcp*). */
    private static long connectionsToTheDaemon(long pid) throws IOException {
        Set<String> inodes = new HashSet<>();
        try (var fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[")) {
                        inodes.add(target.substring("socket:[".length(), target.length() - 1));
                    }
                } catch (IOException gone) {
                    // Closed meanwhile.
                }
            }
        }
        String port = String.format("%04X", rund.port());
        long count = 0;
        for (String table : List.of("tcp", "tcp6")) {
            for (String row : Files.readAllLines(Path.of("/proc", Long.toString(pid), "net", table))) {
                String[] fields = row.trim().split("\\s+");
                if (fields.length > 9 && fields[2].endsWith(":" + port) && fields[3].equals("01") && inodes.contains(fields[9])) {
                    count++;
                }
            }
        }
        return count;
    }
}
