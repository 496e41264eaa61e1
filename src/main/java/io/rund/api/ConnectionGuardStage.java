package io.rund.api;

import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.StreamTcpException;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * One connection's guard, between pekko-http's TLS and the TCP connection (ciphertext, passed through as is): it
 * holds one of the door's unauthenticated slots from accept until pekko-http starts HTTP/2 over the completed
 * handshake, tells the door once the peer's first TLS record is whole (so that it is evicted after the quiet
 * ones), and closes the connection when the door evicts it or when the handshake timeout, counted from accept,
 * runs out (bytes the peer trickles in do not extend it). Once authenticated it cuts a peer that takes none of the
 * bytes written to it for the ping timeout (its TCP window stayed shut: a live HTTP/2 client always reads), since
 * pekko-http's own PING cannot even be written then. Lives and dies with the connection's stream.
 */
final class ConnectionGuardStage extends GraphStage<BidiShape<ByteString, ByteString, ByteString, ByteString>> {

    private static final String HANDSHAKE_DEADLINE = "handshake-deadline";
    private static final String WRITE_CHECK = "write-check";
    private static final String CLOSE_DEADLINE = "close-deadline";
    /** How often, in fractions of the ping timeout, a pending write is checked (the cut comes at most this late). */
    private static final int WRITE_CHECKS_PER_TIMEOUT = 4;
    /** A TLS record starts with type (1), version (2) and length (2). */
    private static final int TLS_RECORD_HEADER_BYTES = 5;

    private final Inlet<ByteString> fromTls = Inlet.create("ConnectionGuard.fromTls");
    private final Outlet<ByteString> toNetwork = Outlet.create("ConnectionGuard.toNetwork");
    private final Inlet<ByteString> fromNetwork = Inlet.create("ConnectionGuard.fromNetwork");
    private final Outlet<ByteString> toTls = Outlet.create("ConnectionGuard.toTls");
    private final BidiShape<ByteString, ByteString, ByteString, ByteString> shape =
            BidiShape.of(fromTls, toNetwork, fromNetwork, toTls);

    private final ConnectionDoor door;
    private final ConnectionDoor.Admission admission;
    private final InetSocketAddress peer;
    private final long acceptedAtNanos;

    ConnectionGuardStage(ConnectionDoor door, ConnectionDoor.Admission admission, InetSocketAddress peer,
                         long acceptedAtNanos) {
        this.door = door;
        this.admission = admission;
        this.peer = peer;
        this.acceptedAtNanos = acceptedAtNanos;
    }

    @Override
    public BidiShape<ByteString, ByteString, ByteString, ByteString> shape() {
        return shape;
    }

    /**
     * The connection is closed by the door: not an error of the server, logged by the door in one rate-limited line.
     * A {@link StreamTcpException}, so that pekko-http's HTTP/2 error handling passes it on without logging it again.
     */
    static final class ConnectionCut extends StreamTcpException {
        ConnectionCut(String why) {
            super(why);
        }
    }

    @Override
    public GraphStageLogic createLogic(Attributes inheritedAttributes) {
        DoorSettings settings = door.settings();
        return new TimerGraphStageLogic(shape) {
            private boolean authenticated;
            /** The ClientHello's random, by which the TLS engine names this peer when it refuses the handshake. */
            private final ClientHelloRandom clientHello = new ClientHelloRandom();
            private String clientHelloKey;
            /** The peer's first TLS record until it is complete: its header, and how much of its body came. */
            private int headerBytes;
            private long bodyBytes;
            private final byte[] firstRecordHeader = new byte[TLS_RECORD_HEADER_BYTES];
            private boolean firstRecordComplete;
            /** When the write waiting for the network was handed over (0: none waiting). */
            private long writePendingSince;
            private final AsyncCallback<Boolean> onAuthenticated = createAsyncCallback(ignored -> authenticated());
            private final AsyncCallback<Boolean> onEvicted = createAsyncCallback(ignored -> {
                if (!authenticated) {
                    cut(settings.maxUnauthenticated() + " newer connections are waiting to authenticate"
                            + " (rund.api.max-unauthenticated-connections): the oldest make room");
                }
            });

            {
                setHandler(fromTls, new AbstractInHandler() {
                    @Override
                    public void onPush() {
                        push(toNetwork, grab(fromTls));
                        writePendingSince = System.nanoTime();
                    }

                    @Override
                    public void onUpstreamFinish() {
                        complete(toNetwork);
                        if (authenticated && settings.pingsEnabled()) {
                            // TCP flushes before it closes: a peer that reads nothing would keep it open for ever.
                            scheduleOnce(CLOSE_DEADLINE, settings.pingTimeout());
                        }
                    }
                });
                setHandler(toNetwork, new AbstractOutHandler() {
                    @Override
                    public void onPull() {
                        writePendingSince = 0;
                        if (!hasBeenPulled(fromTls) && !isClosed(fromTls)) {
                            pull(fromTls);
                        }
                    }

                    @Override
                    public void onDownstreamFinish(Throwable cause) {
                        cancel(fromTls, cause);
                    }
                });
                setHandler(fromNetwork, new AbstractInHandler() {
                    @Override
                    public void onPush() {
                        ByteString bytes = grab(fromNetwork);
                        if (!firstRecordComplete) {
                            observeFirstRecord(bytes);
                        }
                        push(toTls, bytes);
                    }

                    @Override
                    public void onUpstreamFinish() {
                        complete(toTls);
                    }
                });
                setHandler(toTls, new AbstractOutHandler() {
                    @Override
                    public void onPull() {
                        pull(fromNetwork);
                    }

                    @Override
                    public void onDownstreamFinish(Throwable cause) {
                        cancel(fromNetwork, cause);
                    }
                });
            }

            @Override
            public void preStart() {
                Duration sinceAccept = Duration.ofNanos(System.nanoTime() - acceptedAtNanos);
                Duration left = settings.handshakeTimeout().minus(sinceAccept);
                scheduleOnce(HANDSHAKE_DEADLINE, left.isNegative() ? Duration.ZERO : left);
                admission.listen(() -> onAuthenticated.invoke(Boolean.TRUE), () -> onEvicted.invoke(Boolean.TRUE));
            }

            private void observeFirstRecord(ByteString bytes) {
                if (!clientHello.complete()) {
                    clientHello.feed(bytes.asByteBuffer());
                    if (clientHello.complete()) {
                        clientHelloKey = clientHello.key();
                        if (clientHelloKey != null) {
                            door.clientHelloFrom(clientHelloKey, peer);
                        }
                    }
                }
                int i = 0;
                while (headerBytes < TLS_RECORD_HEADER_BYTES && i < bytes.size()) {
                    firstRecordHeader[headerBytes++] = bytes.apply(i++);
                }
                bodyBytes += bytes.size() - i;
                if (headerBytes == TLS_RECORD_HEADER_BYTES
                        && bodyBytes >= (((firstRecordHeader[3] & 0xff) << 8) | (firstRecordHeader[4] & 0xff))) {
                    firstRecordComplete = true;
                    door.handshaking(admission);
                }
            }

            private void authenticated() {
                if (authenticated) {
                    return;
                }
                authenticated = true;
                cancelTimer(HANDSHAKE_DEADLINE);
                if (settings.pingsEnabled()) {
                    Duration every = settings.pingTimeout().dividedBy(WRITE_CHECKS_PER_TIMEOUT);
                    scheduleWithFixedDelay(WRITE_CHECK, every, every);
                }
            }

            @Override
            public void onTimer(Object key) {
                switch ((String) key) {
                    case HANDSHAKE_DEADLINE -> cut("no TLS handshake and HTTP/2 within "
                            + settings.handshakeTimeout().toMillis() + " ms of accept (rund.api.handshake-timeout)");
                    case WRITE_CHECK -> {
                        long pending = writePendingSince;
                        if (pending != 0 && System.nanoTime() - pending >= settings.pingTimeout().toNanos()) {
                            cut("the peer took no bytes for " + settings.pingTimeout().toMillis()
                                    + " ms (pekko.http.server.http2.ping-timeout)");
                        }
                    }
                    case CLOSE_DEADLINE -> cut("the peer took none of the last bytes for "
                            + settings.pingTimeout().toMillis() + " ms after the server closed");
                    default -> throw new IllegalStateException("unknown timer " + key);
                }
            }

            private void cut(String why) {
                door.refused(peer, why);
                failStage(new ConnectionCut(why));
            }

            @Override
            public void postStop() {
                if (clientHelloKey != null) {
                    door.connectionEnded(clientHelloKey);
                }
                door.settle(admission);
            }
        };
    }
}
