package io.rund.logs;

import java.io.IOException;

/**
 * A reader asked for output that the log no longer holds: its segment was dropped to keep the log within its
 * size caps. {@link #firstRetainedOffset()} says where the retained output starts now.
 */
public final class OffsetDroppedException extends IOException {

    private final long requestedOffset;
    private final long firstRetainedOffset;

    /** Public so that a log relay can raise it again on the node the follower is connected to. */
    public OffsetDroppedException(long requestedOffset, long firstRetainedOffset) {
        super("offset " + requestedOffset + " was dropped to keep the job's log within its size caps; "
                + "the retained output starts at offset " + firstRetainedOffset);
        this.requestedOffset = requestedOffset;
        this.firstRetainedOffset = firstRetainedOffset;
    }

    public long requestedOffset() {
        return requestedOffset;
    }

    public long firstRetainedOffset() {
        return firstRetainedOffset;
    }
}
