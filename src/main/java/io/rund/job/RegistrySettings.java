package io.rund.job;

import com.typesafe.config.Config;

import java.time.Duration;

/**
 * How long the registry keeps finished jobs and how much one List call may cost it, read once from {@code rund.jobs}.
 * Retention bounds the memory and disk finished jobs take; the List bounds keep one client's listing from holding
 * the registry's thread, and so every other client's call, for longer than a few hundred entries take.
 *
 * @param retention        a finished job is removed with its log this long after it ended
 * @param maxRetained      finished jobs kept at most, all clients together; beyond it the oldest-finished go first
 * @param listPageSize     jobs in a List reply when the request names no page size
 * @param maxListPageSize  the most a request may ask for in one page
 * @param listScanBudget   jobs one List call examines at most (other clients' jobs, or jobs its state filter leaves
 *                         out, included); past it the call answers the page it has, with a token to go on from there
 * @param finishedArgsInMemory a finished job whose arguments take more heap than this keeps them only in its record
 *                         on disk, read back when a reply shows them: memory per finished job stays bounded by this
 * @param listReadBackBytes arguments one List call reads back from records at most (the page ends, with a token, once
 *                         it has read this much): a page of jobs with big arguments costs one reply's worth of reads
 */
public record RegistrySettings(Duration retention, int maxRetained, int listPageSize, int maxListPageSize, int listScanBudget,
                               long finishedArgsInMemory, long listReadBackBytes) {

    public RegistrySettings {
        if (retention.isNegative() || retention.isZero()) {
            throw new IllegalArgumentException("rund.jobs.retention must be > 0, was " + retention);
        }
        if (maxRetained < 0) {
            throw new IllegalArgumentException("rund.jobs.max-retained must be >= 0, was " + maxRetained);
        }
        if (listPageSize < 1 || maxListPageSize < listPageSize) {
            throw new IllegalArgumentException("rund.jobs.list-page-size must be >= 1 and at most rund.jobs.max-list-page-size,"
                    + " were " + listPageSize + " and " + maxListPageSize);
        }
        if (listScanBudget < maxListPageSize) {
            throw new IllegalArgumentException("rund.jobs.list-scan-budget (" + listScanBudget
                    + ") must be at least rund.jobs.max-list-page-size (" + maxListPageSize + ")");
        }
        if (finishedArgsInMemory < 0) {
            throw new IllegalArgumentException("rund.jobs.finished-args-in-memory must be >= 0 bytes, was " + finishedArgsInMemory);
        }
        if (listReadBackBytes < 1) {
            throw new IllegalArgumentException("rund.jobs.list-read-back-bytes must be > 0, was " + listReadBackBytes);
        }
    }

    public static RegistrySettings fromConfig(Config jobs) {
        return new RegistrySettings(
                jobs.getDuration("retention"),
                jobs.getInt("max-retained"),
                jobs.getInt("list-page-size"),
                jobs.getInt("max-list-page-size"),
                jobs.getInt("list-scan-budget"),
                jobs.getBytes("finished-args-in-memory"),
                jobs.getBytes("list-read-back-bytes"));
    }

    /** The page size to serve for a request that asked for {@code requested} (0 or less: the default). */
    int pageSize(int requested) {
        return requested <= 0 ? listPageSize : Math.min(requested, maxListPageSize);
    }
}
