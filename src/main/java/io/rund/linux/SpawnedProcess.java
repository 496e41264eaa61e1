package io.rund.linux;

/**
 * A process {@link Spawner} started. The caller owns all three fds: the pidfd (close only after
 * reaping, e.g. by handing it to {@link ExitWatcher}) and the non-blocking read ends of the
 * child's stdout and stderr pipes (e.g. handed to {@link OutputPump}).
 */
public record SpawnedProcess(int pid, int pidfd, int stdoutFd, int stderrFd) {}
