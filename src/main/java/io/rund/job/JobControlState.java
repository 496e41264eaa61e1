package io.rund.job;

import java.time.Duration;
import java.time.Instant;

/**
 * What job control adds to a job's status: when its deadline expires ({@code deadline}, null: none), how long it was
 * frozen by Pause before the current freeze ({@code frozenFor}), since when it is frozen now ({@code frozenSince},
 * null: it is not), and whether its deadline ended it. Kept apart from the rest of {@link JobStatus} so that the
 * time frozen can be accounted including the current freeze at the moment a status is read.
 */
public record JobControlState(Instant deadline, Duration frozenFor, Instant frozenSince, boolean endedByDeadline) {

    public static final JobControlState NONE = new JobControlState(null, Duration.ZERO, null, false);

    public JobControlState {
        if (frozenFor == null) {
            frozenFor = Duration.ZERO;
        }
    }

    /** The total time spent frozen as of {@code now}, the current freeze included. */
    public Duration frozenFor(Instant now) {
        if (frozenSince == null || now.isBefore(frozenSince)) {
            return frozenFor;
        }
        return frozenFor.plus(Duration.between(frozenSince, now));
    }

    public JobControlState withDeadline(Instant newDeadline) {
        return new JobControlState(newDeadline, frozenFor, frozenSince, endedByDeadline);
    }

    /** Frozen from {@code at} on. */
    public JobControlState frozenAt(Instant at) {
        return frozenSince != null ? this : new JobControlState(deadline, frozenFor, at, endedByDeadline);
    }

    /** Thawed at {@code at}: the freeze that ends there is added to the total. */
    public JobControlState thawedAt(Instant at) {
        return frozenSince == null ? this : new JobControlState(deadline, frozenFor(at), null, endedByDeadline);
    }

    public JobControlState markedEndedByDeadline() {
        return new JobControlState(deadline, frozenFor, frozenSince, true);
    }
}
