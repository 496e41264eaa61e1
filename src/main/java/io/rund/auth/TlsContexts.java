package io.rund.auth;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds rund's TLS from PEM files: TLS 1.3 only on both sides; the server requires a client certificate and
 * verifies it against the configured CA; the client verifies the server against its CA and presents its own
 * certificate. Key and trust material live in in-memory key stores; nothing is written to disk.
 */
public final class TlsContexts {

    public static final String TLS_1_3 = "TLSv1.3";
    private static final String[] PROTOCOLS = {TLS_1_3};
    private static final char[] IN_MEMORY_STORE_PASSWORD = new char[0];

    private TlsContexts() {}

    /** The server's context: its certificate and key, and the CA that signs acceptable client certificates. */
    public static SSLContext server(TlsFiles files) throws TlsSetupException {
        List<ServerKeyManager.Identity> identities = new ArrayList<>();
        for (TlsFiles.CertAndKey certAndKey : files.identities()) {
            List<X509Certificate> chain = PemFiles.certificates(certAndKey.cert());
            PrivateKey key = PemFiles.privateKey(certAndKey.key(), files.keyPassphraseFile());
            requireFits(chain, key, certAndKey.cert(), certAndKey.key());
            identities.add(ServerKeyManager.identity("server-" + identities.size(), chain, key));
        }
        return context(new ServerKeyManager(identities), files);
    }

    /** The client's context: its certificate and key, and the CA that signs the server's certificate. */
    public static SSLContext client(TlsFiles files) throws TlsSetupException {
        return context(keyManager(files), files);
    }

    /** A server-side engine for one connection: TLS 1.3 only, client certificate required. */
    public static SSLEngine serverEngine(SSLContext context) {
        SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(false);
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setProtocols(PROTOCOLS);
        parameters.setNeedClientAuth(true);
        engine.setSSLParameters(parameters);
        return engine;
    }

    /** A key manager presenting the certificate chain in {@code files.cert()} with the key in {@code files.key()}. */
    public static X509ExtendedKeyManager keyManager(TlsFiles files) throws TlsSetupException {
        List<X509Certificate> chain = PemFiles.certificates(files.cert());
        PrivateKey key = PemFiles.privateKey(files.key(), files.keyPassphraseFile());
        requireFits(chain, key, files.cert(), files.key());
        return new SingleKeyManager(key, chain);
    }

    private static void requireFits(List<X509Certificate> chain, PrivateKey key, Path certFile, Path keyFile)
            throws TlsSetupException {
        if (!chain.getFirst().getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
            throw new TlsSetupException(keyFile + ": a " + key.getAlgorithm() + " key does not fit the "
                    + chain.getFirst().getPublicKey().getAlgorithm() + " certificate in " + certFile);
        }
    }

    /** Trust managers accepting peers whose chain ends at one of the certificates in {@code files.ca()}. */
    public static TrustManagerFactory trustManagers(TlsFiles files) throws TlsSetupException {
        List<X509Certificate> authorities = PemFiles.certificates(files.ca());
        try {
            KeyStore store = emptyStore();
            for (int i = 0; i < authorities.size(); i++) {
                store.setCertificateEntry("ca-" + i, authorities.get(i));
            }
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(store);
            return factory;
        } catch (GeneralSecurityException e) {
            throw new TlsSetupException(files.ca() + ": cannot be used as trusted CA: " + e.getMessage(), e);
        }
    }

    private static SSLContext context(X509ExtendedKeyManager keyManager, TlsFiles files) throws TlsSetupException {
        KeyManager[] keys = {keyManager};
        TrustManagerFactory trust = trustManagers(files);
        try {
            SSLContext context = SSLContext.getInstance(TLS_1_3);
            context.init(keys, trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new TlsSetupException("cannot create a " + TLS_1_3 + " context: " + e.getMessage(), e);
        }
    }

    private static KeyStore emptyStore() throws GeneralSecurityException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try {
            store.load(null, IN_MEMORY_STORE_PASSWORD);
        } catch (IOException impossible) {
            throw new IllegalStateException("loading an empty in-memory key store failed", impossible);
        }
        return store;
    }
}
