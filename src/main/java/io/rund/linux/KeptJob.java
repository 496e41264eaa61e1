package io.rund.linux;

import java.util.Optional;

/**
 * A job the keeper holds, as its hello reports it to a (re)connecting daemon: its process and the daemon's own
 * copies of the pidfd and the pipe read ends (the keeper keeps its copies until the job is released), and its
 * exit if it ended, with the time the keeper reaped it.
 */
public record KeptJob(String jobId, int pid, int pidfd, int stdoutFd, int stderrFd, Optional<ProcessExit> exit) {}
