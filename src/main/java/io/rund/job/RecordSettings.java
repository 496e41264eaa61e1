package io.rund.job;

import com.typesafe.config.Config;

/**
 * The {@code rund.jobs.records} settings, read once from configuration.
 *
 * @param syncFinal whether final records (a job's end) are forced to disk, in group commits, so that they survive a
 *                  power loss; off keeps them in the page cache only (they still survive a crash of the daemon)
 * @param maxBatch  how many record writes the writer thread takes at once, and so shares one directory fsync
 */
public record RecordSettings(boolean syncFinal, int maxBatch) {

    public RecordSettings {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("rund.jobs.records.max-batch must be at least 1, was " + maxBatch);
        }
    }

    public static RecordSettings fromConfig(Config rund) {
        Config records = rund.getConfig("jobs.records");
        return new RecordSettings(records.getBoolean("sync-final"), records.getInt("max-batch"));
    }
}
