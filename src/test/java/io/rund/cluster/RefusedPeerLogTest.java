package io.rund.cluster;

import io.rund.auth.ExampleCertificates;
import io.rund.auth.PeerIdentity;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The accepting node's refusal lines: one per interval, the next one counting those left out, on a given clock. */
final class RefusedPeerLogTest {

    private static final Duration INTERVAL = Duration.ofMinutes(1);

    @Test
    void oneLinePerIntervalCountingTheRefusalsLeftOut() throws Exception {
        X509Certificate alice;
        try (var in = Files.newInputStream(ExampleCertificates.files("alice").cert())) {
            alice = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
        AtomicLong now = new AtomicLong(1_000);
        RefusedPeerLog log = new RefusedPeerLog("10.0.0.1:7355", INTERVAL, now::get);
        try (LogLines lines = new LogLines(RefusedPeerLog.class)) {
            log.refused(alice, PeerIdentity.of(alice));
            now.addAndGet(Duration.ofSeconds(1).toNanos());
            log.refused(alice, PeerIdentity.of(alice));
            log.refused(alice, PeerIdentity.of(alice));
            assertEquals(1, lines.lines().size(), lines.lines().toString());
            now.addAndGet(INTERVAL.toNanos());
            log.refused(alice, PeerIdentity.of(alice));
            List<String> logged = lines.lines();
            assertEquals(2, logged.size(), logged.toString());
            assertTrue(logged.get(0).startsWith("Cluster port 10.0.0.1:7355 refused") && logged.get(0).contains("CN=alice")
                    && logged.get(0).contains("DNS:alice.example,URI:spiffe://rund/team-a"), logged.get(0));
            assertTrue(logged.get(1).endsWith("2 more refused since the last such line"), logged.get(1));
        }
    }
}
