package io.rund.auth;

import org.junit.jupiter.api.Test;

import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PeerIdentityTest {

    @Test
    void clientSansInRundNotation() throws Exception {
        assertEquals(Set.of("DNS:alice.example", "URI:spiffe://rund/team-a"), sansOf("alice"));
        assertEquals(Set.of("DNS:bob.example", "URI:spiffe://rund/team-a"), sansOf("bob"));
        assertEquals(Set.of("DNS:carol.example"), sansOf("carol"));
        assertEquals(Set.of("DNS:admin.example"), sansOf("admin"));
    }

    @Test
    void ipAddressesInTheJdkTextualForm() throws Exception {
        assertEquals(Set.of("DNS:localhost", "IP:127.0.0.1", "IP:0:0:0:0:0:0:0:1"), sansOf("server"));
    }

    @Test
    void aCertificateWithoutSansHasAnEmptyIdentity() throws Exception {
        PeerIdentity identity = PeerIdentity.of(PemFiles.certificates(ExampleCertificates.CA).getFirst());

        assertEquals(Set.of(), identity.sans());
    }

    private static Set<String> sansOf(String name) throws TlsSetupException {
        return PeerIdentity.of(PemFiles.certificates(ExampleCertificates.files(name).cert()).getFirst()).sans();
    }
}
