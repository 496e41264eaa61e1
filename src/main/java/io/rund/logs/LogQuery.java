package io.rund.logs;

import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * What one reader asks of a job's log: where to start, whether to follow new output until the log is sealed,
 * and which streams it wants. Offsets stay those of the whole log whatever the streams, so a resumed read
 * continues exactly where the last record it received ended.
 */
public record LogQuery(LogStart start, boolean follow, Set<LogStream> streams) {

    public static final Set<LogStream> BOTH_STREAMS = Set.copyOf(EnumSet.allOf(LogStream.class));

    public LogQuery {
        Objects.requireNonNull(start, "start");
        if (streams.isEmpty()) {
            throw new IllegalArgumentException("a log query needs at least one stream");
        }
        streams = Set.copyOf(streams);
    }

    public static LogQuery from(long offset, boolean follow) {
        return new LogQuery(new LogStart.AtOffset(offset), follow, BOTH_STREAMS);
    }

    boolean wants(LogStream stream) {
        return streams.contains(stream);
    }
}
