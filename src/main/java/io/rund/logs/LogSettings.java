package io.rund.logs;

import com.typesafe.config.Config;

/**
 * The {@code rund.logs} settings, read once from configuration.
 *
 * @param segmentBytes           a log is dropped in segments of about this many file bytes (the cap granularity)
 * @param maxJobBytes            file bytes one job's log keeps at most (plus up to one segment being written)
 * @param maxTotalBytes          file bytes all logs together keep at most; the oldest segments anywhere go first
 * @param maxIdentityBytes       file bytes the logs of one owner identity (the SAN set of the certificate that
 *                               started the jobs) keep at most; that owner's own oldest segments go first
 * @param readCacheBytes         recently read output shared by all followers of a log, so N followers at the
 *                               same place cost one read and one copy of the bytes, not N
 * @param maxFollowersPerJob     concurrent readers of one job's log
 * @param maxFollowersPerIdentity concurrent readers (of any logs) opened by one client identity
 */
public record LogSettings(
        long segmentBytes,
        long maxJobBytes,
        long maxTotalBytes,
        long maxIdentityBytes,
        long readCacheBytes,
        int maxFollowersPerJob,
        int maxFollowersPerIdentity) {

    /** A segment must hold whole records and leave room to index them. */
    public static final long MIN_SEGMENT_BYTES = 2L * LogFormat.MAX_RECORD_BYTES;
    private static final long UNLIMITED = Long.MAX_VALUE;
    private static final long DEFAULT_READ_CACHE_BYTES = 64L * 1024 * 1024;

    public LogSettings {
        if (segmentBytes < MIN_SEGMENT_BYTES) {
            throw new IllegalArgumentException("rund.logs.segment-size must be at least " + MIN_SEGMENT_BYTES
                    + " bytes, was " + segmentBytes);
        }
        if (maxJobBytes < segmentBytes) {
            throw new IllegalArgumentException("rund.logs.max-job-bytes (" + maxJobBytes
                    + ") must be at least one segment (" + segmentBytes + ")");
        }
        if (maxTotalBytes < maxJobBytes) {
            throw new IllegalArgumentException("rund.logs.max-total-bytes (" + maxTotalBytes
                    + ") must be at least rund.logs.max-job-bytes (" + maxJobBytes + ")");
        }
        if (maxIdentityBytes < segmentBytes) {
            throw new IllegalArgumentException("rund.logs.max-identity-bytes (" + maxIdentityBytes
                    + ") must be at least one segment (" + segmentBytes + ")");
        }
        if (readCacheBytes < 0) {
            throw new IllegalArgumentException("rund.logs.read-cache-size must be >= 0, was " + readCacheBytes);
        }
        if (maxFollowersPerJob < 1 || maxFollowersPerIdentity < 1) {
            throw new IllegalArgumentException("rund.logs.max-followers-per-job and -per-identity must be >= 1, were "
                    + maxFollowersPerJob + " and " + maxFollowersPerIdentity);
        }
    }

    /** No caps at all: one segment per log, nothing ever dropped, any number of followers. */
    public static LogSettings unlimited() {
        return new LogSettings(UNLIMITED, UNLIMITED, UNLIMITED, UNLIMITED, DEFAULT_READ_CACHE_BYTES,
                Integer.MAX_VALUE, Integer.MAX_VALUE);
    }

    public static LogSettings fromConfig(Config logs) {
        return new LogSettings(
                logs.getBytes("segment-size"),
                logs.getBytes("max-job-bytes"),
                logs.getBytes("max-total-bytes"),
                logs.getBytes("max-identity-bytes"),
                logs.getBytes("read-cache-size"),
                logs.getInt("max-followers-per-job"),
                logs.getInt("max-followers-per-identity"));
    }
}
