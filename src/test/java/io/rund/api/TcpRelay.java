package io.rund.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay on loopback between a client and rund, so that a test can kill the client's connections mid-stream
 * the way a network failure would: {@link #severAll()} resets both sides of every relayed connection at once.
 * New connections are relayed as before. Two platform threads per connection copy the bytes.
 */
public final class TcpRelay implements AutoCloseable {

    private static final int COPY_BUFFER_BYTES = 64 * 1024;

    private record Link(Socket client, Socket server) {}

    private final ServerSocket listener;
    private final int targetPort;
    private final List<Link> links = new CopyOnWriteArrayList<>();
    private final AtomicInteger accepted = new AtomicInteger();

    private TcpRelay(ServerSocket listener, int targetPort) {
        this.listener = listener;
        this.targetPort = targetPort;
    }

    /** Relays connections to 127.0.0.1:{@code targetPort} from an ephemeral port of its own. */
    public static TcpRelay start(int targetPort) throws IOException {
        ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        TcpRelay relay = new TcpRelay(listener, targetPort);
        Thread.ofPlatform().daemon().name("tcp-relay-accept").start(relay::acceptLoop);
        return relay;
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** Connections relayed so far, severed or not. */
    public int connectionsAccepted() {
        return accepted.get();
    }

    /** Resets every open relayed connection on both sides (RST, not FIN: as a dead network path looks). */
    public void severAll() {
        for (Link link : links) {
            reset(link.client());
            reset(link.server());
            links.remove(link);
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        severAll();
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket();
                server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort));
                client.setTcpNoDelay(true);
                server.setTcpNoDelay(true);
                Link link = new Link(client, server);
                links.add(link);
                accepted.incrementAndGet();
                int n = accepted.get();
                Thread.ofPlatform().daemon().name("tcp-relay-up-" + n).start(() -> copy(link, client, server));
                Thread.ofPlatform().daemon().name("tcp-relay-down-" + n).start(() -> copy(link, server, client));
            } catch (IOException e) {
                if (!listener.isClosed()) {
                    throw new IllegalStateException("relay to port " + targetPort + " failed", e);
                }
            }
        }
    }

    private void copy(Link link, Socket from, Socket to) {
        byte[] buffer = new byte[COPY_BUFFER_BYTES];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            for (int n; (n = in.read(buffer)) >= 0; ) {
                out.write(buffer, 0, n);
            }
        } catch (IOException ended) {
            // severed, or one side went away: the other side is closed below
        } finally {
            reset(link.client());
            reset(link.server());
            links.remove(link);
        }
    }

    private static void reset(Socket socket) {
        try {
            if (!socket.isClosed()) {
                socket.setSoLinger(true, 0);
                socket.close();
            }
        } catch (SocketException alreadyGone) {
            // closed concurrently by the other direction's thread
        } catch (IOException e) {
            throw new IllegalStateException("cannot reset relayed socket " + socket, e);
        }
    }
}
