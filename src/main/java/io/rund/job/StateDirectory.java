package io.rund.job;

import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * rund's private state directory with its logs and job records directories, readable by rund's own user only
 * (mode 0700).
 */
public final class StateDirectory {

    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rwx------");

    private static final String LOGS = "logs";

    private StateDirectory() {}

    /** The directory of the job logs beneath the state directory {@code root}. */
    public static Path logs(Path root) {
        return root.resolve(LOGS);
    }

    /** The log file of job {@code jobId} in the logs directory {@code logs}. */
    public static Path logOf(Path logs, String jobId) {
        return logs.resolve(jobId + ".log");
    }

    /** Where the job records ({@link JobRecords}) of state directory {@code root} are. */
    public static Path jobsOf(Path root) {
        return root.resolve("jobs");
    }

    /** Creates the directory and its {@code logs} and {@code jobs} children if missing, and takes away any access by others. */
    public static void prepare(Path root) throws IOException {
        for (Path dir : new Path[] {root, logs(root), jobsOf(root)}) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            if (!Files.getPosixFilePermissions(dir).equals(OWNER_ONLY)) {
                LoggerFactory.getLogger(StateDirectory.class).warn("{} was open to others; restricting it to its owner", dir);
                Files.setPosixFilePermissions(dir, OWNER_ONLY);
            }
        }
    }
}
