package io.rund.job;

import com.typesafe.config.Config;

/**
 * How many recent job events the Watch journal keeps ({@code rund.events.ring-size}), read once. A watcher may resume
 * from any event still in the ring; a watcher that falls further behind (a slow client, or one resuming too late) is
 * told so with OUT_OF_RANGE rather than buffered without bound. {@code batch}: events handed to a stream at once.
 */
public record EventSettings(int ringSize, int batch) {

    public EventSettings {
        if (ringSize < 1) {
            throw new IllegalArgumentException("rund.events.ring-size must be at least 1, was " + ringSize);
        }
        if (batch < 1 || batch > ringSize) {
            throw new IllegalArgumentException("rund.events.batch must be between 1 and rund.events.ring-size ("
                    + ringSize + "), was " + batch);
        }
    }

    /** What reference.conf sets, for engines built without a configuration (tests). */
    public static EventSettings defaults() {
        return new EventSettings(65_536, 256);
    }

    public static EventSettings fromConfig(Config rund) {
        return new EventSettings(rund.getInt("events.ring-size"), rund.getInt("events.batch"));
    }
}
