package io.rund.api;

import com.typesafe.config.Config;

import java.time.Duration;

/**
 * The limits the API's door puts on connections before and after authentication, read once from {@code rund.api}
 * and from pekko-http's HTTP/2 ping settings.
 *
 * @param handshakeTimeout             from accept to the first HTTP/2 bytes over a completed TLS handshake; not
 *                                     extended by bytes the peer trickles in
 * @param maxUnauthenticated           connections accepted and not yet authenticated, all sources together
 * @param maxUnauthenticatedPerSource  the same, per source IP address
 * @param refusalLogInterval           at most one log line per interval for refused and timed-out connections
 * @param pingInterval                 a peer that has sent nothing for this long is sent an HTTP/2 PING (zero: off)
 * @param pingTimeout                  a peer that leaves a PING unanswered, or takes none of the bytes written to
 *                                     it, for this long is cut
 */
public record DoorSettings(
        Duration handshakeTimeout,
        int maxUnauthenticated,
        int maxUnauthenticatedPerSource,
        Duration refusalLogInterval,
        Duration pingInterval,
        Duration pingTimeout) {

    public DoorSettings {
        if (handshakeTimeout.isZero() || handshakeTimeout.isNegative()) {
            throw new IllegalArgumentException("rund.api.handshake-timeout must be positive, was " + handshakeTimeout);
        }
        if (maxUnauthenticated < 1 || maxUnauthenticatedPerSource < 1) {
            throw new IllegalArgumentException("rund.api.max-unauthenticated-connections and -per-source must be >= 1,"
                    + " were " + maxUnauthenticated + " and " + maxUnauthenticatedPerSource);
        }
        if (pingInterval.isNegative() || pingTimeout.isNegative()) {
            throw new IllegalArgumentException("pekko.http.server.http2.ping-interval and ping-timeout must be >= 0");
        }
    }

    /** Reads {@code rund.api.*} and {@code pekko.http.server.http2.ping-*} from the whole configuration. */
    public static DoorSettings fromConfig(Config root) {
        Config api = root.getConfig("rund.api");
        Config http2 = root.getConfig("pekko.http.server.http2");
        Duration pingInterval = http2.getDuration("ping-interval");
        Duration pingTimeout = http2.getDuration("ping-timeout");
        return new DoorSettings(
                api.getDuration("handshake-timeout"),
                api.getInt("max-unauthenticated-connections"),
                api.getInt("max-unauthenticated-connections-per-source"),
                api.getDuration("refusal-log-interval"),
                pingInterval,
                // As pekko-http reads it: no ping-timeout means the ping interval.
                pingTimeout.isZero() ? pingInterval : pingTimeout);
    }

    /** Whether dead-peer detection is on (pekko-http's ping-interval is set). */
    public boolean pingsEnabled() {
        return !pingInterval.isZero();
    }
}
