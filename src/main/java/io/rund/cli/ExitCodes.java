package io.rund.cli;

import io.grpc.Status;

/**
 * The exit codes of the rund CLI, one per kind of failure, so that scripts can tell them apart. {@code rund run} and
 * {@code rund logs -f} exit with the job's own code once the job has run (128 + signal when it was killed), so
 * rund's own failures sit out of the range jobs commonly use, as docker's 125-127 do: 119-123 and 125 (124 is
 * left to timeout(1), whose "timed out" a job may pass on). {@code rund serve} passes on no job's code and keeps the
 * conventional 1 (failed) and 2 (usage or configuration).
 */
public final class ExitCodes {

    public static final int OK = 0;
    /**
     * A bad command line, a TLS file that cannot be used (unreadable, or a private key group or others may read), or
     * a request the server refused as INVALID_ARGUMENT.
     */
    public static final int USAGE = 119;
    /** No such job, or one the caller's certificate may not see (the server does not tell the two apart). */
    public static final int NOT_FOUND = 120;
    /** Refused at the TLS handshake, PERMISSION_DENIED or UNAUTHENTICATED. */
    public static final int PERMISSION = 121;
    /** The server cannot be reached, is shutting down, or did not answer in time. */
    public static final int UNAVAILABLE = 122;
    /** The server understood the request but cannot honour it now: FAILED_PRECONDITION, RESOURCE_EXHAUSTED. */
    public static final int REFUSED = 123;
    /** rund itself failed: a server-side bug (INTERNAL, UNKNOWN), a job that failed to start under {@code rund run}. */
    public static final int FAILURE = 125;

    /** {@code rund serve} could not start or stopped on an error. */
    public static final int SERVE_FAILURE = 1;
    /** {@code rund serve}'s command line or configuration is invalid (one line names the flag or the setting). */
    public static final int SERVE_USAGE = 2;

    /** Shell convention for a process killed by a signal. */
    public static final int SIGNAL_BASE = 128;
    /** The reader of our stdout went away (`rund logs -f ID | head -1`): what a process killed by SIGPIPE exits with. */
    public static final int OUTPUT_CLOSED = SIGNAL_BASE + 13;

    private ExitCodes() {}

    public static int forStatus(Status.Code code) {
        return switch (code) {
            case OK -> OK;
            case INVALID_ARGUMENT, OUT_OF_RANGE -> USAGE;
            case NOT_FOUND -> NOT_FOUND;
            case PERMISSION_DENIED, UNAUTHENTICATED -> PERMISSION;
            case UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED -> UNAVAILABLE;
            case FAILED_PRECONDITION, RESOURCE_EXHAUSTED, ALREADY_EXISTS, ABORTED -> REFUSED;
            case UNKNOWN, INTERNAL, UNIMPLEMENTED, DATA_LOSS -> FAILURE;
        };
    }
}
