package io.rund.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExecutablesTest {
    @Test
    void bareNameIsFoundInPathInOrder(@TempDir Path dir) throws Exception {
        Path first = Files.createDirectory(dir.resolve("first"));
        Path second = Files.createDirectory(dir.resolve("second"));
        Path tool = executable(second.resolve("tool"));
        executable(dir.resolve("tool")); // in cwd, but cwd is not in PATH
        assertEquals(tool, Executables.resolve("tool", first + ":" + second, dir));
    }

    @Test
    void nameWithSlashIsUsedAsIsRelativeToCwd(@TempDir Path dir) throws Exception {
        assertEquals(dir.resolve("bin/whatever"), Executables.resolve("bin/whatever", "/usr/bin", dir));
        assertEquals(Path.of("/bin/sh"), Executables.resolve("/bin/sh", "", dir));
    }

    @Test
    void directoriesAndNonExecutablesAreSkipped(@TempDir Path dir) throws Exception {
        Path a = Files.createDirectory(dir.resolve("a"));
        Path b = Files.createDirectory(dir.resolve("b"));
        Files.createDirectory(a.resolve("tool"));
        Files.writeString(b.resolve("tool"), "not executable");
        SpawnException e = assertThrows(SpawnException.class, () -> Executables.resolve("tool", a + ":" + b, dir));
        assertEquals(Libc.EACCES, e.errno());
        assertEquals(b.resolve("tool").toString(), e.path());
    }

    @Test
    void missingCommandIsEnoentNamingIt(@TempDir Path dir) {
        SpawnException e = assertThrows(SpawnException.class,
                () -> Executables.resolve("no-such-command-rund", "/usr/bin:/bin", dir));
        assertEquals(Libc.ENOENT, e.errno());
        assertEquals("resolve", e.step());
        assertEquals("no-such-command-rund", e.path());
        assertEquals("resolve no-such-command-rund: No such file or directory (errno 2)", e.getMessage());
    }

    @Test
    void emptyPathEntryMeansCwd(@TempDir Path dir) throws Exception {
        Path tool = executable(dir.resolve("tool"));
        assertEquals(tool, Executables.resolve("tool", "/nonexistent:", dir));
    }

    private static Path executable(Path file) throws Exception {
        Files.writeString(file, "#!/bin/sh\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }
}
