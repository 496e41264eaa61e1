package io.rund.job;

/**
 * An expected failure, as a value. {@code field} names the request field at fault where there is one
 * (for example "command", "memory-max"); the API maps {@link Kind} to a gRPC status code. Field and message are
 * escaped and bounded ({@link ClientText#escape}) however they were made: they reach clients and the daemon's log.
 */
public record JobError(Kind kind, String field, String message) {

    public JobError {
        field = ClientText.escape(field);
        message = ClientText.escape(message);
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

    public static JobError invalid(String field, String message) {
        return new JobError(Kind.INVALID_ARGUMENT, field, message);
    }

    public static JobError precondition(String field, String message) {
        return new JobError(Kind.FAILED_PRECONDITION, field, message);
    }

    public static JobError unavailable(String message) {
        return new JobError(Kind.UNAVAILABLE, "", message);
    }

    @Override
    public String toString() {
        return field.isEmpty() ? message : field + ": " + message;
    }
}
