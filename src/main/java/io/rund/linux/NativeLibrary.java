package io.rund.linux;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Loads rund's native library, the clone3 spawn helper built from src/main/c/spawn.c, out of
 * the jar (and copies out the keeper's executable, {@link #extractExecutable}): copied to a fresh 0700 temp directory (no other user can swap it), dlopen'ed for the
 * life of the JVM, then deleted (the mapping stays valid), so nothing is left behind.
 */
final class NativeLibrary {
    private static final String RESOURCE = "/native/linux-x86_64/librundspawn.so";
    private static final String FILE_NAME = "librundspawn.so";
    private static final String OWNER_ONLY = "rwx------";

    private NativeLibrary() {}

    /** The spawn helper's symbols, loaded on first use. */
    static SymbolLookup spawnHelper() {
        return Loaded.SPAWN_HELPER;
    }

    /**
     * Copies the executable at classpath {@code resource} to {@code target} (mode 0700), replacing any earlier copy
     * by a rename, so that a keeper still running from the old file is not disturbed.
     */
    static void extractExecutable(String resource, Path target) throws IOException {
        try (InputStream executable = NativeLibrary.class.getResourceAsStream(resource)) {
            if (executable == null) {
                throw new IllegalStateException("classpath resource " + resource
                        + " is missing: the Maven build compiles it from src/main/c/keeper.c with gcc");
            }
            Path temporary = Files.createTempFile(target.getParent(), target.getFileName() + ".", ".new",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(OWNER_ONLY)));
            try {
                Files.copy(executable, temporary, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString(OWNER_ONLY)); // a new file
                Files.move(temporary, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(temporary);
            }
        }
    }

    private static final class Loaded {
        static final SymbolLookup SPAWN_HELPER = load();
    }

    private static SymbolLookup load() {
        String os = System.getProperty("os.name");
        String arch = System.getProperty("os.arch");
        if (!"Linux".equals(os) || !"amd64".equals(arch)) {
            throw new UnsupportedOperationException(
                    "rund's spawn helper is built for Linux x86_64 only, this JVM runs on " + os + "/" + arch);
        }
        try (InputStream library = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
            if (library == null) {
                throw new IllegalStateException("classpath resource " + RESOURCE
                        + " is missing: the Maven build compiles it from src/main/c/spawn.c with gcc");
            }
            Path directory = Files.createTempDirectory("rund-native-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(OWNER_ONLY)));
            Path file = directory.resolve(FILE_NAME);
            try {
                Files.copy(library, file);
                return SymbolLookup.libraryLookup(file, Arena.global());
            } finally {
                Files.deleteIfExists(file);
                Files.delete(directory);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot extract " + RESOURCE + " to a temporary directory", e);
        }
    }
}
