package io.rund.linux;

/**
 * Starts a job's process: the {@link Keeper} (so the job outlives the daemon) or {@link #IN_DAEMON}, the daemon's
 * own clone3 through {@link Spawner} (for engine tests and tools that own their processes). Either way the caller
 * owns the returned descriptors and learns of the exit through {@link ExitWatcher#watch}.
 */
@FunctionalInterface
public interface ProcessSpawner {

    /** Spawns in this JVM: the JVM is the parent; nothing outlives it but the processes themselves. */
    ProcessSpawner IN_DAEMON = (jobId, request) -> Spawner.spawn(request);

    /** Starts the process {@code request} describes for job {@code jobId}. Blocking: keep it off actor threads. */
    SpawnedProcess spawn(String jobId, SpawnRequest request) throws SpawnException;

    /**
     * Job {@code jobId} has ended, its output is read to the end and its end recorded: whoever kept its descriptors
     * and exit for a later daemon may let them go. Nothing to do for a process spawned in this JVM.
     */
    default void release(String jobId) {}
}
