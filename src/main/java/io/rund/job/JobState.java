package io.rund.job;

/** Where a job is in its life. A job only moves forward: STARTING → RUNNING → (STOPPING) → EXITED, or FAILED_TO_START. */
public enum JobState {
    STARTING,
    RUNNING,
    STOPPING,
    EXITED,
    FAILED_TO_START;

    public boolean isFinal() {
        return this == EXITED || this == FAILED_TO_START;
    }
}
