package io.rund.cli;

import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The per-user CLI agent, as ssh's ControlMaster: one long-lived JVM that runs client commands for bin/rund's small
 * native front end (src/main/c/rund-cli.c) over a Unix socket in a 0700 directory, keeping TLS connections open
 * between commands ({@link AgentConnections}), so a command costs neither a JVM start nor a P-521 handshake. Only
 * the agent's own uid is served (SO_PEERCRED); it exits after {@link #DEFAULT_IDLE} without a command, or when the
 * jar it runs from is rebuilt. Every failure of the agent is the front end's cue to run the command in a JVM of its
 * own, as RUND_AGENT=off does.
 */
public final class CliAgent {

    /** How long the agent waits for the next command before it exits (-Drund.agent.idle=ISO-8601 duration). */
    static final Duration DEFAULT_IDLE = Duration.ofMinutes(5);
    private static final String IDLE_PROPERTY = "rund.agent.idle";
    private static final Duration IDLE_CHECK = Duration.ofSeconds(1);
    /** The launcher's own variables, which the agent may inherit: none of them is a command's option default. */
    private static final java.util.Set<String> AGENT_OWN_VARIABLES = java.util.Set.of("RUND_JAVA_OPTS", "RUND_AOT", "RUND_AGENT");

    private final Path socket;
    private final Duration idle;
    private final Path jar;
    private final FileTime jarTime;
    private final AgentConnections connections = new AgentConnections();
    private final AtomicInteger running = new AtomicInteger();
    private final AtomicLong lastActivityNanos = new AtomicLong(System.nanoTime());
    private volatile boolean stopping;
    private ServerSocketChannel server;
    /** The socket file this agent made (device, inode): the only one it removes, never a successor's. */
    private volatile Object socketKey;

    private CliAgent(Path socket, Duration idle, Path jar) throws IOException {
        this.socket = socket;
        this.idle = idle;
        this.jar = jar;
        this.jarTime = jar != null && Files.exists(jar) ? Files.getLastModifiedTime(jar) : null;
    }

    /** {@code CliAgent SOCKET}: serves until idle; exits 1 if the socket is taken (another agent serves it) or unusable. */
    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: CliAgent SOCKET");
            System.exit(ExitCodes.USAGE);
        }
        java.util.Optional<String> inherited = System.getenv().keySet().stream()
                .filter(name -> name.startsWith("RUND_") && !AGENT_OWN_VARIABLES.contains(name)).sorted().findFirst();
        if (inherited.isPresent()) {
            // Each command sends its own RUND_* variables; one in the agent's environment would stand in for a missing one.
            System.err.println("rund agent: " + inherited.get() + " is set in the agent's environment; bin/rund starts the agent without RUND_* variables");
            System.exit(ExitCodes.USAGE);
        }
        RundCli.skipDefaultTrustStore();
        String home = System.getProperty("rund.home");
        Path jar = home == null ? null : Path.of(home, "target", "rund.jar");
        Duration idle = System.getProperty(IDLE_PROPERTY) == null ? DEFAULT_IDLE : Duration.parse(System.getProperty(IDLE_PROPERTY));
        CliAgent agent = new CliAgent(Path.of(args[0]), idle, jar);
        try {
            agent.bind();
        } catch (IOException e) {
            System.err.println("rund agent: cannot serve " + args[0] + ": " + e.getMessage());
            System.exit(1);
        }
        agent.serve();
        System.exit(0);
    }

    private void bind() throws IOException {
        Path directory = socket.toAbsolutePath().getParent();
        Files.createDirectories(directory);
        Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwx------"));
        // Before the socket exists, so an agent stopped while it starts leaves none behind.
        Runtime.getRuntime().addShutdownHook(new Thread(this::removeSocket, "rund-agent-cleanup"));
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(UnixDomainSocketAddress.of(socket));
        } catch (java.net.BindException taken) {
            // A live agent's socket, or a dead one's: only the second is replaced.
            if (answers(socket)) {
                throw taken;
            }
            Files.deleteIfExists(socket);
            server.bind(UnixDomainSocketAddress.of(socket));
        }
        socketKey = Files.readAttributes(socket, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        AgentConnections.install(connections);
    }

    private void serve() {
        Thread watchdog = Thread.ofPlatform().daemon().name("rund-agent-idle").start(this::exitWhenIdle);
        String self = System.getProperty("user.name");
        while (!stopping) {
            SocketChannel channel;
            try {
                channel = server.accept();
            } catch (IOException e) {
                break;
            }
            lastActivityNanos.set(System.nanoTime());
            if (!sameUser(channel, self)) {
                closeQuietly(channel);
                continue;
            }
            running.incrementAndGet();
            Thread.ofPlatform().daemon().name("rund-agent-session").start(() -> {
                try {
                    new AgentSession(channel, connections, this::jarChanged).serve();
                } finally {
                    lastActivityNanos.set(System.nanoTime());
                    running.decrementAndGet();
                    if (jarChanged()) {
                        stop();
                    }
                }
            });
        }
        watchdog.interrupt();
        removeSocket();
        connections.forgetAll();
    }

    /** Whether the peer runs as the agent's own user (SO_PEERCRED): anyone else is closed on at once. */
    private static boolean sameUser(SocketChannel channel, String self) {
        try {
            UnixDomainPrincipal peer = channel.getOption(ExtendedSocketOptions.SO_PEERCRED);
            return peer.user().getName().equals(self);
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    private void exitWhenIdle() {
        try {
            while (!stopping) {
                Thread.sleep(IDLE_CHECK);
                boolean idleLongEnough = System.nanoTime() - lastActivityNanos.get() > idle.toNanos();
                if ((running.get() == 0 && idleLongEnough) || jarChanged() && running.get() == 0) {
                    stop();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether the jar this agent runs from was rebuilt since it started: its commands belong to a fresh JVM. */
    boolean jarChanged() {
        try {
            return jarTime != null && !jarTime.equals(Files.getLastModifiedTime(jar));
        } catch (IOException e) {
            return true;
        }
    }

    private synchronized void stop() {
        stopping = true;
        removeSocket();
        try {
            server.close();
        } catch (IOException e) {
            // Closing only wakes accept().
        }
    }

    private void removeSocket() {
        try {
            if (socketKey != null && socketKey.equals(Files.readAttributes(socket,
                    java.nio.file.attribute.BasicFileAttributes.class).fileKey())) {
                Files.deleteIfExists(socket);
            }
        } catch (IOException e) {
            // Leaves a file the front end removes when nobody answers on it.
        }
    }

    /** Whether an agent accepts connections on {@code socket}. */
    private static boolean answers(Path socket) {
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // Already gone.
        }
    }
}
