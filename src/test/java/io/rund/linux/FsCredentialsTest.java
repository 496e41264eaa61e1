package io.rund.linux;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Checks made as a job's user see what that user sees, and leave the daemon's thread as it was. */
class FsCredentialsTest {

    private static final FsCredentials JOB = new FsCredentials(70321, 70321, new int[0]);
    private static final int EACCES = 13;

    @TempDir
    Path dir;

    @Test
    void aRootOnlyDirectoryHidesWhetherAFileExists() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to switch the fsuid");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        Path exists = Files.writeString(dir.resolve("exists"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(exists, PosixFilePermissions.fromString("rwxr-xr-x"));
        String before = Files.readString(Path.of("/proc/thread-self/status"));

        assertTrue(FsCredentials.DAEMON.stat(exists).isRegularFile());
        assertTrue(FsCredentials.DAEMON.mayExecute(exists));
        assertEquals(EACCES, assertThrows(LinuxException.class, () -> JOB.stat(exists)).errno());
        assertEquals(EACCES, assertThrows(LinuxException.class, () -> JOB.stat(dir.resolve("missing"))).errno());
        assertFalse(JOB.mayExecute(exists));

        assertEquals(ids(before), ids(Files.readString(Path.of("/proc/thread-self/status"))),
                "the thread's uids, gids and groups are restored");
        assertTrue(FsCredentials.DAEMON.stat(exists).isRegularFile(), "root sees it again");
    }

    /** The Uid:, Gid: and Groups: lines (real, effective, saved and fs ids). */
    private static String ids(String status) {
        return status.lines().filter(line -> line.startsWith("Uid:") || line.startsWith("Gid:") || line.startsWith("Groups:"))
                .reduce("", (a, b) -> a + b + "\n");
    }
}
