package io.rund.job;

import com.typesafe.config.Config;

/**
 * How many labels a job may carry and how many bytes they may take ({@code rund.labels}), read once: labels stay in
 * memory for List's and Watch's selectors, so they are bounded like every other per-job cost.
 */
public record LabelSettings(int maxCount, long maxBytes) {

    public LabelSettings {
        if (maxCount < 0) {
            throw new IllegalArgumentException("rund.labels.max-count must be >= 0, was " + maxCount);
        }
        if (maxBytes < 0) {
            throw new IllegalArgumentException("rund.labels.max-bytes must be >= 0, was " + maxBytes);
        }
    }

    public static LabelSettings fromConfig(Config rund) {
        return new LabelSettings(rund.getInt("labels.max-count"), rund.getBytes("labels.max-bytes"));
    }
}
