package io.rund.api;

import com.typesafe.config.Config;

import java.nio.file.Path;

/**
 * Where and how much the audit log ({@link AuditLog}) keeps, read once from {@code rund.audit}.
 *
 * @param file        the log file; by default {@code <state-directory>/audit.log}
 * @param maxFileSize bytes after which the file is rolled over
 * @param maxFiles    rolled-over files kept (audit.log.1 ... audit.log.N)
 * @param maxArgs     a Start's arguments recorded at most; the rest are counted
 */
public record AuditSettings(Path file, long maxFileSize, int maxFiles, int maxArgs) {

    /** Logback's fixed-window rolling keeps at most this many files. */
    static final int MAX_FILES_LIMIT = 20;
    static final String FILE_NAME = "audit.log";

    public AuditSettings {
        if (maxFileSize < 1) {
            throw new IllegalArgumentException("rund.audit.max-file-size must be > 0, not " + maxFileSize);
        }
        if (maxFiles < 1 || maxFiles > MAX_FILES_LIMIT) {
            throw new IllegalArgumentException("rund.audit.max-files must be 1 to " + MAX_FILES_LIMIT + ", not " + maxFiles);
        }
        if (maxArgs < 0) {
            throw new IllegalArgumentException("rund.audit.max-args must not be negative, not " + maxArgs);
        }
    }

    /** From the {@code rund} block: {@code audit} and, for the default file, {@code state-directory}. */
    public static AuditSettings fromConfig(Config rund) {
        Config audit = rund.getConfig("audit");
        String file = audit.getString("file");
        return new AuditSettings(
                file.isEmpty() ? Path.of(rund.getString("state-directory"), FILE_NAME) : Path.of(file),
                audit.getBytes("max-file-size"), audit.getInt("max-files"), audit.getInt("max-args"));
    }
}
