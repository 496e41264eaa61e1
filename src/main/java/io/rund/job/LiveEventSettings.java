package io.rund.job;

import com.typesafe.config.Config;

/**
 * How many cgroup files rund watches at once for live OOM-kill and pids.max events ({@code
 * rund.events.max-file-watches}), read once: each running job takes one inotify watch per counter file its cgroup has
 * (memory.events, pids.events). Past the bound (or the host's fs.inotify.max_user_watches, if lower) a job is not
 * watched, and its kills and refused forks are published when it ends instead of as they happen. 0 turns live events off.
 */
public record LiveEventSettings(int maxFileWatches) {

    public LiveEventSettings {
        if (maxFileWatches < 0) {
            throw new IllegalArgumentException("rund.events.max-file-watches must be 0 or more, was " + maxFileWatches);
        }
    }

    public static LiveEventSettings fromConfig(Config rund) {
        return new LiveEventSettings(rund.getInt("events.max-file-watches"));
    }
}
