package io.rund.linux;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Removing a job's trees as root on real files: links removed never followed, deep trees, only one uid's entries. */
class FileTreesTest {

    @TempDir
    Path dir;

    @Test
    void removesATreeAndItsLinksWithoutFollowingThem() throws Exception {
        Path outside = Files.createDirectory(dir.resolve("outside"));
        Path precious = Files.writeString(outside.resolve("precious"), "keep\n");
        Path tree = Files.createDirectories(dir.resolve("home/a/b"));
        Files.writeString(tree.resolve("file"), "x");
        Files.createSymbolicLink(tree.resolve("to-dir"), outside);
        Files.createSymbolicLink(dir.resolve("home/to-file"), precious);

        FileTrees.deleteTree(dir.resolve("home"));

        assertFalse(Files.exists(dir.resolve("home"), LinkOption.NOFOLLOW_LINKS));
        assertEquals("keep\n", Files.readString(precious));
        FileTrees.deleteTree(dir.resolve("home")); // nothing there: not an error
    }

    @Test
    void removesATreeFarDeeperThanTheDirectoriesItHoldsOpen() throws Exception {
        Path deepest = dir.resolve("home");
        for (int i = 0; i < FileTrees.MAX_DEPTH * 5 + 3; i++) {
            deepest = deepest.resolve("d");
        }
        Files.createDirectories(deepest);
        Files.writeString(deepest.resolve("leaf"), "x");

        FileTrees.deleteTree(dir.resolve("home"));

        assertFalse(Files.exists(dir.resolve("home")));
    }

    @Test
    void removesOnlyTheTopLevelEntriesOwnedByTheUid() throws Exception {
        int uid = 70123;
        Path theirs = Files.createDirectories(dir.resolve("theirs/sub"));
        Files.setAttribute(dir.resolve("theirs"), "unix:uid", uid);
        Path link = Files.createSymbolicLink(dir.resolve("their-link"), dir.resolve("mine"));
        Files.setAttribute(link, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
        Path mine = Files.writeString(dir.resolve("mine"), "root's\n");

        assertEquals(2, FileTrees.deleteOwnedBy(dir, uid));

        assertFalse(Files.exists(theirs.getParent()));
        assertFalse(Files.exists(link, LinkOption.NOFOLLOW_LINKS));
        assertTrue(Files.isRegularFile(mine), "an entry of another owner stays");
    }
}
