package io.rund.api;

import com.github.f4b6a3.ulid.Ulid;
import io.rund.job.ClientText;
import io.rund.job.JobError;

import java.util.Locale;

/**
 * The one check of a job id a client sends, for every RPC that takes one. rund's ids are ULIDs in their canonical
 * form: 26 characters of upper-case Crockford base32 (0-9 and A-Z without I, L, O, U), the first one 0-7 (more
 * would overflow 128 bits). Lower case is accepted and made upper case, as Crockford's decoding is case-insensitive;
 * the letters Crockford reads as digits (I, L, O) are refused rather than read as 1, 1, 0, so that one job has
 * exactly one spelling besides its case.
 */
final class JobIds {

    static final String FIELD = "job_id";

    private JobIds() {}

    /** The id in canonical (upper-case) form, or the error naming the field. */
    static String canonical(String jobId) throws InvalidRequestException {
        String upper = jobId.toUpperCase(Locale.ROOT);
        if (jobId.length() != Ulid.ULID_CHARS || !Ulid.isValid(jobId) || !Ulid.from(jobId).toString().equals(upper)) {
            throw new InvalidRequestException(JobError.invalid(FIELD, ClientText.quote(jobId)
                    + " is not a job id: 26 characters of Crockford base32 (0-9, A-Z without I, L, O, U), the first 0-7"));
        }
        return upper;
    }
}
