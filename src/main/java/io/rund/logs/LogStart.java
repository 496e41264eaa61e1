package io.rund.logs;

import java.time.Instant;
import java.util.Objects;

/**
 * Where a reader of a job's log starts: at an offset, at the start of the last N lines, or at the first output
 * written at or after a point in time. Only an explicit offset can name output that was dropped (and is refused);
 * the other two start at the oldest retained output at the earliest.
 */
public sealed interface LogStart {

    /** At this offset (counted over both streams); output below the first retained offset is refused. */
    record AtOffset(long offset) implements LogStart {
        public AtOffset {
            if (offset < 0) {
                throw new IllegalArgumentException("offset must be >= 0, was " + offset);
            }
        }
    }

    /**
     * At the start of the last {@code lines} lines of the selected streams, as {@code tail -n} counts them: a
     * final line without its newline counts as a line. 0 means at the current end.
     */
    record LastLines(long lines) implements LogStart {
        public LastLines {
            if (lines < 0) {
                throw new IllegalArgumentException("lines must be >= 0, was " + lines);
            }
        }
    }

    /** At the first output rund read from the job at or after {@code time}; earlier output is never sent. */
    record Since(Instant time) implements LogStart {
        public Since {
            Objects.requireNonNull(time, "time");
        }
    }

    /** The oldest retained output: everything the log still holds. */
    record Oldest() implements LogStart {}
}
