package io.rund.cluster;

import io.rund.auth.PeerIdentity;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The accepting node's side of a refused handshake: one warning naming the certificate (subject and SANs) a peer
 * without a node SAN offered at this node's cluster port, at most once per {@code interval} (with how many more were
 * refused meanwhile), so that a user certificate probing the port is seen on the node it knocks at without letting
 * it flood the log. (Pekko's SSLEngineProvider is not given the connection, so the peer's socket address is unknown
 * here; the subject and SANs say whose certificate it was.)
 */
final class RefusedPeerLog {

    private static final Logger LOG = LoggerFactory.getLogger(RefusedPeerLog.class);
    /** Certificate subjects and SANs are bounded in the log line. */
    private static final int MAX_NAME_CHARS = 200;

    private final String nodeAddress;
    private final long intervalNanos;
    private final LongSupplier nanoClock;
    private final AtomicLong nextLineAt;
    private final AtomicLong suppressed = new AtomicLong();

    RefusedPeerLog(String nodeAddress, Duration interval, LongSupplier nanoClock) {
        this.nodeAddress = nodeAddress;
        this.intervalNanos = interval.toNanos();
        this.nanoClock = nanoClock;
        this.nextLineAt = new AtomicLong(nanoClock.getAsLong());
    }

    /** Logs the refusal of {@code leaf}, or counts it when a line was written less than an interval ago. */
    void refused(X509Certificate leaf, PeerIdentity identity) {
        long now = nanoClock.getAsLong();
        long next = nextLineAt.get();
        if (now - next < 0 || !nextLineAt.compareAndSet(next, now + intervalNanos)) {
            suppressed.incrementAndGet();
            return;
        }
        long more = suppressed.getAndSet(0);
        LOG.warn("Cluster port {} refused a peer's certificate that is not a rund node's (subject {}, SANs {}): "
                        + "node-to-node TLS needs a URI SAN {}<name>{}", nodeAddress,
                bounded(leaf.getSubjectX500Principal().getName()), bounded(identity.isEmpty() ? "none" : identity.toString()),
                NodeTls.NODE_SAN_PREFIX, more == 0 ? "" : "; " + more + " more refused since the last such line");
    }

    private static String bounded(String text) {
        return text.length() > MAX_NAME_CHARS ? text.substring(0, MAX_NAME_CHARS) + "..." : text;
    }
}
