package io.rund.api;

import io.rund.cli.RundClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Connections without a certificate against a real rund: a handshake that is not done within the handshake
 * timeout from accept is cut even if the peer trickles bytes in, a source holding its share of unauthenticated
 * connections gets its next one closed at once, and while thousands of idle or dripping connections from many
 * loopback addresses are held, an authenticated client is still served.
 */
class PreAuthenticationTest {

    /** Longer than the flood takes to open, so that the door is full of it when the client comes. */
    private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    private static final int MAX_UNAUTHENTICATED = 256;
    private static final int MAX_PER_SOURCE = 8;
    private static final int FLOOD_CONNECTIONS = 5_000;
    /** Sources 127.0.0.2 .. 127.0.0.(1 + FLOOD_SOURCES): far more than the per-source cap can refuse alone. */
    private static final int FLOOD_SOURCES = 100;
    /** Fewer than the server's listen backlog (pekko.http.server.backlog). */
    private static final int FLOOD_BATCH = 500;
    /** /proc/net/tcp's state code for a listening socket. */
    private static final String TCP_LISTEN = "0A";
    /** The first byte of a TLS handshake record: what a slowloris sends before going quiet. */
    private static final byte TLS_HANDSHAKE_RECORD = 0x16;
    /** Only guards against a hang; not a performance claim. */
    private static final Duration GUARD = Duration.ofSeconds(60);
    /** How long the authenticated call may take before the test calls the client locked out (today: for ever). */
    private static final Duration CALL_GUARD = Duration.ofSeconds(30);

    @RegisterExtension
    static final ApiFixture rund = new ApiFixture(String.join("\n",
            "rund.api.handshake-timeout = " + HANDSHAKE_TIMEOUT.toMillis() + "ms",
            "rund.api.max-unauthenticated-connections = " + MAX_UNAUTHENTICATED,
            "rund.api.max-unauthenticated-connections-per-source = " + MAX_PER_SOURCE,
            "rund.api.refusal-log-interval = 1s"));

    @Test
    void aHandshakeNotDoneInTimeIsCutThoughThePeerTricklesBytes() throws Exception {
        try (Socket slow = new Socket()) {
            slow.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), rund.port()));
            slow.setSoTimeout((int) HANDSHAKE_TIMEOUT.dividedBy(6).toMillis());
            long start = System.nanoTime();
            InputStream in = slow.getInputStream();
            boolean closed = false;
            while (!closed && System.nanoTime() - start < GUARD.toNanos()) {
                try {
                    slow.getOutputStream().write(TLS_HANDSHAKE_RECORD);
                    closed = in.read() == -1;
                } catch (SocketTimeoutException stillOpen) {
                    // nothing from the server yet: trickle another byte
                } catch (SocketException reset) {
                    closed = true;
                }
            }
            assertTrue(closed, "a connection trickling a byte every " + slow.getSoTimeout() + " ms was still open after "
                    + GUARD.toSeconds() + " s");
            System.out.printf("trickling connection cut after %d ms (handshake timeout %d ms)%n",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), HANDSHAKE_TIMEOUT.toMillis());
        }
    }

    @Test
    void aSourceBeyondItsShareOfUnauthenticatedConnectionsHasTheNextOneClosedAtOnce() throws Exception {
        InetAddress source = InetAddress.getByName("127.0.0.201");
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < MAX_PER_SOURCE; i++) {
                held.add(connectFrom(source));
            }
            LogReads.until(() -> door().unauthenticatedFrom(source) == MAX_PER_SOURCE,
                    "the door counts the " + MAX_PER_SOURCE + " connections from " + source);
            try (Socket extra = connectFrom(source)) {
                extra.setSoTimeout((int) GUARD.toMillis());
                assertEquals(-1, readOrEnd(extra), "the connection beyond the per-source cap is closed");
            }
            for (Socket socket : held) {
                socket.setSoTimeout(1);
                assertThrowsTimeout(socket, "a connection within the cap stays open");
            }
        } finally {
            for (Socket socket : held) {
                socket.close();
            }
        }
    }

    @Test
    void anAuthenticatedClientIsServedWhileThousandsOfUnauthenticatedConnectionsAreHeld() throws Exception {
        long baseline = timedStart();
        try (Selector selector = Selector.open()) {
            List<SocketChannel> flood = new ArrayList<>();
            try {
                long floodStart = System.nanoTime();
                while (flood.size() < FLOOD_CONNECTIONS) {
                    // In batches the kernel's accept queue holds whole: none of the flood's handshakes is left half
                    // done for the kernel to retry later, so once the queue is empty the server has seen them all.
                    for (int i = 0; i < FLOOD_BATCH; i++) {
                        SocketChannel channel = SocketChannel.open();
                        flood.add(channel);
                        channel.configureBlocking(false);
                        channel.bind(new InetSocketAddress(
                                InetAddress.getByName("127.0.0." + (2 + flood.size() % FLOOD_SOURCES)), 0));
                        if (!channel.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), rund.port()))) {
                            channel.register(selector, SelectionKey.OP_CONNECT);
                        }
                    }
                    finishConnects(selector);
                    LogReads.until(() -> acceptQueue(rund.port()) == 0, "the server accepts the flood's connections");
                }
                int dripping = drip(flood);
                System.out.printf("flood: %d connections from %d addresses opened and accepted in %d ms; %d took"
                                + " a byte; the door holds %d unauthenticated (cap %d)%n", FLOOD_CONNECTIONS,
                        FLOOD_SOURCES, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - floodStart), dripping,
                        door().unauthenticated(), MAX_UNAUTHENTICATED);

                long millis = timedStart();
                System.out.printf("authenticated Start on a new connection (TLS handshake included): %d ms with the"
                        + " flood held, %d ms before it%n", millis, baseline);
                assertTrue(door().unauthenticated() <= MAX_UNAUTHENTICATED, "the door holds at most its cap");
                drip(flood);
            } finally {
                for (SocketChannel channel : flood) {
                    channel.close();
                }
            }
        }
    }

    /** Milliseconds for alice to connect and start a job (the call must succeed within {@link #CALL_GUARD}). */
    private static long timedStart() throws Exception {
        long start = System.nanoTime();
        // On a thread of its own: the server completes some stages on the common pool, which has one thread on two
        // cores.
        try (RundClient alice = rund.client("alice"); ExecutorService caller = Executors.newSingleThreadExecutor()) {
            Future<String> call = caller.submit(() -> LogReads.start(alice, "true"));
            assertFalse(call.get(CALL_GUARD.toSeconds(), TimeUnit.SECONDS).isEmpty(), "a job id");
        }
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    }

    /** The listening socket's accept queue (rx_queue of its line in /proc/net/tcp): connections not yet accepted. */
    private static int acceptQueue(int port) {
        try {
            // 127.0.0.1, or ::ffff:127.0.0.1 when the JVM made an IPv6 socket
            String local = String.format("0100007F:%04X", port);
            for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
                for (String line : Files.readAllLines(Path.of(table))) {
                    String[] fields = line.trim().split("\\s+");
                    if (fields[1].endsWith(local) && fields[3].equals(TCP_LISTEN)) {
                        return Integer.parseInt(fields[4].substring(fields[4].indexOf(':') + 1), 16);
                    }
                }
            }
            throw new IllegalStateException("no listening socket on port " + port + " in /proc/net/tcp[6]");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ConnectionDoor door() {
        return (ConnectionDoor) org.apache.pekko.http.impl.engine.http2.Http2.get(
                rund.daemon().system().classicSystem()).telemetry();
    }

    /** Waits for the pending connects (bounded). */
    private static void finishConnects(Selector selector) throws IOException {
        long deadline = System.nanoTime() + GUARD.toNanos();
        while (!selector.keys().isEmpty() && System.nanoTime() < deadline) {
            selector.select(100);
            for (SelectionKey key : selector.selectedKeys()) {
                SocketChannel channel = (SocketChannel) key.channel();
                try {
                    channel.finishConnect();
                } catch (IOException refused) {
                    channel.close();
                }
                key.cancel();
            }
            selector.selectedKeys().clear();
            selector.selectNow();
        }
    }

    /** Sends one byte of a TLS record on every open connection; returns how many took it. */
    private static int drip(List<SocketChannel> channels) {
        int took = 0;
        for (SocketChannel channel : channels) {
            if (channel.isConnected()) {
                try {
                    took += channel.write(ByteBuffer.wrap(new byte[] {TLS_HANDSHAKE_RECORD}));
                } catch (IOException closedByServer) {
                    // refused or cut: expected for most of them
                }
            }
        }
        return took;
    }

    private static Socket connectFrom(InetAddress source) throws IOException {
        Socket socket = new Socket();
        socket.bind(new InetSocketAddress(source, 0));
        socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), rund.port()));
        return socket;
    }

    private static int readOrEnd(Socket socket) throws IOException {
        try {
            return socket.getInputStream().read();
        } catch (SocketException reset) {
            return -1;
        }
    }

    private static void assertThrowsTimeout(Socket socket, String what) throws IOException {
        try {
            int read = socket.getInputStream().read();
            throw new AssertionError(what + ": read " + read);
        } catch (SocketTimeoutException expected) {
            // still open, nothing to read
        }
    }
}
