package io.rund.api;

import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.impl.engine.http2.TelemetrySpi;
import org.apache.pekko.http.impl.engine.server.HttpAttributes;
import org.apache.pekko.http.scaladsl.model.HttpRequest;
import org.apache.pekko.http.scaladsl.model.HttpResponse;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.SystemMaterializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.stream.scaladsl.Tcp;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The API's door: counts and times every TCP connection from accept until it is authenticated, so that
 * connections without a certificate can hold neither the accept loop nor the server for long. It sits where
 * pekko-http 1.3 lets a plug-in see each accepted connection of an HTTP/2 binding before it takes one of
 * {@code max-connections}: the {@link TelemetrySpi} ({@code @InternalStableApi}, named by
 * {@code pekko.http.http2-telemetry-class}). Its binding hook wraps each connection's TCP flow in a
 * {@link ConnectionGuardStage} (same stream, same thread: no proxy hop, no copy); its connection hook is
 * materialized by pekko-http only once TLS is complete and HTTP/2 began, and tells that connection's guard so.
 * <p>
 * Why this hook: pekko-http runs the TLS handshake inside its binding (there is no public way to join our own
 * {@code Tcp} + {@code TLS} to its HTTP/2 server stack), its engine factory is never told the peer's address,
 * and an engine wrapper alone cannot close a connection that sends nothing. pekko-http itself has only
 * {@code max-connections}, shared by everyone, and an idle timeout that every trickled byte resets.
 */
public final class ConnectionDoor implements TelemetrySpi {

    /** The configuration key through which pekko-http finds this class. */
    public static final String TELEMETRY_CLASS_KEY = "pekko.http.http2-telemetry-class";

    private final DoorSettings settings;
    private final RateLimitedLog refusals;
    private final RateLimitedLog handshakeRefusals;
    /** Connections in or past their handshake, by their ClientHello's random; removed when the connection ends. */
    private final Map<String, InetSocketAddress> peersByClientHello = new ConcurrentHashMap<>();
    private final Materializer materializer;
    private final AtomicInteger unauthenticated = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, Integer> unauthenticatedBySource = new ConcurrentHashMap<>();
    /** Connections waiting for their first HTTP/2 bytes, by peer address (unique among open connections). */
    private final ConcurrentHashMap<InetSocketAddress, Admission> awaitingAuthentication = new ConcurrentHashMap<>();
    /**
     * The same, oldest first, in two classes: those that have not yet sent a whole first TLS record (a client's
     * ClientHello comes in its first packet; a slowloris never completes it) and those in the handshake. When all
     * slots are taken, the oldest quiet one is closed to make room for the newest, or the oldest in the handshake
     * when none is quiet.
     */
    private final ConcurrentSkipListMap<Long, Admission> quiet = new ConcurrentSkipListMap<>();
    private final ConcurrentSkipListMap<Long, Admission> handshaking = new ConcurrentSkipListMap<>();
    private final AtomicLong accepted = new AtomicLong();
    /** For the metrics: TLS handshakes refused, and connections closed before authentication, since start. */
    private final AtomicLong handshakesRefused = new AtomicLong();
    private final AtomicLong connectionsRefused = new AtomicLong();

    /** Called by pekko-http (reflectively, once per actor system) when the HTTP/2 extension starts. */
    public ConnectionDoor(ActorSystem system) {
        this.settings = DoorSettings.fromConfig(system.settings().config());
        this.refusals = new RateLimitedLog(LoggerFactory.getLogger(ConnectionDoor.class), 1, settings.refusalLogInterval());
        // A budget of its own: a flood of cut connections must not hide why a real client's handshake is refused.
        this.handshakeRefusals = new RateLimitedLog(LoggerFactory.getLogger(ConnectionDoor.class), 1, settings.refusalLogInterval());
        this.materializer = SystemMaterializer.get(system).materializer();
    }

    /**
     * One connection's unauthenticated slot, from accept until it authenticates, closes or is evicted (the first
     * of the three settles it and gives the slot back). The guard learns of the outcome through the callbacks.
     */
    static final class Admission {
        private final InetSocketAddress peer;
        private final long sequence;
        private final AtomicBoolean settled = new AtomicBoolean();
        private volatile boolean evicted;
        private volatile boolean authenticated;
        private volatile Runnable onAuthenticated;
        private volatile Runnable onEvicted;

        private Admission(InetSocketAddress peer, long sequence) {
            this.peer = peer;
            this.sequence = sequence;
        }

        /** Registers the guard's callbacks; runs at once the one whose outcome came before. */
        void listen(Runnable authenticatedCallback, Runnable evictedCallback) {
            onAuthenticated = authenticatedCallback;
            onEvicted = evictedCallback;
            if (authenticated) {
                authenticatedCallback.run();
            } else if (evicted) {
                evictedCallback.run();
            }
        }
    }

    public DoorSettings settings() {
        return settings;
    }

    /** Connections accepted and not yet authenticated, now. */
    public int unauthenticated() {
        return unauthenticated.get();
    }

    /** Connections from {@code source} accepted and not yet authenticated, now. */
    public int unauthenticatedFrom(InetAddress source) {
        return unauthenticatedBySource.getOrDefault(source, 0);
    }

    @Override
    public org.apache.pekko.stream.scaladsl.Flow<Tcp.IncomingConnection, Tcp.IncomingConnection, NotUsed> serverBinding() {
        return Flow.<Tcp.IncomingConnection>create().mapConcat(this::admitOrClose).asScala();
    }

    @Override
    public org.apache.pekko.stream.scaladsl.BidiFlow<HttpResponse, HttpResponse, HttpRequest, HttpRequest, NotUsed> serverConnection() {
        return BidiFlow.fromFlows(
                Flow.<HttpResponse>create(),
                Flow.<HttpRequest, HttpRequest, NotUsed>fromMaterializer((materializer, attributes) -> {
                    authenticated(attributes);
                    return Flow.create();
                })).asScala();
    }

    @Override
    public org.apache.pekko.stream.scaladsl.BidiFlow<HttpRequest, HttpRequest, HttpResponse, HttpResponse, NotUsed> client() {
        return BidiFlow.<HttpRequest, HttpResponse>identity().asScala();
    }

    /**
     * A connection within the caps goes on to pekko-http wrapped in its guard; one beyond them is closed here, so
     * that pekko-http builds nothing for it (TLS, HTTP/2) and the accept loop stays fast.
     */
    private Iterable<Tcp.IncomingConnection> admitOrClose(Tcp.IncomingConnection connection) {
        InetSocketAddress peer = connection.remoteAddress();
        Admission admission = admit(peer);
        if (admission == null) {
            Source.<ByteString>empty().via(connection.flow().asJava()).runWith(Sink.cancelled(), materializer);
            refused(peer, settings.maxUnauthenticatedPerSource() + " connections from this address are already"
                    + " waiting to authenticate (rund.api.max-unauthenticated-connections-per-source)");
            return List.of();
        }
        ConnectionGuardStage guard = new ConnectionGuardStage(this, admission, peer, System.nanoTime());
        return List.of(new Tcp.IncomingConnection(connection.localAddress(), peer,
                BidiFlow.fromGraph(guard).join(connection.flow().asJava()).asScala()));
    }

    private void authenticated(Attributes attributes) {
        Optional<HttpAttributes.RemoteAddress> peer = attributes.getAttribute(HttpAttributes.RemoteAddress.class);
        Admission admission = peer.map(address -> awaitingAuthentication.get(address.address())).orElse(null);
        if (admission != null && settle(admission)) {
            admission.authenticated = true;
            Runnable callback = admission.onAuthenticated;
            if (callback != null) {
                callback.run();
            }
        }
    }

    /**
     * Counts a new connection from {@code peer}; null if its source already has its share waiting. When all
     * slots are taken, the oldest waiting connection is evicted: a flood of new connections then pushes out the
     * flood's own older ones, and a client that completes its handshake in less time than it takes the flood to
     * open max-unauthenticated-connections more always gets in.
     */
    private Admission admit(InetSocketAddress peer) {
        boolean[] admitted = {false};
        unauthenticatedBySource.compute(peer.getAddress(), (address, n) -> {
            int current = n == null ? 0 : n;
            if (current >= settings.maxUnauthenticatedPerSource()) {
                return n;
            }
            admitted[0] = true;
            return current + 1;
        });
        if (!admitted[0]) {
            return null;
        }
        while (unauthenticated.incrementAndGet() > settings.maxUnauthenticated()) {
            unauthenticated.decrementAndGet();
            Map.Entry<Long, Admission> oldest = quiet.pollFirstEntry();
            if (oldest == null) {
                oldest = handshaking.pollFirstEntry();
            }
            if (oldest == null) {
                unauthenticated.incrementAndGet(); // the others are settling right now: their slots come back at once
                break;
            }
            if (settle(oldest.getValue())) {
                evict(oldest.getValue());
            }
        }
        Admission admission = new Admission(peer, accepted.incrementAndGet());
        awaitingAuthentication.put(peer, admission);
        quiet.put(admission.sequence, admission);
        return admission;
    }

    private void evict(Admission admission) {
        admission.evicted = true;
        Runnable callback = admission.onEvicted;
        if (callback != null) {
            callback.run();
        }
    }

    /** {@code admission}'s peer has sent a whole first TLS record: it is evicted after every quiet connection. */
    void handshaking(Admission admission) {
        if (quiet.remove(admission.sequence, admission)) {
            handshaking.put(admission.sequence, admission);
            if (admission.settled.get()) {
                handshaking.remove(admission.sequence, admission);
            }
        }
    }

    /** Gives back {@code admission}'s slot if it still holds it (when it authenticated, closed or was evicted). */
    boolean settle(Admission admission) {
        if (!admission.settled.compareAndSet(false, true)) {
            return false;
        }
        awaitingAuthentication.remove(admission.peer, admission);
        quiet.remove(admission.sequence, admission);
        handshaking.remove(admission.sequence, admission);
        unauthenticatedBySource.computeIfPresent(admission.peer.getAddress(), (address, n) -> n <= 1 ? null : n - 1);
        unauthenticated.decrementAndGet();
        return true;
    }

    /** A connection's guard saw its ClientHello: a refusal of that handshake can now name the peer. */
    void clientHelloFrom(String clientHelloRandom, InetSocketAddress peer) {
        peersByClientHello.put(clientHelloRandom, peer);
    }

    /** The connection whose ClientHello had this random has ended. */
    void connectionEnded(String clientHelloRandom) {
        peersByClientHello.remove(clientHelloRandom);
    }

    /**
     * One rate-limited line naming the source address (found by the ClientHello's random, {@link ClientHelloRandom})
     * and why the server refused its TLS handshake ({@link HandshakeRefusal}).
     */
    void handshakeRefused(String clientHelloRandom, String reason) {
        InetSocketAddress peer = clientHelloRandom == null ? null : peersByClientHello.get(clientHelloRandom);
        String from = peer == null ? "an unknown peer" : peer.getAddress().getHostAddress();
        handshakeRefusals.warn("TLS handshake from " + from + " refused: " + reason);
        handshakesRefused.incrementAndGet();
    }

    /** One rate-limited line naming the source address (never anything the peer sent). */
    void refused(InetSocketAddress peer, String why) {
        refusals.warn("Connection from " + peer.getAddress().getHostAddress() + " closed: " + why);
        connectionsRefused.incrementAndGet();
    }

    /** TLS handshakes refused since start (no or unknown client certificate, ...): rund_tls_handshakes_refused_total. */
    public long handshakesRefused() {
        return handshakesRefused.get();
    }

    /** Connections closed before authentication (caps, handshake deadline) since start. */
    public long connectionsRefused() {
        return connectionsRefused.get();
    }

    /** The door pekko-http's HTTP/2 extension loaded for {@code system}, if it is rund's. */
    public static java.util.Optional<ConnectionDoor> of(org.apache.pekko.actor.typed.ActorSystem<?> system) {
        return org.apache.pekko.http.impl.engine.http2.Http2.get(system.classicSystem()).telemetry() instanceof ConnectionDoor door
                ? java.util.Optional.of(door) : java.util.Optional.empty();
    }
}
