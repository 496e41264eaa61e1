package io.rund.job;

/**
 * A watcher asked for events the journal no longer holds (it resumed too late, fell too far behind, or names a
 * sequence of another daemon): it must start again from {@link #oldestRetained()} or now, knowing it missed some.
 */
public final class EventWindowExceededException extends RuntimeException {
    private final long oldestRetained;

    public EventWindowExceededException(String message, long oldestRetained) {
        super(message);
        this.oldestRetained = oldestRetained;
    }

    /** The sequence of the oldest event still in the journal. */
    public long oldestRetained() {
        return oldestRetained;
    }
}
