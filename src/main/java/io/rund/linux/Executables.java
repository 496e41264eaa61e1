package io.rund.linux;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Finds the file a command names, the way execvp(3) does, but in Java and before spawning, so
 * the spawned child only ever calls execve: a name containing '/' is taken as is (relative to
 * the working directory); a bare name is looked up in each PATH directory in turn.
 */
public final class Executables {
    /** The search path when the job's environment has no PATH. */
    public static final String DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";
    private static final String STEP = "resolve";

    private Executables() {}

    /**
     * The absolute path {@code command} runs. For a bare name: the first executable regular file
     * in {@code pathEnv} (null = {@link #DEFAULT_PATH}; an empty entry means {@code cwd}); if only
     * non-executable ones exist, EACCES naming the first; if none, ENOENT naming the command.
     */
    public static Path resolve(String command, String pathEnv, Path cwd) throws SpawnException {
        return resolve(command, pathEnv, cwd, FsCredentials.DAEMON);
    }

    /** As {@link #resolve(String, String, Path)}, every file looked at as {@code user} would see it. */
    public static Path resolve(String command, String pathEnv, Path cwd, FsCredentials user) throws SpawnException {
        if (command.isEmpty() || command.indexOf('\0') >= 0) {
            throw new SpawnException(Libc.ENOENT, STEP, "'" + command.replace("\0", "\\0") + "'");
        }
        if (command.contains("/")) {
            return cwd.resolve(command).toAbsolutePath(); // not normalized: ".." after a symlink is the kernel's call
        }
        Path notExecutable = null;
        for (String directory : (pathEnv == null ? DEFAULT_PATH : pathEnv).split(":", -1)) {
            Path candidate;
            try {
                candidate = cwd.resolve(directory).resolve(command).toAbsolutePath();
            } catch (InvalidPathException e) {
                continue; // a PATH entry no file can have (e.g. with NUL) holds nothing to run
            }
            if (isRegularFile(candidate, user)) {
                if (user.mayExecute(candidate)) {
                    return candidate;
                }
                if (notExecutable == null) {
                    notExecutable = candidate;
                }
            }
        }
        if (notExecutable != null) {
            throw new SpawnException(Libc.EACCES, STEP, notExecutable.toString());
        }
        throw new SpawnException(Libc.ENOENT, STEP, command);
    }

    /** A regular file (symlinks followed) that {@code user} can reach; anything it cannot stat holds nothing. */
    private static boolean isRegularFile(Path candidate, FsCredentials user) {
        try {
            return user.stat(candidate).isRegularFile();
        } catch (LinuxException e) {
            return false;
        }
    }
}
