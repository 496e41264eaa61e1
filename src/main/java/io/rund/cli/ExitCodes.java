package io.rund.cli;

import io.grpc.Status;

/**
 * The exit codes of the rund CLI, one per kind of failure, so that scripts can tell them apart. {@code rund run}
 * exits with the job's own code once the job has run (128 + signal when it was killed), so there these
 * numbers can also be the job's; the one-line message on stderr tells which.
 */
public final class ExitCodes {

    public static final int OK = 0;
    /** Anything else: a server-side bug (INTERNAL, UNKNOWN), a job that failed to start under {@code rund run}. */
    public static final int FAILURE = 1;
    /**
     * A bad command line, a TLS file that cannot be used (unreadable, or a private key group or others may read), or
     * a request the server refused as INVALID_ARGUMENT.
     */
    public static final int USAGE = 2;
    /** No such job, or one the caller's certificate may not see (the server does not tell the two apart). */
    public static final int NOT_FOUND = 3;
    /** Refused at the TLS handshake, PERMISSION_DENIED or UNAUTHENTICATED. */
    public static final int PERMISSION = 4;
    /** The server cannot be reached, is shutting down, or did not answer in time. */
    public static final int UNAVAILABLE = 5;
    /** The server understood the request but cannot honour it now: FAILED_PRECONDITION, RESOURCE_EXHAUSTED. */
    public static final int REFUSED = 6;

    /** Shell convention for a process killed by a signal. */
    public static final int SIGNAL_BASE = 128;

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
