package io.rund.auth;

import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedKeyManager;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.EdECPublicKey;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The server's certificates, of which each handshake presents the first one whose key the client can verify a
 * TLS 1.3 CertificateVerify with, judged by the signature schemes its ClientHello offers. Why: BoringSSL-based
 * clients (the upstream grpcio wheel, gRPC C++/Ruby/PHP) offer no ecdsa_secp521r1_sha512 and fail against a P-521
 * certificate, which stays the default for every client that can use it. A client that offers none of the held
 * certificates' schemes gets the first, and the handshake fails as it would have.
 */
final class ServerKeyManager extends X509ExtendedKeyManager {

    /** A held certificate chain, its key, and the TLS 1.3 signature schemes (JDK names) that key can sign with. */
    record Identity(String alias, X509Certificate[] chain, PrivateKey key, Set<String> signatureSchemes) {}

    private final List<Identity> identities;

    ServerKeyManager(List<Identity> identities) {
        if (identities.isEmpty()) {
            throw new IllegalArgumentException("a server needs at least one certificate");
        }
        this.identities = List.copyOf(identities);
    }

    /** An identity named {@code alias} for {@code chain} and {@code key}. */
    static Identity identity(String alias, List<X509Certificate> chain, PrivateKey key) {
        return new Identity(alias, chain.toArray(X509Certificate[]::new), key, signatureSchemes(chain.getFirst().getPublicKey()));
    }

    /**
     * The TLS 1.3 CertificateVerify schemes a key of this type signs with, named as the JDK reports a peer's offered
     * schemes (ExtendedSSLSession#getPeerSupportedSignatureAlgorithms: Java algorithm names). In TLS 1.3 an ECDSA
     * scheme fixes the curve, so SHA512withECDSA is ecdsa_secp521r1_sha512, SHA256withECDSA ecdsa_secp256r1_sha256.
     */
    static Set<String> signatureSchemes(PublicKey key) {
        return switch (key) {
            case ECPublicKey ec -> switch (ec.getParams().getCurve().getField().getFieldSize()) {
                case 256 -> Set.of("SHA256withECDSA");
                case 384 -> Set.of("SHA384withECDSA");
                case 521 -> Set.of("SHA512withECDSA");
                default -> Set.of();
            };
            case EdECPublicKey ed -> Set.of(ed.getParams().getName());
            default -> key.getAlgorithm().equals("RSA") || key.getAlgorithm().equals("RSASSA-PSS")
                    ? Set.of("RSASSA-PSS") : Set.of();
        };
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        SSLSession handshake = engine.getHandshakeSession();
        if (!(handshake instanceof ExtendedSSLSession session)) {
            return chooseServerAlias(keyType, issuers, (Socket) null);
        }
        List<Identity> ofType = identities.stream().filter(i -> i.key().getAlgorithm().equals(keyType)).toList();
        if (ofType.isEmpty()) {
            return null;
        }
        List<String> offered = Arrays.asList(session.getPeerSupportedSignatureAlgorithms());
        for (Identity identity : ofType) {
            if (identity.signatureSchemes().stream().anyMatch(offered::contains)) {
                return identity.alias();
            }
        }
        return ofType.getFirst().alias();
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return identities.stream().filter(i -> i.key().getAlgorithm().equals(keyType)).findFirst().map(Identity::alias).orElse(null);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return identities.stream().map(Identity::alias).toArray(String[]::new);
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        return identities.stream().filter(i -> i.alias().equals(alias)).findFirst().map(i -> i.chain().clone()).orElse(null);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        return identities.stream().filter(i -> i.alias().equals(alias)).findFirst().map(Identity::key).orElse(null);
    }
}
