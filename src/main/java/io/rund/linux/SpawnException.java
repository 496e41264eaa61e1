package io.rund.linux;

/**
 * A process could not be started: which step failed (e.g. "execve", "chdir", "setresuid"), what it
 * concerned (a path, id or fd) and the errno. Message e.g.
 * {@code execve /bin/nope: No such file or directory (errno 2)}.
 */
public final class SpawnException extends Exception {
    private final int errno;
    private final String step;
    private final String path;

    public SpawnException(int errno, String step, String path) {
        super(step + " " + path + ": " + Libc.strerror(errno) + " (errno " + errno + ")");
        this.errno = errno;
        this.step = step;
        this.path = path;
    }

    public int errno() {
        return errno;
    }

    /** The failed step: pipe, clone3, setsid, setgroups, setresgid, setresuid, no_new_privs, chdir,
     *  open_devnull, dup2, close_range, signals, execve, rlimit, resolve (PATH search), or keeper (the
     *  keeper could not be reached). */
    public String step() {
        return step;
    }

    /** What the step concerned: a path for chdir/execve/resolve, else e.g. "uid 65534" or "cgroup fd 7". */
    public String path() {
        return path;
    }
}
