package io.rund.cli;

import io.rund.auth.TlsFiles;
import io.rund.proto.v1.ListRequest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The workload bin/rund runs once after a build, under -XX:AOTCacheOutput, to make the CLI's AOT cache: every
 * command that talks to the daemon (successes, refusals, usage errors, help), run in this JVM as a user would,
 * against a real short-lived daemon in a JVM of its own (so that no daemon class ends up in the cache) on a loopback port,
 * with a temporary state directory and its own cgroup subtree, both removed afterwards. A real command then
 * starts with the classes it needs loaded and linked. The daemon needs what {@code rund serve} needs (root and a
 * writable cgroup v2 tree); where it cannot start, this exits with {@link #NO_DAEMON} and makes nothing. With the
 * system property {@value #SERVE_CACHE_PROPERTY} set to a path, the daemon runs with the flags {@code rund serve}
 * uses and writes its own AOT cache there when it stops: the same training makes the daemon start faster too.
 */
public final class CliTraining {

    /** Exit code: the training daemon could not start here, so there is nothing to train against. */
    public static final int NO_DAEMON = 3;
    /** Where the training daemon writes the daemon's AOT cache (unset: it writes none). */
    public static final String SERVE_CACHE_PROPERTY = "rund.training.serve-cache";
    /** Exit code: a command that must succeed against the daemon did not. */
    public static final int TRAINING_FAILED = 1;

    /** Rounds of every command: later rounds run the code paths warm, as the JIT's profiles in the cache expect. */
    private static final int ROUNDS = 2;
    private static final Duration DAEMON_START_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration DAEMON_STOP_TIMEOUT = Duration.ofSeconds(30);
    /** A daemon writing its AOT cache as it exits takes longer: the JVM assembles the cache then. */
    private static final Duration CACHE_WRITING_STOP_TIMEOUT = Duration.ofMinutes(3);
    private static final Duration READY_POLL = Duration.ofMillis(100);
    private static final String STOP_GRACE = "1s";
    private static final String UNKNOWN_JOB = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    private static final int LOG_TAIL_BYTES = 4096;
    private static final String CGROUP_PREFIX = "rund-aot-training-";

    private final Path tls;
    private final List<String> connection;
    private final PrintStream discard = new PrintStream(OutputStream.nullOutputStream());

    private CliTraining(Path tls, int port) {
        this.tls = tls;
        this.connection = List.of("--addr", "127.0.0.1:" + port, "--ca", tls.resolve("ca.pem").toString(),
                "--cert", tls.resolve("client.pem").toString(), "--key", tls.resolve("client-key.pem").toString());
    }

    /**
     * {@code args[0]}: the directory of the example certificates (tls/ in the checkout); optional {@code args[1]}:
     * the daemon's cgroup subtree (relative to the cgroup2 mount; default rund-aot-training-RANDOM), which it
     * removes when it stops.
     */
    public static void main(String[] args) throws Exception {
        RundCli.skipDefaultTrustStore();
        ClientWarmUp.start();
        Path tls = Path.of(args.length > 0 ? args[0] : "tls").toAbsolutePath();
        String cgroupRoot = args.length > 1 ? args[1]
                : CGROUP_PREFIX + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        Path work = Files.createTempDirectory("rund-aot-training-");
        int code;
        try {
            int port = freeLoopbackPort();
            Process daemon = startDaemon(tls, cgroupRoot, work, port);
            try {
                CliTraining training = new CliTraining(tls, port);
                if (!training.awaitReady(daemon)) {
                    System.err.println("rund training: the daemon did not start (it needs root and cgroup v2); its log:");
                    System.err.println(tail(work.resolve("daemon.log")));
                    code = NO_DAEMON;
                } else {
                    for (int round = 0; round < ROUNDS; round++) {
                        training.round();
                    }
                    code = ExitCodes.OK;
                }
            } finally {
                stop(daemon);
            }
        } catch (TrainingException e) {
            System.err.println("rund training: " + e.getMessage());
            code = TRAINING_FAILED;
        } finally {
            deleteRecursively(work);
        }
        System.exit(code);
    }

    /** Every client command once; the ones that must work against a real daemon are checked. */
    private void round() throws TrainingException {
        String printed = mustSucceed("start", "--", "sh", "-c", "echo out; echo err >&2");
        String job = printed.strip();
        mustSucceed("status", job);
        mustSucceed("logs", "-f", job);
        mustSucceed("logs", job);
        mustSucceed("logs", "--tail", "1", "--timestamps", job);
        mustSucceed("logs", "--stderr", job);
        mustSucceed("list");
        mustSucceed("list", "--json");
        String sleeper = mustSucceed("start", "-e", "TRAINING=1", "-C", "/", "--", "sleep", "1000").strip();
        mustSucceed("status", sleeper);
        run("update", "--pids-max", "64", sleeper); // refused where the host lacks the pids controller: both paths train
        run("pause", sleeper); // job control: not checked, a host without the cgroup freezer refuses it
        run("resume", sleeper);
        run("kill", "-s", "CONT", sleeper);
        run("stats", sleeper);
        run("top", "-n", "1", "--interval", "100ms");
        mustSucceed("stop", sleeper);
        mustSucceed("run", "--", "sh", "-c", "echo out; echo err >&2");
        // Failures as users meet them: exit codes other than 0 are the point here.
        run("run", "--", "sh", "-c", "exit 3");
        run("status", UNKNOWN_JOB);
        run("stop", UNKNOWN_JOB);
        run("logs", UNKNOWN_JOB);
        run("rm", UNKNOWN_JOB);
        run("start", "--memory-max", "512M", "--cpus", "0.5", "--pids-max", "64", "--", "true");
        run("start", "--memory-max", "0", "--", "true");
        run("status");
        run("nonsense");
        // Not `doctor`: it runs no RPC, and the cgroup code it runs logs, which starts logback (about 500 classes
        // with its XML configuration) that every other command would then load at start-up for nothing.
        for (String command : List.of("start", "stop", "status", "logs", "list", "rm", "run", "update", "kill", "pause",
                "resume", "stats", "top", "watch", "doctor")) {
            RundCli.execute(discard, discard, command, "--help");
        }
        RundCli.execute(discard, discard, "--help");
        RundCli.execute(discard, discard, "--version");
    }

    /** Runs one command line with the connection options after its first word; returns what it printed. */
    private String mustSucceed(String... line) throws TrainingException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = RundCli.execute(new PrintStream(out, true), new PrintStream(err, true), withConnection(line));
        if (code != ExitCodes.OK) {
            throw new TrainingException("'rund " + String.join(" ", line) + "' exited with " + code + ": "
                    + err.toString(StandardCharsets.UTF_8).strip());
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private void run(String... line) {
        RundCli.execute(discard, discard, withConnection(line));
    }

    private String[] withConnection(String... line) {
        List<String> all = new ArrayList<>();
        all.add(line[0]);
        if (!line[0].equals("nonsense")) {
            all.addAll(connection);
        }
        all.addAll(List.of(line).subList(1, line.length));
        return all.toArray(String[]::new);
    }

    /** Polls with List until the daemon answers; false if it exits or does not answer in time. */
    private boolean awaitReady(Process daemon) throws Exception {
        TlsFiles client = new TlsFiles(tls.resolve("ca.pem"), tls.resolve("client.pem"), tls.resolve("client-key.pem"));
        HostPort address = HostPort.parse("--addr", connection.get(1));
        Instant deadline = Instant.now().plus(DAEMON_START_TIMEOUT);
        while (daemon.isAlive() && Instant.now().isBefore(deadline)) {
            try (RundClient probe = RundClient.connect(address, client)) {
                probe.list(ListRequest.getDefaultInstance());
                return true;
            } catch (io.grpc.StatusRuntimeException notYet) {
                Thread.sleep(READY_POLL);
            }
        }
        return false;
    }

    private static Process startDaemon(Path tls, String cgroupRoot, Path work, int port) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"));
        String serveCache = System.getProperty(SERVE_CACHE_PROPERTY);
        if (serveCache != null) {
            // The flags bin/rund serve runs with, so that the cache fits the daemon it is made for.
            command.addAll(List.of("-Xlog:aot*=off", "-Xlog:cds*=off", "-XX:AOTCacheOutput=" + serveCache));
        } else {
            command.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"),
                RundCli.class.getName(), "serve", "--addr", "127.0.0.1:" + port,
                "--ca", tls.resolve("ca.pem").toString(),
                "--cert", tls.resolve("server.pem").toString(), "--key", tls.resolve("server-key.pem").toString()));
        String home = System.getProperty("rund.home");
        if (home != null) {
            command.add(1, "-Drund.home=" + home);
        }
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("daemon.log").toFile());
        builder.environment().put("RUND_STATE_DIR", work.resolve("state").toString());
        builder.environment().put("RUND_CGROUP_ROOT", cgroupRoot);
        builder.environment().put("RUND_STOP_GRACE", STOP_GRACE);
        return builder.start();
    }

    /** SIGTERM: the daemon's orderly shutdown stops its jobs and removes its cgroups. */
    private static void stop(Process daemon) throws InterruptedException {
        daemon.destroy();
        Duration timeout = System.getProperty(SERVE_CACHE_PROPERTY) != null ? CACHE_WRITING_STOP_TIMEOUT : DAEMON_STOP_TIMEOUT;
        if (!daemon.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
            daemon.destroyForcibly();
            daemon.waitFor();
        }
    }

    private static int freeLoopbackPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static String tail(Path log) {
        try {
            byte[] bytes = Files.readAllBytes(log);
            int from = Math.max(0, bytes.length - LOG_TAIL_BYTES);
            return new String(bytes, from, bytes.length - from, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e.getMessage() + ")";
        }
    }

    private static void deleteRecursively(Path dir) throws IOException {
        try (Stream<Path> entries = Files.walk(dir)) {
            for (Path path : entries.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    /** A command the training needs to succeed failed: the cache would not be worth making. */
    private static final class TrainingException extends Exception {
        TrainingException(String message) {
            super(message);
        }
    }
}
