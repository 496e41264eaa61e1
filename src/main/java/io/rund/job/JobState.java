package io.rund.job;

/** Where a job is in its life. A job only moves forward: STARTING → RUNNING → (STOPPING) → EXITED, or FAILED_TO_START;
 * only a paused job moves back, from FROZEN to RUNNING when resumed. */
public enum JobState {
    STARTING,
    RUNNING,
    STOPPING,
    EXITED,
    FAILED_TO_START,
    /** Running, but every process is frozen (Pause, cgroup.freeze) until Resume. */
    FROZEN;

    public boolean isFinal() {
        return this == EXITED || this == FAILED_TO_START;
    }
}
