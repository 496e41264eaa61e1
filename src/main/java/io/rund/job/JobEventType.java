package io.rund.job;

/**
 * What a Watch event says happened to a job. The list is open: a new kind of change (a freeze, a deadline) adds a
 * constant here and one {@code registry.tell(new JobRegistry.PublishEvent(...))} where it happens.
 */
public enum JobEventType {
    /** The process runs (state RUNNING). */
    STARTED,
    /** A Stop (or the daemon's shutdown) began: SIGTERM sent, the kill follows after the grace period. */
    STOPPING,
    /** The job ended (state EXITED); its status is final. */
    EXITED,
    /** The job could not be started; its status says why. */
    FAILED_TO_START,
    /** The finished job and its log were removed (Delete, retention or a budget); it answers NOT_FOUND from now on. */
    REMOVED,
    /** The kernel's OOM killer killed a process of the job (memory.events oom_kill). */
    OOM_KILL,
    /** A fork in the job was refused because it reached pids.max (pids.events max). */
    PIDS_MAX,
    /** The job was frozen (cgroup.freeze). */
    FROZEN,
    /** The job was thawed. */
    THAWED,
    /** The job's deadline passed: it is being stopped. */
    DEADLINE
}
