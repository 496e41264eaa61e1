package io.rund.logs;

/**
 * A new reader of a log was refused because a configured cap on concurrent readers is reached: of this job's log
 * ({@code rund.logs.max-followers-per-job}) or of this client identity ({@code max-followers-per-identity}).
 */
public final class FollowerLimitException extends Exception {

    /** Public so that a log relay can raise it again on the node the follower is connected to. */
    public FollowerLimitException(String message) {
        super(message, null, false, false);
    }
}
