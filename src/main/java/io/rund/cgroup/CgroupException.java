package io.rund.cgroup;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A cgroup file-system operation failed. The message always starts with the cgroup path or
 * control file concerned, so a log line or a client error says where the failure happened.
 */
public final class CgroupException extends IOException {
    private final transient Path path;

    public CgroupException(Path path, String message) {
        super(path + ": " + message);
        this.path = path;
    }

    public CgroupException(Path path, String message, Throwable cause) {
        super(path + ": " + message, cause);
        this.path = path;
    }

    /** The cgroup directory or control file the failure concerns. */
    public Path path() {
        return path;
    }
}
