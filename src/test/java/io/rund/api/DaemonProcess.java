package io.rund.api;

import io.rund.TestCgroups;
import io.rund.TestFiles;
import io.rund.auth.ExampleCertificates;
import io.rund.auth.TlsContexts;
import io.rund.auth.TlsFiles;
import io.rund.bench.ProcessFigures;
import io.rund.cli.RundCli;

import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;


/**
 * {@code rund serve} as its own process (the test's classpath, the daemon's JVM flags), on a free loopback port with
 * the example certificates, a private state directory and cgroup root, its log in a file: for tests that read the
 * daemon's memory and descriptors from /proc, see whether it is still alive, or read what it logged.
 * {@link #close()} sends SIGTERM to the pid it started and removes whatever is left.
 */
final class DaemonProcess implements AutoCloseable {

    /** In the flags of {@link #startServing}: the daemon's port. */
    static final String PORT = "{port}";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

    private final Process process;
    private final int port;
    private final Path workDirectory;
    private final Path cgroupRoot;
    private final Path logFile;
    private org.apache.pekko.actor.ActorSystem clientSystem;

    private DaemonProcess(Process process, int port, Path workDirectory, Path cgroupRoot, Path logFile) {
        this.process = process;
        this.port = port;
        this.workDirectory = workDirectory;
        this.cgroupRoot = cgroupRoot;
        this.logFile = logFile;
    }

    /** Starts a daemon with {@code env} added to its environment, and returns once it completes a TLS handshake. */
    static DaemonProcess start(Map<String, String> env, String... systemProperties) throws Exception {
        return startServing(exampleTlsFlags(), env, systemProperties);
    }

    /**
     * Starts a daemon given {@code tlsFlags} (--ca, --cert, --key, ...) as its TLS files, and returns once it completes a
     * handshake on loopback. The flags may name the address to listen on ({@code --addr}, {@value #PORT} standing for the
     * free port this class picks); without one it listens on 127.0.0.1.
     */
    static DaemonProcess startServing(List<String> tlsFlags, Map<String, String> env, String... systemProperties) throws Exception {
        ApiFixture.assumeEngineCanRun();
        Path work = Files.createTempDirectory("rund-daemon-process-");
        Path cgroupRoot = TestCgroups.newRoot("rund-test");
        return startIn(System.getProperty("java.class.path"), work, cgroupRoot, env, tlsFlags, systemProperties);
    }

    /**
     * As {@link #start}, but {@code rund serve} of another build: {@code classpath} is that build's jar and its
     * dependencies (the upgrade test's earlier commit).
     */
    static DaemonProcess startBuild(String classpath, Map<String, String> env) throws Exception {
        ApiFixture.assumeEngineCanRun();
        Path work = Files.createTempDirectory("rund-daemon-process-");
        Path cgroupRoot = TestCgroups.newRoot("rund-test");
        return startIn(classpath, work, cgroupRoot, env, exampleTlsFlags());
    }

    /**
     * A new daemon with the state directory and cgroup root of {@code previous} (which must have exited: see
     * {@link #killHard()}), as a restart on the same host would run; its log goes to a file of its own.
     */
    static DaemonProcess restartAfter(DaemonProcess previous, Map<String, String> env) throws Exception {
        return startIn(System.getProperty("java.class.path"), previous.workDirectory, previous.cgroupRoot, env,
                exampleTlsFlags());
    }

    /** One example certificate (P-521), as every build of rund serve takes it. */
    private static List<String> exampleTlsFlags() {
        TlsFiles tls = ExampleCertificates.server();
        return List.of("--ca", tls.ca().toString(), "--cert", tls.cert().toString(), "--key", tls.key().toString());
    }

    /**
     * rund started by {@code main} (a test's own entry point, which starts it through io.rund.Rund from the layered
     * configuration, as serve does) instead of {@code rund serve}: the address and the example certificates reach it
     * through the environment (RUND_SERVE_*), and {@link #sendLine} writes to its stdin.
     */
    static DaemonProcess startMain(Class<?> main, Map<String, String> env) throws Exception {
        ApiFixture.assumeEngineCanRun();
        Path work = Files.createTempDirectory("rund-daemon-process-");
        Path cgroupRoot = TestCgroups.newRoot("rund-test");
        int port = freePort();
        TlsFiles tls = ExampleCertificates.server();
        Map<String, String> withApi = new java.util.HashMap<>(Map.of("RUND_SERVE_ADDR", "127.0.0.1:" + port,
                "RUND_SERVE_CA", tls.ca().toString(), "RUND_SERVE_CERT", tls.cert().toString(),
                "RUND_SERVE_KEY", tls.key().toString()));
        withApi.putAll(env);
        return launch(System.getProperty("java.class.path"), work, cgroupRoot, port, withApi, List.of(main.getName()));
    }

    private static DaemonProcess startIn(String classpath, Path work, Path cgroupRoot, Map<String, String> env,
                                         List<String> tlsFlags, String... systemProperties) throws Exception {
        int port = freePort();
        List<String> arguments = new ArrayList<>(List.of(systemProperties));
        arguments.addAll(List.of(RundCli.class.getName(), "serve"));
        if (!tlsFlags.contains("--addr")) {
            arguments.addAll(List.of("--addr", "127.0.0.1:" + port));
        }
        tlsFlags.forEach(flag -> arguments.add(flag.replace(PORT, Integer.toString(port))));
        return launch(classpath, work, cgroupRoot, port, env, arguments);
    }

    /** {@code java [arguments]} on {@code classpath}, the daemon's settings in its environment; returns once it serves. */
    private static DaemonProcess launch(String classpath, Path work, Path cgroupRoot, int port, Map<String, String> env,
                                        List<String> arguments) throws Exception {
        Path log = Files.createTempFile(work, "daemon-", ".log");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-cp", classpath));
        command.addAll(arguments);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("RUND_STATE_DIR", work.resolve("state").toString());
        builder.environment().put("RUND_CGROUP_ROOT", cgroupRoot.toString());
        builder.environment().put("RUND_STOP_GRACE", "2s");
        builder.environment().putAll(env);
        DaemonProcess daemon = new DaemonProcess(builder.start(), port, work, cgroupRoot, log);
        try {
            daemon.awaitTls();
            return daemon;
        } catch (Exception e) {
            daemon.close();
            throw e;
        }
    }

    /** Writes {@code line} to the daemon's stdin (read by a {@link #startMain} entry point). */
    void sendLine(String line) throws IOException {
        process.getOutputStream().write((line + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        process.getOutputStream().flush();
    }

    /** The daemon's exit status once it has exited by itself, waiting at most {@code atMost}. */
    int awaitExit(Duration atMost) throws InterruptedException {
        if (!process.waitFor(atMost.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("rund did not exit within " + atMost);
        }
        return process.exitValue();
    }

    /** An actor system for the test's raw HTTP/2 clients ({@link RawHttp2}), terminated by {@link #close()}. */
    synchronized org.apache.pekko.actor.ActorSystem clientSystem() {
        if (clientSystem == null) {
            clientSystem = org.apache.pekko.actor.ActorSystem.create("daemon-process-clients");
        }
        return clientSystem;
    }

    int port() {
        return port;
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** /proc/PID/status VmRSS, in bytes. */
    long rssBytes() throws IOException {
        return ProcessFigures.rssBytes(pid());
    }

    long threads() throws IOException {
        return ProcessFigures.threads(pid());
    }

    int openFiles() throws IOException {
        return ProcessFigures.openFiles(pid());
    }

    /** The job cgroups that exist now. */
    long jobCgroups() throws IOException {
        if (!Files.isDirectory(cgroupRoot)) {
            return 0;
        }
        try (Stream<Path> children = Files.list(cgroupRoot)) {
            // rund-keeper's leaf sits beside the jobs' cgroups while the daemon runs
            return children.filter(Files::isDirectory)
                    .filter(child -> !child.getFileName().toString().equals("rund-keeper")).count();
        }
    }

    /** The job logs in the state directory. */
    long logFiles() throws IOException {
        return ProcessFigures.files(workDirectory.resolve("state").resolve("logs")).files();
    }

    /** The job records in the state directory. */
    long recordFiles() throws IOException {
        return ProcessFigures.files(workDirectory.resolve("state").resolve("jobs")).files();
    }

    /** Everything the daemon has written to stdout and stderr so far. */
    List<String> logLines() throws IOException {
        return Files.readAllLines(logFile);
    }

    private void awaitTls() throws Exception {
        var context = TlsContexts.client(ExampleCertificates.files("alice"));
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("rund serve exited with " + process.exitValue() + ":\n" + String.join("\n", logLines()));
            }
            try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(), port)) {
                socket.startHandshake();
                return;
            } catch (IOException notYet) {
                Thread.sleep(20);
            }
        }
        throw new IOException("rund serve did not serve within " + READY_TIMEOUT + ":\n" + String.join("\n", logLines()));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** SIGKILL to the daemon (a crash: nothing of it runs after), leaving its state directory and cgroups as they are. */
    void killHard() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    /** The same as {@link #killHard()}: kill -9, no shutdown of any kind. */
    void kill() throws InterruptedException {
        killHard();
    }

    /** A client of this daemon presenting the example certificate {@code name} (alice, bob, carol, admin, ...). */
    io.rund.cli.RundClient client(String name) throws io.rund.cli.CliException {
        return io.rund.cli.RundClient.connect(new io.rund.cli.HostPort("localhost", port), ExampleCertificates.files(name));
    }

    /** SIGTERM to the daemon; returns its exit status once it has exited, leaving its state and cgroups for checks. */
    int terminate() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor();
            throw new AssertionError("rund serve did not exit within " + STOP_TIMEOUT + " of SIGTERM");
        }
        return process.exitValue();
    }

    /** The cgroup root the daemon was given (RUND_CGROUP_ROOT). */
    Path cgroupRoot() {
        return cgroupRoot;
    }

    /** The daemon's private state directory. */
    Path stateDirectory() {
        return workDirectory.resolve("state");
    }

    /** The CLI's connection flags for this daemon, as client {@code identity} of the example certificates. */
    List<String> cliFlags(String identity) {
        TlsFiles tls = ExampleCertificates.files(identity);
        return List.of("--addr", "127.0.0.1:" + port, "--ca", tls.ca().toString(), "--cert", tls.cert().toString(),
                "--key", tls.key().toString());
    }

    /** SIGTERM to the daemon, then whatever it left removed: its cgroups (killed first) and its directory. */
    @Override
    public void close() throws IOException, InterruptedException {
        if (clientSystem != null) {
            clientSystem.terminate();
        }
        process.destroy();
        if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly().waitFor();
        }
        if (Files.isDirectory(cgroupRoot)) {
            List<Path> cgroups;
            try (Stream<Path> tree = Files.walk(cgroupRoot)) {
                cgroups = tree.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList();
            }
            for (Path cgroup : cgroups) {
                if (Files.exists(cgroup.resolve("cgroup.kill"))) {
                    Files.writeString(cgroup.resolve("cgroup.kill"), "1");
                }
            }
            for (Path cgroup : cgroups) {
                for (int attempt = 0; attempt < 500 && Files.exists(cgroup); attempt++) {
                    try {
                        Files.delete(cgroup);
                    } catch (IOException busy) {
                        Thread.sleep(10);
                    }
                }
            }
        }
        TestFiles.deleteTree(workDirectory);
    }
}
