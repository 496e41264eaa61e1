package io.rund.api;

import io.rund.job.JobError;

/** A request that cannot be turned into rund's own types; carries the error naming the field. */
final class InvalidRequestException extends Exception {

    private final JobError error;

    InvalidRequestException(JobError error) {
        super(error.toString());
        this.error = error;
    }

    JobError error() {
        return error;
    }
}
