package io.rund.job;

import com.typesafe.config.Config;

/**
 * The {@code rund.tenants} settings, read once from configuration: what one client identity (the SAN set of its
 * certificate) may take of the daemon, so that no tenant can exhaust it for the others. Admin certificates are
 * capped like any other: the caps protect the daemon.
 *
 * @param maxRunningJobs            jobs one identity may have not yet ended at once
 * @param startsPerSecond           the rate at which one identity's start tokens refill
 * @param startBurst                start tokens one identity may hold, so this many starts may come at once
 * @param maxRetainedBytes          what the registry keeps of all jobs together (command, arguments, environment,
 *                                  plus {@link Tenants#JOB_OVERHEAD_BYTES} per job): Starts are refused while
 *                                  running jobs would exceed it, and the oldest finished jobs are forgotten beyond it
 * @param maxRetainedBytesPerIdentity the same for the jobs of one identity
 */
public record TenantSettings(
        int maxRunningJobs,
        double startsPerSecond,
        int startBurst,
        long maxRetainedBytes,
        long maxRetainedBytesPerIdentity) {

    /** The word that derives a byte budget from the daemon's maximum heap. */
    static final String AUTO = "auto";
    /** By default all jobs together keep at most this share of the maximum heap... */
    static final int HEAP_SHARE_DIVISOR = 8;
    /** ...and one identity's jobs at most this share of that. */
    static final int IDENTITY_SHARE_DIVISOR = 4;
    /** A budget must hold at least one job of the largest size a Start may have. */
    static final long LARGEST_JOB_BYTES = JobSpec.MAX_ARGV_ENV_BYTES * 2L + Tenants.JOB_OVERHEAD_BYTES;

    public TenantSettings {
        if (maxRunningJobs < 1) {
            throw new IllegalArgumentException("rund.tenants.max-running-jobs must be >= 1, was " + maxRunningJobs);
        }
        if (!(startsPerSecond > 0) || startBurst < 1) {
            throw new IllegalArgumentException("rund.tenants.start-rate must be > 0 and rund.tenants.start-burst >= 1, were "
                    + startsPerSecond + " and " + startBurst);
        }
        if (maxRetainedBytesPerIdentity < LARGEST_JOB_BYTES) {
            throw new IllegalArgumentException("rund.tenants.max-retained-bytes-per-identity (" + maxRetainedBytesPerIdentity
                    + ") must hold at least one job of the largest size a Start may have (" + LARGEST_JOB_BYTES + " bytes)");
        }
        if (maxRetainedBytes < maxRetainedBytesPerIdentity) {
            throw new IllegalArgumentException("rund.tenants.max-retained-bytes (" + maxRetainedBytes
                    + ") must be at least rund.tenants.max-retained-bytes-per-identity (" + maxRetainedBytesPerIdentity + ")");
        }
    }

    /** No caps: for tests of the engine that start thousands of jobs as one identity. */
    public static TenantSettings unlimited() {
        return new TenantSettings(Integer.MAX_VALUE, Double.MAX_VALUE, Integer.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE);
    }

    /** Reads {@code rund.tenants}; "auto" budgets come from this JVM's maximum heap. */
    public static TenantSettings fromConfig(Config tenants) {
        long total = tenants.getString("max-retained-bytes").equals(AUTO)
                ? Math.max(Runtime.getRuntime().maxMemory() / HEAP_SHARE_DIVISOR, LARGEST_JOB_BYTES)
                : tenants.getBytes("max-retained-bytes");
        long perIdentity = tenants.getString("max-retained-bytes-per-identity").equals(AUTO)
                ? Math.max(total / IDENTITY_SHARE_DIVISOR, LARGEST_JOB_BYTES)
                : tenants.getBytes("max-retained-bytes-per-identity");
        return new TenantSettings(
                tenants.getInt("max-running-jobs"),
                tenants.getDouble("start-rate"),
                tenants.getInt("start-burst"),
                total,
                perIdentity);
    }
}
