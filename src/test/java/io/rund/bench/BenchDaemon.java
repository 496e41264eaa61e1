package io.rund.bench;

import io.rund.TestCgroups;
import io.rund.TestFiles;
import io.rund.auth.TlsContexts;
import io.rund.auth.TlsFiles;
import io.rund.cli.HostPort;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A real {@code bin/rund serve} for the benchmarks: its own process, on a free loopback port, with a private state
 * directory and its own cgroup root {@code rund-bench-<random>} directly under the cgroup2 mount. {@link #close()} stops it
 * with SIGTERM (as an operator would) and then removes whatever is left, the cgroup root included; a shutdown
 * hook does the same for daemons still running when the bench is interrupted.
 */
final class BenchDaemon implements AutoCloseable {

    static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(90);
    private static final long PROBE_INTERVAL_MILLIS = 2;
    private static final String STOP_GRACE = "2s";
    private static final String UNCAPPED = Integer.toString(Integer.MAX_VALUE);
    private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");
    private static final Set<BenchDaemon> RUNNING = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> RUNNING.forEach(BenchDaemon::close), "bench-daemon-cleanup"));
    }

    private final Process process;
    private final HostPort address;
    private final Path stateDirectory;
    private final Path cgroupRoot;
    private final Path logFile;
    private long readyNanos;
    private boolean closed;

    private BenchDaemon(Process process, HostPort address, Path stateDirectory, Path cgroupRoot, Path logFile) {
        this.process = process;
        this.address = address;
        this.stateDirectory = stateDirectory;
        this.cgroupRoot = cgroupRoot;
        this.logFile = logFile;
    }

    /** Starts a daemon and returns once it completes a TLS handshake; {@link #readyNanos()} is how long that took. */
    static BenchDaemon start(Path repository, Path workDirectory) throws Exception {
        return start(repository, workDirectory, Map.of());
    }

    /** As {@link #start(Path, Path)}, with {@code extraEnvironment} (RUND_* settings) for the daemon. */
    static BenchDaemon start(Path repository, Path workDirectory, Map<String, String> extraEnvironment) throws Exception {
        String id = HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        return startOn(repository, workDirectory.resolve("state-" + id), TestCgroups.mount().resolve("rund-bench-" + id),
                workDirectory.resolve("daemon-" + id + ".log"), extraEnvironment);
    }

    /**
     * kill -9 of this daemon (its jobs run on with rund-keeper), then a new daemon on the same state directory and
     * cgroup root, which adopts them; it removes what is left when it is closed.
     */
    BenchDaemon crashAndRestart(Path repository, Map<String, String> extraEnvironment) throws Exception {
        synchronized (this) {
            closed = true;
            RUNNING.remove(this);
        }
        process.destroyForcibly().waitFor();
        return startOn(repository, stateDirectory, cgroupRoot,
                logFile.resolveSibling(logFile.getFileName() + ".restarted"), extraEnvironment);
    }

    private static BenchDaemon startOn(Path repository, Path state, Path cgroupRoot, Path log,
                                       Map<String, String> extraEnvironment) throws Exception {
        int port = freePort();
        Path tls = repository.resolve("tls");
        ProcessBuilder builder = new ProcessBuilder(repository.resolve("bin/rund").toString(), "serve")
                .directory(repository.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        Map<String, String> env = builder.environment();
        env.put("RUND_STATE_DIR", state.toString());
        env.put("RUND_CGROUP_ROOT", cgroupRoot.toString());
        env.put("RUND_SERVE_ADDR", "127.0.0.1:" + port);
        env.put("RUND_SERVE_CA", tls.resolve("ca.pem").toString());
        env.put("RUND_SERVE_CERT", tls.resolve("server.pem").toString());
        env.put("RUND_SERVE_KEY", tls.resolve("server-key.pem").toString());
        env.put("RUND_STOP_GRACE", STOP_GRACE);
        // The benches start thousands of jobs, as fast as they can, as one identity: the per-identity caps stay out.
        env.put("RUND_TENANT_MAX_RUNNING_JOBS", UNCAPPED);
        env.put("RUND_TENANT_START_RATE", UNCAPPED);
        env.put("RUND_TENANT_START_BURST", UNCAPPED);
        env.putAll(extraEnvironment);
        long begin = System.nanoTime();
        Process process = builder.start();
        BenchDaemon daemon = new BenchDaemon(process, new HostPort("127.0.0.1", port), state, cgroupRoot, log);
        RUNNING.add(daemon);
        try {
            daemon.readyNanos = awaitTls(process, port, clientTls(repository, "client"), begin, log);
            return daemon;
        } catch (Exception e) {
            daemon.close();
            throw e;
        }
    }

    static TlsFiles clientTls(Path repository, String name) {
        Path tls = repository.resolve("tls");
        return new TlsFiles(tls.resolve("ca.pem"), tls.resolve(name + ".pem"), tls.resolve(name + "-key.pem"));
    }

    HostPort address() {
        return address;
    }

    long pid() {
        return process.pid();
    }

    Path cgroupRoot() {
        return cgroupRoot;
    }

    /** The daemon's private state directory (records in jobs/, logs in logs/). */
    Path stateDirectory() {
        return stateDirectory;
    }

    Path logFile() {
        return logFile;
    }

    /** From exec of bin/rund serve to the first completed TLS handshake. */
    long readyNanos() {
        return readyNanos;
    }

    int threads() throws IOException {
        return ProcessFigures.threads(pid());
    }

    long rssBytes() throws IOException {
        return ProcessFigures.rssBytes(pid());
    }

    int openFiles() throws IOException {
        return ProcessFigures.openFiles(pid());
    }

    /** Live heap after a full collection the bench asks for through jcmd. */
    long heapUsedAfterGcBytes() throws IOException, InterruptedException {
        jcmd("GC.run");
        String info = jcmd("GC.heap_info");
        Matcher used = HEAP_USED.matcher(info);
        if (!used.find()) {
            throw new IOException("jcmd GC.heap_info for pid " + pid() + " shows no 'used ...K': " + info);
        }
        return Long.parseLong(used.group(1)) * 1024;
    }

    /** Job cgroups that exist now: a job's cgroup is removed only once the job has fully ended. */
    int jobCgroups() throws IOException {
        try (Stream<Path> children = Files.list(cgroupRoot)) {
            // rund-keeper's leaf sits beside the jobs' cgroups while the daemon runs
            return (int) children.filter(Files::isDirectory)
                    .filter(child -> !child.getFileName().toString().equals("rund-keeper")).count();
        }
    }

    /** Waits until no job cgroup is left (every job ended and cleaned up); false on timeout. */
    boolean awaitNoJobs(Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (jobCgroups() > 0) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(1);
        }
        return true;
    }

    /** SIGTERM, wait for the orderly shutdown, then remove anything left behind (also after a failed start). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        RUNNING.remove(this);
        try {
            process.destroy();
            if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                System.err.println("bench: rund (pid " + pid() + ") did not stop within " + STOP_TIMEOUT + "; killing it");
                process.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        removeCgroupTree(cgroupRoot);
        deleteRecursively(stateDirectory);
        deleteRecursively(io.rund.job.IdentitySettings.defaultHomeRoot(stateDirectory));
    }

    private String jcmd(String command) throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid()), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(jcmd + " " + pid() + " " + command + " failed: " + out);
        }
        return out;
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static long awaitTls(Process process, int port, TlsFiles tls, long begin, Path log) throws Exception {
        SSLContext context = TlsContexts.client(tls);
        long deadline = begin + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IOException("rund serve exited with " + process.exitValue() + " before it served; its log "
                        + log + " ends with:\n" + tail(log));
            }
            if (handshake(context, port)) {
                return System.nanoTime() - begin;
            }
            Thread.sleep(PROBE_INTERVAL_MILLIS);
        }
        throw new IOException("rund serve did not complete a TLS handshake on port " + port + " within " + READY_TIMEOUT
                + "; its log " + log + " ends with:\n" + tail(log));
    }

    /** One TLS 1.3 handshake with a client certificate; false while nothing listens. */
    static boolean handshake(SSLContext context, int port) {
        try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(), port)) {
            SSLParameters parameters = socket.getSSLParameters();
            parameters.setProtocols(new String[] {TlsContexts.TLS_1_3});
            parameters.setApplicationProtocols(new String[] {"h2"});
            socket.setSSLParameters(parameters);
            socket.startHandshake();
            return true;
        } catch (IOException notYet) {
            return false;
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(unreadable: " + e.getMessage() + ")";
        }
    }

    /** Kills whatever still runs in {@code root}'s cgroups and removes them, innermost first. */
    static void removeCgroupTree(Path root) {
        try {
            TestCgroups.removeTree(root);
        } catch (IOException e) {
            System.err.println("bench: cannot remove cgroup tree " + root + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void deleteRecursively(Path dir) {
        try {
            TestFiles.deleteTree(dir);
        } catch (IOException e) {
            System.err.println("bench: cannot delete " + dir + ": " + e);
        }
    }
}
