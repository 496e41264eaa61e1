package io.rund.cli;

import io.rund.auth.ExampleCertificates;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The daemon and the CLI refuse a private key that group or others may read, as OpenSSH does, with one line naming
 * the file, its mode and the fix, and the exit code of an unusable TLS file. The key is checked before anything
 * connects or starts: no server is needed to see the refusal, and an accepted key gets as far as connecting.
 */
class KeyPermissionsTest {

    /** Nothing listens there: a command whose key was accepted fails later, as unavailable. */
    private static final String NOBODY_LISTENS = "localhost:1";

    @TempDir
    Path dir;

    @Test
    void aClientCommandRefusesAKeyOthersCanRead() throws Exception {
        Path key = copyOfKey("client", "rw-r--r--");

        CommandLineParsingTest.Output list = CommandLineParsingTest.run(clientLine(key));

        assertEquals(ExitCodes.USAGE, list.exitCode(), list.err());
        assertEquals("rund: " + key + ": UNPROTECTED PRIVATE KEY FILE: its mode 0644 lets group or others access it; "
                + "make it private with: chmod 600 " + key + "\n", list.err());
    }

    @Test
    void aClientCommandRefusesAKeyItsGroupCanRead() throws Exception {
        Path key = copyOfKey("client", "rw-r-----");

        CommandLineParsingTest.Output list = CommandLineParsingTest.run(clientLine(key));

        assertEquals(ExitCodes.USAGE, list.exitCode(), list.err());
        assertEquals(1, list.err().lines().count(), list.err());
        assertEquals(true, list.err().contains(key + ": UNPROTECTED PRIVATE KEY FILE: its mode 0640"), list.err());
    }

    @Test
    void aClientCommandAcceptsAKeyOnlyItsOwnerCanRead() throws Exception {
        for (String permissions : new String[] {"rw-------", "r--------"}) {
            Path key = copyOfKey("client", permissions);

            CommandLineParsingTest.Output list = CommandLineParsingTest.run(clientLine(key));

            assertEquals(ExitCodes.UNAVAILABLE, list.exitCode(), permissions + ": the key is used, then nothing answers: " + list.err());
        }
    }

    @Test
    void serveRefusesAServerKeyOthersCanReadBeforeStartingAnything() throws Exception {
        Path key = copyOfKey("server", "rw-r--r--");

        // No CA file: were the key accepted, serve would fail on it next, and never start an engine in this JVM.
        CommandLineParsingTest.Output serve = CommandLineParsingTest.run("serve", "--addr", "127.0.0.1:1",
                "--ca", dir.resolve("missing-ca.pem").toString(), "--cert", ExampleCertificates.server().cert().toString(),
                "--key", key.toString());

        assertEquals(ExitCodes.SERVE_USAGE, serve.exitCode(), serve.err());
        assertEquals("rund: cannot serve: " + key + ": UNPROTECTED PRIVATE KEY FILE: its mode 0644 lets group or others "
                + "access it; make it private with: chmod 600 " + key + "\n", serve.err());
    }

    private static String[] clientLine(Path key) {
        return new String[] {"list", "--addr", NOBODY_LISTENS, "--ca", ExampleCertificates.CA.toString(),
                "--cert", ExampleCertificates.files("client").cert().toString(), "--key", key.toString()};
    }

    /** A copy of the example key of {@code name} with the given permissions. */
    private Path copyOfKey(String name, String permissions) throws Exception {
        Path key = dir.resolve(name + "-" + permissions.replace('-', '_') + "-key.pem");
        Files.copy(ExampleCertificates.files(name).key(), key);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString(permissions));
        return key;
    }
}
