package io.rund.api;

import com.typesafe.config.Config;

import java.time.Duration;

/**
 * The bounds on job control a client may ask for ({@code rund.control}): Stop's own grace period, which also bounds
 * how long a Stop call waits for the job's end, and Start's timeout. Read once; each must be above 0.
 */
public record ControlSettings(Duration maxStopGracePeriod, Duration maxTimeout) {

    public ControlSettings {
        if (maxStopGracePeriod.isNegative() || maxStopGracePeriod.isZero()) {
            throw new IllegalArgumentException("rund.control.max-stop-grace-period must be above 0, was " + maxStopGracePeriod);
        }
        if (maxTimeout.isNegative() || maxTimeout.isZero()) {
            throw new IllegalArgumentException("rund.control.max-timeout must be above 0, was " + maxTimeout);
        }
    }

    /** From the {@code rund} block. */
    public static ControlSettings fromConfig(Config rund) {
        return new ControlSettings(rund.getDuration("control.max-stop-grace-period"), rund.getDuration("control.max-timeout"));
    }
}
