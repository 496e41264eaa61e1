package io.rund.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Positional I/O on real files: exclusive creation with a mode, pread/pwrite round trips, punched holes. */
class PositionalFilesTest {

    private static final int MIB = 1024 * 1024;

    @TempDir
    Path dir;

    @Test
    void createNewMakesAFileWithTheModeAndRefusesExistingOnesAndMissingDirectories() throws IOException {
        Path file = dir.resolve("new.log");
        int fd = PositionalFiles.createNew(file, 0600);
        PositionalFiles.close(fd);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertThrows(FileAlreadyExistsException.class, () -> PositionalFiles.createNew(file, 0600));
        assertThrows(NoSuchFileException.class, () -> PositionalFiles.createNew(dir.resolve("no/such.log"), 0600));
    }

    @Test
    void writesAndReadsAtPositionsAndAPunchedHoleReadsAsZerosAndFreesItsBlocks() throws Exception {
        Path file = dir.resolve("data");
        byte[] data = new byte[4 * MIB];
        new SplittableRandom(9).nextBytes(data);
        int fd = PositionalFiles.createNew(file, 0600);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment source = arena.allocate(data.length);
            MemorySegment.copy(data, 0, source, ValueLayout.JAVA_BYTE, 0, data.length);
            long written = 0;
            while (written < data.length) {
                written += PositionalFiles.write(fd, source.asSlice(written), written, file);
            }
            PositionalFiles.syncData(fd, file);
            long before = allocatedBytes(file);

            boolean punched = PositionalFiles.punchHole(fd, MIB, 2 * MIB, file);
            assumeTrue(punched, "the file system of " + file + " cannot punch holes");
            MemorySegment back = arena.allocate(data.length);
            long read = 0;
            while (read < data.length) {
                long n = PositionalFiles.read(fd, back.asSlice(read), read, file);
                assertTrue(n > 0, "read at " + read);
                read += n;
            }
            byte[] got = back.toArray(ValueLayout.JAVA_BYTE);
            assertArrayEquals(Arrays.copyOfRange(data, 0, MIB), Arrays.copyOfRange(got, 0, MIB));
            assertArrayEquals(new byte[2 * MIB], Arrays.copyOfRange(got, MIB, 3 * MIB), "the hole reads as zeros");
            assertArrayEquals(Arrays.copyOfRange(data, 3 * MIB, 4 * MIB), Arrays.copyOfRange(got, 3 * MIB, 4 * MIB));
            assertEquals(data.length, Files.size(file), "the size is kept");
            assertTrue(allocatedBytes(file) <= before - 2 * MIB, "the hole's blocks were freed");
            assertEquals(0, PositionalFiles.read(fd, back, data.length, file), "end of file");
        } finally {
            PositionalFiles.close(fd);
        }
    }

    /** Bytes of disk the file holds (st_blocks), as du counts them. */
    private static long allocatedBytes(Path file) throws IOException, InterruptedException {
        Process stat = new ProcessBuilder("stat", "--format=%b %B", file.toString()).redirectErrorStream(true).start();
        String[] blocks = new String(stat.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip().split(" ");
        assertEquals(0, stat.waitFor(), String.join(" ", blocks));
        return Long.parseLong(blocks[0]) * Long.parseLong(blocks[1]);
    }
}
