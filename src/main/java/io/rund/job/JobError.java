package io.rund.job;

/**
 * An expected failure, as a value. {@code field} names the request field at fault where there is one
 * (for example "command", "memory-max"); the API maps {@link Kind} to a gRPC status code and {@link Reason} to the
 * stable reason of the error's details, which clients may branch on (the message is for people and may change).
 * Field and message are escaped and bounded ({@link ClientText#escape}) however they were made: they reach clients
 * and the daemon's log.
 */
public record JobError(Kind kind, String field, String message, Reason reason) {

    public JobError {
        field = ClientText.escape(field);
        message = ClientText.escape(message);
        if (reason == null) {
            reason = Reason.of(kind);
        }
    }

    /** An error whose reason is its kind's general one ({@link Reason#of}). */
    public JobError(Kind kind, String field, String message) {
        this(kind, field, message, Reason.of(kind));
    }

    public enum Kind {
        /** The request itself is wrong: a bad value, a command that does not exist. */
        INVALID_ARGUMENT,
        /** The request is well-formed but this host or this job's state cannot honour it. */
        FAILED_PRECONDITION,
        /** A configured cap (jobs, followers) is reached. */
        RESOURCE_EXHAUSTED,
        /** The daemon is shutting down or a dependency is unavailable. */
        UNAVAILABLE
    }

    /**
     * Why, in one stable word a program can test: the first four are the general reasons of each {@link Kind}, the
     * others name a cause precisely. Never renamed once published (README lists them); new ones may be added.
     */
    public enum Reason {
        INVALID_ARGUMENT,
        FAILED_PRECONDITION,
        RESOURCE_EXHAUSTED,
        UNAVAILABLE,
        /** The command is not an executable the job's user can run (not found, not permitted, not a file). */
        COMMAND_NOT_FOUND,
        /** A limit was asked for whose cgroup controller this host does not delegate. */
        MISSING_CONTROLLER,
        /**
         * The job may not run as the user asked for (rund.jobs.allowed-users), nor with a group asked for
         * (rund.jobs.allowed-groups), or the kernel refused the switch.
         */
        PERMISSION_DENIED,
        /** The user asked for has no account on this host. */
        USER_NOT_FOUND,
        /** The job has not ended, so it cannot be deleted. */
        JOB_RUNNING,
        /** The client certificate names no identity (no subject alternative names). */
        NO_IDENTITY,
        /** The daemon is shutting down and takes no new job. */
        SHUTTING_DOWN,
        /** An Intel RDT setting was asked for and this host has no resctrl, or not the part asked for. */
        RDT_UNAVAILABLE,
        /** Every Intel RDT class of service (CLOSID) of this host is in use by a group. */
        RDT_CLOSIDS_EXHAUSTED,
        /** A group asked for by name has no entry in the host's /etc/group. */
        GROUP_NOT_FOUND;

        /** The general reason of an error of {@code kind}. */
        public static Reason of(Kind kind) {
            return switch (kind) {
                case INVALID_ARGUMENT -> INVALID_ARGUMENT;
                case FAILED_PRECONDITION -> FAILED_PRECONDITION;
                case RESOURCE_EXHAUSTED -> RESOURCE_EXHAUSTED;
                case UNAVAILABLE -> UNAVAILABLE;
            };
        }
    }

    public static JobError invalid(String field, String message) {
        return new JobError(Kind.INVALID_ARGUMENT, field, message);
    }

    public static JobError precondition(String field, String message) {
        return new JobError(Kind.FAILED_PRECONDITION, field, message);
    }

    public static JobError unavailable(String message) {
        return new JobError(Kind.UNAVAILABLE, "", message);
    }

    /** This error with a more precise reason than its kind's. */
    public JobError because(Reason precise) {
        return new JobError(kind, field, message, precise);
    }

    @Override
    public String toString() {
        return field.isEmpty() ? message : field + ": " + message;
    }
}
