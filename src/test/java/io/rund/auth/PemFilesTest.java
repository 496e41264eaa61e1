package io.rund.auth;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PemFilesTest {

    @Test
    void readsTheExampleP521CertificateAndItsPkcs8Key() throws Exception {
        List<X509Certificate> chain = PemFiles.certificates(ExampleCertificates.DIR.resolve("alice.pem"));
        PrivateKey key = PemFiles.privateKey(ExampleCertificates.DIR.resolve("alice-key.pem"));

        assertEquals(1, chain.size());
        assertEquals("SHA512withECDSA", chain.getFirst().getSigAlgName());
        assertTrue(key instanceof ECPrivateKey ec && ec.getParams().getCurve().getField().getFieldSize() == 521);
        Signature signer = Signature.getInstance("SHA512withECDSA");
        signer.initSign(key);
        signer.update(new byte[] {1, 2, 3});
        byte[] signature = signer.sign();
        Signature verifier = Signature.getInstance("SHA512withECDSA");
        verifier.initVerify(chain.getFirst().getPublicKey());
        verifier.update(new byte[] {1, 2, 3});
        assertTrue(verifier.verify(signature), "the key belongs to the certificate");
    }

    @Test
    void readsEveryCertificateOfABundleInOrder(@TempDir Path dir) throws Exception {
        Path bundle = dir.resolve("bundle.pem");
        Files.writeString(bundle, "comment before\n" + Files.readString(ExampleCertificates.CA)
                + Files.readString(ExampleCertificates.DIR.resolve("untrusted-ca.pem")));

        List<X509Certificate> certificates = PemFiles.certificates(bundle);

        assertEquals(2, certificates.size());
        assertArrayEquals(PemFiles.certificates(ExampleCertificates.CA).getFirst().getEncoded(), certificates.get(0).getEncoded());
    }

    @Test
    void readsEveryOpensslKeyEncodingAsAJdkKeyThatFitsItsCertificate(@TempDir Path dir) throws Exception {
        for (TestKeys.Format format : TestKeys.Format.values()) {
            TestKeys.Made made = TestKeys.make(dir, format.name(), format, "DNS:x.example", "clientAuth");

            PrivateKey key = PemFiles.privateKey(made.key(), made.passphraseFile());

            PublicKey certified = PemFiles.certificates(made.cert()).getFirst().getPublicKey();
            assertEquals(certified.getAlgorithm(), key.getAlgorithm(), format.name());
            String algorithm = switch (key.getAlgorithm()) {
                case "EC" -> "SHA256withECDSA";
                case "RSA" -> "SHA256withRSA";
                default -> key.getAlgorithm();
            };
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(new byte[] {1, 2, 3});
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certified);
            verifier.update(new byte[] {1, 2, 3});
            assertTrue(verifier.verify(signer.sign()), format + ": the key belongs to the certificate");
            assertTrue(key.getClass().getName().startsWith("sun."), format + ": a JDK key, which JSSE signs with: " + key.getClass());
        }
    }

    @Test
    void anEncryptedKeyWithoutAPassphraseIsRefusedNamingTheFileTheFormatAndHowToGiveOne(@TempDir Path dir) throws Exception {
        TestKeys.Made made = TestKeys.make(dir, "encrypted", TestKeys.Format.PKCS8_EC_ENCRYPTED, "DNS:x.example", "clientAuth");

        TlsSetupException e = assertThrows(TlsSetupException.class, () -> PemFiles.privateKey(made.key(), null));

        assertEquals(made.key() + ": holds an encrypted \"ENCRYPTED PRIVATE KEY\" key: " + PemFiles.PASSPHRASE_HINT, e.getMessage());
        assertTrue(e.getMessage().contains("--key-passphrase-file") && e.getMessage().contains("RUND_KEY_PASSPHRASE_FILE"));
    }

    @Test
    void anEncryptedKeyWithTheWrongPassphraseIsRefusedInOneLine(@TempDir Path dir) throws Exception {
        TestKeys.Made made = TestKeys.make(dir, "encrypted", TestKeys.Format.PKCS8_EC_ENCRYPTED, "DNS:x.example", "clientAuth");
        Path wrong = dir.resolve("wrong");
        Files.writeString(wrong, "not the passphrase\n");
        Files.setPosixFilePermissions(wrong, PosixFilePermissions.fromString("rw-------"));

        TlsSetupException e = assertThrows(TlsSetupException.class, () -> PemFiles.privateKey(made.key(), wrong));

        assertTrue(e.getMessage().startsWith(made.key() + ": cannot decrypt its \"ENCRYPTED PRIVATE KEY\" key with the passphrase in "
                + wrong), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }

    @Test
    void aBlockThatIsNoKeyIsRefusedNamingTheFileAndTheLabel(@TempDir Path dir) throws Exception {
        Path key = dir.resolve("odd-key.pem");
        Files.writeString(key, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));

        TlsSetupException e = assertThrows(TlsSetupException.class, () -> PemFiles.privateKey(key));

        assertTrue(e.getMessage().startsWith(key + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("\"OPENSSH PRIVATE KEY\""), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }

    @Test
    void refusesAKeyReadableByOthersNamingTheFileItsModeAndTheFix(@TempDir Path dir) throws Exception {
        Path key = keyWithMode(dir, "rw-r--r--");

        TlsSetupException e = assertThrows(TlsSetupException.class, () -> PemFiles.privateKey(key));

        assertEquals(key + ": UNPROTECTED PRIVATE KEY FILE: its mode 0644 lets group or others access it; "
                + "make it private with: chmod 600 " + key, e.getMessage());
    }

    @Test
    void refusesAKeyReadableByItsGroup(@TempDir Path dir) throws Exception {
        Path key = keyWithMode(dir, "rw-r-----");

        TlsSetupException e = assertThrows(TlsSetupException.class, () -> PemFiles.privateKey(key));

        assertTrue(e.getMessage().contains("mode 0640"), e.getMessage());
    }

    @Test
    void acceptsAKeyOnlyItsOwnerMayRead(@TempDir Path dir) throws Exception {
        PrivateKey expected = PemFiles.privateKey(keyWithMode(dir, "rw-------"));

        assertArrayEquals(expected.getEncoded(), PemFiles.privateKey(keyWithMode(dir, "r--------")).getEncoded());
    }

    /** A copy of alice's key with the given permissions. */
    private static Path keyWithMode(Path dir, String permissions) throws Exception {
        Path key = dir.resolve("alice-key-" + permissions.replace('-', '_') + ".pem");
        Files.copy(ExampleCertificates.DIR.resolve("alice-key.pem"), key);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString(permissions));
        return key;
    }

    @Test
    void namesAMissingFile(@TempDir Path dir) {
        Path missing = dir.resolve("missing.pem");

        TlsSetupException e = assertThrows(TlsSetupException.class, () -> PemFiles.certificates(missing));

        assertTrue(e.getMessage().startsWith(missing + ": cannot read"), e.getMessage());
    }

    @Test
    void refusesAKeyFileAsCertificate() {
        Path key = ExampleCertificates.DIR.resolve("alice-key.pem");

        TlsSetupException e = assertThrows(TlsSetupException.class, () -> PemFiles.certificates(key));

        assertTrue(e.getMessage().contains("holds no PEM certificate"), e.getMessage());
    }
}
