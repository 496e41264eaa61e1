package io.rund.auth;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads X.509 certificates and unencrypted PKCS#8 private keys from PEM files with the JDK alone. Other key
 * encodings (SEC1 "EC PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY", encrypted keys) are refused with the openssl
 * command that converts them. A private key file that group or others may access is refused before it is read, as
 * OpenSSH refuses one ("UNPROTECTED PRIVATE KEY FILE"): whoever can read it can be whoever it identifies.
 */
public final class PemFiles {

    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z0-9 ]+)-----\\s*([A-Za-z0-9+/=\\s]*?)\\s*-----END \\1-----");
    private static final String CERTIFICATE = "CERTIFICATE";
    private static final String PKCS8_KEY = "PRIVATE KEY";
    /** Key algorithms tried in turn on a PKCS#8 key; the encoding itself names the algorithm only as an OID. */
    private static final List<String> KEY_ALGORITHMS = List.of("EC", "RSA", "Ed25519", "Ed448");
    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);

    private PemFiles() {}

    /** Every certificate in {@code file}, in file order; at least one. */
    public static List<X509Certificate> certificates(Path file) throws TlsSetupException {
        List<X509Certificate> certificates = new ArrayList<>();
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            for (Block block : blocks(file)) {
                if (block.type().equals(CERTIFICATE)) {
                    certificates.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(block.der())));
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

    /**
     * The one private key in {@code file}, which must be unencrypted PKCS#8 (-----BEGIN PRIVATE KEY-----) and
     * accessible to its owner only (mode 0600 or 0400).
     */
    public static PrivateKey privateKey(Path file) throws TlsSetupException {
        requireOwnerOnly(file);
        List<Block> keys = blocks(file).stream().filter(b -> b.type().endsWith("PRIVATE KEY")).toList();
        if (keys.size() != 1) {
            throw new TlsSetupException(file + ": must hold exactly one PEM private key, found " + keys.size());
        }
        Block key = keys.getFirst();
        if (!key.type().equals(PKCS8_KEY)) {
            throw new TlsSetupException(file + ": holds a \"" + key.type() + "\"; rund reads unencrypted PKCS#8 keys, convert with: "
                    + "openssl pkcs8 -topk8 -nocrypt -in " + file + " -out " + file + ".pk8");
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(key.der());
        for (String algorithm : KEY_ALGORITHMS) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (InvalidKeySpecException notThisAlgorithm) {
                // The next algorithm may fit.
            } catch (GeneralSecurityException e) {
                throw new TlsSetupException(file + ": cannot load the private key: " + e.getMessage(), e);
            }
        }
        throw new TlsSetupException(file + ": a PKCS#8 private key of none of the algorithms " + KEY_ALGORITHMS);
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

    private record Block(String type, byte[] der) {}

    private static List<Block> blocks(Path file) throws TlsSetupException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.ISO_8859_1);
        } catch (IOException e) {
            throw new TlsSetupException(file + ": cannot read: " + e, e);
        }
        List<Block> blocks = new ArrayList<>();
        Matcher matcher = BLOCK.matcher(text);
        while (matcher.find()) {
            try {
                blocks.add(new Block(matcher.group(1), Base64.getMimeDecoder().decode(matcher.group(2))));
            } catch (IllegalArgumentException e) {
                throw new TlsSetupException(file + ": invalid base64 in a PEM " + matcher.group(1) + " block", e);
            }
        }
        return blocks;
    }
}
