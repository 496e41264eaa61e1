package io.rund.linux;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Removes trees a job made (its home, what it left in /tmp), as root, without ever following a symlink: every step
 * is relative to an open directory (openat/unlinkat through {@link SecureDirectoryStream}, O_NOFOLLOW), so a link
 * the job planted is removed as a link, and a tree the job made deep holds at most {@link #MAX_DEPTH} directories
 * open at once (deeper directories are first moved up into the tree's top directory).
 */
public final class FileTrees {

    /** Directories held open at once while removing one tree. */
    static final int MAX_DEPTH = 64;
    private static final LinkOption[] NO_FOLLOW = {LinkOption.NOFOLLOW_LINKS};

    private FileTrees() {}

    /** Removes {@code path} and all beneath it; a symlink is removed itself. Nothing there is not an error. */
    public static void deleteTree(Path path) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        if (parent == null) {
            throw new IOException("refusing to remove the root directory");
        }
        try (SecureDirectoryStream<Path> dir = secureStream(parent)) {
            deleteEntry(dir, path.getFileName());
        } catch (NoSuchFileException gone) {
            // already removed
        }
    }

    /**
     * Removes every entry directly in {@code directory} owned by {@code uid} (as lstat sees it), with all beneath
     * it. In a sticky directory (/tmp, /var/tmp, /dev/shm) such an entry can be renamed or replaced only by its
     * owner or root, so what is checked is what is removed. Returns how many entries were removed.
     */
    public static int deleteOwnedBy(Path directory, int uid) throws IOException {
        int removed = 0;
        try (SecureDirectoryStream<Path> dir = secureStream(directory)) {
            for (Path name : names(dir)) {
                Object owner;
                try {
                    owner = Files.getAttribute(directory.resolve(name), "unix:uid", NO_FOLLOW);
                } catch (NoSuchFileException gone) {
                    continue;
                }
                if (owner instanceof Integer id && id == uid) {
                    deleteEntry(dir, name);
                    removed++;
                }
            }
        }
        return removed;
    }

    private static void deleteEntry(SecureDirectoryStream<Path> parent, Path name) throws IOException {
        try {
            if (!isDirectory(parent, name)) {
                parent.deleteFile(name);
                return;
            }
            boolean movedUp = true;
            while (movedUp) { // directories deeper than MAX_DEPTH were moved up into the top one: another pass
                try (SecureDirectoryStream<Path> top = parent.newDirectoryStream(name, NO_FOLLOW)) {
                    movedUp = empty(top, top, 0);
                }
            }
            parent.deleteDirectory(name);
        } catch (NoSuchFileException gone) {
            // removed meanwhile
        }
    }

    /** Removes what {@code dir} holds; returns whether it moved a too-deep directory up into {@code top}. */
    private static boolean empty(SecureDirectoryStream<Path> dir, SecureDirectoryStream<Path> top, int depth)
            throws IOException {
        boolean movedUp = false;
        for (Path name : names(dir)) {
            try {
                if (!isDirectory(dir, name)) {
                    dir.deleteFile(name);
                    continue;
                }
                if (depth + 1 >= MAX_DEPTH) {
                    dir.move(name, top, Path.of(".rund-removing-" + UUID.randomUUID()));
                    movedUp = true;
                    continue;
                }
                try (SecureDirectoryStream<Path> child = dir.newDirectoryStream(name, NO_FOLLOW)) {
                    movedUp |= empty(child, top, depth + 1);
                }
                dir.deleteDirectory(name);
            } catch (NoSuchFileException gone) {
                // removed meanwhile
            }
        }
        return movedUp;
    }

    private static boolean isDirectory(SecureDirectoryStream<Path> dir, Path name) throws IOException {
        BasicFileAttributes attributes = dir.getFileAttributeView(name, BasicFileAttributeView.class, NO_FOLLOW)
                .readAttributes();
        return attributes.isDirectory();
    }

    private static List<Path> names(SecureDirectoryStream<Path> dir) {
        List<Path> names = new ArrayList<>();
        for (Path entry : dir) {
            names.add(entry.getFileName());
        }
        return names;
    }

    private static SecureDirectoryStream<Path> secureStream(Path directory) throws IOException {
        DirectoryStream<Path> stream = Files.newDirectoryStream(directory);
        if (stream instanceof SecureDirectoryStream<Path> secure) {
            return secure;
        }
        stream.close();
        throw new IOException("cannot remove files safely in " + directory + ": no openat-based directory stream here");
    }
}
