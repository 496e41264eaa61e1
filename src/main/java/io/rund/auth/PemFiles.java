package io.rund.auth;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder;
import org.bouncycastle.openssl.jcajce.JcePEMDecryptorProviderBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemReader;
import org.bouncycastle.util.io.pem.PemWriter;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Reads X.509 certificates and private keys from PEM files through Bouncy Castle's PEM support: every key encoding
 * openssl, cfssl, step-ca and Vault write (PKCS#8 "PRIVATE KEY", encrypted PKCS#8 "ENCRYPTED PRIVATE KEY", SEC1
 * "EC PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY", openssl's legacy encrypted PEM; EC, RSA, Ed25519, Ed448). The key is
 * handed to the JDK's own providers, which JSSE signs with. A private key file (and a passphrase file) that group or
 * others may access is refused before it is read, as OpenSSH refuses one: whoever can read it can be whoever it
 * identifies.
 */
public final class PemFiles {

    private static final String CERTIFICATE = "CERTIFICATE";
    private static final String PRIVATE_KEY_SUFFIX = "PRIVATE KEY";
    /** Only decrypts encrypted keys (PBES2, openssl's legacy ciphers); never registered as a JCA provider. */
    private static final Provider DECRYPTION = new BouncyCastleProvider();
    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);
    /** How to give a passphrase, named in the error about an encrypted key given none. */
    public static final String PASSPHRASE_HINT = "give its passphrase in a file: rund serve --key-passphrase-file FILE "
            + "(env RUND_SERVE_KEY_PASSPHRASE_FILE), the CLI --key-passphrase-file FILE (env RUND_KEY_PASSPHRASE_FILE)";

    private PemFiles() {}

    /** Every certificate in {@code file}, in file order; at least one. */
    public static List<X509Certificate> certificates(Path file) throws TlsSetupException {
        List<X509Certificate> certificates = new ArrayList<>();
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            for (PemObject block : blocks(file)) {
                if (block.getType().equals(CERTIFICATE)) {
                    certificates.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(block.getContent())));
                }
            }
        } catch (CertificateException e) {
            throw new TlsSetupException(file + ": not a valid X.509 certificate: " + e.getMessage(), e);
        }
        if (certificates.isEmpty()) {
            throw new TlsSetupException(file + ": holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }
        return List.copyOf(certificates);
    }

    /** The one private key in {@code file}, which must be accessible to its owner only (mode 0600 or 0400). */
    public static PrivateKey privateKey(Path file) throws TlsSetupException {
        return privateKey(file, null);
    }

    /**
     * The one private key in {@code file}, in any encoding this class reads, decrypted with the first line of
     * {@code passphraseFile} when it is encrypted ({@code null}: no passphrase given). Both files must be
     * accessible to their owner only.
     */
    public static PrivateKey privateKey(Path file, Path passphraseFile) throws TlsSetupException {
        requireOwnerOnly(file);
        List<PemObject> keys = blocks(file).stream().filter(b -> b.getType().endsWith(PRIVATE_KEY_SUFFIX)).toList();
        if (keys.size() != 1) {
            throw new TlsSetupException(file + ": must hold exactly one PEM private key (-----BEGIN ... PRIVATE KEY-----), found "
                    + keys.size());
        }
        PemObject block = keys.getFirst();
        String format = "\"" + block.getType() + "\"";
        Object parsed;
        try (PEMParser parser = new PEMParser(new StringReader(pem(block)))) {
            parsed = parser.readObject();
        } catch (IOException | RuntimeException e) {
            throw new TlsSetupException(file + ": cannot read its " + format + " key: " + e.getMessage(), e);
        }
        try {
            PrivateKeyInfo info = switch (parsed) {
                case PrivateKeyInfo plain -> plain;
                case PEMKeyPair pair -> pair.getPrivateKeyInfo();
                case PKCS8EncryptedPrivateKeyInfo encrypted -> encrypted.decryptPrivateKeyInfo(
                        new JceOpenSSLPKCS8DecryptorProviderBuilder().setProvider(DECRYPTION)
                                .build(passphrase(file, format, passphraseFile)));
                case PEMEncryptedKeyPair encrypted -> encrypted.decryptKeyPair(
                        new JcePEMDecryptorProviderBuilder().setProvider(DECRYPTION)
                                .build(passphrase(file, format, passphraseFile))).getPrivateKeyInfo();
                case null, default -> throw new TlsSetupException(file + ": holds a " + format
                        + " block that is not a private key rund can read (PKCS#8, encrypted PKCS#8, SEC1 EC or PKCS#1 RSA)");
            };
            return new JcaPEMKeyConverter().getPrivateKey(info);
        } catch (PKCSException | IOException e) {
            throw new TlsSetupException(file + ": cannot decrypt its " + format + " key with the passphrase in "
                    + passphraseFile + " (wrong passphrase?): " + e.getMessage(), e);
        } catch (OperatorCreationException e) {
            throw new TlsSetupException(file + ": cannot decrypt its " + format + " key (unsupported cipher?): " + e.getMessage(), e);
        }
    }

    /** The passphrase of an encrypted key: the first line of {@code passphraseFile}, which must be given. */
    private static char[] passphrase(Path key, String format, Path passphraseFile) throws TlsSetupException {
        if (passphraseFile == null) {
            throw new TlsSetupException(key + ": holds an encrypted " + format + " key: " + PASSPHRASE_HINT);
        }
        requireOwnerOnly(passphraseFile);
        try {
            String text = Files.readString(passphraseFile, StandardCharsets.UTF_8);
            int end = text.indexOf('\n');
            String line = end < 0 ? text : text.substring(0, end);
            return (line.endsWith("\r") ? line.substring(0, line.length() - 1) : line).toCharArray();
        } catch (IOException e) {
            throw new TlsSetupException(passphraseFile + ": cannot read the key's passphrase: " + e, e);
        }
    }

    /**
     * Refuses a key file whose mode grants group or others anything (mode & 077, OpenSSH's rule), naming the file,
     * its mode and the fix. Permissions of a symbolic link's target count. On a file system without POSIX
     * permissions there is nothing to check.
     */
    private static void requireOwnerOnly(Path file) throws TlsSetupException {
        Set<PosixFilePermission> permissions;
        try {
            permissions = Files.getPosixFilePermissions(file);
        } catch (UnsupportedOperationException noPosixPermissions) {
            return;
        } catch (IOException e) {
            throw new TlsSetupException(file + ": cannot read: " + e, e);
        }
        if (!Collections.disjoint(permissions, GROUP_OR_OTHERS)) {
            throw new TlsSetupException(file + ": UNPROTECTED PRIVATE KEY FILE: its mode " + octal(permissions)
                    + " lets group or others access it; make it private with: chmod 600 " + file);
        }
    }

    /** A mode as chmod writes it, for example 0644. */
    private static String octal(Set<PosixFilePermission> permissions) {
        int mode = 0;
        for (PosixFilePermission permission : permissions) {
            // The enum lists OWNER_READ ... OTHERS_EXECUTE from the most significant bit of 0777 down.
            mode |= 1 << (PosixFilePermission.values().length - 1 - permission.ordinal());
        }
        return String.format("%04o", mode);
    }

    /** Every PEM block of {@code file} with its headers (an openssl legacy encrypted key keeps its DEK-Info). */
    private static List<PemObject> blocks(Path file) throws TlsSetupException {
        List<PemObject> blocks = new ArrayList<>();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.ISO_8859_1);
             PemReader pem = new PemReader(reader)) {
            for (PemObject block = pem.readPemObject(); block != null; block = pem.readPemObject()) {
                blocks.add(block);
            }
        } catch (NoSuchFileException e) {
            throw new TlsSetupException(file + ": cannot read: no such file" + (file.isAbsolute() ? ""
                    : " (relative paths are relative to the current directory, " + Path.of("").toAbsolutePath() + ")"), e);
        } catch (IOException e) {
            throw new TlsSetupException(file + ": cannot read as PEM: " + e.getMessage(), e);
        }
        return blocks;
    }

    private static String pem(PemObject block) throws IOException {
        StringWriter text = new StringWriter();
        try (PemWriter writer = new PemWriter(text)) {
            writer.writeObject(block);
        }
        return text.toString();
    }
}
